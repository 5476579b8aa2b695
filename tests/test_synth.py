"""The synthetic study generator: contract, geometry, determinism and realistic variation."""
from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from villagestudy.schema import INCOME_CATEGORIES, LAND_USES, TABLES
from villagestudy.settings import M2_PER_MU
from villagestudy.synth import SynthArgumentError, parse_years, write_synthetic_study

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "villagestudy" / "datasets" / "sample"
SMALL = dict(towns=2, villages_per_town=3, parcels_per_village=20, years=(2021, 2023))
CSV_FILES = ("towns.csv", "villages.csv", "income.csv", "governance.csv")
COLUMNS = {
    "towns.csv": ["town_id", "town_name", "county"],
    "villages.csv": ["village_id", "village_name", "town_id", "kind", "registered_pop", "resident_pop", "households"],
    "income.csv": ["village_id", "year", "category", "amount"],
    "governance.csv": ["village_id", "year"] + [c.name for c in TABLES["governance"].columns[2:]],
    ("boundaries.gpkg", "villages"): ["village_id", "geometry"],
    ("parcels.gpkg", "parcels"): ["parcel_id", "village_id", "land_use", "household_id", "owner_id", "area",
                                  "geometry"],
    ("parks.gpkg", "parks"): ["park_id", "village_id", "park_name", "built_year", "land_area", "floor_area_m2",
                              "occupied_floor_area_m2", "annual_rent_yuan", "annual_tax_yuan", "geometry"],
    ("grids.gpkg", "grids"): ["grid_id", "village_id", "level", "parent_grid_id", "households", "full_time_staff",
                              "part_time_staff", "has_party_group", "geometry"],
}


def read_csv(folder, name):
    return pd.read_csv(folder / name, dtype={"village_id": str, "town_id": str}, encoding="utf-8-sig")


def read_geo(folder, name, layer=None):
    return gpd.read_file(folder / name, layer=layer) if name.endswith(".gpkg") else gpd.read_parquet(folder / name)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    return {
        "a": write_synthetic_study(root / "a", seed=7, **SMALL),
        "b": write_synthetic_study(root / "b", seed=7, **SMALL),
        "c": write_synthetic_study(root / "c", seed=8, **SMALL),
        "pq": write_synthetic_study(root / "pq", seed=7, parcel_format="parquet", **SMALL),
    }


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    """A study of the default size (as the bundled sample)."""
    return write_synthetic_study(tmp_path_factory.mktemp("synth") / "default", seed=2024)


# --- contract ------------------------------------------------------------------------------------------
def test_all_files_with_the_contract_columns(small):
    a = small["a"]
    for key, columns in COLUMNS.items():
        if isinstance(key, tuple):
            frame = read_geo(a, *key)
            assert frame.crs.to_epsg() == 4547
        else:
            frame = read_csv(a, key)
        assert list(frame.columns) == columns, key
        assert len(frame) > 0, key
    settings = tomllib.loads((a / "study.toml").read_text(encoding="utf-8"))
    assert settings["crs"] == "EPSG:4547" and settings["synthetic"] is True
    assert settings["year"] == 2023 and settings["area_unit"] == "mu" and settings["money_unit"] == "yuan"
    assert "synthetic" in settings["description"].lower() or "合成" in settings["description"]
    standards = settings.get("standards", settings)
    assert standards["farmland_uses"] == ["arable"] and standards["office_area_standard_m2"] == 300
    assert standards["weak_total_yuan"] == 100_000 and standards["weak_operating_yuan"] == 50_000


def test_ids_are_codes_with_leading_zeros(small):
    towns, villages = read_csv(small["a"], "towns.csv"), read_csv(small["a"], "villages.csv")
    towns["town_id"] = towns["town_id"].astype(str)
    assert towns["town_id"].str.fullmatch(r"0\d{8}").all()
    assert villages["village_id"].str.fullmatch(r"0\d{11}").all()
    assert (villages["village_id"].str[:9] == villages["town_id"]).all()
    assert villages["village_id"].is_unique and villages["village_name"].is_unique
    assert villages["village_name"].str.endswith(("村", "社区")).all()
    assert set(villages["kind"]) <= {"village", "community"}
    assert (villages["kind"] == "community").eq(villages["village_name"].str.endswith("社区")).all()
    assert len(villages) == 6 and villages.groupby("town_id").size().eq(3).all()
    assert (villages["resident_pop"] > 0).all() and (villages["households"] > 0).all()


