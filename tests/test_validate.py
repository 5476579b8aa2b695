"""Every validation rule, each on a broken copy of the tiny study: file, row and column named."""
from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import villagestudy as vs


def _problems(folder) -> list[vs.Problem]:
    with pytest.raises(vs.StudyError) as err:
        vs.load_study(folder)
    return err.value.problems


def _edit(folder, name, fn):
    path = folder / name
    frame = pd.read_csv(path, dtype=str)
    frame = fn(frame)
    frame.to_csv(path, index=False)


def _one(problems, **match) -> vs.Problem:
    hits = [p for p in problems if all(getattr(p, k) == v for k, v in match.items())]
    assert hits, f"no problem matching {match} in:\n" + "\n".join(map(str, problems))
    return hits[0]


def test_missing_required_file(tiny_study_dir):
    (tiny_study_dir / "towns.csv").unlink()
    p = _one(_problems(tiny_study_dir), file="towns.csv")
    assert "required file is missing" in p.message


def test_missing_required_column(tiny_study_dir):
    _edit(tiny_study_dir, "villages.csv", lambda f: f.drop(columns=["village_name"]))
    p = _one(_problems(tiny_study_dir), file="villages.csv", column="village_name")
    assert "missing" in p.message


def test_duplicate_ids(tiny_study_dir):
    _edit(tiny_study_dir, "villages.csv", lambda f: f.assign(village_id=[f.village_id[0], f.village_id[0], f.village_id[2]]))
    p = _one(_problems(tiny_study_dir), file="villages.csv", column="village_id")
    assert "duplicate" in p.message and p.row == 3


def test_duplicate_income_key(tiny_study_dir):
    _edit(tiny_study_dir, "income.csv", lambda f: pd.concat([f, f.iloc[[0]]]))
    p = _one(_problems(tiny_study_dir), file="income.csv")
    assert "duplicate" in p.message and p.row is not None


def test_unknown_town_of_a_village(tiny_study_dir):
    _edit(tiny_study_dir, "villages.csv", lambda f: f.assign(town_id=["440100001", "999", "440100002"]))
    p = _one(_problems(tiny_study_dir), file="villages.csv", column="town_id", row=3)
    assert p.value == "999" and "unknown" in p.message


def test_unknown_village_in_parcels_and_income(tiny_study_dir):
    gdf = gpd.read_file(tiny_study_dir / "parcels.gpkg")
    gdf.loc[2, "village_id"] = "nowhere"
    gdf.to_file(tiny_study_dir / "parcels.gpkg", layer="parcels")
    _edit(tiny_study_dir, "income.csv", lambda f: f.assign(village_id=f.village_id.where(f.index != 4, "ghost")))
    problems = _problems(tiny_study_dir)
    assert _one(problems, file="parcels.gpkg", column="village_id").row == 3
    assert _one(problems, file="income.csv", column="village_id").row == 6


@pytest.mark.parametrize("value,needle", [("many", "not a number"), ("-5", "negative")])
def test_bad_population(tiny_study_dir, value, needle):
    _edit(tiny_study_dir, "villages.csv", lambda f: f.assign(resident_pop=[f.resident_pop[0], value, f.resident_pop[2]]))
    p = _one(_problems(tiny_study_dir), file="villages.csv", column="resident_pop", row=3)
    assert needle in str(p)


def test_negative_parcel_area(tiny_study_dir):
    gdf = gpd.read_file(tiny_study_dir / "parcels.gpkg")
    (tiny_study_dir / "parcels.gpkg").unlink()
    table = pd.DataFrame(gdf.drop(columns="geometry")).assign(area=1.0)
    table.loc[1, "area"] = -1
    table.to_csv(tiny_study_dir / "parcels.csv", index=False)
    p = _one(_problems(tiny_study_dir), file="parcels.csv", column="area_mu", row=3)
    assert "negative" in str(p)


@pytest.mark.parametrize("column,parent", [("social_workers_certified", "social_workers"),
                                           ("grid_posts_part_time", "grid_posts"),
                                           ("party_members_volunteering", "party_members_registered"),
                                           ("disputes_resolved", "disputes_reported")])
