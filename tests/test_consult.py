"""The consultation panel driven in Python: widget values in, outputs checked against evaluate()."""
from __future__ import annotations

import json
import re
from datetime import datetime

import pandas as pd
import pytest

from conftest import SAMPLE, write_tiny_study

from villagestudy._paths import NOTEBOOKS

from villagestudy import Scenario, evaluate, load_study
from villagestudy.consult import ConsultationPanel, ConsultationState, weight_shares
from villagestudy.consult import widgets as consult_widgets
from villagestudy.consult.first_view import FIRST_VIEW_MIME
from villagestudy.consult.scenario import load_scenario, save_scenario
from villagestudy.formatting import fmt_value
from villagestudy.metrics import compute_indicators
from villagestudy.scenario import ScenarioError
from villagestudy.scenario.evaluate import STANDARD_FLAGS, apply_standards, indicator_table


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def study(tmp_path_factory):
    """The bundled sample study, or a synthetic one when the sample is not there yet."""
    if (SAMPLE / "villages.csv").exists():
        return load_study(SAMPLE)
    from villagestudy.synth import write_synthetic_study

    return load_study(write_synthetic_study(tmp_path_factory.mktemp("synth") / "study", towns=3, seed=3))


@pytest.fixture
def app(study, tmp_path):
    return ConsultationPanel(study, raise_errors=True, out_dir=tmp_path / "scenarios", mc_runs=50)


def expected(app) -> "pd.DataFrame":
    """What evaluate() gives for the app's scenario, seen from the app's town."""
    return evaluate(app.study, app.scenario).for_town(app.town_id)


def assert_shows_evaluate(app) -> None:
    want = expected(app)
    pd.testing.assert_frame_equal(app.comparison.ranking, want.ranking)
    pd.testing.assert_frame_equal(app.comparison.missed, want.missed)
    pd.testing.assert_frame_equal(app.comparison.indicators, want.indicators)
    assert html_ranking_ids(app) == want.ranked().index.tolist()


def html_ranking_ids(app) -> list[str]:
    return re.findall(r'<tr data-village-id="([^"]+)"', app.ranking_html.value)


def html_missed_ids(app, key: str) -> set[str]:
    """Village ids listed as missing standard ``key`` in the panel's HTML."""
    blocks = [b for b in app.missed_html.value.split('<div class="vs-std" ')[1:]
              if b.startswith(f'data-standard="{key}"')]
    if not blocks:
        return set()
    ul = re.search(r'<ul class="vs-missed-villages">(.*?)</ul>', blocks[0], re.S)
    return set(re.findall(r'data-village-id="([^"]+)"', ul.group(1))) if ul else set()


def missed_ids(comparison, key: str) -> set[str]:
    m = comparison.missed
    return set(m.loc[(m["standard_key"] == key) & (m["status"] == "missed"), "village_id"])


# ------------------------------------------------------------ cheap flags
@pytest.mark.parametrize("standards", [
    {},
    {"weak_total_yuan": 200_000, "weak_operating_yuan": 100_000},
    {"weak_total_yuan": 60_000, "social_workers_per_10k_min": 10, "grid_part_time_max": 0.7},
    {"office_area_standard_m2": 250},
    {"office_area_standard_m2": None, "grid_part_time_max": 1 / 3},
])
def test_apply_standards_equals_compute_indicators(study, standards):
    year = study.default_year
    base = indicator_table(study, year)
    fast = apply_standards(base, study.settings.replace(**standards))
    slow = compute_indicators(study, year, **standards)
    for flag in STANDARD_FLAGS:
        pd.testing.assert_series_equal(fast[flag], slow[flag], check_names=False, obj=flag)


def test_weight_shares_sum_to_100():
    for w in [(1, 1, 1), (2, 1, 0.5), (0, 0, 1), (3, 3, 1), (0.5, 4.5, 2.5), (1, 2, 4)]:
        shares = weight_shares(dict(zip(("land", "income", "governance"), w)))
        assert sum(shares.values()) == 100, (w, shares)
        assert all(abs(s - 100 * x / sum(w)) < 1 for s, x in zip(shares.values(), w))
    assert weight_shares({"land": 0, "income": 0, "governance": 0}) == {"land": 0, "income": 0, "governance": 0}
    assert weight_shares({"land": 1, "income": 1, "governance": 2}, pillars=("income", "governance")) == \
        {"land": 0, "income": 33, "governance": 67}


