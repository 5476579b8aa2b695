"""The loader: file types, encodings, Chinese headers, office layouts, units."""
from __future__ import annotations

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

import villagestudy as vs
from villagestudy.io.aliases import resolve_header, unit_note
from villagestudy.settings import M2_PER_MU


def _rewrite_csv(path, encoding="utf-8", **columns_renamed):
    frame = pd.read_csv(path, dtype=str)
    frame.rename(columns=columns_renamed).to_csv(path, index=False, encoding=encoding)


def test_tiny_study_loads_canonical(tiny_study_dir):
    study = vs.load_study(tiny_study_dir)
    assert list(study.villages["village_id"])[0] == "044010000101"  # leading zero kept
    assert study.villages["registered_pop"].dtype == "float64"
    assert study.parcels.crs.to_epsg() == 4547
    assert study.parcels["area_mu"].round(6).eq(1.0).all()  # one-mu squares, area from geometry
    assert set(study.income.columns) == {"village_id", "year", "category", "amount_yuan"}
    assert study.income["year"].dtype == "int64"
    assert study.grids["has_party_group"].tolist() == [True, True, False]
    assert study.settings.office_area_standard_m2 == 300
    assert study.default_year == 2023
    assert study.years == [2022, 2023]


def test_unit_constants():
    assert M2_PER_MU == pytest.approx(666.6667, abs=1e-4)
    assert resolve_header("面积（亩）") == ("area", "mu")
    assert resolve_header("面积(平方米)") == ("area", "m2")
    assert resolve_header("经营收入(万元)") == ("business", "wan_yuan")
    assert unit_note("单位：万元") == "wan_yuan"
    assert unit_note("单位:亩") == "mu"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings(tiny_study_dir, encoding):
    _rewrite_csv(tiny_study_dir / "villages.csv", encoding=encoding)
    study = vs.load_study(tiny_study_dir)
    assert study.villages["village_name"].tolist() == ["甲村", "乙村", "丙社区"]


def test_gb18030_only_character(tiny_study_dir):
    frame = pd.read_csv(tiny_study_dir / "villages.csv", dtype=str)
    frame.loc[0, "village_name"] = "䶮村"  # outside GBK: gb18030 is needed
    frame.to_csv(tiny_study_dir / "villages.csv", index=False, encoding="gb18030")
    assert vs.load_study(tiny_study_dir).villages["village_name"].iloc[0] == "䶮村"


def test_undecodable_file_is_reported(tiny_study_dir):
    (tiny_study_dir / "towns.csv").write_bytes(b"town_id,town_name\n1,\x81\xff\xfe\n")
    with pytest.raises(vs.StudyError) as err:
        vs.load_study(tiny_study_dir)
    text = str(err.value)
    assert "towns.csv" in text and "cannot decode" in text


def test_chinese_headers(tiny_study_dir):
    _rewrite_csv(tiny_study_dir / "villages.csv", village_id="村编码", village_name="村(社区)名称",
                 town_id="镇(街道)编码", registered_pop="户籍人口", resident_pop="常住人口", households="户数")
    _rewrite_csv(tiny_study_dir / "towns.csv", encoding="gb18030", town_id="镇街编码", town_name="镇街")
    study = vs.load_study(tiny_study_dir)
    assert study.villages["resident_pop"].tolist() == [900, 2500, 2134]
    assert study.towns["town_name"].tolist() == ["东镇", "西街道"]


def test_chinese_values_for_categories(tiny_study_dir):
    frame = pd.read_csv(tiny_study_dir / "income.csv", dtype=str)
    frame["category"] = frame["category"].map({"business": "经营收入", "contracting": "发包及上交收入",
                                               "investment": "投资收益", "subsidy": "补助收入", "other": "其他收入"})
    frame.rename(columns={"village_id": "村编码", "year": "年份", "category": "收入类别", "amount": "金额"}).to_csv(
        tiny_study_dir / "income.csv", index=False)
    study = vs.load_study(tiny_study_dir)
    assert set(study.income["category"]) == {"business", "contracting", "investment", "subsidy", "other"}


def _wide_income(tiny_study_dir) -> pd.DataFrame:
    long = vs.load_study(tiny_study_dir).income
    return long.pivot_table(index=["village_id", "year"], columns="category", values="amount_yuan").reset_index()


