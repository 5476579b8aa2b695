"""Charts, offline HTML and UI strings: values, villages, standards, missing data, labels, escaping."""
from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import villagestudy as vs
from villagestudy import catalog, i18n
from villagestudy.study import Study
from villagestudy.viz import (
    compliance_heatmap, compliance_table, figure_json_size, income_composition, income_trend, plotly_js_path,
    rank_intervals, ranked_bar, small_multiples, write_html,
)
from villagestudy.viz import _geom

from conftest import write_tiny_study

IDS = ["044010000101", "044010000102", "044010000201"]
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return vs.load_study(write_tiny_study(tmp_path_factory.mktemp("charts") / "tiny"))


def table_for(study, **columns) -> pd.DataFrame:
    t = study.villages.set_index("village_id")[["village_name", "town_id"]].copy()
    for k, v in columns.items():
        t[k] = v
    return t


def shape(fig, name):
    out = [s for s in fig.layout.shapes if s.name == name]
    assert len(out) == 1, [s.name for s in fig.layout.shapes]
    return out[0]


def trace(fig, name):
    out = [tr for tr in fig.data if tr.name == name]
    assert out, [tr.name for tr in fig.data]
    return out[0]


# ------------------------------------------------------------------ income
def test_income_composition_values_and_losses(tiny):
    fig = income_composition(tiny, 2023)
    assert fig.layout.barmode == "relative"
    names = [tr.name for tr in fig.data if tr.type == "bar"]
    assert names == ["经营收入", "发包及上交收入", "投资收益", "补助收入", "其他收入"]
    # villages sorted by total: 丙社区 (110,000 x 2.2), 甲村, 乙村
    business = trace(fig, "经营收入")
    assert list(business.x) == ["丙社区", "甲村", "乙村"]
    assert list(business.y) == pytest.approx([110_000.0, 66_000.0, 22_000.0])
    invest = trace(fig, "投资收益")
    assert invest.y[2] == pytest.approx(-2_200.0)  # a loss goes below zero
    total = trace(fig, "合计")
    assert list(total.y) == pytest.approx([242_000.0, 145_200.0, 41_800.0])
    s = shape(fig, "weak_total_yuan")
    assert s.y0 == s.y1 == 100_000
    assert "2023年" in fig.layout.title.text
    assert fig.layout.font.family.startswith('"Noto Sans CJK SC"')


def test_income_composition_missing_village_is_no_data(tiny):
    villages = pd.concat([tiny.villages, pd.DataFrame({"village_id": ["v4"], "village_name": ["丁村"],
                                                       "town_id": ["440100001"]})], ignore_index=True)
    study = Study.from_frames(towns=tiny.towns, villages=villages, income=tiny.income, settings=tiny.settings)
    fig = income_composition(study, 2023, town_id="440100001")
    business = trace(fig, "经营收入")
    assert list(business.x) == ["甲村", "乙村", "丁村"]
    assert business.y[2] is None  # not zero
    nd = trace(fig, "无数据")
    assert list(nd.x) == ["丁村"] and list(nd.text) == ["无数据"]
    assert fig.layout.meta["missing"] == ["v4"]
    assert fig.layout.title.text.startswith("东镇")


def test_income_trend_thresholds_and_values(tiny):
    fig = income_trend(tiny)
    assert shape(fig, "weak_total_yuan").y0 == 100_000
    assert shape(fig, "weak_operating_yuan").y0 == 50_000
    texts = [a.text for a in fig.layout.annotations]
    assert any("消薄标准：村集体年收入不低于 100,000元" == t for t in texts)
    assert any("消薄标准：经营性收入不低于 50,000元" == t for t in texts)
    lines = {tr.meta["village_id"]: tr for tr in fig.data}
    assert list(lines[IDS[0]].x) == [2022, 2023]
    assert list(lines[IDS[0]].y) == pytest.approx([132_000.0, 145_200.0])
    # thresholds in force follow the settings
    fig = income_trend(tiny.with_settings(weak_total_yuan=200_000), measure="operating", lang="en")
    assert shape(fig, "weak_total_yuan").y0 == 200_000
    op = {tr.meta["village_id"]: tr for tr in fig.data}
    assert list(op[IDS[1]].y) == pytest.approx([28_000.0, 30_800.0])  # 20,000 x (1 + 0.5 - 0.1)
    assert any(a.text.startswith("Weak-village standard: collective income at least 200,000") for a in
               fig.layout.annotations)
    assert fig.layout.xaxis.title.text == "Year"