# ------------------------------------------------------------ the panel
def test_initial_state_is_evaluate_of_the_study_defaults(study, app):
    assert app.town_id == study.town_ids()[0] and app.year == study.default_year
    assert app.scenario.scope == "study" and app.scope_toggle.value == "study"
    assert_shows_evaluate(app)
    assert app.comparison.ranking[["rank_p05", "rank_p95"]].notna().all().all()
    # study scope: ranks over every village of the study, shown with the town's rank
    assert app.comparison.ranking["rank"].max() > len(app.comparison.ranking) or len(study.town_ids()) == 1
    assert 'data-scope="study"' in app.ranking_html.value
    assert app.map_output.outputs[0]["data"]["application/vnd.plotly.v1+json"]["data"]
    assert app.figure.layout.meta["indicator"] == "score"
    assert "<script" not in json.dumps(app.map_output.outputs[0]["data"])


def test_weight_slider_reranks_as_evaluate(study, app):
    app.weight_sliders["land"].value = 4.0
    assert app.scenario.weights["land"] == 4.0
    assert_shows_evaluate(app)
    shown = [int(x) for x in re.findall(r'data-share="(\d+)"', app.shares_html.value)]
    assert sum(shown) == 100 and shown[0] == max(shown)
    assert app.timings[-1][0] == "weights"


def test_methods_rerank(study, app):
    app.normalise_dropdown.value = "rank"
    app.aggregate_dropdown.value = "geometric"
    app.weight_sliders["governance"].value = 2.5
    assert app.scenario.normalise == "rank" and app.scenario.aggregate == "geometric"
    assert_shows_evaluate(app)
    assert app.comparison.method["choices"]["normalise"] == "rank"


def test_scope_switch_ranks_within_the_town(study, app):
    before = app.comparison.ranking.copy()
    app.scope_toggle.value = "town"
    assert app.scenario.scope == "town" and app.timings[-1][0] == "scope"
    assert_shows_evaluate(app)
    r = app.comparison.ranking
    assert r["rank"].max() == len(r) and (r["rank"] == r["rank_in_town"]).all()
    assert 'data-scope="town"' in app.ranking_html.value
    assert not r["score"].equals(before["score"])  # normalised over the town only: other scores
    app.town_dropdown.value = study.town_ids()[-1]
    assert_shows_evaluate(app)
    app.scope_toggle.value = "study"
    assert_shows_evaluate(app)


def test_all_zero_weights_say_so(app):
    for s in list(app.weight_sliders.values())[:-1]:
        s.value = 0.0
    app.raise_errors = False
    app.weight_sliders["governance"].value = 0.0
    assert app.last_error is not None and "weights" in str(app.last_error)
    assert "vs-error" in app.status_html.value and "vs-warn" in app.shares_html.value
    app.raise_errors = True
    app.weight_sliders["income"].value = 1.0
    assert app.last_error is None and app.comparison.ranking["score"].notna().any()


def test_threshold_changes_missed_list_only(study, app):
    key = "weak_total_yuan"
    ranking_before = app.state.ranking_result
    app.standard_inputs[key].value = 200_000.0
    assert app.scenario.standards[key] == 200_000.0
    assert_shows_evaluate(app)
    assert html_missed_ids(app, key) == missed_ids(app.comparison, key)
    assert app.state.ranking_result is ranking_before  # no flag enters the index: not recomputed
    assert app.timings[-1][0] == "standards"


def test_every_standard_input(study, app):
    for key, value in {"weak_operating_yuan": 80_000.0, "social_workers_per_10k_min": 25.0,
                       "grid_part_time_max": 0.3, "office_area_standard_m2": 250.0}.items():
        app.standard_inputs[key].value = value
        assert html_missed_ids(app, key) == missed_ids(expected(app), key)
    app.standard_inputs["office_area_standard_m2"].value = 0.0  # 0 = no standard
    assert app.scenario.standards["office_area_standard_m2"] is None
    assert 'data-standard="office_area_standard_m2"' not in app.missed_html.value
    assert app.table["office_area_ok"].isna().all()


def test_map_indicator_redraws_map_only(study, app):
    ranking, missed = app.state.ranking_result, app.missed
    app.map_dropdown.value = "income_total_yuan"
    assert app.figure.layout.meta["indicator"] == "income_total_yuan"
    assert app.figure.layout.meta["threshold"] == 100_000
    assert app.state.ranking_result is ranking and app.missed is missed
    fig = app.figure
    app.weight_sliders["land"].value = 2.0  # weights do not touch an indicator map
    assert app.figure is fig
    app.standard_inputs["weak_total_yuan"].value = 150_000.0  # but its standard does
    assert app.figure is not fig and app.figure.layout.meta["threshold"] == 150_000
    app.map_dropdown.value = "governance"
    assert app.figure.layout.meta["indicator"] == "governance"