def test_wide_income_in_wan_yuan_xlsx_office_layout(tiny_study_dir):
    """Title rows merged across, a unit note, a two-row merged header, and a 合计 row."""
    wide = _wide_income(tiny_study_dir)
    (tiny_study_dir / "income.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某县村集体经济收入统计表"])
    ws.merge_cells("A1:G1")
    ws.append(["单位：万元"])
    ws.append(["村编码", "年份", "收入", None, None, None, None])
    ws.merge_cells("C3:G3")
    ws.merge_cells("A3:A4")
    ws.merge_cells("B3:B4")
    ws.append([None, None, "经营收入", "发包及上交收入", "投资收益", "补助收入", "其他收入"])
    for _, r in wide.iterrows():
        ws.append([r["village_id"], int(r["year"])] + [r[c] / 10000 for c in
                                                       ["business", "contracting", "investment", "subsidy", "other"]])
    ws.append(["合计", None] + [wide[c].sum() / 10000 for c in ["business", "contracting", "investment", "subsidy", "other"]])
    wb.save(tiny_study_dir / "income.xlsx")
    study = vs.load_study(tiny_study_dir)
    assert len(study.income) == 3 * 2 * 5  # no total row
    got = study.income.set_index(["village_id", "year", "category"])["amount_yuan"]
    assert got[("044010000101", 2022, "business")] == pytest.approx(60_000)
    assert got[("044010000102", 2022, "investment")] == pytest.approx(-2_000)
    assert any("total row" in str(w) and "row" in str(w) for w in study.notes)


def test_villages_xlsx_with_title_and_total_row(tiny_study_dir):
    frame = pd.read_csv(tiny_study_dir / "villages.csv", dtype=str)
    (tiny_study_dir / "villages.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2023年村（社区）基本情况表"])
    ws.merge_cells("A1:G1")
    ws.append(["村编码", "村名", "镇街编码", "类型", "户籍人口", "常住人口", "户数"])
    for _, r in frame.iterrows():
        ws.append([r["village_id"], r["village_name"], r["town_id"], "村" if r["kind"] == "village" else "社区",
                   int(r["registered_pop"]), int(r["resident_pop"]), int(r["households"])])
    ws.append([None, "合计", None, None, 7597, 5534, 2100])
    wb.save(tiny_study_dir / "villages.xlsx")
    study = vs.load_study(tiny_study_dir)
    assert len(study.villages) == 3
    assert study.villages["kind"].tolist() == ["village", "village", "community"]
    total_notes = [w for w in study.notes if "total row" in str(w)]
    assert total_notes and total_notes[0].row == 6 and total_notes[0].file == "villages.xlsx"


def test_parcels_csv_with_area_units(tiny_study_dir):
    gdf = gpd.read_file(tiny_study_dir / "parcels.gpkg")
    (tiny_study_dir / "parcels.gpkg").unlink()
    table = pd.DataFrame(gdf.drop(columns="geometry"))
    table["面积(平方米)"] = gdf.geometry.area
    table.to_csv(tiny_study_dir / "parcels.csv", index=False)
    study = vs.load_study(tiny_study_dir)
    assert study.parcels["area_mu"].round(6).eq(1.0).all()
    assert not isinstance(study.parcels, gpd.GeoDataFrame)


def test_area_unit_setting_hectares(tiny_study_dir):
    gdf = gpd.read_file(tiny_study_dir / "parcels.gpkg")
    (tiny_study_dir / "parcels.gpkg").unlink()
    table = pd.DataFrame(gdf.drop(columns="geometry"))
    table["area"] = 2.0  # hectares
    table.to_csv(tiny_study_dir / "parcels.csv", index=False)
    toml = (tiny_study_dir / "study.toml").read_text(encoding="utf-8").replace('area_unit = "mu"', 'area_unit = "ha"')
    (tiny_study_dir / "study.toml").write_text(toml, encoding="utf-8")
    assert vs.load_study(tiny_study_dir).parcels["area_mu"].eq(30.0).all()  # 15 mu per ha


def test_money_unit_setting_wan_yuan(tiny_study_dir):
    toml = (tiny_study_dir / "study.toml").read_text(encoding="utf-8").replace('money_unit = "yuan"',
                                                                               'money_unit = "wan_yuan"')
    (tiny_study_dir / "study.toml").write_text(toml, encoding="utf-8")
    study = vs.load_study(tiny_study_dir)
    got = study.income.set_index(["village_id", "year", "category"])["amount_yuan"]
    assert got[("044010000101", 2022, "business")] == pytest.approx(60_000 * 10_000)
    # *_yuan columns are always yuan
    assert study.parks["annual_rent_yuan"].iloc[0] == 1_800_000


