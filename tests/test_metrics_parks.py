"""Park indicators, every one by hand on three parks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from villagestudy import Study, catalog
from villagestudy.metrics import Notes
from villagestudy.metrics.parks import (PARK_INDICATORS, park_count, park_dispersion, park_far, park_indicators,
                                        park_land_mu, park_occupancy, park_old_share, park_rent_per_m2_yuan,
                                        park_tax_per_mu_yuan)
from villagestudy.settings import M2_PER_MU

VILLAGES = ["v1", "v2", "v3"]


def parks_frame():
    # v1: K1 (1995) and K2 (2000); v2: K3 (2010); v3: none
    return pd.DataFrame({
        "park_id": ["K1", "K2", "K3"],
        "village_id": ["v1", "v1", "v2"],
        "park_name": ["一号园", "二号园", "三号园"],
        "built_year": [1995, 2000, 2010],
        "land_area_mu": [30.0, 10.0, 20.0],
        "floor_area_m2": [20_000.0, 10_000.0, 5_000.0],
        "occupied_floor_area_m2": [15_000.0, 5_000.0, 5_000.0],
        "annual_rent_yuan": [1_800_000.0, 500_000.0, 300_000.0],
        "annual_tax_yuan": [600_000.0, 400_000.0, 100_000.0],
    })


def study(parks=None, **settings):
    v = pd.DataFrame({"village_id": VILLAGES, "village_name": ["甲", "乙", "丙"], "town_id": ["t1"] * 3})
    return Study.from_frames(villages=v, parks=parks, settings=settings or None)


def test_every_indicator_by_hand():
    p = parks_frame()
    notes = Notes()
    t = park_indicators(study(p), notes=notes)
    assert list(t.columns) == list(PARK_INDICATORS)
    assert t.index.tolist() == VILLAGES and t.index.name == "village_id"
    v1, v2, v3 = (t.loc[v] for v in VILLAGES)
    assert (v1.park_count, v2.park_count, v3.park_count) == (2, 1, 0)
    assert (v1.park_land_mu, v2.park_land_mu, v3.park_land_mu) == (40, 20, 0)
    # FAR: floor m2 / (land mu * 666.67 m2)
    assert v1.park_far == pytest.approx(30_000 / (40 * 10_000 / 15)) and v1.park_far == pytest.approx(1.125)
    assert v2.park_far == pytest.approx(5_000 / (20 * M2_PER_MU)) and v2.park_far == pytest.approx(0.375)
    assert v1.park_occupancy == pytest.approx(20_000 / 30_000)
    assert v2.park_occupancy == 1.0
    assert v1.park_rent_per_m2_yuan == pytest.approx(2_300_000 / 20_000)  # 115
    assert v2.park_rent_per_m2_yuan == pytest.approx(60.0)
    assert v1.park_tax_per_mu_yuan == pytest.approx(1_000_000 / 40)       # 25,000
    assert v2.park_tax_per_mu_yuan == pytest.approx(5_000.0)
    assert v1.park_old_share == pytest.approx(20_000 / 30_000)            # K2 built in 2000 is not old
    assert v2.park_old_share == 0.0
    assert v1.park_dispersion == pytest.approx(1 - (0.75 ** 2 + 0.25 ** 2))  # 0.375
    assert v2.park_dispersion == 0.0
    for ind in PARK_INDICATORS[2:]:
        assert np.isnan(t.loc["v3", ind])
        assert ("no parks" in notes.for_indicator(ind))
    assert not notes.for_indicator("park_count")


@pytest.mark.parametrize("year, expected", [(1995, 0.0), (1996, 20 / 30), (2000, 20 / 30), (2001, 1.0)])
def test_old_share_threshold_on_both_sides(year, expected):
    # K1 built 1995, K2 built 2000: "before" is strict
    s = park_old_share(parks_frame(), old_before_year=year)
    assert s.loc["v1"] == pytest.approx(expected)
    t = park_indicators(study(parks_frame(), old_before_year=year))
    assert t.loc["v1", "park_old_share"] == pytest.approx(expected)


def test_pure_functions_index_and_names():
    p = parks_frame()
    for fn in (park_count, park_land_mu, park_far, park_occupancy, park_rent_per_m2_yuan, park_tax_per_mu_yuan,
               park_old_share, park_dispersion):
        s = fn(p)
        assert s.index.tolist() == ["v1", "v2"] and s.index.name == "village_id"
        assert s.name == fn.__name__ and s.dtype == "float64"
        assert fn(p, villages=VILLAGES).index.tolist() == VILLAGES


def test_missing_values_left_out_pairwise():
    p = parks_frame()
    p.loc[1, "occupied_floor_area_m2"] = np.nan   # K2
    p.loc[0, "built_year"] = np.nan               # K1
    notes = Notes()
    assert park_occupancy(p, notes=notes).loc["v1"] == pytest.approx(15_000 / 20_000)
    assert any("1 park(s) missing" in m for m in notes.for_indicator("park_occupancy"))
    assert park_rent_per_m2_yuan(p).loc["v1"] == pytest.approx(1_800_000 / 15_000)
    assert park_old_share(p).loc["v1"] == 0.0     # only K2 (2000) is known
    assert park_far(p).loc["v1"] == pytest.approx(1.125)


def test_zero_denominators_are_nan_not_inf():
    p = parks_frame()
    p["land_area_mu"] = [0.0, 0.0, 20.0]
    p["occupied_floor_area_m2"] = [0.0, 0.0, 5000.0]
    notes = Notes()
    for fn in (park_far, park_tax_per_mu_yuan, park_rent_per_m2_yuan, park_dispersion):
        s = fn(p, notes=notes)
        assert np.isnan(s.loc["v1"]) and np.isfinite(s.loc["v2"])
    assert park_occupancy(p).loc["v1"] == 0.0
    assert any(v == "v1" for _, v, _ in notes.items)


def test_dispersion():
    p = pd.DataFrame({"park_id": list("ABCDEF"), "village_id": ["v1"] * 4 + ["v2", "v3"],
                      "land_area_mu": [5.0, 5.0, 5.0, 5.0, 7.0, np.nan]})
    d = park_dispersion(p)
    assert d.loc["v1"] == pytest.approx(1 - 1 / 4)     # n equal parks: 1 - 1/n
    assert d.loc["v2"] == 0.0                          # a single park
    assert np.isnan(d.loc["v3"])                       # land unknown
    p2 = p.copy()
    p2.loc[0, "land_area_mu"] = np.nan                 # one of v1's parks lacks its land: shares unknown
    notes = Notes()
    assert np.isnan(park_dispersion(p2, notes=notes).loc["v1"])
    assert ("park_dispersion", "v1", "a park lacks land_area_mu") in notes.items


def test_missing_column_and_missing_table():
    p = parks_frame().drop(columns=["annual_tax_yuan"])
    notes = Notes()
    assert park_tax_per_mu_yuan(p, notes=notes).isna().all()
    assert notes.for_indicator("park_tax_per_mu_yuan") == ["the parks have no annual_tax_yuan column"]
    notes = Notes()
    t = park_indicators(study(None), notes=notes)
    assert t.index.tolist() == VILLAGES and t.isna().all().all()
    assert notes.for_indicator("park_count") == ["the study has no park table"]


def test_park_land_sum_with_missing():
    p = parks_frame()
    p.loc[0, "land_area_mu"] = np.nan
    notes = Notes()
    s = park_land_mu(p, villages=VILLAGES, notes=notes)
    assert s.tolist() == [10.0, 20.0, 0.0]
    assert any("without land_area_mu" in m for m in notes.for_indicator("park_land_mu"))


def test_catalog_states_the_dispersion_formula():
    ind = catalog.get("park_dispersion")
    assert "1 - sum_k (a_k / A)^2" in ind.formula
    assert "Σ(a_k/A)²" in ind.formula_zh
    assert [i for i in catalog.ids("land") if i.startswith("park_")] == list(PARK_INDICATORS)


def test_public_functions_have_examples():
    from villagestudy.metrics import parks as mod

    for name in mod.__all__:
        fn = getattr(mod, name)
        if callable(fn):
            assert fn.__doc__ and "Examples" in fn.__doc__, name
            assert "{params}" not in fn.__doc__, name
            assert "Returns" in fn.__doc__ or name == "park_indicators", name


def test_villages_given_as_a_table_index_by_their_ids():
    """Like the income and governance functions: a villages table gives its village_id column as the index."""
    table = pd.DataFrame({"village_id": ["v3", "v1"], "village_name": ["丙", "甲"], "town_id": ["t1", "t1"]})
    counts = park_count(parks_frame(), villages=table)
    assert counts.index.tolist() == ["v3", "v1"] and counts.tolist() == [0.0, 2.0]
    assert park_land_mu(parks_frame(), villages=table).index.tolist() == ["v3", "v1"]