def test_town_and_year_change(study, app):
    other = study.town_ids()[-1]
    app.town_dropdown.value = other
    villages = study.villages.loc[study.villages["town_id"] == other, "village_id"]
    assert set(app.table.index) == set(villages) == set(app.comparison.ranking["village_id"])
    assert [v for _, v in app.village_dropdown.options] == villages.tolist()
    assert_shows_evaluate(app)
    assert app.village_id == app.comparison.ranked().index[0]
    if len(study.years) > 1:
        app.year_dropdown.value = study.years[-2]
        assert app.scenario.year == study.years[-2]
        assert_shows_evaluate(app)


def test_state_recomputes_only_what_a_change_touches(study):
    state = ConsultationState(study, Scenario(runs=20))
    assert state.update(weights={"governance": 5}) == {"rank"}
    assert state.update(standards={"weak_total_yuan": 200_000}) == {"flags"}
    assert state.update(town=study.town_ids()[-1]) == {"town"}
    assert state.update(scope="town") == {"rank"}
    assert state.update(town=study.town_ids()[0]) == {"town", "flags", "rank"}
    want = evaluate(study, state.scenario).for_town(state.scenario.town)
    assert state.comparison.to_json() == want.to_json()


def test_profile_shows_village_against_town_median(study, app):
    vid = app.table.index[-1]
    app.village_dropdown.value = vid
    html = app.profile_html.value
    assert f'data-village-id="{vid}"' in html
    name = app.table.at[vid, "village_name"]
    assert name in html
    row = re.search(r'<tr data-indicator="income_total_yuan">(.*?)</tr>', html).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    # the app shows numbers with the reports' formatter (money from 100,000 yuan in 万)
    assert cells[1] == fmt_value(app.table.at[vid, "income_total_yuan"], "income_total_yuan")
    assert cells[2] == fmt_value(app.table["income_total_yuan"].median(), "income_total_yuan")
    assert cells[3] == "≥ 100,000"
    status = app.missed.set_index(["village_id", "indicator"]).at[(vid, "income_total_yuan"), "status"]
    assert {"met": "达标", "missed": "未达标", "no data": "无数据"}[status] in cells[4]


def test_escapes_names_from_data(tmp_path):
    folder = write_tiny_study(tmp_path / "tiny")
    v = pd.read_csv(folder / "villages.csv", dtype=str)
    v.loc[0, "village_name"] = '<img src=x onerror=alert(1)>&"'
    v.to_csv(folder / "villages.csv", index=False)
    app = ConsultationPanel(folder, raise_errors=True, lang="en")
    app.standard_inputs["weak_total_yuan"].value = 1e6
    for html in (app.ranking_html.value, app.missed_html.value, app.profile_html.value):
        assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;" in app.ranking_html.value
    # the map's figure, as data in an attribute, neither breaks out of it nor loses the name
    fig_html = app.map_output.outputs[0]["data"]["text/html"]
    assert "<img" not in fig_html and "<img" not in app.first_view()._repr_mimebundle_()[FIRST_VIEW_MIME]
    assert _figure_attribute(fig_html) == app.map_output.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    app.scope_toggle.value = "town"
    app.town_dropdown.value = "440100002"  # one village: nothing varies, no score, no crash
    assert app.comparison.ranking["score"].isna().all() and "vs-warn" in app.status_html.value


def test_errors_are_shown_not_raised(study):
    app = ConsultationPanel(study, mc_runs=20)
    app.map_dropdown.value = "parcel_count"
    app._render_map = None  # a broken step: the panel shows the error and keeps working
    consult_widgets.STEPS["village"] = ("map",)
    try:
        app.village_dropdown.value = app.table.index[1]
    finally:
        consult_widgets.STEPS["village"] = ("profile",)
    assert app.last_error is not None and "vs-error" in app.status_html.value