def test_geoparquet_and_reprojection(tiny_study_dir):
    gdf = gpd.read_file(tiny_study_dir / "parcels.gpkg")
    (tiny_study_dir / "parcels.gpkg").unlink()
    gdf.to_crs("EPSG:4490").to_parquet(tiny_study_dir / "parcels.parquet")  # degrees: reprojected on load
    study = vs.load_study(tiny_study_dir)
    assert study.parcels.crs.to_epsg() == 4547
    assert study.parcels["area_mu"].round(3).eq(1.0).all()


def test_settings_overrides(tiny_study_dir):
    study = vs.load_study(tiny_study_dir, weak_total_yuan=200_000, year=2022)
    assert study.settings.weak_total_yuan == 200_000 and study.default_year == 2022
    with pytest.raises(KeyError):
        vs.load_study(tiny_study_dir, not_a_setting=1)


def test_fingerprint_stable_across_formats(tiny_study_dir):
    before = vs.load_study(tiny_study_dir).fingerprint
    _rewrite_csv(tiny_study_dir / "villages.csv", encoding="gb18030")
    assert vs.load_study(tiny_study_dir).fingerprint == before
    frame = pd.read_csv(tiny_study_dir / "governance.csv", dtype={"village_id": str})
    frame.loc[0, "social_workers"] = 3
    frame.to_csv(tiny_study_dir / "governance.csv", index=False)
    assert vs.load_study(tiny_study_dir).fingerprint != before


def test_fingerprint_changes_when_a_parcel_moves(tiny_study_dir):
    import shapely

    before = vs.load_study(tiny_study_dir).fingerprint
    parcels = gpd.read_file(tiny_study_dir / "parcels.gpkg")
    parcels.loc[0, "geometry"] = shapely.affinity.translate(parcels.geometry[0], xoff=0.5)
    parcels.to_file(tiny_study_dir / "parcels.gpkg", layer="parcels")
    assert vs.load_study(tiny_study_dir).fingerprint != before


def test_fingerprint_of_other_settings_hashes_the_tables_once(tiny_study_dir, monkeypatch):
    import pickle

    from villagestudy import study as study_module

    study = vs.load_study(tiny_study_dir)
    study.fingerprint
    digests = []
    real = study_module._frame_digest
    monkeypatch.setattr(study_module, "_frame_digest", lambda *a: digests.append(a) or real(*a))
    changed = study.with_settings(weak_total_yuan=200_000)
    assert changed.fingerprint != study.fingerprint and digests == []
    # the same value as a study loaded with that setting, which hashes its tables itself
    assert vs.load_study(tiny_study_dir, weak_total_yuan=200_000).fingerprint == changed.fingerprint
    assert digests
    # other tables: hashed again (for_towns), and a pickled study recomputes the same value
    assert study.for_towns("440100001").fingerprint != study.fingerprint
    assert pickle.loads(pickle.dumps(changed)).fingerprint == changed.fingerprint


def test_for_towns_filters_every_table(tiny_study_dir):
    study = vs.load_study(tiny_study_dir).for_towns("440100001")
    assert len(study.villages) == 2
    assert set(study.parcels["village_id"]) <= set(study.villages["village_id"])
    assert set(study.income["village_id"]) <= set(study.villages["village_id"])


def test_ids_that_lost_leading_zeros_are_repaired_with_a_warning(tiny_study_dir):
    frame = pd.read_csv(tiny_study_dir / "governance.csv")  # ids read as numbers, as Excel does
    assert frame["village_id"].iloc[0] == 44010000101
    frame.to_csv(tiny_study_dir / "governance.csv", index=False)
    study = vs.load_study(tiny_study_dir)
    assert study.governance["village_id"].iloc[0] == "044010000101"
    assert any("leading zero" in str(w) for w in study.notes)


