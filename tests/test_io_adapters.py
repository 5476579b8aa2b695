"""Land data adapters: 三调 DLTB and 确权 parcel layers written here in their published layouts."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import CRS

import villagestudy as vs
from villagestudy.cli import main
from villagestudy.io.adapters import (classify, find_land_layers, gauss_kruger_epsg, landuse_map, read_quequan,
                                      read_sandiao)
from villagestudy.io.adapters._common import repair_encoding

# three villages in two towns (12-digit statistical codes); names as a 三调 layer gives them
VILLAGES = {"440100001001": "新村村", "440100001002": "乐坊社区", "440100002001": "东岭村"}
# DLBM -> the land use a reader of GB/T 21010-2017 and the 三调 three broad classes expects
EXPECTED_USE = {"0101": "arable", "0102": "arable", "0103": "arable", "0201K": "garden", "0301": "forest",
                "0702": "construction", "1006": "other", "1203": "other", "0601": "construction"}
X0, Y0 = 500_000.0, 2_650_000.0  # CGCS2000 / GK CM 114E: longitude 114E, latitude about 24N


def _parcel_rows():
    rows = []
    codes = list(EXPECTED_USE)
    for v, vid in enumerate(VILLAGES):
        for k, dlbm in enumerate(codes[v * 3:v * 3 + 3] + codes[:2]):
            x, y = X0 + v * 2000 + k * 40, Y0 + (k % 2) * 40
            group = f"{1 + k % 2:02d}"
            rows.append({"vid": vid, "k": k, "dlbm": dlbm, "group": group, "state": v == 2 and k == 4,
                         "geometry": shapely.box(x, y, x + 40, y + 40)})  # 1600 m2 each, touching neighbours
    return rows


def _canonical_study(folder: Path, rows, *, ids, owners, households, areas, uses, names) -> Path:
    folder.mkdir(parents=True)
    (folder / "study.toml").write_text('name = "canonical"\ncrs = "EPSG:4547"\n', encoding="utf-8")
    pd.DataFrame({"town_id": ["440100001", "440100002"], "town_name": ["440100001", "440100002"]}).to_csv(
        folder / "towns.csv", index=False)
    pd.DataFrame({"village_id": list(VILLAGES), "village_name": names, "town_id": [v[:9] for v in VILLAGES],
                  "kind": ["community" if n.endswith("社区") else "village" for n in names]}).to_csv(
        folder / "villages.csv", index=False)
    gpd.GeoDataFrame({"parcel_id": ids, "village_id": [r["vid"] for r in rows], "land_use": uses,
                      "household_id": households, "owner_id": owners, "area": areas},
                     geometry=[r["geometry"] for r in rows], crs="EPSG:4547").to_file(folder / "parcels.gpkg",
                                                                                      layer="parcels")
    return folder


def _write_gbk_shapefile(frame: gpd.GeoDataFrame, path: Path) -> None:
    """A shapefile as Chinese GIS software exports it: GBK text, no .cpg, no language driver byte."""
    frame.to_file(path, encoding="gbk")
    path.with_suffix(".cpg").unlink()
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0
    dbf.write_bytes(bytes(data))


@pytest.fixture
def sandiao(tmp_path):
    rows = _parcel_rows()
    tbdlmj = [r["geometry"].area * 0.9 for r in rows]  # the land-class area: polygon less field ridges
    layer = gpd.GeoDataFrame({
        "BSM": [str(1000 + i) for i in range(len(rows))],
        "TBBH": [str(r["k"] + 1) for r in rows],
        "DLBM": [r["dlbm"] for r in rows],
        "DLMC": ["地类" for _ in rows],
        "QSXZ": ["10" if r["state"] else "30" for r in rows],
        "QSDWDM": [r["vid"] + r["group"] + "00000" for r in rows],
        "ZLDWDM": [r["vid"] + r["group"] + "00000" for r in rows],
        "ZLDWMC": [VILLAGES[r["vid"]] for r in rows],
        "TBMJ": [r["geometry"].area for r in rows],
        "TBDLMJ": tbdlmj,
    }, geometry=[r["geometry"] for r in rows], crs="EPSG:4547").to_crs("EPSG:4490")
    dropin = tmp_path / "dropin"
    dropin.mkdir()
    _write_gbk_shapefile(layer, dropin / "DLTB.shp")
    canonical = _canonical_study(
        tmp_path / "canonical", rows, ids=layer["BSM"].tolist(),
        owners=[None if r["state"] else r["vid"] + r["group"] for r in rows], households=[None] * len(rows),
        areas=[a / (10000 / 15) for a in tbdlmj], uses=[EXPECTED_USE[r["dlbm"]] for r in rows],
        names=list(VILLAGES.values()))
    return dropin, canonical


@pytest.fixture
def quequan(tmp_path):
    rows = _parcel_rows()
    fbf = [r["vid"] + r["group"] for r in rows]
    cbf = [f + f"{r['k'] % 2 + 1:04d}" for f, r in zip(fbf, rows)]
    dkbm = [f + f"{i:05d}" for i, f in enumerate(fbf)]
    mu = [round(1.5 + 0.25 * i, 2) for i in range(len(rows))]
    folder = tmp_path / "qq"
    folder.mkdir()
    gpd.GeoDataFrame({"DKBM": dkbm, "CBFBM": cbf, "FBFBM": fbf, "SCMJM": mu, "HTMJM": [m - 0.1 for m in mu]},
                     geometry=[r["geometry"] for r in rows], crs="EPSG:4547").to_file(folder / "CBDK.gpkg", layer="DK")
    canonical = _canonical_study(tmp_path / "qq_canonical", rows, ids=dkbm, owners=fbf, households=cbf, areas=mu,
                                 uses=["arable"] * len(rows), names=list(VILLAGES))
    return folder, canonical


def _same_indicators(a: Path, b: Path):
    left, right = vs.compute_indicators(vs.load_study(a)), vs.compute_indicators(vs.load_study(b))
    assert left.shape[1] > 10 and len(left) == 3
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- codes, land uses, CRS
def test_landuse_table_follows_the_three_broad_classes():
    m = landuse_map()
    assert {c: classify(c, m) for c in EXPECTED_USE} == EXPECTED_USE
    # construction land in TD/T 1055 table A.4; 1006 rural roads, water and 田坎 are not
    assert [classify(c, m) for c in ("05H1", "08H2", "1003", "1109", "1201", "1104A", "1202", "0404")] == \
        ["construction"] * 5 + ["other"] * 3
    assert classify("011", m) == "arable" and classify("104", m) == "other" and classify("203", m) == "construction"
    assert classify("9999", m) is None


def test_landuse_override_and_bad_use():
    from villagestudy.errors import ProblemList

    problems = ProblemList()
    m = landuse_map({"1006": "construction", "1203": "farm"}, problems=problems)
    assert m["1006"] == "construction" and "1203" not in m and classify("1203", m) == "other"
    assert "farm" in str(problems.errors[0])


@pytest.mark.parametrize("lon, cm", [(113.9, 114), (120.2, 120), (75.4, 75), (134.6, 135), (101.6, 102)])
def test_gauss_kruger_zone_is_the_nearest_central_meridian(lon, cm):
    epsg = gauss_kruger_epsg(lon)
    assert CRS.from_epsg(epsg).name == f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"


def test_gauss_kruger_zone_outside_china():
    with pytest.raises(ValueError):
        gauss_kruger_epsg(10.0)


def test_encoding_repair_leaves_latin_text_alone():
    latin = pd.DataFrame({"NAME": ["Müller", "Ørsted"]})
    assert repair_encoding(latin) is None and latin["NAME"].tolist() == ["Müller", "Ørsted"]
    utf8 = pd.DataFrame({"NAME": ["新村村".encode("utf-8").decode("latin-1")]})
    assert repair_encoding(utf8) == "utf-8" and utf8["NAME"].tolist() == ["新村村"]


# ---------------------------------------------------------------- 三调
def test_sandiao_gbk_shapefile_without_cpg(sandiao):
    dropin, _ = sandiao
    land = read_sandiao(dropin / "DLTB.shp")
    assert land.encoding == "gb18030"
    assert set(land.villages["village_name"]) == set(VILLAGES.values())
    assert land.crs == "EPSG:4547"
    notes = " ".join(map(str, land.notes))
    assert "no .cpg" in notes and "EPSG:4547" in notes and "CM 114E" in notes and "TBDLMJ" in notes
    p = land.parcels
    assert p["village_id"].str.len().eq(12).all() and p["owner_id"].dropna().str.len().eq(14).all()
    assert p["owner_id"].isna().sum() == 1  # the state-owned polygon (QSXZ 10)
    assert p["area"].iloc[0] == pytest.approx(1600 * 0.9 / (10000 / 15))
    assert land.towns["town_id"].tolist() == ["440100001", "440100002"]
    assert dict(zip(land.villages["village_id"], land.villages["kind"]))["440100001002"] == "community"


def test_sandiao_dropped_into_a_study_folder_gives_the_canonical_indicators(sandiao):
    dropin, canonical = sandiao
    study = vs.load_study(dropin)
    assert study.settings.crs == "EPSG:4547" and len(study.parcels) == 15
    assert any("no .cpg" in str(n) for n in study.notes)
    _same_indicators(dropin, canonical)


def test_sandiao_landuse_override_in_study_toml(sandiao):
    dropin, _ = sandiao
    (dropin / "study.toml").write_text('[landuse_map]\n"1006" = "construction"\n', encoding="utf-8")
    study = vs.load_study(dropin)
    assert not any("unknown setting" in str(n) for n in study.notes)
    parcels = study.parcels.set_index("parcel_id")
    layer = gpd.read_file(dropin / "DLTB.shp", encoding="gbk").set_index("BSM")
    roads = layer.index[layer["DLBM"] == "1006"]
    assert len(roads) and (parcels.loc[roads, "land_use"] == "construction").all()


def test_sandiao_numeric_codes_get_their_zeros_back(tmp_path):
    f = tmp_path / "DLTB.gpkg"
    gpd.GeoDataFrame({"DLBM": [101, 702], "ZLDWDM": [4401000010010000000, 4401000010010000000],
                      "TBMJ": [1000.0, 2000.0]},
                     geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10), shapely.box(X0 + 10, Y0, X0 + 20, Y0 + 10)],
                     crs=4547).to_file(f)
    land = read_sandiao(f)
    assert land.parcels["land_use"].tolist() == ["arable", "construction"]
    assert land.parcels["village_id"].tolist() == ["440100001001"] * 2
    assert any("leading zeros" in str(n) for n in land.notes)


def test_sandiao_every_problem_listed(tmp_path):
    f = tmp_path / "DLTB.gpkg"
    gpd.GeoDataFrame({"DLBM": ["0101", "9999", "0702"], "ZLDWDM": ["4401000010010000000", "44A", "4401000010010000000"],
                      "TBDLMJ": [1.0, 2.0, "x"]},
                     geometry=[shapely.box(X0 + i * 10, Y0, X0 + i * 10 + 10, Y0 + 10) for i in range(3)],
                     crs=4547).to_file(f)
    with pytest.raises(vs.StudyError) as e:
        read_sandiao(f)
    text = e.value.format()
    assert "row 2, column 'ZLDWDM'" in text and "'9999'" in text and "row 3, column 'TBDLMJ'" in text


def test_load_study_finds_land_layers_by_their_fields(sandiao, quequan):
    dropin, _ = sandiao
    qq, _ = quequan
    assert [(p.name, layer, fmt) for p, layer, fmt in find_land_layers(dropin)] == [("DLTB.shp", None, "sandiao")]
    assert [(p.name, layer, fmt) for p, layer, fmt in find_land_layers(qq)] == [("CBDK.gpkg", "DK", "quequan")]


def test_load_study_keeps_its_own_parcels_over_a_land_layer(sandiao, tmp_path):
    dropin, canonical = sandiao
    for f in dropin.iterdir():
        (canonical / f.name).write_bytes(f.read_bytes())
    study = vs.load_study(canonical)
    assert any("ignored" in str(n) and "DLTB.shp" in str(n) for n in study.notes)
    assert study.sources["parcels"] == "parcels.gpkg"


# ---------------------------------------------------------------- 确权
def test_quequan_layer_gives_the_canonical_indicators(quequan):
    folder, canonical = quequan
    land = read_quequan(folder / "CBDK.gpkg", layer="DK")
    p = land.parcels
    assert p["household_id"].str.len().eq(18).all() and p["owner_id"].str.len().eq(14).all()
    assert p["parcel_id"].str.len().eq(19).all() and (p["land_use"] == "arable").all()
    assert p["area"].iloc[1] == pytest.approx(1.75)  # SCMJM (measured, mu) wins over HTMJM
    assert any("arable" in str(n) for n in land.notes)
    _same_indicators(folder, canonical)


def test_quequan_gbk_dbf_without_geometry(tmp_path):
    f = tmp_path / "CBDKXX.dbf"
    frame = gpd.GeoDataFrame({"DKBM": ["4401000010010100001", "4401000010010100002"],
                              "CBFBM": ["440100001001010001", "440100001001010002"],
                              "ZLDWMC": ["新村村", "新村村"], "SCMJ": [666.67, 1333.33]})
    frame.to_file(f, driver="ESRI Shapefile", encoding="gbk")
    f.with_suffix(".cpg").unlink()
    land = read_quequan(f)
    assert land.villages["village_name"].tolist() == ["新村村"]
    assert land.parcels["area"].round(3).tolist() == [1.0, 2.0]
    assert any("no FBFBM" in str(n) for n in land.notes)


# ---------------------------------------------------------------- the command line
def test_import_land_writes_a_study_with_the_same_indicators(sandiao, tmp_path, capsys):
    dropin, canonical = sandiao
    out = tmp_path / "out" / "imported"
    assert main(["import-land", "--format", "sandiao", str(dropin / "DLTB.shp"), str(out)]) == 0
    printed = capsys.readouterr().out
    assert "EPSG:4547" in printed and "arable" in printed and "no .cpg" in printed
    assert sorted(p.name for p in out.iterdir()) == ["parcels.gpkg", "study.toml", "towns.csv", "villages.csv"]
    assert [p.name for p in out.parent.iterdir()] == ["imported"]  # no temporary folder left
    assert 'crs = "EPSG:4547"' in (out / "study.toml").read_text(encoding="utf-8")
    _same_indicators(out, canonical)


def test_import_land_quequan(quequan, tmp_path):
    folder, canonical = quequan
    out = tmp_path / "imported"
    assert main(["import-land", "--format", "quequan", "--layer", "DK", str(folder / "CBDK.gpkg"), str(out)]) == 0
    _same_indicators(out, canonical)


def test_import_land_bad_input_exits_2(sandiao, tmp_path, capsys):
    dropin, _ = sandiao
    # a 确权 reading of a 三调 layer: the missing field is named
    assert main(["import-land", "--format", "quequan", str(dropin / "DLTB.shp"), str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "DKBM" in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()
    # an existing, non-empty study folder is never overwritten
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("x")
    assert main(["import-land", "--format", "sandiao", str(dropin / "DLTB.shp"), str(taken)]) == 2
    assert "already exists" in capsys.readouterr().err and (taken / "keep.txt").exists()
    # a missing source
    assert main(["import-land", "--format", "sandiao", str(tmp_path / "nope.shp"), str(tmp_path / "b")]) == 2


def test_import_land_unknown_code_names_it_and_leaves_nothing(tmp_path, capsys):
    f = tmp_path / "DLTB.gpkg"
    gpd.GeoDataFrame({"DLBM": ["0101", "7777"], "ZLDWDM": ["4401000010010000000"] * 2, "TBMJ": [100.0, 100.0]},
                     geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10), shapely.box(X0 + 10, Y0, X0 + 20, Y0 + 10)],
                     crs=4547).to_file(f)
    out = tmp_path / "out"
    assert main(["import-land", "--format", "sandiao", str(f), str(out)]) == 2
    err = capsys.readouterr().err
    assert "'7777'" in err and "landuse_map" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DLTB.gpkg"]
    # the same file with the code mapped by a --landuse-map file imports
    m = tmp_path / "map.toml"
    m.write_text('[landuse_map]\n"7777" = "other"\n', encoding="utf-8")
    assert main(["import-land", "--format", "sandiao", "--landuse-map", str(m), str(f), str(out)]) == 0
    assert vs.load_study(out).parcels["land_use"].tolist() == ["arable", "other"]


def test_a_cpg_that_declares_the_wrong_encoding(tmp_path):
    f = tmp_path / "DLTB.shp"
    gpd.GeoDataFrame({"DLBM": ["0101"], "ZLDWDM": ["4401000010010000000"], "ZLDWMC": ["新村村"], "TBMJ": [100.0]},
                     geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10)], crs=4547).to_file(f, encoding="gbk")
    f.with_suffix(".cpg").write_text("UTF-8")
    land = read_sandiao(f)
    assert land.villages["village_name"].tolist() == ["新村村"] and land.encoding == "gb18030"
    assert any("declares UTF-8 but its text is not in it" in str(n) for n in land.notes)


def test_file_geodatabase_layer(tmp_path, capsys):
    gdb = tmp_path / "county.gdb"
    layer = gpd.GeoDataFrame({"BSM": ["1", "2"], "DLBM": ["0101", "0301"], "ZLDWDM": ["4401000010010000000"] * 2,
                              "ZLDWMC": ["新村村"] * 2, "TBDLMJ": [900.0, 1200.0]},
                             geometry=[shapely.box(X0, Y0, X0 + 30, Y0 + 30), shapely.box(X0 + 30, Y0, X0 + 70, Y0 + 30)],
                             crs=4547)
    layer.to_file(gdb, layer="DLTB", driver="OpenFileGDB")
    layer[["geometry"]].to_file(gdb, layer="XZQ", driver="OpenFileGDB")
    assert main(["import-land", "--format", "sandiao", str(gdb), str(tmp_path / "a")]) == 2
    assert "--layer" in capsys.readouterr().err  # two layers: which one is asked for
    assert main(["import-land", "--format", "sandiao", "--layer", "DLTB", str(gdb), str(tmp_path / "b")]) == 0
    parcels = vs.load_study(tmp_path / "b").parcels
    assert parcels["land_use"].tolist() == ["arable", "forest"]
    assert parcels["area_mu"].round(6).tolist() == [round(900 / (10000 / 15), 6), round(1200 / (10000 / 15), 6)]
    # dropped into a study folder, the geodatabase's DLTB layer is found by its fields
    assert [(p.name, lyr, fmt) for p, lyr, fmt in find_land_layers(tmp_path)] == [("county.gdb", "DLTB", "sandiao")]


# ---------------------------------------------------------------- invariants
from hypothesis import given, strategies as st  # noqa: E402


@given(st.floats(min_value=73.5, max_value=136.49, allow_nan=False))
def test_the_chosen_zone_is_within_half_a_zone_of_the_data(lon):
    epsg = gauss_kruger_epsg(lon)
    cm = 75 + 3 * (epsg - 4534)
    assert 4534 <= epsg <= 4554 and abs(lon - cm) <= 1.5 + 1e-9


@given(st.sampled_from(sorted(EXPECTED_USE)), st.sampled_from(["", "K", "A", "H1"]))
def test_working_class_suffixes_follow_their_class(code, suffix):
    m = landuse_map()
    assert classify(code[:4] + suffix, m) == classify(code[:4], m)


def test_quequan_parcel_layer_joined_with_its_contract_table(quequan, tmp_path, capsys):
    """NY/T 2539 keeps households in the contracted-parcel table CBDKXX, linked by DKBM."""
    folder, canonical = quequan
    full = gpd.read_file(folder / "CBDK.gpkg", layer="DK")
    split = tmp_path / "split"
    split.mkdir()
    full[["DKBM", "SCMJM", "geometry"]].to_file(split / "DK.shp")
    contracts = pd.concat([full[["DKBM", "CBFBM", "FBFBM", "HTMJM"]],
                           pd.DataFrame({"DKBM": ["4401000019990100001"], "CBFBM": ["440100001999010001"],
                                         "FBFBM": ["44010000199901"], "HTMJM": [1.0]})])  # a parcel not in DK
    gpd.GeoDataFrame(contracts).to_file(split / "CBDKXX.dbf", driver="ESRI Shapefile")
    out = tmp_path / "out"
    assert main(["import-land", "--format", "quequan", "--contracts", str(split / "CBDKXX.dbf"),
                 str(split / "DK.shp"), str(out)]) == 0
    assert "1 contract row(s) name parcels that are not in DK.shp" in capsys.readouterr().out
    _same_indicators(out, canonical)
    _same_indicators(split, canonical)  # dropped into a folder, CBDKXX.dbf beside DK.shp is joined too
    # a parcel in two contract rows is an error naming it
    pd.concat([contracts, contracts.head(1)]).pipe(gpd.GeoDataFrame).to_file(split / "CBDKXX.dbf",
                                                                           driver="ESRI Shapefile")
    assert main(["import-land", "--format", "quequan", "--contracts", str(split / "CBDKXX.dbf"),
                 str(split / "DK.shp"), str(tmp_path / "out2")]) == 2
    assert "one parcel in several contract rows" in capsys.readouterr().err


def test_many_bad_rows_are_listed_then_counted(tmp_path):
    f = tmp_path / "DLTB.gpkg"
    n = 25
    gpd.GeoDataFrame({"DLBM": ["0101"] * n, "ZLDWDM": ["123"] * n, "TBMJ": [1.0] * n},
                     geometry=[shapely.box(X0 + i, Y0, X0 + i + 1, Y0 + 1) for i in range(n)], crs=4547).to_file(f)
    with pytest.raises(vs.StudyError) as e:
        read_sandiao(f)
    bad = [p for p in e.value.problems if p.column == "ZLDWDM"]
    assert len(bad) == 21 and "... and 5 more rows" in bad[-1].message