def test_impossible_subcounts(tiny_study_dir, column, parent):
    _edit(tiny_study_dir, "governance.csv", lambda f: f.assign(**{column: [f[column][0], "999999", f[column][2]]}))
    p = _one(_problems(tiny_study_dir), file="governance.csv", column=column, row=3)
    assert parent in p.message


def test_occupied_floor_above_floor_area(tiny_study_dir):
    _edit(tiny_study_dir, "parks.csv", lambda f: f.assign(occupied_floor_area_m2="30000"))
    _one(_problems(tiny_study_dir), file="parks.csv", column="occupied_floor_area_m2", row=2)


def test_unknown_category_and_land_use(tiny_study_dir):
    _edit(tiny_study_dir, "income.csv", lambda f: f.assign(category=f.category.where(f.index != 0, "lottery")))
    gdf = gpd.read_file(tiny_study_dir / "parcels.gpkg")
    gdf.loc[0, "land_use"] = "moon"
    gdf.to_file(tiny_study_dir / "parcels.gpkg", layer="parcels")
    problems = _problems(tiny_study_dir)
    assert _one(problems, file="income.csv", column="category", row=2).value == "lottery"
    assert _one(problems, file="parcels.gpkg", column="land_use", row=1).value == "moon"


def test_negative_amount_only_allowed_for_investment(tiny_study_dir):
    _edit(tiny_study_dir, "income.csv", lambda f: f.assign(amount=f.amount.where(f.index != 0, "-5")))
    p = _one(_problems(tiny_study_dir), file="income.csv", row=2)
    assert "investment" in str(p)


def test_year_out_of_range(tiny_study_dir):
    _edit(tiny_study_dir, "governance.csv", lambda f: f.assign(year=["2023", "20233", "2023"]))
    p = _one(_problems(tiny_study_dir), file="governance.csv", column="year", row=3)
    assert "year" in str(p)


def test_geographic_crs_without_study_crs(tiny_study_dir):
    toml = (tiny_study_dir / "study.toml").read_text(encoding="utf-8").replace('crs = "EPSG:4547"\n', "")
    (tiny_study_dir / "study.toml").write_text(toml, encoding="utf-8")
    gdf = gpd.read_file(tiny_study_dir / "boundaries.gpkg").to_crs("EPSG:4326")
    gdf.to_file(tiny_study_dir / "boundaries.gpkg", layer="villages")
    p = _one(_problems(tiny_study_dir), file="boundaries.gpkg")
    assert "geographic" in p.message and "crs" in (p.expected or "")


def test_geographic_study_crs(tiny_study_dir):
    toml = (tiny_study_dir / "study.toml").read_text(encoding="utf-8").replace("EPSG:4547", "EPSG:4326")
    (tiny_study_dir / "study.toml").write_text(toml, encoding="utf-8")
    p = _one(_problems(tiny_study_dir), file="study.toml", column="crs")
    assert "geographic" in p.message


def test_layer_without_crs(tiny_study_dir):
    gdf = gpd.read_file(tiny_study_dir / "boundaries.gpkg").set_crs(None, allow_override=True)
    gdf.to_file(tiny_study_dir / "boundaries.gpkg", layer="villages")
    p = _one(_problems(tiny_study_dir), file="boundaries.gpkg")
    assert "no CRS" in p.message


def test_invalid_and_empty_geometry_reported_with_id(tiny_study_dir):
    gdf = gpd.read_file(tiny_study_dir / "parcels.gpkg")
    bowtie = shapely.Polygon([(500000, 2500000), (500010, 2500010), (500010, 2500000), (500000, 2500010)])
    gdf.loc[1, "geometry"] = bowtie
    gdf.loc[2, "geometry"] = shapely.Polygon()
    gdf.to_file(tiny_study_dir / "parcels.gpkg", layer="parcels")
    problems = _problems(tiny_study_dir)
    invalid = _one(problems, file="parcels.gpkg", column="geometry", row=2)
    assert "invalid" in invalid.message and "P01" in invalid.message
    empty = [p for p in problems if p.file == "parcels.gpkg" and p.row == 3]
    assert empty and ("empty" in empty[0].message or "missing" in empty[0].message) and "P02" in empty[0].message