# ------------------------------------------------------------- scenarios
def test_save_scenario_round_trips_into_rank_and_reports(study, app, tmp_path):
    app.weight_sliders["governance"].value = 3.0
    app.standard_inputs["weak_total_yuan"].value = 200_000.0
    app.normalise_dropdown.value = "zscore"
    app.note_text.value = "会议结论：先看治理"
    app.save_button.click()
    saved = app.last_saved
    assert saved.json_path.parent == tmp_path / "scenarios"
    assert str(saved.json_path.resolve().parent) in app.saved_html.value
    assert saved.json_path.name in app.saved_html.value and saved.table_path.name in app.saved_html.value
    raw = saved.table_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    table = pd.read_csv(saved.table_path, encoding="utf-8-sig", dtype={"village_id": str, "town_id": str})
    assert table["village_id"].tolist() == html_ranking_ids(app)
    assert {"village_name", "score", "rank", "rank_in_town", "rank_p05", "rank_p95", "missed_standards"} \
        <= set(table.columns)
    record = json.loads(saved.json_path.read_text(encoding="utf-8"))
    assert record["version"] == 1 and record["scenario"]["town"] == app.town_id
    assert record["scenario"]["year"] == app.year and record["data_fingerprint"] == study.fingerprint
    assert record["package_version"] and datetime.fromisoformat(record["saved"])
    assert record["note"] == "会议结论：先看治理"
    back = load_scenario(saved.json_path)
    assert back == app.scenario
    pd.testing.assert_frame_equal(evaluate(study, back).for_town(app.town_id).ranking, app.comparison.ranking)
    from villagestudy.cli import build_parser

    args = build_parser().parse_args(["reports", "--params", str(saved.json_path)])
    assert Scenario.from_json(args.params).weights["governance"] == 3.0


def test_save_xlsx_and_unique_names(study, app, tmp_path):
    first = app.save(tmp_path / "s", fmt="xlsx")
    second = app.save(tmp_path / "s", fmt="xlsx")
    assert first.json_path != second.json_path and first.table_path.suffix == ".xlsx"
    back = pd.read_excel(first.table_path, dtype={"village_id": str}, engine="openpyxl")
    assert back["village_id"].tolist() == html_ranking_ids(app)
    assert not list((tmp_path / "s").glob(".*"))  # no temporary file left behind
    for p in (tmp_path / "s").iterdir():
        assert re.fullmatch(r"scenario_town_[0-9A-Za-z_-]+_\d{4}_\d{8}-\d{6}(-\d+)?\.(json|xlsx)", p.name), p.name


def test_scenario_file_names_never_come_from_data(study, tmp_path):
    comparison = evaluate(study, Scenario(runs=0)).for_town(study.town_ids()[0])
    comparison.scenario = comparison.scenario.replace(town="../../etc/passwd")
    saved = save_scenario(tmp_path, comparison)
    assert saved.json_path.parent == tmp_path and saved.table_path.parent == tmp_path
    assert re.fullmatch(r"scenario_town_[0-9A-Za-z_-]+\.json", saved.json_path.name), saved.json_path.name


def test_apply_scenario_restores_choices(study, app):
    app.weight_sliders["income"].value = 3.5
    app.standard_inputs["social_workers_per_10k_min"].value = 30.0
    app.aggregate_dropdown.value = "harmonic"
    app.scope_toggle.value = "town"
    saved = app.save()
    ranking = app.comparison.ranking.copy()
    for s in app.weight_sliders.values():
        s.value = 1.0
    app.standard_inputs["social_workers_per_10k_min"].value = 18.0
    app.aggregate_dropdown.value = "arithmetic"
    app.scope_toggle.value = "study"
    n = len(app.timings)
    app.apply_scenario(saved.json_path)
    assert len(app.timings) == n + 1  # one update for the whole scenario
    assert app.weights["income"] == 3.5 and app.standards["social_workers_per_10k_min"] == 30.0
    assert app.aggregate_dropdown.value == "harmonic" and app.scope_toggle.value == "town"
    pd.testing.assert_frame_equal(app.comparison.ranking, ranking)


def test_load_scenario_rejects_other_files(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"weights": 1}', encoding="utf-8")
    with pytest.raises(ScenarioError, match="weights"):
        load_scenario(p)
    p.write_text('{"parameters": {"standards": {"nope": 1}}}', encoding="utf-8")
    with pytest.raises(ScenarioError, match="nope"):
        load_scenario(p)


# ------------------------------------------------------------ CLI, notebook
def test_cli_consult_arguments():
    from villagestudy.cli import build_parser
    from villagestudy.consult.serve import voila_command

    args = build_parser().parse_args(["consult", "--port", "9123", "--no-browser"])
    assert args.port == 9123 and args.host == "127.0.0.1" and args.no_browser and args.lang == "zh"
    assert args.study is None and args.func.__name__ == "cmd_consult"
    cmd = voila_command(port=9123)
    assert "--no-browser" in cmd and "--port=9123" in cmd and "--Voila.ip=127.0.0.1" in cmd
    assert "--Voila.port_retries=0" in cmd and any(c.startswith("--template=") for c in cmd)
    assert "--Voila.ip=0.0.0.0" in voila_command(port=1, host="0.0.0.0")