def test_loads_cleanly(small):
    import villagestudy as vs

    study = vs.load_study(small["a"])
    assert study.settings.synthetic and study.settings.crs == "EPSG:4547"
    assert not study.notes, study.notes
    assert len(study.parcels) == len(read_geo(small["a"], "parcels.gpkg"))
    assert len(vs.load_study(small["pq"]).parcels) == len(study.parcels)


# --- geometry ------------------------------------------------------------------------------------------
def test_village_polygons_tile_their_town(small):
    b = read_geo(small["a"], "boundaries.gpkg").merge(read_csv(small["a"], "villages.csv")[["village_id", "town_id"]])
    assert b.is_valid.all()
    for _, town in b.groupby("town_id"):
        geoms = town.geometry.to_numpy()
        for g1, g2 in itertools.combinations(geoms, 2):
            assert shapely.intersection(g1, g2).area < 1e-3
        union = shapely.union_all(geoms)
        assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no holes, no gaps
        assert abs(union.area - union.envelope.area) < 1e-3  # the town is a rectangle
        touching = sum(shapely.intersection(g1, g2).length > 1 for g1, g2 in itertools.combinations(geoms, 2))
        assert touching >= len(geoms) - 1  # neighbours share edges
    # the study lies around x=500,000, y=2,500,000 (EPSG:4547)
    x0, y0, x1, y1 = b.total_bounds
    assert 400_000 < x0 < x1 < 600_000 and 2_400_000 < y0 < y1 < 2_600_000


def test_parcels_lie_within_their_village_and_areas_match(small):
    a = small["a"]
    parcels = read_geo(a, "parcels.gpkg")
    villages = read_geo(a, "boundaries.gpkg").set_index("village_id").geometry
    assert parcels["parcel_id"].is_unique and parcels.is_valid.all()
    assert shapely.within(parcels.geometry.to_numpy(), villages.loc[parcels["village_id"]].to_numpy()).all()
    np.testing.assert_allclose(parcels.geometry.area / M2_PER_MU, parcels["area"], atol=1e-3)
    assert set(parcels["land_use"]) <= set(LAND_USES)
    assert (parcels["land_use"] == "arable").mean() > 0.5
    assert (parcels["owner_id"].str[:12] == parcels["village_id"]).all()
    assert parcels["owner_id"].str.fullmatch(r"\d{12}-\d{2}").all()
    hh = parcels["household_id"].dropna()
    assert (hh.str[:12] == parcels.loc[hh.index, "village_id"]).all()
    # a household belongs to the economic society that owns its parcels
    assert (hh.str[12:14] == parcels.loc[hh.index, "owner_id"].str[-2:]).all()
    # parcels of one village do not overlap
    tree = shapely.STRtree(parcels.geometry.to_numpy())
    i, j = tree.query(parcels.geometry.to_numpy(), predicate="overlaps")
    assert len(i) == 0


def test_parks_and_grids(small):
    a = small["a"]
    villages = read_geo(a, "boundaries.gpkg").set_index("village_id").geometry
    parks = read_geo(a, "parks.gpkg")
    assert len(parks) and parks["park_id"].is_unique
    assert shapely.within(parks.geometry.to_numpy(), villages.loc[parks["village_id"]].to_numpy()).all()
    assert (parks["occupied_floor_area_m2"] <= parks["floor_area_m2"]).all()
    assert parks["built_year"].between(1985, 2020).all()
    np.testing.assert_allclose(parks.geometry.area / M2_PER_MU, parks["land_area"], atol=1e-3)
    assert (parks[["annual_rent_yuan", "annual_tax_yuan"]] >= 0).all().all()
    grids = read_geo(a, "grids.gpkg")
    assert grids["grid_id"].is_unique and grids.is_valid.all()
    top, micro = grids[grids["level"] == "grid"], grids[grids["level"] == "micro"]
    assert top["parent_grid_id"].isna().all() and micro["parent_grid_id"].isin(top["grid_id"]).all()
    assert set(top["village_id"]) == set(villages.index)
    assert grids["has_party_group"].dtype == bool
    # grids tile their village and micro-grids their grid
    for vid, g in top.groupby("village_id"):
        assert abs(g.area.sum() - villages[vid].area) < 1e-5 * villages[vid].area
        assert shapely.union_all(g.geometry.to_numpy()).symmetric_difference(villages[vid]).area < 1e-5 * villages[vid].area
    parent = top.set_index("grid_id")
    for gid, m in micro.groupby("parent_grid_id"):
        assert abs(m.area.sum() - parent.geometry[gid].area) < 1e-5 * parent.geometry[gid].area
        assert m["households"].sum() == parent.at[gid, "households"]
    hh = read_csv(a, "villages.csv").set_index("village_id")["households"]
    assert top.groupby("village_id")["households"].sum().eq(hh).all()