def test_income_trend_gaps_not_zeros_and_log_axis(tiny):
    income = tiny.income[~((tiny.income.village_id == IDS[0]) & (tiny.income.year == 2022))]
    income = pd.concat([income, pd.DataFrame({"village_id": IDS[2], "year": 2024, "category": "business",
                                              "amount_yuan": 90_000_000.0}, index=[0])])
    study = Study.from_frames(towns=tiny.towns, villages=tiny.villages, income=income, settings=tiny.settings)
    fig = income_trend(study)
    lines = {tr.meta["village_id"]: tr for tr in fig.data}
    assert list(lines[IDS[0]].x) == [2022, 2023, 2024]
    assert lines[IDS[0]].y[0] is None and lines[IDS[0]].y[2] is None
    assert fig.layout.yaxis.type == "log" and fig.layout.meta["log_y"]
    ann = [a for a in fig.layout.annotations if a.name == "weak_total_yuan"][0]
    assert ann.y == pytest.approx(5.0)  # log10(100,000) on a log axis
    assert income_trend(study, log_y=False).layout.yaxis.type != "log"


# --------------------------------------------------------------- standards
def test_compliance_matrix_met_missed_no_data(tiny):
    table = table_for(tiny, income_total_yuan=[150_000.0, 99_999.99, np.nan],
                      social_workers_per_10k=[22.2, 12.0, 18.0], grid_part_time_share=[0.5, 0.786, np.nan])
    fig = compliance_heatmap(table, settings=tiny.settings)
    inds = fig.layout.meta["indicators"]
    assert inds == ["income_total_yuan", "social_workers_per_10k", "grid_part_time_share"]
    hm = fig.data[0]
    assert list(hm.y) == ["甲村", "乙村", "丙社区"]
    assert [list(r) for r in hm.z] == [[2, 2, 2], [0, 0, 0], [1, 2, 1]]
    assert [list(r) for r in hm.text] == [["达标"] * 3, ["未达标"] * 3, ["无数据", "达标", "无数据"]]
    assert hm.x[1] == "每万常住人口社工数<br>标准：≥ 18"
    assert "标准：≤ 50.0%" in hm.x[2]
    assert {tr.name for tr in fig.data[1:]} == {"达标", "未达标", "无数据"}
    en = compliance_heatmap(table, settings=tiny.settings, pillar="governance", lang="en")
    assert en.layout.meta["indicators"] == ["social_workers_per_10k", "grid_part_time_share"]
    assert list(en.data[0].text[2]) == ["Met", "No data"]
    assert en.data[0].text[1][1] == "Missed"
    long = compliance_table(table, tiny.settings)
    assert set(long.columns) >= {"village_id", "indicator", "value", "standard", "status"}


def test_compliance_threshold_from_table_settings(tiny):
    table = table_for(tiny, income_total_yuan=[150_000.0, 250_000.0, 90_000.0])
    table.attrs["settings"] = tiny.settings.replace(weak_total_yuan=200_000).as_dict()
    fig = compliance_heatmap(table)
    assert [r[0] for r in fig.data[0].z] == [0, 2, 0]
    assert fig.layout.meta["thresholds"]["income_total_yuan"] == 200_000


