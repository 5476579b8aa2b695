"""Maps: right values on the right villages, missing shown as missing, standards drawn, labels, size."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.colors as pcolors
import pytest
import shapely

import villagestudy as vs
from villagestudy import catalog
from villagestudy.study import Study
from villagestudy.viz import _geom, figure_json_size, grids_map, parcels_map, park_values, parks_map, village_map

from conftest import write_tiny_study

X0, Y0 = 500_000.0, 2_500_000.0
IDS = ["044010000101", "044010000102", "044010000201"]
EVIL = "<script>alert(1)</script>"


# ------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return vs.load_study(write_tiny_study(tmp_path_factory.mktemp("viz") / "tiny"))


def table_for(study, **columns) -> pd.DataFrame:
    """A hand-built indicator table (village_name, town_id + given columns) indexed by village_id."""
    base = study.villages.set_index("village_id")[["village_name", "town_id"]]
    t = base.copy()
    for k, v in columns.items():
        t[k] = v
    return t


def village_box(i: int):
    return X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000


def xs_of(trace) -> np.ndarray:
    return np.array([x for x in trace.x if x is not None], dtype=float)


def ys_of(trace) -> np.ndarray:
    return np.array([y for y in trace.y if y is not None], dtype=float)


def villages_covered(trace) -> set[int]:
    """Which of the three tiny villages (side by side in x) a polygon trace draws."""
    xs = xs_of(trace)
    out = set()
    for i in range(3):
        x0, _, x1, _ = village_box(i)
        mid = (x0 + x1) / 2
        # a village is drawn when its x range is present (its corners)
        if ((xs >= x0 - 0.5) & (xs <= x1 + 0.5)).any() and np.isclose(xs, x0).any() and np.isclose(xs, x1).any():
            if ((xs > x0 - 0.5) & (xs < mid)).any():
                out.add(i)
    return out


def fills(fig):
    return [tr for tr in fig.data if tr.fill == "toself"]


def by_name(fig, name):
    out = [tr for tr in fig.data if tr.name == name]
    assert out, f"no trace named {name!r}: {[tr.name for tr in fig.data]}"
    return out[0]


def hover_of(fig) -> list[str]:
    return [h for tr in fig.data if tr.hovertext is not None for h in tr.hovertext]


def colorbar_trace(fig):
    out = [tr for tr in fig.data if tr.marker is not None and tr.marker.showscale]
    assert len(out) == 1
    return out[0]


# ------------------------------------------------------------- choropleth
def test_choropleth_values_and_villages(tiny):
    table = table_for(tiny, social_workers_per_10k=[22.2, 12.0, 30.0])
    fig = village_map(tiny, table, "social_workers_per_10k")
    cb = colorbar_trace(fig)
    assert list(cb.marker.color) == [22.2, 12.0, 30.0]
    texts = list(cb.hovertext)
    assert "甲村" in texts[0] and "22.2" in texts[0] and "东镇" in texts[0]
    assert "乙村" in texts[1] and "）：12<br>" in texts[1] and "未达标" in texts[1]
    assert "丙社区" in texts[2] and "西街道" in texts[2]
    assert list(cb.text) == ["甲村", "乙村", "丙社区"]
    # each village is drawn exactly once, by the fill traces
    covered = [villages_covered(tr) for tr in fills(fig)]
    assert sorted(i for c in covered for i in c) == [0, 1, 2]
    # hover markers lie inside the right villages
    for i, (x, y) in enumerate(zip(cb.x, cb.y)):
        x0, y0, x1, y1 = village_box(i)
        assert x0 < x < x1 and y0 < y < y1
    # projected coordinates, hidden axes, true aspect ratio, CJK font first
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.xaxis.visible is False
    assert fig.layout.font.family.startswith('"Noto Sans CJK SC"')
    assert not any(tr.type in ("choropleth", "scattergeo", "choroplethmap", "scattermap") for tr in fig.data)


def test_choropleth_diverging_around_the_standard(tiny):
    table = table_for(tiny, social_workers_per_10k=[18.0, 12.0, 30.0])
    fig = village_map(tiny, table, "social_workers_per_10k")
    meta = fig.layout.meta
    assert meta["threshold"] == 18.0 and meta["cmid"] == 18.0
    assert meta["cmin"] == 12.0 and meta["cmax"] == 30.0
    cb = colorbar_trace(fig)
    # the colourbar's midpoint colour (RdBu's white) sits exactly at the threshold
    p = (18.0 - cb.marker.cmin) / (cb.marker.cmax - cb.marker.cmin)
    mid = dict((round(pos, 9), col) for pos, col in cb.marker.colorscale)
    assert mid[round(p, 9)] == pcolors.get_colorscale("RdBu")[5][1]
    # the village exactly at the threshold gets the midpoint colour; below red, above blue
    colors = {}
    for tr in fills(fig):
        for i in villages_covered(tr):
            colors[i] = tr.fillcolor
    assert colors[0] == "#f7f7f7"
    r, g, b = (int(colors[1][k:k + 2], 16) for k in (1, 3, 5))
    assert r > b  # misses the standard: red side
    r, g, b = (int(colors[2][k:k + 2], 16) for k in (1, 3, 5))
    assert b > r  # meets it: blue side


def test_choropleth_skewed_data_keep_sides(tiny):
    # a value just above the threshold must never take a red colour, even with a huge maximum
    table = table_for(tiny, income_total_yuan=[100_001.0, 99_000.0, 70_000_000.0])
    fig = village_map(tiny, table, "income_total_yuan")
    colors = {i: tr.fillcolor for tr in fills(fig) for i in villages_covered(tr)}
    r, _, b = (int(colors[0][k:k + 2], 16) for k in (1, 3, 5))
    assert b >= r
    r, _, b = (int(colors[1][k:k + 2], 16) for k in (1, 3, 5))
    assert r > b
    assert fig.layout.meta["missed"] == [IDS[1]]


def test_choropleth_outlines_villages_missing_the_standard(tiny):
    table = table_for(tiny, social_workers_per_10k=[22.2, 12.0, np.nan])
    fig = village_map(tiny, table, "social_workers_per_10k")
    outline = by_name(fig, "未达标准")
    assert outline.fill is None and outline.line.color == _geom.MISSED_COLOR and outline.line.width >= 3
    assert villages_covered(outline) == {1}
    assert fig.layout.meta["missed"] == [IDS[1]]
    # the village without data is not outlined (unknown is not "missed")
    assert IDS[2] in fig.layout.meta["missing"]


def test_choropleth_lower_is_better_standard(tiny):
    # grid_part_time_share must be at most 0.5: high values are red
    table = table_for(tiny, grid_part_time_share=[0.3, 0.786, 0.5])
    fig = village_map(tiny, table, "grid_part_time_share")
    assert fig.layout.meta["missed"] == [IDS[1]]
    colors = {i: tr.fillcolor for tr in fills(fig) for i in villages_covered(tr)}
    r, _, b = (int(colors[1][k:k + 2], 16) for k in (1, 3, 5))
    assert r > b
    r, _, b = (int(colors[0][k:k + 2], 16) for k in (1, 3, 5))
    assert b > r
    cb = colorbar_trace(fig)
    assert cb.marker.colorbar.tickformat == ".0%"
    assert "≤ 50.0%" in cb.marker.colorbar.title.text


def test_missing_values_are_grey_no_data_never_zero(tiny):
    table = table_for(tiny, mean_parcel_area_mu=[1.0, np.nan, 0.0])
    fig = village_map(tiny, table, "mean_parcel_area_mu")
    nd = [tr for tr in fills(fig) if tr.name == "无数据"]
    assert len(nd) == 1 and nd[0].fillcolor == _geom.NO_DATA_COLOR and nd[0].showlegend
    assert villages_covered(nd[0]) == {1}
    # the real zero is coloured, and differently from the missing village
    colored = {i for tr in fills(fig) if tr.name != "无数据" for i in villages_covered(tr)}
    assert colored == {0, 2}
    cb = colorbar_trace(fig)
    assert list(cb.marker.color) == [1.0, 0.0]  # the missing village is not on the colour scale
    missing_hover = [h for h in hover_of(fig) if "乙村" in h]
    assert missing_hover and all("无数据" in h for h in missing_hover)
    assert fig.layout.meta["missing"] == [IDS[1]]
    en = village_map(tiny, table, "mean_parcel_area_mu", lang="en")
    assert any(tr.name == "No data" for tr in fills(en))
    assert any("No data" in h for h in hover_of(en))


def test_villages_absent_from_the_table_are_missing(tiny):
    table = table_for(tiny, park_far=[1.2, 0.8, 0.5]).iloc[:2]
    fig = village_map(tiny, table, "park_far")
    assert fig.layout.meta["missing"] == [IDS[2]]


def test_labels_from_the_catalog_zh_and_en(tiny):
    table = table_for(tiny, park_tax_per_mu_yuan=[20000.0, 15000.0, 5000.0])
    zh = village_map(tiny, table, "park_tax_per_mu_yuan")
    en = village_map(tiny, table, "park_tax_per_mu_yuan", lang="en")
    assert colorbar_trace(zh).marker.colorbar.title.text == catalog.label("park_tax_per_mu_yuan", "zh") == "亩均税收（元/亩）"
    assert colorbar_trace(en).marker.colorbar.title.text == catalog.label("park_tax_per_mu_yuan", "en")
    assert "亩均税收（元/亩）" in zh.layout.title.text
    assert "Park tax per mu" in en.layout.title.text
    # a town selection names the town and keeps only its villages
    town = village_map(tiny, table, "park_tax_per_mu_yuan", town_id="440100001")
    assert town.layout.title.text.startswith("东镇")
    assert list(colorbar_trace(town).marker.color) == [20000.0, 15000.0]


def test_composite_score_column(tiny):
    table = table_for(tiny, score=[70.0, 40.0, np.nan], land=[0.2, 0.9, 0.5])
    fig = village_map(tiny, table, "score")
    cb = colorbar_trace(fig)
    assert cb.marker.colorbar.title.text == catalog.label("score") == "综合得分"
    assert fig.layout.meta["threshold"] is None and "cmid" in fig.layout.meta and fig.layout.meta["cmid"] is None
    assert list(cb.marker.color) == [70.0, 40.0]
    land = village_map(tiny, table, "land", lang="en")
    assert colorbar_trace(land).marker.colorbar.title.text == "Land"
    with pytest.raises(KeyError, match="not in the table"):
        village_map(tiny, table, "governance")


def test_flag_indicator_is_categorical(tiny):
    table = table_for(tiny, weak_village=[False, True, None])
    fig = village_map(tiny, table, "weak_village")
    yes = by_name(fig, "薄弱村（消薄标准）：是")
    no = by_name(fig, "薄弱村（消薄标准）：否")
    assert villages_covered(yes) == {1} and villages_covered(no) == {0}
    assert yes.fillcolor == _geom.BAD_COLOR and no.fillcolor == _geom.GOOD_COLOR  # weak is bad
    assert villages_covered(by_name(fig, "无数据")) == {2}


def test_flag_with_standard_outlines_missed(tiny):
    table = table_for(tiny, office_area_ok=[True, False, True])
    fig = village_map(tiny, table, "office_area_ok", settings={"office_area_standard_m2": 300})
    assert villages_covered(by_name(fig, "未达标准")) == {1}


def test_threshold_in_force_comes_from_the_table_settings(tiny):
    table = table_for(tiny, income_total_yuan=[150_000.0, 250_000.0, 90_000.0])
    assert village_map(tiny, table, "income_total_yuan").layout.meta["missed"] == [IDS[2]]
    table.attrs["settings"] = tiny.settings.replace(weak_total_yuan=200_000).as_dict()
    fig = village_map(tiny, table, "income_total_yuan")
    assert fig.layout.meta["threshold"] == 200_000
    assert fig.layout.meta["missed"] == [IDS[0], IDS[2]]
    # an explicit setting wins
    fig = village_map(tiny, table, "income_total_yuan", settings={"weak_total_yuan": 50_000})
    assert fig.layout.meta["missed"] == []


def test_escapes_a_malicious_village_name(tiny):
    villages = tiny.villages.copy()
    villages.loc[0, "village_name"] = EVIL
    study = Study.from_frames(towns=tiny.towns, villages=villages, boundaries=tiny.boundaries,
                              settings=tiny.settings)
    table = table_for(study, social_workers_per_10k=[10.0, 20.0, np.nan])
    fig = village_map(study, table, "social_workers_per_10k")
    dump = fig.to_json()
    assert "<script>" not in dump and "alert(1)</script>" not in dump
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in h for h in hover_of(fig))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in colorbar_trace(fig).text


def test_village_map_needs_boundaries(tiny):
    study = Study.from_frames(towns=tiny.towns, villages=tiny.villages)
    with pytest.raises(ValueError, match="boundaries"):
        village_map(study, table_for(study, score=[1, 2, 3]), "score")


def test_village_without_boundary_is_reported(tiny):
    study = Study.from_frames(towns=tiny.towns, villages=tiny.villages, boundaries=tiny.boundaries.iloc[:2])
    fig = village_map(study, table_for(study, score=[1.0, 2.0, 3.0]), "score")
    assert fig.layout.meta["without_boundary"] == [IDS[2]]
    assert any("1 个村" in a.text for a in fig.layout.annotations)


# ------------------------------------------------------------------- parks
def parks_study(tiny, with_geometry: bool):
    x0, y0 = X0, Y0
    parks = pd.DataFrame({
        "park_id": ["K1", "K2", "K3"], "village_id": [IDS[0], IDS[0], IDS[1]],
        "park_name": ["一号园", EVIL, "三号园"], "built_year": [1995, 2010, 2005],
        "land_area_mu": [30.0, 15.0, 10.0], "floor_area_m2": [20000.0, 8000.0, np.nan],
        "occupied_floor_area_m2": [15000.0, 8000.0, np.nan],
        "annual_rent_yuan": [1_800_000.0, 500_000.0, 100_000.0], "annual_tax_yuan": [600_000.0, 450_000.0, np.nan],
    })
    if with_geometry:
        parks = gpd.GeoDataFrame(parks, geometry=[shapely.box(x0 + 100, y0 + 100, x0 + 300, y0 + 200),
                                                  shapely.box(x0 + 500, y0 + 500, x0 + 600, y0 + 600),
                                                  shapely.box(x0 + 1200, y0 + 200, x0 + 1300, y0 + 300)],
                                 crs=tiny.boundaries.crs)
    return Study.from_frames(towns=tiny.towns, villages=tiny.villages, boundaries=tiny.boundaries, parks=parks,
                             settings=tiny.settings)


def test_park_values():
    parks = pd.DataFrame({"annual_tax_yuan": [600_000.0, 1.0, np.nan], "land_area_mu": [30.0, 0.0, 5.0],
                          "floor_area_m2": [20000.0, 1.0, 1.0], "occupied_floor_area_m2": [15000.0, 1.0, 1.0],
                          "annual_rent_yuan": [1_800_000.0, 1.0, 1.0]})
    assert park_values(parks).tolist()[0] == 20_000.0
    assert np.isnan(park_values(parks).tolist()[1:]).all()  # zero land, missing tax
    assert park_values(parks, "park_occupancy").tolist()[0] == 0.75
    assert park_values(parks, "park_rent_per_m2_yuan").tolist()[0] == 120.0
    assert park_values(parks, "park_far").tolist()[0] == pytest.approx(20000 / (30 * 10000 / 15))
    with pytest.raises(KeyError):
        park_values(parks, "nope")


def test_parks_as_markers_without_geometry(tiny):
    study = parks_study(tiny, with_geometry=False)
    fig = parks_map(study)
    old = by_name(fig, "老旧园区（2000年前建成）")
    other = by_name(fig, "其他园区")
    assert old.marker.symbol == "square" and other.marker.symbol == "circle"
    assert len(old.x) == 1 and len(other.x) == 2
    assert "一号园" in old.hovertext[0] and "20,000" in old.hovertext[0]  # 600,000 / 30 mu
    # sized by floor area: the 20,000 m2 park is the largest marker
    assert old.marker.size[0] > max(other.marker.size)
    # the park without tax is grey and the legend says "no data"
    k3 = [k for k, h in enumerate(other.hovertext) if "三号园" in h][0]
    assert other.marker.color[k3] == _geom.NO_DATA_COLOR
    assert by_name(fig, "无数据").showlegend
    # markers sit in their villages
    assert X0 < old.x[0] < X0 + 1000 and X0 + 1000 < other.x[k3] < X0 + 2000
    cb = colorbar_trace(fig)
    assert sorted(cb.marker.color) == [20_000.0, 30_000.0]
    assert cb.marker.colorbar.title.text == "亩均税收（元/亩）"
    # the malicious park name is escaped
    assert "<script>" not in fig.to_json()
    assert fig.layout.meta["old"] == ["K1"] and fig.layout.meta["missing"] == ["K3"]


def test_parks_as_polygons_old_dashed(tiny):
    study = parks_study(tiny, with_geometry=True)
    fig = parks_map(study, lang="en")
    old = by_name(fig, "Old parks (built before 2000)")
    other = by_name(fig, "Other parks")
    assert old.line.dash == "dash" and other.line.dash is None
    assert xs_of(old).min() == X0 + 100 and xs_of(old).max() == X0 + 300
    labels = [tr for tr in fig.data if tr.mode == "markers+text" and tr.name == "Park"][0]
    assert "20k m²" in labels.text  # labelled by floor area
    assert colorbar_trace(fig).marker.colorbar.title.text == catalog.label("park_tax_per_mu_yuan", "en")
    nd = [tr for tr in fills(fig) if tr.fillcolor == _geom.NO_DATA_COLOR]
    assert len(nd) == 1 and xs_of(nd[0]).min() == X0 + 1200
    # old_before_year from the settings
    fig = parks_map(study.with_settings(old_before_year=2008))
    assert by_name(fig, "老旧园区（2008年前建成）")
    assert fig.layout.meta["old"] == ["K1", "K3"]


def test_parks_map_without_parks(tiny):
    study = Study.from_frames(towns=tiny.towns, villages=tiny.villages, boundaries=tiny.boundaries)
    fig = parks_map(study)
    assert any(a.text == "无工业园数据" for a in fig.layout.annotations)


# ------------------------------------------------------------------- grids
def grids_study(tiny):
    x0 = X0 + 2000  # the community 044010000201
    rows = [("G1", "grid", None, 1200, True, shapely.box(x0, Y0, x0 + 500, Y0 + 1000)),
            ("G1a", "micro", "G1", 700, True, shapely.box(x0, Y0, x0 + 500, Y0 + 500)),
            ("G1b", "micro", "G1", 500, False, shapely.box(x0, Y0 + 500, x0 + 500, Y0 + 1000)),
            ("G2", "grid", None, np.nan, None, shapely.box(x0 + 500, Y0, x0 + 1000, Y0 + 1000)),
            ("G2a", "micro", "G2", 300, None, shapely.box(x0 + 500, Y0, x0 + 1000, Y0 + 400)),
            ("G2b", "micro", "G2", 250, False, shapely.box(x0 + 500, Y0 + 400, x0 + 1000, Y0 + 1000))]
    grids = gpd.GeoDataFrame({"grid_id": [r[0] for r in rows], "village_id": IDS[2],
                              "level": [r[1] for r in rows], "parent_grid_id": [r[2] for r in rows],
                              "households": [r[3] for r in rows], "full_time_staff": 1, "part_time_staff": 2,
                              "has_party_group": pd.array([r[4] for r in rows], dtype="boolean")},
                             geometry=[r[5] for r in rows], crs=tiny.boundaries.crs)
    return Study.from_frames(towns=tiny.towns, villages=tiny.villages, boundaries=tiny.boundaries, grids=grids)


def test_grids_map_party_groups_and_households(tiny):
    study = grids_study(tiny)
    fig = grids_map(study, IDS[2])
    with_party = by_name(fig, "微网格（有党小组）")
    without = by_name(fig, "微网格（无党小组）")
    unknown = by_name(fig, "微网格（党小组情况无数据）")
    assert with_party.fillcolor != without.fillcolor and unknown.fillcolor == _geom.NO_DATA_COLOR
    assert with_party.showlegend and without.showlegend
    assert fig.layout.meta["micro_with_party"] == ["G1a"]
    assert fig.layout.meta["micro_without_party"] == ["G1b", "G2b"]
    assert fig.layout.meta["micro_party_unknown"] == ["G2a"]
    grid_lines = by_name(fig, "网格边界")
    assert grid_lines.fill is None and set(xs_of(grid_lines)) == {X0 + 2000, X0 + 2500, X0 + 3000}
    hover = hover_of(fig)
    g1a = [h for h in hover if "G1a" in h][0]
    assert "户数：700" in g1a and "党小组：有" in g1a and "所属网格：G1" in g1a
    g2 = [h for h in hover if h.startswith("<b>网格 G2</b>")][0]
    assert "户数：550" in g2  # from its micro-grids when the grid has none
    assert "微网格数：2" in g2
    assert fig.layout.title.text.startswith("丙社区")
    en = grids_map(study, IDS[2], lang="en")
    assert by_name(en, "Micro-grid with a party group")


def test_grids_without_geometry_say_so(tiny):
    fig = grids_map(tiny, IDS[2])
    assert any(a.text == "无网格边界数据" for a in fig.layout.annotations)


# ----------------------------------------------------------------- parcels
def test_parcels_by_household_owner_and_block(tiny):
    fig = parcels_map(tiny, IDS[0])
    assert {tr.name for tr in fills(fig)} == {"H00", "H01"}
    h00 = by_name(fig, "H00")
    assert len(shapely.get_parts(shapely.polygons(np.c_[xs_of(h00), ys_of(h00)][:5]))) == 1
    assert len([x for x in h00.x if x is None]) == 1  # two parcels (k = 0, 2) in ONE trace
    owner = parcels_map(tiny, IDS[0], by="owner", lang="en")
    assert {tr.name for tr in fills(owner)} == {f"{IDS[0]}-00", f"{IDS[0]}-01"}
    assert "parcels by owner" in owner.layout.title.text
    blocks = parcels_map(tiny, IDS[0], by="block")
    # three adjacent arable parcels form one block, the forest parcel is in none
    assert {tr.name for tr in fills(blocks)} == {"连片区 1", "不在连片区（非耕地等）"}
    assert len([x for x in by_name(blocks, "连片区 1").x if x is None]) == 2
    assert blocks.layout.meta["ungrouped"] == ["P03"]
    with pytest.raises(ValueError):
        parcels_map(tiny, IDS[0], by="colour")


def test_parcels_many_households_share_colours(tiny):
    side = 20.0
    n = 60
    parcels = gpd.GeoDataFrame({
        "parcel_id": [f"P{i}" for i in range(n)], "village_id": IDS[0], "land_use": "arable",
        "household_id": [f"H{i // 2}" if i % 7 else None for i in range(n)], "owner_id": "o",
    }, geometry=[shapely.box(X0 + (i % 10) * side, Y0 + (i // 10) * side, X0 + (i % 10 + 1) * side,
                             Y0 + (i // 10 + 1) * side) for i in range(n)], crs=tiny.boundaries.crs)
    study = Study.from_frames(towns=tiny.towns, villages=tiny.villages, boundaries=tiny.boundaries, parcels=parcels)
    fig = parcels_map(study, IDS[0])
    colored = [tr for tr in fills(fig) if tr.name is None]
    assert 1 < len(colored) <= 26  # grouped by colour, not one trace per household
    assert by_name(fig, "无数据").fillcolor == _geom.NO_DATA_COLOR
    assert fig.layout.meta["groups"] == len({f"H{i // 2}" for i in range(n) if i % 7})
    # the view holds the whole village outline, not only the parcels
    assert fig.layout.xaxis.range[0] < X0 and fig.layout.xaxis.range[1] > X0 + 1000


def test_parcels_village_boundary_is_one_closed_ring_in_view(tiny):
    """The 村界 trace draws the village square as a closed ring, wholly inside the view.

    The parcels fill only a corner of the village; a view zoomed to them cut the
    outline to a stray straight line beside the parcels.
    """
    fig = parcels_map(tiny, IDS[0])
    line = by_name(fig, "村界")
    assert line.fill is None and line.showlegend
    assert None not in line.x  # one village, one ring: no break, no joined second ring
    pts = list(zip(line.x, line.y))
    assert pts[0] == pts[-1]  # closed
    x0, y0, x1, y1 = village_box(0)
    assert set(pts) == {(x0, y0), (x1, y0), (x1, y1), (x0, y1)}
    (xa, xb), (ya, yb) = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert xa < x0 and xb > x1 and ya < y0 and yb > y1


def test_boundary_rings_of_a_multipolygon_with_a_hole_are_separated():
    outer = shapely.box(0, 0, 100, 100).difference(shapely.box(40, 40, 60, 60))
    other = shapely.box(200, 0, 260, 60)
    d = _geom.Display(0.0, 1)
    xs, ys = d.lines(np.array([shapely.MultiPolygon([outer, other])], dtype=object))
    rings, cur = [], []
    for x, y in zip(xs, ys):
        if x is None:
            rings.append(cur)
            cur = []
        else:
            cur.append((x, y))
    rings.append(cur)
    assert len(rings) == 3 and all(r[0] == r[-1] and len(r) == 5 for r in rings)
    assert {max(p[0] for p in r) for r in rings} == {100.0, 60.0, 260.0}


# ---------------------------------------------------------------- geometry
def test_rings_keep_holes_and_separate_parts():
    d = _geom.Display(0.0, 1)
    donut = shapely.box(0, 0, 10, 10).difference(shapely.box(3, 3, 6, 6))
    multi = shapely.MultiPolygon([shapely.box(20, 0, 21, 1), shapely.box(30, 0, 31, 1)])
    xs, ys = d.rings([donut, multi, None, shapely.Polygon()])
    assert xs.count(None) == 3  # 4 rings: exterior + hole + 2 parts
    rings = []
    cur = []
    for x, y in zip(xs, ys):
        if x is None:
            rings.append(cur)
            cur = []
        else:
            cur.append((x, y))
    rings.append(cur)
    assert shapely.LinearRing(rings[0]).is_ccw and not shapely.LinearRing(rings[1]).is_ccw


def test_display_simplifies_and_rounds():
    wiggly = shapely.Polygon([(x, 1000 + (x % 2) * 0.3) for x in np.arange(0, 1000, 0.5)] + [(1000, 0), (0, 0)])
    d = _geom.Display.for_geoms([wiggly])
    assert d.tolerance == pytest.approx(1000 / 1000, rel=1e-3) and d.decimals == 0
    xs, _ = d.rings([wiggly])
    assert len(xs) < 20
    big = _geom.Display.for_geoms([shapely.box(0, 0, 15_000, 9_000)])
    assert big.decimals == 0
    xs, ys = big.rings([shapely.box(0.4, 0.4, 15_000.3, 9_000.2)])
    assert all(isinstance(v, int) for v in xs + ys if v is not None)


def test_geographic_crs_refused(tiny):
    study = Study.from_frames(towns=tiny.towns, villages=tiny.villages, boundaries=tiny.boundaries.to_crs(4326))
    with pytest.raises(ValueError, match="geographic"):
        village_map(study, table_for(study, score=[1, 2, 3]), "score")


# -------------------------------------------------------------------- size
def _roughen(frame, step=2.0, noise=1.5):
    """Densify boundaries to a vertex every `step` m with noise, like digitised real boundaries."""
    geoms = shapely.segmentize(frame.geometry.values, step)

    def jitter(coords):  # the same point always moves the same way: rings stay closed, borders shared
        h = np.sin(coords[:, :1] * 12.9898 + coords[:, 1:] * 78.233) * 43758.5453
        h = h - np.floor(h)
        return coords + (h - 0.5) * 2 * noise

    out = frame.copy()
    out["geometry"] = shapely.make_valid(shapely.transform(geoms, jitter))
    return out


@pytest.fixture(scope="module")
def town_of_15(tmp_path_factory):
    from villagestudy.synth import write_synthetic_study

    path = write_synthetic_study(tmp_path_factory.mktemp("town15") / "s", towns=1, villages_per_town=15,
                                 parcels_per_village=20, years=(2022, 2023), seed=3)
    study = vs.load_study(path)
    study.boundaries = _roughen(study.boundaries)
    study.grids = _roughen(study.grids)
    study.parks = _roughen(study.parks)
    return study


def test_town_maps_stay_under_one_megabyte(town_of_15):
    study = town_of_15
    assert len(study.villages) == 15 and study.has_geometry("parks") and study.has_geometry("grids")
    raw = sum(int(shapely.get_num_coordinates(f.geometry.values).sum())
              for f in (study.boundaries, study.grids, study.parks))
    assert raw > 100_000  # unsimplified, these would make several MB of JSON
    table = vs.compute_indicators(study)
    town = study.towns.town_id.iloc[0]
    figs = [village_map(study, table, "income_total_yuan", town_id=town), parks_map(study, town_id=town),
            grids_map(study, town_id=town)]
    sizes = [figure_json_size(f) for f in figs]
    assert sum(sizes) < 1_000_000, sizes
    assert figure_json_size(figs[0]) == len(figs[0].to_json())
    json.loads(figs[2].to_json())  # valid JSON


@pytest.mark.parametrize("name", ["RdBu", "Viridis"])
@pytest.mark.parametrize("reverse", [False, True])
def test_named_colour_scales_are_plotlys_and_a_caller_cannot_change_them(name, reverse):
    plotly_scale = [[float(p), c] for p, c in pcolors.get_colorscale(name)]
    expected = [[1 - p, c] for p, c in reversed(plotly_scale)] if reverse else plotly_scale
    got = _geom.colorscale_of(name, reverse)
    assert got == expected
    got[0][1] = "#000000"  # a caller's own copy: the next figure still gets plotly's colours
    assert _geom.colorscale_of(name, reverse) == expected


def test_map_traces_are_the_same_as_graph_objects():
    # the map helpers hand plotly dicts (validated once, by the figure): the figure is what go.Scatter gives
    import plotly.graph_objects as go

    kwargs = dict(x=[0.0, 1.0, None, 2.0], y=[1.0, 0.0, None, 2.0], mode="lines", fill="toself", name=None,
                  line=dict(color="#333333", width=0.6, dash=None), legendgroup=None, hoverinfo="skip")
    made = go.Figure(data=[_geom.trace("scatter", **kwargs)])
    assert made.to_plotly_json() == go.Figure(data=[go.Scatter(**kwargs)]).to_plotly_json()
    assert made.data[0].fill == "toself" and made.data[0].name is None


def test_a_maps_villages_take_the_first_usable_outline_and_the_town_id_for_a_missing_name():
    from types import SimpleNamespace

    from villagestudy.viz.maps import _villages

    first, second = shapely.box(0, 0, 10, 10), shapely.box(0, 0, 20, 20)
    study = SimpleNamespace(
        villages=pd.DataFrame({"village_id": ["v1", "v2", "v3"], "village_name": ["甲村", "乙村", "丙村"],
                               "town_id": ["t1", "t1", "t2"]}),
        towns=pd.DataFrame({"town_id": ["t1", "t2"], "town_name": ["一镇", None]}),
        boundaries=gpd.GeoDataFrame({"village_id": ["v1", "v2", "v2", "v3"]},
                                    geometry=[shapely.Polygon(), first, second, None], crs="EPSG:4547"),
        has_geometry=lambda table: True)
    v = _villages(study)
    assert v["village_id"].tolist() == ["v1", "v2", "v3"]
    assert v["town_name"].tolist() == ["一镇", "一镇", "t2"]
    assert v["geometry"].tolist() == [None, first, None]  # v1's only outline is empty, v3 has none
    assert _villages(study, "t2")["village_id"].tolist() == ["v3"]
    assert _villages(study, village_ids=["v2", "v3"])["village_id"].tolist() == ["v2", "v3"]


def test_hover_rows_read_each_column_once_numbers_coerced_and_absent_columns_none():
    from villagestudy.viz.maps import _row_values

    frame = pd.DataFrame({"park_id": ["p1", "p2"], "annual_tax_yuan": ["1200", "未知"],
                          "floor_area_m2": [350.5, np.nan]})
    rows = _row_values(frame, ("park_id", "park_name", "annual_tax_yuan", "floor_area_m2"),
                       numeric=("annual_tax_yuan", "floor_area_m2"))
    assert rows[0] == {"park_id": "p1", "park_name": None, "annual_tax_yuan": 1200, "floor_area_m2": 350.5}
    assert rows[1]["park_name"] is None and np.isnan(rows[1]["annual_tax_yuan"]) and np.isnan(rows[1]["floor_area_m2"])