def test_offline_template(tmp_path):
    import gzip

    from villagestudy.consult.serve import OFFLINE_TEMPLATE, PLOTLY_BUNDLE, PLOTLY_JS, write_offline_template

    folder = write_offline_template(tmp_path)
    assert folder == tmp_path / "voila" / "templates" / OFFLINE_TEMPLATE
    text = (folder / "index.html.j2").read_text(encoding="utf-8")
    assert "http" not in text and "super.super()" in text
    assert json.loads((folder / "conf.json").read_text())["base_template"] == "lab"
    # the first view is put in the page as served; the page loads the package's own plotly.js and figure drawer
    assert f'"{FIRST_VIEW_MIME}" in output.get("data", {{}})' in text
    assert f'include_js("static/{PLOTLY_JS}")' in text
    # plotly.js is drawn before Voilà's JavaScript, which is deferred so the browser paints the first view first
    assert text.index(f'include_js("static/{PLOTLY_JS}")') < text.index("<script defer src=")
    script = (folder / "static" / PLOTLY_JS).read_bytes()
    bundle = gzip.decompress(PLOTLY_BUNDLE.read_bytes())
    assert script.startswith(bundle) and b"Plotly.newPlot" in script[len(bundle):]  # the bundle, then the drawer
    assert b"http" not in script[len(bundle):]
    assert (folder / "static" / "plotly-basic.LICENSE").read_text().startswith("MIT License")


def test_the_pages_bundle_draws_every_trace_the_app_draws():
    """The page's plotly.js is the "basic" partial bundle: every trace type of the app's figures must be in it."""
    from villagestudy.consult import panel
    from villagestudy.consult.serve import PLOTLY_BUNDLE

    info = json.loads(PLOTLY_BUNDLE.with_name("plotly-basic.json").read_text(encoding="utf-8"))
    assert info["package"] == "plotly.js-basic-dist-min" and info["file"] == PLOTLY_BUNDLE.name
    import plotly

    # the same plotly.js major version as the installed plotly's own (the figures' schema)
    assert info["version"].split(".")[0] == plotly.offline.get_plotlyjs_version().split(".")[0]
    app = panel(None)
    spec = app.map_output.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert {trace.get("type", "scatter") for trace in spec["data"]} <= {"scatter", "bar", "pie"}


def _figure_attribute(html: str) -> dict:
    """The figure a ``<div class="vs-plotly" data-figure=...>`` holds, read by an HTML parser as a browser would."""
    from html.parser import HTMLParser

    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if "vs-plotly" in (attrs.get("class") or "").split():
                found.append(json.loads(attrs["data-figure"]))

    Parser().feed(html)
    assert len(found) == 1, found
    return found[0]


def test_map_output_is_the_figure_as_data_without_script(app):
    data = app.map_output.outputs[0]["data"]
    spec = data["application/vnd.plotly.v1+json"]
    assert _figure_attribute(data["text/html"]) == spec  # the same figure, for the app's page to draw
    assert "<script" not in data["text/html"] and "http" not in data["text/html"]


def test_first_view_is_a_copy_of_what_the_panel_shows(study, app):
    def first():
        bundle = app.first_view()._repr_mimebundle_()
        assert set(bundle) == {FIRST_VIEW_MIME, "text/plain"} and bundle["text/plain"] == ""
        return bundle[FIRST_VIEW_MIME]

    html = first()
    for widget in (app.header_html, app.status_html, app.shares_html, app.ranking_html, app.missed_html):
        assert widget.value in html  # the very HTML of the widgets, nothing computed again
    assert app.map_output.outputs[0]["data"]["text/html"] in html
    assert _figure_attribute(html) == app.map_output.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert re.findall(r'<tr data-village-id="([^"]+)"', html) == expected(app).ranked().index.tolist()
    assert 'data-first-view="map"' in html and "正在连接调整控件" in html
    assert "http" not in html  # nothing for the browser to fetch
    # a copy of what is shown now: after a change it shows the new ranking
    app.weight_sliders["land"].value = 4.0
    html = first()
    assert re.findall(r'<tr data-village-id="([^"]+)"', html) == expected(app).ranked().index.tolist()
    assert app.ranking_html.value in html