# ------------------------------------------------------------------- ranks
def test_rank_intervals_sorted_with_error_bars():
    ranks = pd.DataFrame({"village_name": ["乙", "甲", "丙", "丁"], "rank": [2, 1, np.nan, 3],
                          "rank_median": [2.0, 1.5, np.nan, 3.0], "rank_p05": [1, 1, np.nan, 2],
                          "rank_p95": [3, 2, np.nan, 4]},
                         index=pd.Index(["b", "a", "c", "d"], name="village_id"))
    fig = rank_intervals(ranks)
    med = fig.data[0]
    assert list(med.y) == ["甲", "乙", "丁", "丙"]
    assert list(med.x) == [1.5, 2.0, 3.0, None]
    assert list(med.error_x.array) == [0.5, 1.0, 1.0, 0.0]
    assert list(med.error_x.arrayminus) == [0.5, 1.0, 1.0, 0.0]
    assert list(fig.data[1].x) == [1.0, 2.0, 3.0, None]
    assert fig.layout.yaxis.autorange == "reversed"
    assert trace(fig, "无数据").y == ("丙",)
    assert "90% 区间" in med.hovertext[0] and "1 – 2" in med.hovertext[0]
    en = rank_intervals(ranks, lang="en")
    assert en.layout.xaxis.title.text == "Rank"
    with pytest.raises(KeyError):
        rank_intervals(ranks.drop(columns="rank_p95"))


# ------------------------------------------------------------- indicators
def test_small_multiples_labels_standards_missing(tiny):
    table = table_for(tiny, income_total_yuan=[150_000.0, np.nan, 90_000.0],
                      grid_part_time_share=[0.3, 0.8, 0.5], mean_parcel_area_mu=[1.0, 2.0, 3.0],
                      weak_village=[False, True, None])
    inds = ["income_total_yuan", "grid_part_time_share", "mean_parcel_area_mu", "weak_village"]
    fig = small_multiples(table, inds, IDS[:2], settings=tiny.settings)
    titles = [a.text for a in fig.layout.annotations][:4]
    assert titles == [catalog.label(i) for i in inds]
    bars = [tr for tr in fig.data if tr.type == "bar"]
    assert [tr.meta for tr in bars] == inds
    assert list(bars[0].x) == ["甲村", "乙村"] and list(bars[0].y) == [150_000.0, None]
    nd = [tr for tr in fig.data if tr.name == "无数据"]
    assert len(nd) == 1 and list(nd[0].x) == ["乙村"]
    assert shape(fig, "weak_total_yuan").y0 == 100_000 and shape(fig, "weak_total_yuan").yref == "y"
    gp = shape(fig, "grid_part_time_max")
    assert gp.y0 == 0.5 and gp.yref == "y2"
    assert len(fig.layout.shapes) == 2  # no line where the indicator has no standard
    assert list(bars[3].text) == ["否", "是"]  # a flag is labelled, not a zero-height bar
    en = small_multiples(table, inds, settings=tiny.settings, lang="en")
    assert [a.text for a in en.layout.annotations][:4] == [catalog.label(i, "en") for i in inds]


def test_ranked_bar_order_standard_and_missing(tiny):
    table = table_for(tiny, social_workers_per_10k=[22.2, np.nan, 12.0], grid_part_time_share=[0.3, 0.8, 0.5])
    fig = ranked_bar(table, "social_workers_per_10k", settings=tiny.settings, study=tiny)
    bar = fig.data[0]
    assert list(bar.y) == ["甲村", "丙社区", "乙村"]
    assert list(bar.x) == [22.2, 12.0, None]
    assert list(bar.marker.color) == [_geom.GOOD_COLOR, _geom.BAD_COLOR, _geom.NO_DATA_COLOR]
    s = shape(fig, "social_workers_per_10k_min")
    assert s.x0 == s.x1 == 18
    assert trace(fig, "无数据").y == ("乙村",)
    assert "名次：1" in bar.hovertext[0] and "东镇" in bar.hovertext[0]
    # lower is better: ascending, best first
    fig = ranked_bar(table, "grid_part_time_share", settings=tiny.settings, lang="en")
    assert list(fig.data[0].y) == ["甲村", "丙社区", "乙村"]
    assert shape(fig, "grid_part_time_max").x0 == 0.5
    assert fig.layout.xaxis.title.text == catalog.label("grid_part_time_share", "en")
    # one town
    fig = ranked_bar(table, "social_workers_per_10k", town_id="440100001", settings=tiny.settings, study=tiny)
    assert list(fig.data[0].y) == ["甲村", "乙村"] and fig.layout.title.text.startswith("东镇")