def test_empty_table(tiny_study_dir):
    (tiny_study_dir / "governance.csv").write_text("village_id,year,social_workers\n", encoding="utf-8")
    p = _one(_problems(tiny_study_dir), file="governance.csv")
    assert "no data rows" in p.message


def test_bad_toml(tiny_study_dir):
    (tiny_study_dir / "study.toml").write_text("name = \n", encoding="utf-8")
    _one(_problems(tiny_study_dir), file="study.toml")


def test_several_problems_reported_in_one_run(tiny_study_dir):
    _edit(tiny_study_dir, "villages.csv", lambda f: f.assign(resident_pop=["x", f.resident_pop[1], "-1"]))
    _edit(tiny_study_dir, "governance.csv", lambda f: f.assign(social_workers_certified=["99", "1", "2"]))
    _edit(tiny_study_dir, "income.csv", lambda f: f.assign(year=f.year.where(f.index != 3, "1800")))
    problems = _problems(tiny_study_dir)
    files = {p.file for p in problems}
    assert {"villages.csv", "governance.csv", "income.csv"} <= files
    assert len(problems) >= 4


def test_warnings_do_not_fail(tiny_study_dir):
    _edit(tiny_study_dir, "governance.csv", lambda f: f.iloc[:2])
    study = vs.load_study(tiny_study_dir)
    assert any("no rows" in str(w) and w.file == "governance.csv" for w in study.notes)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "villagestudy.cli", *map(str, args)], capture_output=True, text=True)


def test_cli_validate_ok(tiny_study_dir):
    r = _cli("validate", tiny_study_dir)
    assert r.returncode == 0, r.stderr
    assert "villages:  3" in r.stdout and "parcels:   12" in r.stdout and "2022-2023" in r.stdout


def test_cli_validate_lists_problems_without_traceback(tiny_study_dir):
    _edit(tiny_study_dir, "villages.csv", lambda f: f.assign(resident_pop=["x", f.resident_pop[1], "-1"]))
    r = _cli("validate", tiny_study_dir)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "villages.csv, row 2, column 'resident_pop'" in r.stderr
    assert "villages.csv, row 4, column 'resident_pop'" in r.stderr


def test_cli_help_for_every_command():
    for cmd in ([], ["validate"], ["synth"], ["metrics"], ["indicators"]):
        r = _cli(*cmd, "--help")
        assert r.returncode == 0 and "usage" in r.stdout.lower()


def test_amounts_written_for_people_are_read_as_numbers(tiny_study_dir):
    """Thousands separators (ASCII and full-width), full-width digits, surrounding and full-width spaces."""
    written = ["60,000", "30，000", "\u3000 12000 ", " 1,000\xa0", "２，５００．５"]
    _edit(tiny_study_dir, "income.csv", lambda f: f.assign(amount=written + f.amount[5:].tolist()))
    income = vs.load_study(tiny_study_dir).income
    assert income["amount_yuan"].dtype == "float64"
    assert income["amount_yuan"].head(5).tolist() == [60000.0, 30000.0, 12000.0, 1000.0, 2500.5]


def test_every_cell_that_is_not_a_number_is_named(tiny_study_dir):
    # a superscript is not read as a digit (10⁴ is not 104)
    _edit(tiny_study_dir, "income.csv", lambda f: f.assign(amount=["1,2x", "10⁴", "1e", "1,2x"]
                                                                 + f.amount[4:].tolist()))
    problems = [p for p in _problems(tiny_study_dir) if p.column == "amount"]
    assert [(p.row, p.value) for p in problems] == [(2, "1,2x"), (3, "10⁴"), (4, "1e"), (5, "1,2x")]
    assert all("not a number" in p.message for p in problems)