# --- tables --------------------------------------------------------------------------------------------
def test_income_and_governance_tables(small):
    a = small["a"]
    income = read_csv(a, "income.csv")
    villages = read_csv(a, "villages.csv")
    assert len(income) == len(villages) * 3 * 5
    assert set(income["category"]) == set(INCOME_CATEGORIES) and set(income["year"]) == {2021, 2022, 2023}
    assert not income.duplicated(["village_id", "year", "category"]).any()
    assert pd.api.types.is_integer_dtype(income["amount"])
    assert (income.loc[income["category"] != "investment", "amount"] >= 0).all()
    gov = read_csv(a, "governance.csv")
    assert len(gov) == len(villages) * 3
    counts = gov.drop(columns=["village_id", "year"])
    assert all(pd.api.types.is_integer_dtype(counts[c]) for c in counts) and (counts >= 0).all().all()
    for col in TABLES["governance"].columns:
        if col.at_most:
            assert (gov[col.name] <= gov[col.at_most]).all(), col.name


def test_deterministic_for_a_seed(small):
    a, b, c = small["a"], small["b"], small["c"]
    for name in CSV_FILES + ("study.toml",):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert any((a / name).read_bytes() != (c / name).read_bytes() for name in CSV_FILES)
    for key in COLUMNS:
        if isinstance(key, tuple):
            fa, fb = read_geo(a, *key), read_geo(b, *key)
            pd.testing.assert_frame_equal(fa.drop(columns="geometry"), fb.drop(columns="geometry"))
            assert fa.geometry.geom_equals_exact(fb.geometry, tolerance=0).all(), key
    ga, gc = read_geo(a, "parcels.gpkg").geometry, read_geo(c, "parcels.gpkg").geometry
    assert len(ga) != len(gc) or not ga.geom_equals(gc, align=False).all()


def test_parquet_parcels_equal_the_geopackage(small):
    pq, a = small["pq"], small["a"]
    assert (pq / "parcels.parquet").exists() and not (pq / "parcels.gpkg").exists()
    fp, fa = read_geo(pq, "parcels.parquet"), read_geo(a, "parcels.gpkg")
    pd.testing.assert_frame_equal(fp.drop(columns="geometry"), fa.drop(columns="geometry"), check_dtype=False)
    assert fp.geometry.geom_equals_exact(fa.geometry, tolerance=0).all()
    assert fp.crs.to_epsg() == 4547


def test_rewriting_in_another_format_removes_the_stale_parcels(tmp_path):
    out = write_synthetic_study(tmp_path / "s", towns=1, villages_per_town=2, parcels_per_village=5)
    assert (out / "parcels.gpkg").exists()
    write_synthetic_study(out, towns=1, villages_per_town=2, parcels_per_village=5, parcel_format="parquet")
    assert (out / "parcels.parquet").exists() and not (out / "parcels.gpkg").exists()


# --- realistic variation in a default-sized study ----------------------------------------------------
def _wide_income(folder):
    w = read_csv(folder, "income.csv").pivot_table(index=["village_id", "year"], columns="category",
                                                   values="amount").reset_index()
    w["total"] = w[list(INCOME_CATEGORIES)].sum(axis=1)
    w["operating"] = w[["business", "contracting", "investment"]].sum(axis=1)
    w["weak"] = (w["total"] < 100_000) | (w["operating"] < 50_000)
    return w