def test_charts_escape_names(tiny):
    villages = tiny.villages.copy()
    villages.loc[0, "village_name"] = EVIL
    study = Study.from_frames(towns=tiny.towns, villages=villages, income=tiny.income, settings=tiny.settings)
    table = table_for(study, social_workers_per_10k=[22.2, 13.0, 12.0], income_total_yuan=[1.0, 2.0, 3.0])
    ranks = table.assign(rank=[1, 2, 3], rank_median=[1, 2, 3], rank_p05=[1, 1, 2], rank_p95=[2, 3, 3])
    figs = [income_composition(study), income_trend(study), compliance_heatmap(table, study=study),
            rank_intervals(ranks), small_multiples(table, ["income_total_yuan"]),
            ranked_bar(table, "social_workers_per_10k")]
    for fig in figs:
        dump = fig.to_json()
        assert "<script>" not in dump and "alert(1)</script>" not in dump
        assert "&lt;script&gt;" in dump


def test_duplicate_village_names_stay_apart(tiny):
    table = table_for(tiny, social_workers_per_10k=[1.0, 2.0, 3.0])
    table["village_name"] = ["同名村", "同名村", "丙社区"]
    fig = ranked_bar(table, "social_workers_per_10k")
    assert len(set(fig.data[0].y)) == 3


# --------------------------------------------------------------- offline
def test_write_html_inline_is_offline(tmp_path, tiny):
    fig = income_composition(tiny)
    out = write_html([fig, go.Figure(go.Bar(x=[1], y=[2]))], tmp_path / "sub" / "page.html")
    html = out.read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == 2
    assert len(html) > 3_000_000  # plotly.js inlined
    assert not re.search(r"<script[^>]+src=", html)
    assert "MathJax.js?config" not in html and "cdnjs.cloudflare.com/ajax/libs/mathjax" not in html
    assert "村集体经济收入构成" in html
    assert [p.name for p in out.parent.iterdir()] == ["page.html"]  # no temp file left


def test_write_html_shared_plotly_js(tmp_path, tiny):
    js = plotly_js_path()
    assert js.name == "plotly.min.js" and js.stat().st_size > 1_000_000
    fig = income_composition(tiny)
    out = write_html(fig, tmp_path / "r" / "town.html", plotlyjs="../js/plotly.min.js", lang="en")
    html = out.read_text(encoding="utf-8")
    assert '<script type="text/javascript" src="../js/plotly.min.js"></script>' in html
    assert len(html) < 200_000 and '<html lang="en">' in html
    out = write_html(fig, tmp_path / "r" / "abs.html", plotlyjs=str(tmp_path / "js" / "plotly.min.js"))
    assert 'src="../js/plotly.min.js"' in out.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="URL"):
        write_html(fig, tmp_path / "x.html", plotlyjs="https://cdn.plot.ly/plotly-latest.min.js")
    assert not (tmp_path / "x.html").exists()


def test_write_html_is_atomic(tmp_path, tiny, monkeypatch):
    target = tmp_path / "page.html"
    target.write_text("old", encoding="utf-8")
    import villagestudy.viz.offline as offline

    def boom(*a, **k):
        raise RuntimeError("fail while rendering")

    monkeypatch.setattr(offline, "figure_div", boom)
    with pytest.raises(RuntimeError):
        write_html(income_composition(tiny), target)
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["page.html"]


def test_figure_json_size(tiny):
    fig = income_trend(tiny)
    assert figure_json_size(fig) == len(fig.to_json())


# ------------------------------------------------------------------- i18n
def test_i18n_lookup_and_register():
    assert i18n.t("no_data") == "无数据" and i18n.t("no_data", "en") == "No data"
    assert i18n.t("no_data", "en-GB") == "No data" and i18n.t("no_data", None) == "无数据"
    assert i18n.t("old_parks", "zh", year=2000) == "老旧园区（2000年前建成）"
    with pytest.raises(KeyError):
        i18n.t("no_such_key")
    assert i18n.t("no_such_key", "en", default="x{n}", n=1) == "x1"
    i18n.register({"test_only_key": {"zh": "测试", "en": "Test"}})
    i18n.register({"test_only_key": {"zh": "测试"}})  # same text again: fine
    assert i18n.t("test_only_key", "en") == "Test"
    with pytest.raises(ValueError):
        i18n.register({"test_only_key": {"zh": "别的"}})
    assert all(set(v) == {"zh", "en"} for v in i18n.STRINGS.values())


