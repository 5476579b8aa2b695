"""Land indicators from the parcel table: hand-computed values, edge cases, properties."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from villagestudy import Study, catalog
from villagestudy.io import load_study
from villagestudy.metrics import Notes
from villagestudy.metrics import land
from villagestudy.metrics.land import (GEOMETRIC_INDICATORS, LAND_INDICATORS, farmland_area_mu,
                                       household_fragmentation, januszewski_index, land_indicators,
                                       mean_parcel_area_mu, parcel_count, parcels_per_household,
                                       simpson_index)


def parcels(areas, households=None, villages=None, uses=None, owners=None):
    n = len(areas)
    d = {
        "parcel_id": [f"p{i}" for i in range(n)],
        "village_id": villages or ["v1"] * n,
        "land_use": uses or ["arable"] * n,
        "area_mu": [float(a) for a in areas],
    }
    if households is not None:
        d["household_id"] = households
    if owners is not None:
        d["owner_id"] = owners
    return pd.DataFrame(d)


def villages_frame(ids):
    return pd.DataFrame({"village_id": ids, "village_name": ids, "town_id": ["t1"] * len(ids)})


# ------------------------------------------------------------ hand-computed
def test_simpson_and_januszewski_of_one_household_1_1_2():
    p = parcels([1, 1, 2], households=["h1"] * 3)
    assert simpson_index(p).loc["v1"] == pytest.approx(0.625)
    assert januszewski_index(p).loc["v1"] == pytest.approx(2 / (1 + 1 + math.sqrt(2)))
    assert januszewski_index(p).loc["v1"] == pytest.approx(0.5858, abs=1e-4)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_equal_parcels(n):
    p = parcels([2.5] * n, households=["h1"] * n)
    assert simpson_index(p).loc["v1"] == pytest.approx(1 - 1 / n)
    assert januszewski_index(p).loc["v1"] == pytest.approx(1 / math.sqrt(n))


def test_one_parcel_is_exactly_zero_and_one():
    p = parcels([3.7], households=["h1"])
    assert simpson_index(p).loc["v1"] == 0.0
    assert januszewski_index(p).loc["v1"] == 1.0


def test_village_value_is_mean_over_households():
    # h1: 1,1,2 -> S=0.625, K=0.5858; h2: one parcel -> S=0, K=1; h3: 1,1 -> S=0.5, K=0.7071
    p = parcels([1, 1, 2, 9, 3, 3], households=["h1", "h1", "h1", "h2", "h3", "h3"])
    assert simpson_index(p).loc["v1"] == pytest.approx((0.625 + 0 + 0.5) / 3)
    k1 = 2 / (2 + math.sqrt(2))
    assert januszewski_index(p).loc["v1"] == pytest.approx((k1 + 1 + 1 / math.sqrt(2)) / 3)
    assert parcels_per_household(p).loc["v1"] == pytest.approx(6 / 3)


def test_counts_areas_and_farmland_uses():
    p = parcels([1, 2, 3, 4, 10], villages=["v1", "v1", "v1", "v2", "v2"],
                uses=["arable", "arable", "garden", "arable", "forest"])
    assert parcel_count(p).to_dict() == {"v1": 2.0, "v2": 1.0}
    assert farmland_area_mu(p).to_dict() == {"v1": 3.0, "v2": 4.0}
    assert mean_parcel_area_mu(p).to_dict() == {"v1": 1.5, "v2": 4.0}
    both = ["arable", "garden"]
    assert parcel_count(p, both).to_dict() == {"v1": 3.0, "v2": 1.0}
    assert mean_parcel_area_mu(p, both).loc["v1"] == pytest.approx(2.0)
    s = parcel_count(p)
    assert s.name == "parcel_count" and s.index.name == "village_id"


def test_households_are_distinct_within_a_village():
    # the same household id in two villages is two households
    p = parcels([1, 1, 1, 3], households=["h1", "h1", "h1", "h1"], villages=["v1", "v1", "v2", "v2"])
    hf = household_fragmentation(p)
    assert hf[["village_id", "household_id", "parcels"]].values.tolist() == [["v1", "h1", 2], ["v2", "h1", 2]]
    assert hf["simpson"].tolist() == pytest.approx([0.5, 1 - (1 + 9) / 16])
    assert hf["area_mu"].tolist() == [2.0, 4.0]


def test_household_fragmentation_columns_and_order():
    p = parcels([5, 1, 1, 2], households=["hb", "ha", "ha", "ha"], villages=["v2", "v1", "v1", "v1"])
    hf = household_fragmentation(p)
    assert list(hf.columns) == ["village_id", "household_id", "parcels", "area_mu", "simpson", "januszewski"]
    assert hf["village_id"].tolist() == ["v1", "v2"]
    assert hf["simpson"].tolist() == pytest.approx([0.625, 0.0])
    assert hf["januszewski"].tolist() == pytest.approx([2 / (2 + math.sqrt(2)), 1.0])
    with pytest.raises(ValueError, match="household_id"):
        household_fragmentation(parcels([1.0]))


# --------------------------------------------------------------- edge cases
def test_missing_household_id_left_out_with_note():
    p = parcels([1, 1, 2, 7], households=["h1", "h1", "h1", None])
    notes = Notes()
    assert parcels_per_household(p, notes=notes).loc["v1"] == 3.0
    assert simpson_index(p).loc["v1"] == pytest.approx(0.625)
    assert any("without household_id" in m for m in notes.for_indicator("parcels_per_household"))


def test_all_household_ids_missing_gives_nan_with_note():
    p = parcels([1, 2], households=[None, None])
    notes = Notes()
    assert np.isnan(simpson_index(p, notes=notes).loc["v1"])
    assert "no farmland parcel has a household_id" in notes.for_indicator("simpson_index")
    assert len(household_fragmentation(p)) == 0


def test_no_household_column_gives_nan_with_note():
    p = parcels([1, 2])
    notes = Notes()
    for fn, ind in [(simpson_index, "simpson_index"), (januszewski_index, "januszewski_index"),
                    (parcels_per_household, "parcels_per_household")]:
        assert fn(p, notes=notes).isna().all()
        assert any("household_id" in m for m in notes.for_indicator(ind))
    assert parcel_count(p).loc["v1"] == 2


def test_village_without_farmland_is_nan_not_inf():
    p = parcels([1, 2, 5], households=["h1", "h1", "h2"], villages=["v1", "v1", "v2"],
                uses=["arable", "arable", "forest"])
    notes = Notes()
    assert parcel_count(p).loc["v2"] == 0
    assert farmland_area_mu(p).loc["v2"] == 0
    for fn in (mean_parcel_area_mu, parcels_per_household, simpson_index, januszewski_index):
        s = fn(p, notes=notes)
        assert np.isnan(s.loc["v2"]) and np.isfinite(s.loc["v1"])
    assert ("mean_parcel_area_mu", "v2") in {(i, v) for i, v, _ in notes.items}


def test_zero_area_parcels_are_left_out_with_note():
    # h1: 1, 1, 2 and a zero-area parcel; h2: only a zero-area parcel; a NaN area too
    p = parcels([1, 1, 2, 0, 0, float("nan"), -1], households=["h1", "h1", "h1", "h1", "h2", "h1", "h3"])
    notes = Notes()
    assert simpson_index(p, notes=notes).loc["v1"] == pytest.approx(0.625)
    assert januszewski_index(p).loc["v1"] == pytest.approx(0.5858, abs=1e-4)
    assert parcel_count(p).loc["v1"] == 3
    assert parcels_per_household(p).loc["v1"] == 3
    assert household_fragmentation(p)["household_id"].tolist() == ["h1"]
    assert any("4 farmland parcel(s) with missing, zero or negative area_mu" in m
               for m in notes.for_indicator("simpson_index"))


def test_village_with_only_zero_area_farmland():
    p = parcels([0, 0, 3], households=["h1", "h1", "h2"], villages=["v1", "v1", "v2"])
    for fn in (mean_parcel_area_mu, simpson_index, januszewski_index, parcels_per_household):
        v = fn(p).loc["v1"]
        assert np.isnan(v)
    assert parcel_count(p).loc["v1"] == 0


def test_missing_columns_raise_clearly():
    with pytest.raises(ValueError, match="area_mu"):
        parcel_count(pd.DataFrame({"village_id": ["v1"], "land_use": ["arable"]}))


# ------------------------------------------------------------- land_indicators
def test_land_indicators_columns_follow_catalog():
    cat = [i for i in catalog.ids("land") if not i.startswith("park_")]
    assert list(LAND_INDICATORS) == cat


def test_land_indicators_without_geometry():
    p = parcels([1, 1, 2, 4], households=["h1", "h1", "h1", "h2"], owners=["o1"] * 4)
    study = Study.from_frames(villages=villages_frame(["v1", "v2"]), parcels=p)
    notes = Notes()
    t = land_indicators(study, notes=notes)
    assert list(t.columns) == list(LAND_INDICATORS)
    assert t.index.name == "village_id"
    row = t.loc["v1"]
    assert row["parcel_count"] == 4 and row["farmland_area_mu"] == 8
    assert row["simpson_index"] == pytest.approx(0.625 / 2)
    for ind in GEOMETRIC_INDICATORS:
        assert np.isnan(row[ind])
        assert any("no geometry" in m for m in notes.for_indicator(ind))
    # v2 has no parcels: absent from the frame, with a note
    assert "v2" not in t.index
    assert ("parcel_count", "v2") in {(i, v) for i, v, _ in notes.items}


def test_land_indicators_uses_settings():
    p = parcels([1, 1, 2], households=["h1"] * 3, uses=["arable", "garden", "garden"])
    v = villages_frame(["v1"])
    t1 = land_indicators(Study.from_frames(villages=v, parcels=p))
    t2 = land_indicators(Study.from_frames(villages=v, parcels=p, settings={"farmland_uses": ["arable", "garden"]}))
    assert t1.loc["v1", "parcel_count"] == 1 and t1.loc["v1", "simpson_index"] == 0
    assert t2.loc["v1", "parcel_count"] == 3 and t2.loc["v1", "simpson_index"] == pytest.approx(0.625)


def test_land_indicators_no_parcel_table():
    notes = Notes()
    t = land_indicators(Study.from_frames(villages=villages_frame(["v1"])), notes=notes)
    assert len(t) == 0 and list(t.columns) == list(LAND_INDICATORS)
    assert notes.for_indicator("simpson_index") == ["the study has no parcel table"]


def test_land_indicators_geographic_crs_gives_nan_with_note():
    g = gpd.GeoDataFrame({"parcel_id": ["a", "b"], "village_id": ["v1", "v1"], "land_use": ["arable"] * 2,
                          "area_mu": [1.0, 1.0], "owner_id": ["o1", "o2"]},
                         geometry=[shapely.box(113.0, 23.0, 113.001, 23.001), shapely.box(113.001, 23.0, 113.002, 23.001)],
                         crs="EPSG:4326")
    study = Study.from_frames(villages=villages_frame(["v1"]), parcels=g)
    notes = Notes()
    t = land_indicators(study, notes=notes)
    assert t.loc["v1", "parcel_count"] == 2
    for ind in GEOMETRIC_INDICATORS:
        assert np.isnan(t.loc["v1", ind])
        assert any("EPSG:4326" in m for m in notes.for_indicator(ind))


def test_loaded_tiny_study(tiny_study_dir):
    # per village: three touching 1-mu squares (households H0: 2 parcels, H1: 1; owners 0,1,0) + forest
    study = load_study(tiny_study_dir)
    notes = Notes()
    t = land_indicators(study, notes=notes)
    assert len(t) == 3
    assert t["parcel_count"].tolist() == [3, 3, 3]
    assert t["farmland_area_mu"].tolist() == pytest.approx([3, 3, 3])
    assert t["parcels_per_household"].tolist() == pytest.approx([1.5] * 3)
    assert t["simpson_index"].tolist() == pytest.approx([0.25] * 3)
    assert t["januszewski_index"].tolist() == pytest.approx([(1 / math.sqrt(2) + 1) / 2] * 3)
    assert t["block_count"].tolist() == [1, 1, 1]
    assert t["effective_mesh_size_mu"].tolist() == pytest.approx([3, 3, 3])
    assert t["contiguous_share"].tolist() == [0, 0, 0]
    assert t["shape_index_am"].tolist() == pytest.approx([1, 1, 1])
    assert t["owners_per_block_am"].tolist() == pytest.approx([2, 2, 2])
    assert len(notes) == 0


def test_compute_indicators_includes_land_columns(tiny_study_dir):
    from villagestudy.metrics import compute_indicators

    t = compute_indicators(load_study(tiny_study_dir))
    assert t["simpson_index"].tolist() == pytest.approx([0.25] * 3)
    assert t["park_count"].tolist() == [1, 0, 0]


# ------------------------------------------------------------------ properties
areas = st.lists(st.floats(min_value=1e-3, max_value=1e4, allow_nan=False), min_size=1, max_size=12)


def _one_household(a):
    return parcels(a, households=["h"] * len(a))


@settings(max_examples=60, deadline=None)
@given(areas, st.integers(min_value=0, max_value=11), st.floats(min_value=0.01, max_value=0.99))
def test_splitting_a_parcel_never_lowers_simpson(a, k, frac):
    k = k % len(a)
    split = a[:k] + [a[k] * frac, a[k] * (1 - frac)] + a[k + 1:]
    before = simpson_index(_one_household(a)).iloc[0]
    after = simpson_index(_one_household(split)).iloc[0]
    assert after >= before - 1e-12
    # and never raises Januszewski
    assert januszewski_index(_one_household(split)).iloc[0] <= januszewski_index(_one_household(a)).iloc[0] + 1e-12


@settings(max_examples=60, deadline=None)
@given(st.lists(areas, min_size=1, max_size=4))
def test_indices_in_range(households):
    a = [x for h in households for x in h]
    hh = [f"h{i}" for i, h in enumerate(households) for _ in h]
    p = parcels(a, households=hh)
    s = simpson_index(p).iloc[0]
    k = januszewski_index(p).iloc[0]
    assert 0 <= s < 1
    assert 0 < k <= 1
    hf = household_fragmentation(p)
    assert ((hf["simpson"] >= 0) & (hf["simpson"] < 1)).all()
    assert ((hf["januszewski"] > 0) & (hf["januszewski"] <= 1)).all()
    assert hf["parcels"].sum() == len(a)


def test_module_exports_have_examples():
    for name in land.__all__:
        fn = getattr(land, name)
        if callable(fn):
            assert fn.__doc__ and "Examples" in fn.__doc__, name
            assert "{params}" not in fn.__doc__, name
            assert "Returns" in fn.__doc__ or "Formula" in fn.__doc__, name