def test_large_csv_with_title_row_uses_fast_reader_and_keeps_row_numbers(tiny_study_dir):
    """Past a few thousand lines the data rows are parsed by pandas' C reader: same rows, same messages."""
    (tiny_study_dir / "parcels.gpkg").unlink()
    n = 6000
    rows = pd.DataFrame({"地块编码": [f"Q{i}" for i in range(n)], "村编码": "044010000101", "土地用途": "耕地",
                         "承包方编码": [f"H{i % 50}" for i in range(n)], "面积(亩)": "1.5"})
    rows.loc[4999, "面积(亩)"] = "abc"  # file row: title 1, header 2, data from 3 -> 5002
    with open(tiny_study_dir / "parcels.csv", "w", encoding="gb18030", newline="") as f:
        f.write("某村承包地块清单,,,,\n")
        rows.to_csv(f, index=False)
        f.write("合计,,,,9000\n")
    with pytest.raises(vs.StudyError) as err:
        vs.load_study(tiny_study_dir)
    bad = [p for p in err.value.problems if p.file == "parcels.csv"]
    assert len(bad) == 1 and bad[0].row == 5002 and bad[0].column == "area" and bad[0].value == "abc"
    rows.loc[4999, "面积(亩)"] = "2"
    with open(tiny_study_dir / "parcels.csv", "w", encoding="gb18030", newline="") as f:
        f.write("某村承包地块清单,,,,\n")
        rows.to_csv(f, index=False)
        f.write("合计,,,,9000\n")
    study = vs.load_study(tiny_study_dir)
    assert len(study.parcels) == n and study.parcels["area_mu"].sum() == pytest.approx(1.5 * (n - 1) + 2)
    assert study.parcels["land_use"].eq("arable").all()
    assert any("total row" in str(w) and w.row == n + 3 for w in study.notes)


def test_a_village_named_like_a_total_keeps_its_row_and_total_rows_are_dropped(tiny_study_dir):
    frame = pd.read_csv(tiny_study_dir / "villages.csv", dtype=str)
    frame.loc[0, "village_name"] = "合计村"                      # a real village with its own id: data
    totals = pd.DataFrame([{**frame.iloc[0].to_dict(), "village_id": None, "village_name": " 合 计 "},
                           {**frame.iloc[0].to_dict(), "village_id": "总计", "village_name": None}])
    pd.concat([frame, totals]).to_csv(tiny_study_dir / "villages.csv", index=False)
    study = vs.load_study(tiny_study_dir)
    assert study.villages["village_id"].tolist() == frame["village_id"].tolist()
    assert study.villages.loc[0, "village_name"] == "合计村"
    dropped = sorted(w.row for w in study.notes if "total row" in str(w) and w.file == "villages.csv")
    assert dropped == [len(frame) + 2, len(frame) + 3]             # header is row 1


def test_villages_naming_their_town_get_its_code(tiny_study_dir):
    frame = pd.read_csv(tiny_study_dir / "villages.csv", dtype=str)
    frame["镇街"] = frame["town_id"].map({"440100001": "东镇", "440100002": "西街道"})
    frame.drop(columns=["town_id"]).rename(columns={"village_id": "村编码", "village_name": "村名"}).to_csv(
        tiny_study_dir / "villages.csv", index=False)
    study = vs.load_study(tiny_study_dir)
    assert study.villages["town_id"].tolist() == ["440100001", "440100001", "440100002"]
    frame.loc[1, "镇街"] = "北镇"
    frame.drop(columns=["town_id"]).to_csv(tiny_study_dir / "villages.csv", index=False)
    with pytest.raises(vs.StudyError) as err:
        vs.load_study(tiny_study_dir)
    assert any(p.row == 3 and p.column == "town_name" and p.value == "北镇" for p in err.value.problems)


def test_a_row_read_but_neither_loaded_nor_dropped_is_an_error():
    """The loader's own safety net: every data row read is loaded, or dropped with a reason."""
    from villagestudy.errors import ProblemList
    from villagestudy.io.load import _check_rows_accounted
    from villagestudy.io.readers import ROW, RawTable

    raw = RawTable(pd.DataFrame({ROW: [2, 3, 4, 5, 6, 7]}), "income.csv", dropped=[(4, "total row (合计)")])
    loaded = pd.DataFrame({ROW: [2, 3, 5]})
    problems = ProblemList()
    _check_rows_accounted({"income": raw}, {"income": loaded}, problems)
    [error] = problems.errors
    assert error.file == "income.csv" and error.row == 6 and "2 data row(s)" in error.message
    assert "rows 6, 7" in error.message
    fine = ProblemList()
    _check_rows_accounted({"income": raw}, {"income": pd.DataFrame({ROW: [2, 3, 5, 6, 7]})}, fine)
    assert not fine.errors