@pytest.mark.parametrize("props", [
    {"title": {"text": "甲", "x": 0.01}, "legend": {"y": -0.1}, "height": 300},
    {"legend": {"font": {"size": 9}}, "margin": {"l": 0}, "meta": {"villages": ["v1"]}},
    {"title": None, "xaxis": {"title": {"text": "x"}}, "title_font_size": 20},
])
def test_update_layout_merges_as_plotly_does(props):
    """The report's fast layout update gives the figure plotly's own update_layout gives."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from villagestudy.viz._geom import update_axes, update_layout

    for make in (lambda: go.Figure(go.Bar(x=[1], y=[2]), layout={"legend": {"x": 0.5, "font": {"color": "red"}},
                                                                 "title": {"text": "t"}}),
                 lambda: make_subplots(rows=1, cols=2)):
        ours, theirs = make(), make()
        update_layout(ours, **props)
        theirs.update_layout(**props)
        update_axes(ours, "x", showgrid=False, title={"text": "甲"})
        theirs.update_xaxes(showgrid=False, title={"text": "甲"})
        update_axes(ours, "y", autorange="reversed")
        theirs.update_yaxes(autorange="reversed")
        assert ours.to_plotly_json() == theirs.to_plotly_json()


def _plotly_payload(div: str) -> tuple:
    """The data and layout a figure's <div> hands to Plotly.newPlot, numpy arrays (``bdata``) as lists."""
    import base64
    import json

    def plain(o):
        if isinstance(o, dict):
            if "bdata" in o:
                return np.frombuffer(base64.b64decode(o["bdata"]), dtype=np.dtype(o["dtype"])).tolist()
            return {k: plain(v) for k, v in o.items()}
        return [plain(v) for v in o] if isinstance(o, list) else o

    m = re.search(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*(\{.*\}),\s*\{"displaylogo', div, re.S)
    return plain(json.loads(m.group(1))), plain(json.loads(m.group(2)))


def test_figure_div_draws_the_figure_plotly_would(tmp_path):
    """figure_div reads the figure without plotly's deep copy: the same data and layout reach plotly.js."""
    import plotly.io as pio

    from villagestudy.viz.offline import DEFAULT_CONFIG, figure_div

    study = vs.load_study(write_tiny_study(tmp_path / "s"))
    table = vs.compute_indicators(study)
    figs = [vs.viz.village_map(study, table, "farmland_area_mu"), income_trend(study),
            ranked_bar(table, "farmland_area_mu", study=study),
            go.Figure(go.Bar(x=np.array([1.5, 2.5]), y=np.array([3, 4]), name="<b>甲</b>"))]
    for fig in figs:
        ours = figure_div(fig, div_id="f")
        theirs = pio.to_html(fig, include_plotlyjs=False, include_mathjax=False, full_html=False, div_id="f",
                             config=DEFAULT_CONFIG, validate=False,
                             default_height="100%" if fig.layout.height else "480px")
        assert _plotly_payload(ours) == _plotly_payload(theirs)


def test_chart_labels_take_names_of_the_villages_shown_and_their_towns():
    """Names come from the study's rows of the villages shown; an id the study lacks is its own label."""
    from villagestudy.viz.charts import _names

    study = Study.from_frames(
        towns=pd.DataFrame({"town_id": ["t1", "t2", "t3"], "town_name": ["东镇", "西镇", "北镇"]}),
        villages=pd.DataFrame({"village_id": ["v1", "v2", "v3"], "village_name": ["甲村", "乙村", "丙村"],
                               "town_id": ["t1", "t2", "t1"]}))
    assert _names(study, None, ["v3", "v2", "vx"]) == (["丙村", "乙村", "vx"], ["东镇", "西镇", ""])
    table = pd.DataFrame({"village_name": ["改名村"]}, index=pd.Index(["v2"], name="village_id"))
    assert _names(study, table, ["v2"]) == (["改名村"], ["西镇"])  # the table's name wins