def test_default_study_has_weak_and_strong_villages_and_losses(default):
    w = _wide_income(default)
    villages = read_csv(default, "villages.csv")
    assert 4 * 8 <= len(villages) <= 4 * 15
    last = w[w["year"] == 2023].merge(villages[["village_id", "town_id"]])
    assert last["weak"].any() and not last["weak"].all()
    assert ((last["total"] >= 100_000) & (last["operating"] < 50_000)).any()  # subsidy-dependent
    assert last.groupby("town_id")["weak"].any().all() and (~last.groupby("town_id")["weak"].all()).all()
    assert (w["investment"] < 0).any()
    # most villages grow
    first = w[w["year"] == 2019].set_index("village_id")["total"]
    assert (last.set_index("village_id")["total"] > first).mean() > 0.5


def test_default_study_brackets_the_governance_standards(default):
    gov = read_csv(default, "governance.csv").merge(read_csv(default, "villages.csv"))
    gov = gov[gov["year"] == 2023]
    per_10k = gov["social_workers"] / gov["resident_pop"] * 1e4
    assert (per_10k < 18).any() and (per_10k >= 18).any()
    part_time = gov["grid_posts_part_time"] / gov["grid_posts"]
    assert (part_time > 0.5).any() and (part_time <= 0.5).any() and (part_time > 0.7).any()
    assert 0.4 < gov["party_members_volunteering"].sum() / gov["party_members_registered"].sum() < 0.7
    assert 0.2 < gov["social_workers_certified"].sum() / gov["social_workers"].sum() < 0.4
    assert 0.35 < gov["social_workers_experienced"].sum() / gov["social_workers"].sum() < 0.6
    assert (gov["office_area_m2"] < 300).any() and (gov["office_area_m2"] >= 300).any()
    assert 150_000 < gov["budget_yuan"].mean() < 250_000


def test_every_town_has_parks_grids_income_and_governance(default):
    villages = read_csv(default, "villages.csv")
    town_of = villages.set_index("village_id")["town_id"]
    towns = set(read_csv(default, "towns.csv")["town_id"].astype(str))
    for name in ("parks.gpkg", "grids.gpkg"):
        assert set(town_of[read_geo(default, name)["village_id"]]) == towns, name
    for name in ("income.csv", "governance.csv"):
        assert set(read_csv(default, name)["village_id"]) == set(villages["village_id"]), name
    parks = read_geo(default, "parks.gpkg")
    assert (parks["built_year"] < 2000).mean() > 0.4 and (parks["built_year"] >= 2000).any()
    assert parks.groupby("village_id").size().max() >= 2  # some villages have several parks
    assert len(set(parks["village_id"])) < len(villages)  # and some have none
    grids = read_geo(default, "grids.gpkg")
    micro = grids[grids["level"] == "micro"].assign(town=lambda d: town_of[d["village_id"]].to_numpy())
    coverage = micro.groupby("town")["has_party_group"].mean()
    assert (coverage == 1.0).sum() >= 1 and (coverage < 1.0).any()


def _blocks(parcels: gpd.GeoDataFrame) -> pd.DataFrame:
    """Contiguous blocks of parcels (within 1 m): area (mu) and number of owners of each."""
    geoms = parcels.geometry.to_numpy()
    parts = shapely.get_parts(shapely.union_all(shapely.buffer(geoms, 0.5, join_style="mitre")))
    _, block = shapely.STRtree(parts).query(shapely.centroid(geoms), predicate="within")
    frame = pd.DataFrame({"block": block, "area": parcels["area"].to_numpy(), "owner": parcels["owner_id"].to_numpy()})
    return frame.groupby("block").agg(area=("area", "sum"), owners=("owner", "nunique"), n=("area", "size"))