def test_first_view_in_english_and_without_a_map(tmp_path):
    folder = write_tiny_study(tmp_path / "tiny")
    (folder / "boundaries.gpkg").unlink()
    app = ConsultationPanel(folder, raise_errors=True, lang="en", mc_runs=20)
    html = app.first_view()._repr_mimebundle_()[FIRST_VIEW_MIME]
    assert 'data-first-view="no-map"' in html and 'class="vs-plotly"' not in html
    assert "Connecting the controls" in html and "The study has no village boundaries" in html


def test_notebook_is_committed_without_outputs():
    nb = json.loads((NOTEBOOKS / "consultation.ipynb").read_text("utf-8"))
    assert len(nb["cells"]) == 2
    params, show = nb["cells"]
    assert "parameters" in params["metadata"].get("tags", [])
    src = "".join(params["source"])
    assert 'os.environ.get("VILLAGESTUDY_STUDY", "")' in src and "lang =" in src
    code = "".join(show["source"])
    assert "app = panel(study_path or None, lang=lang)" in code and code.rstrip().endswith("app.widget")
    assert "display(app.first_view())" in code  # the first view is displayed before the widget
    for c in nb["cells"]:
        assert c.get("outputs", []) == [] and c.get("execution_count") is None


@pytest.mark.slow
def test_notebook_runs_in_a_kernel(monkeypatch):
    """The committed notebook, executed in a real kernel (as JupyterLab or Voilà would), shows one widget."""
    import nbformat
    from nbclient import NotebookClient

    path = NOTEBOOKS / "consultation.ipynb"
    monkeypatch.setenv("VILLAGESTUDY_LANG", "en")
    monkeypatch.delenv("VILLAGESTUDY_STUDY", raising=False)  # empty: the bundled sample, found by the package
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, startup_timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = nb.cells[1].outputs
    assert [o["output_type"] for o in outputs] == ["display_data", "execute_result"], outputs
    assert "application/vnd.jupyter.widget-view+json" in outputs[1]["data"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    texts = [str(m["state"].get("value", "")) for m in state.values()]
    assert "Consultation: comparing villages" in " ".join(texts) and "vs-consult-ranking" in " ".join(texts)
    # the first view, before the widget: the very ranking HTML the widget holds
    first = outputs[0]["data"][FIRST_VIEW_MIME]
    ranking = next(v for v in texts if "vs-consult-ranking" in v)
    assert ranking in first and "Connecting the controls" in first


def test_profile_says_why_this_rank_and_the_parts_add_up(study):
    """The village profile splits the gap to the town's median score by pillar, from the Comparison."""
    import re

    from villagestudy.consult.views import why_this_rank_text

    comparison = evaluate(study, Scenario())
    ranking = comparison.ranking.set_index("village_id")
    village = ranking.index[0]
    town_scores = ranking.loc[ranking["town_id"] == ranking.at[village, "town_id"], "score"]
    text = why_this_rank_text(comparison, village, "en")
    parts = [float(x) for x in re.findall(r"(?:Land|Collective income|Governance) ([+-]?[\d.]+)", text)]
    total = float(re.search(r"in all ([+-]?[\d.]+) points", text).group(1))
    assert len(parts) == 3 and sum(parts) == pytest.approx(total, abs=0.02)
    assert total == pytest.approx(ranking.at[village, "score"] - town_scores.median(), abs=0.01)
    assert why_this_rank_text(evaluate(study, Scenario(aggregate="geometric")), village, "en") == ""


def test_method_view_states_the_redundancy_check(study):
    from villagestudy.consult.views import redundancy_html

    comparison = evaluate(study, Scenario())
    assert comparison.extra["redundant_scored"].empty  # the default structure: one indicator per dimension
    assert "no dimension is counted twice" in redundancy_html(comparison, "en")
    pairs = comparison.extra["redundant_candidates"]  # the descriptive ones do repeat each other
    assert len(pairs) and (pairs["rho"].abs() > 0.9).all()


def test_the_panels_layouts_are_ones_ipywidgets_knows(study, tmp_path):
    """A layout property ipywidgets does not know is dropped with only a DeprecationWarning (ipywidgets 8 has no
    ``overflow_y``): the list of villages missing a standard would then grow without its scroll bar."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Passing unrecognized arguments", category=DeprecationWarning)
        app = ConsultationPanel(study, raise_errors=True, out_dir=tmp_path / "scenarios", mc_runs=50)
    assert app.missed_html.layout.max_height == "200px" and app.missed_html.layout.overflow == "auto"