def test_fragmentation_varies_between_villages(default):
    parcels = read_geo(default, "parcels.gpkg")
    per_village = parcels.groupby("village_id").agg(n=("parcel_id", "size"), hh=("household_id", "nunique"),
                                                     size=("area", "mean"))
    per_hh = per_village["n"] / per_village["hh"]
    assert per_hh.max() / per_hh.min() > 3
    assert per_village["size"].max() / per_village["size"].min() > 4
    arable = parcels[parcels["land_use"] == "arable"]
    consolidated = _blocks(arable[arable["village_id"] == per_hh.idxmin()])
    fragmented = _blocks(arable[arable["village_id"] == per_hh.idxmax()])
    assert consolidated["area"].max() >= 50  # contiguous blocks of 50+ mu
    assert fragmented["area"].max() < 50 and len(fragmented) > len(consolidated)
    # owners per parcel within blocks: scattered ownership in the fragmented village
    assert (fragmented["owners"].sum() / fragmented["n"].sum()) > 2 * (consolidated["owners"].sum()
                                                                      / consolidated["n"].sum())


# --- arguments and the bundled sample ----------------------------------------------------------------
def test_parse_years():
    assert parse_years("2019-2023") == (2019, 2023)
    assert parse_years(" 2020 – 2022 ") == (2020, 2022)
    assert parse_years("2023") == (2023, 2023)
    for bad in ("2019/2023", "19-23", "abc", "", "2023-2019", "1800-1801"):
        with pytest.raises(ValueError, match=r"year"):
            parse_years(bad)


@pytest.mark.parametrize("kwargs", [dict(towns=0), dict(villages_per_town=0), dict(villages_per_town=(5, 3)),
                                    dict(parcels_per_village=0), dict(years=(2023, 2019)),
                                    dict(parcel_format="shp"), dict(towns=3000, villages_per_town=20)])
def test_bad_arguments_raise(tmp_path, kwargs):
    with pytest.raises(SynthArgumentError):  # a ValueError the command line shows as a usage error
        write_synthetic_study(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_towns_beyond_one_county_spread_over_counties_of_one_city(tmp_path, monkeypatch):
    """A province-sized study: more towns than one county's 3-digit town codes hold (899; 3 here)."""
    import villagestudy as vs
    from villagestudy.synth import _names

    monkeypatch.setattr(_names, "TOWNS_PER_COUNTY", 3)
    out = write_synthetic_study(tmp_path / "s", towns=7, villages_per_town=2, parcels_per_village=3, seed=5)
    towns = read_csv(out, "towns.csv")
    counties = towns["town_id"].str[:6]
    assert counties.nunique() == 3 and counties.value_counts().max() <= 3
    assert counties.str[:4].nunique() == 1  # one city
    assert towns.groupby(counties)["county"].nunique().eq(1).all() and towns["county"].nunique() == 3
    assert towns["town_id"].is_unique and towns["town_id"].is_monotonic_increasing
    study = vs.load_study(out)
    assert len(study.towns) == 7 and not study.notes
    assert "等3县" in study.settings.name


def test_command_line_takes_a_range_of_villages_and_refuses_bad_sizes(tmp_path):
    from villagestudy.cli import main

    assert main(["synth", str(tmp_path / "r"), "--towns", "2", "--villages-per-town", "2-3",
                 "--parcels-per-village", "2", "--seed", "1"]) == 0
    assert read_csv(tmp_path / "r", "villages.csv").groupby("town_id").size().between(2, 3).all()
    for bad in (["--towns", "30000"], ["--villages-per-town", "5-x"], ["--villages-per-town", "999"]):
        assert main(["synth", str(tmp_path / "bad"), *bad]) == 2
    assert not (tmp_path / "bad").exists()


def test_accepts_int_villages_and_year_text(tmp_path):
    out = write_synthetic_study(tmp_path / "s", towns=1, villages_per_town=2, parcels_per_village=3,
                                years="2023", seed=3)
    assert len(read_csv(out, "villages.csv")) == 2
    assert set(read_csv(out, "income.csv")["year"]) == {2023}


def test_bundled_sample_is_up_to_date(default):
    """data/sample is `villagestudy synth data/sample --seed 2024`; regenerate it when the generator changes."""
    for name in CSV_FILES + ("study.toml",):
        assert (SAMPLE / name).read_bytes() == (default / name).read_bytes(), name
    pd.testing.assert_frame_equal(read_geo(SAMPLE, "parcels.gpkg").drop(columns="geometry"),
                                  read_geo(default, "parcels.gpkg").drop(columns="geometry"))
