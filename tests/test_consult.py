"""The consultation panel driven in Python: widget values in, outputs checked against the library."""
from __future__ import annotations

import json
import re
import statistics
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from conftest import SAMPLE, write_tiny_study

from villagestudy._paths import NOTEBOOKS

from villagestudy import load_study
from villagestudy.cli.reports import _load_params
from villagestudy.consult.panel import (
    ConsultationPanel, STANDARD_FLAGS, apply_standards, weight_shares,
)
from villagestudy.consult.scenario import load_scenario, save_scenario, scenario_parameters
from villagestudy.formatting import fmt_value
from villagestudy.metrics import compute_indicators
from villagestudy.metrics.standards import missed_standards
from villagestudy.ranking import rank_villages


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
    return ConsultationPanel(study, raise_errors=True, out_dir=tmp_path / "scenarios")


def town_table(study, town_id, year, **standards):
    return compute_indicators(study.for_towns(town_id), year, **standards)


def direct_ranks(study, app, **standards) -> pd.Series:
    table = town_table(study, app.town_id, app.year, **standards)
    r = rank_villages(table, weights=app.weights, normalise=app.normalise, aggregate=app.aggregate,
                      uncertainty=False, options=study.settings.index_options)
    return r.table["rank"]


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


def expected_missed(study, app, key: str, **standards) -> set[str]:
    table = town_table(study, app.town_id, app.year, **standards)
    from villagestudy.metrics.governance import office_area_m2

    g = study.for_towns(app.town_id).governance
    table["office_area_m2"] = office_area_m2(g, app.year, table.index).reindex(table.index)
    m = missed_standards(table, study.settings.replace(**standards))
    return set(m.loc[(m["standard_key"] == key) & (m["status"] == "missed"), "village_id"])


def order_by_rank(ranks: pd.Series) -> list[str]:
    return ranks.astype("float64").sort_values(kind="mergesort").index.tolist()


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
    for town in study.town_ids():
        sub = study.for_towns(town)
        base = compute_indicators(sub, year)
        from villagestudy.metrics.governance import office_area_m2

        base["office_area_m2"] = office_area_m2(sub.governance, year, base.index).reindex(base.index)
        fast = apply_standards(base, study.settings.replace(**standards))
        slow = compute_indicators(sub, year, **standards)
        for flag in STANDARD_FLAGS:
            pd.testing.assert_series_equal(fast[flag], slow[flag], check_names=False, obj=f"{town} {flag}")


def test_weight_shares_sum_to_100():
    for w in [(1, 1, 1), (2, 1, 0.5), (0, 0, 1), (3, 3, 1), (0.5, 4.5, 2.5), (1, 2, 4)]:
        shares = weight_shares(dict(zip(("land", "income", "governance"), w)))
        assert sum(shares.values()) == 100, (w, shares)
        assert all(abs(s - 100 * x / sum(w)) < 1 for s, x in zip(shares.values(), w))
    assert weight_shares({"land": 0, "income": 0, "governance": 0}) == {"land": 0, "income": 0, "governance": 0}
    assert weight_shares({"land": 1, "income": 1, "governance": 2}, pillars=("income", "governance")) == \
        {"land": 0, "income": 33, "governance": 67}


# ------------------------------------------------------------ the panel
def test_initial_state_matches_library(study, app):
    assert app.town_id == study.town_ids()[0] and app.year == study.default_year
    ranks = direct_ranks(study, app)
    pd.testing.assert_series_equal(app.ranking.table["rank"], ranks, check_names=False)
    assert html_ranking_ids(app) == order_by_rank(ranks)
    # intervals are shown, seeded: the same panel twice gives the same intervals
    assert app.ranking.table[["rank_p05", "rank_p95"]].notna().all().all()
    again = ConsultationPanel(study, raise_errors=True)
    pd.testing.assert_frame_equal(app.ranking.table, again.ranking.table)
    assert app.map_output.outputs[0]["data"]["application/vnd.plotly.v1+json"]["data"]
    assert app.figure.layout.meta["indicator"] == "score"
    assert "<script" not in json.dumps(app.map_output.outputs[0]["data"])


def test_weight_slider_reranks_as_rank_villages(study, app):
    before = html_ranking_ids(app)
    app.weight_sliders["land"].value = 4.0
    ranks = direct_ranks(study, app)
    assert app.weights == {"land": 4.0, "income": 1.0, "governance": 1.0}
    pd.testing.assert_series_equal(app.ranking.table["rank"], ranks, check_names=False)
    assert html_ranking_ids(app) == order_by_rank(ranks)
    assert html_ranking_ids(app) != before, "the sample's ranking should change when land weighs 4x"
    # shares shown next to the sliders: 4/6, 1/6, 1/6 as whole percentages summing to 100
    shown = [int(x) for x in re.findall(r'data-share="(\d+)"', app.shares_html.value)]
    assert sum(shown) == 100 and shown == [67, 17, 16]
    assert app.timings[-1][0] == "weights"


def test_methods_rerank(study, app):
    app.normalise_dropdown.value = "rank"
    app.aggregate_dropdown.value = "geometric"
    app.weight_sliders["governance"].value = 2.5
    ranks = direct_ranks(study, app)
    pd.testing.assert_series_equal(app.ranking.table["rank"], ranks, check_names=False)
    assert html_ranking_ids(app) == order_by_rank(ranks)
    assert app.ranking.choices["normalise"] == "rank" and app.ranking.choices["aggregate"] == "geometric"


def test_all_zero_weights_say_so(app):
    for s in app.weight_sliders.values():
        s.value = 0.0
    assert "vs-warn" in app.shares_html.value
    assert app.ranking.table["score"].isna().all()
    app.weight_sliders["income"].value = 1.0
    assert app.ranking.table["score"].notna().any() and "vs-warn" not in app.shares_html.value


def test_threshold_changes_missed_list(study, app):
    key = "weak_total_yuan"
    before = html_missed_ids(app, key)
    assert before == expected_missed(study, app, key)
    ranking_before = app.ranking
    app.standard_inputs[key].value = 200_000.0
    after = html_missed_ids(app, key)
    assert after == expected_missed(study, app, key, weak_total_yuan=200_000)
    assert after > before, "a higher threshold must add villages to the list"
    m = app.missed[(app.missed["standard_key"] == key) & (app.missed["status"] == "missed")]
    assert set(m["village_id"]) == after
    # flags follow the standard; the ranking (no flag is in the index) is not recomputed
    slow = town_table(study, app.town_id, app.year, weak_total_yuan=200_000)
    pd.testing.assert_series_equal(app.table["weak_village"], slow["weak_village"], check_names=False)
    assert app.ranking is ranking_before
    assert app.timings[-1][0] == "standards"


def test_every_standard_input(study, app):
    changes = {"weak_operating_yuan": 100_000.0, "social_workers_per_10k_min": 25.0, "grid_part_time_max": 0.35,
               "office_area_standard_m2": 320.0}
    for key, value in changes.items():
        app.standard_inputs[key].value = value
        assert html_missed_ids(app, key) == expected_missed(study, app, key, **{k: v for k, v in changes.items()
                                                                                  if k in app.standards})
    app.standard_inputs["office_area_standard_m2"].value = 0.0  # 0 = no standard
    assert app.standards["office_area_standard_m2"] is None
    assert 'data-standard="office_area_standard_m2"' not in app.missed_html.value
    assert app.table["office_area_ok"].isna().all()


def test_map_indicator_redraws_map_only(study, app):
    ranking, missed = app.ranking, app.missed
    app.map_dropdown.value = "income_total_yuan"
    assert app.figure.layout.meta["indicator"] == "income_total_yuan"
    assert app.figure.layout.meta["threshold"] == 100_000
    assert app.ranking is ranking and app.missed is missed
    fig = app.figure
    app.weight_sliders["land"].value = 2.0  # weights do not touch an indicator map
    assert app.figure is fig
    app.standard_inputs["weak_total_yuan"].value = 150_000.0  # but its standard does
    assert app.figure is not fig and app.figure.layout.meta["threshold"] == 150_000
    expected = expected_missed(study, app, "weak_total_yuan", weak_total_yuan=150_000)
    assert set(app.figure.layout.meta["missed"]) == expected
    app.map_dropdown.value = "governance"
    assert app.figure.layout.meta["indicator"] == "governance"
    spec = app.map_output.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert spec["layout"]["meta"]["indicator"] == "governance"


def test_town_and_year_change(study, app):
    other = study.town_ids()[1]
    app.town_dropdown.value = other
    villages = study.villages.loc[study.villages["town_id"] == other, "village_id"]
    assert set(app.table.index) == set(villages) == set(app.ranking.table.index)
    assert [v for _, v in app.village_dropdown.options] == villages.tolist()
    pd.testing.assert_series_equal(app.ranking.table["rank"], direct_ranks(study, app), check_names=False)
    assert app.village_id == str(app.ranking.table["rank"].astype(float).idxmin())
    if len(study.years) > 1:
        app.year_dropdown.value = study.years[-2]
        assert app.table.attrs["year"] == study.years[-2]
        pd.testing.assert_series_equal(app.ranking.table["rank"], direct_ranks(study, app), check_names=False)


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
    app.town_dropdown.value = "440100002"  # one village: nothing varies, no score, no crash
    assert app.ranking.table["score"].isna().all() and "vs-warn" in app.status_html.value


def test_errors_are_shown_not_raised(study):
    app = ConsultationPanel(study)
    app.map_dropdown.value = "parcel_count"
    app._step_map = None  # a broken step: the panel shows the error and keeps working
    app._STEPS = {**app._STEPS, "village": ("map",)}
    app.village_dropdown.value = app.table.index[1]
    assert app.last_error is not None and "vs-error" in app.status_html.value


# ------------------------------------------------------------- scenarios
def test_save_scenario_round_trips_into_reports_params(study, app, tmp_path):
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
    assert {"village_name", "score", "rank", "rank_p05", "rank_p95", "missed_standards"} <= set(table.columns)
    record = json.loads(saved.json_path.read_text(encoding="utf-8"))
    assert record["town_id"] == app.town_id and record["year"] == app.year
    assert record["data_fingerprint"] == study.fingerprint
    assert record["package_version"] and datetime.fromisoformat(record["saved"])
    assert record["note"] == "会议结论：先看治理"
    assert record["parameters"] == {
        "weights": {"land": 1.0, "income": 1.0, "governance": 3.0},
        "standards": {**{k: v for k, v in app.standards.items()}, "weak_total_yuan": 200_000.0},
        "normalise": "zscore", "aggregate": "arithmetic"}
    params = _load_params(saved.json_path)
    assert params == record["parameters"]
    assert set(params) == {"weights", "standards", "normalise", "aggregate"}
    # the CLI accepts it
    from villagestudy.cli import build_parser

    args = build_parser().parse_args(["reports", "--params", str(saved.json_path)])
    assert _load_params(args.params)["weights"]["governance"] == 3.0


def test_save_xlsx_and_unique_names(study, app, tmp_path):
    first = app.save(tmp_path / "s", fmt="xlsx")
    second = app.save(tmp_path / "s", fmt="xlsx")
    assert first.json_path != second.json_path and first.table_path.suffix == ".xlsx"
    back = pd.read_excel(first.table_path, dtype={"village_id": str})
    assert back["village_id"].tolist() == html_ranking_ids(app)
    assert not list((tmp_path / "s").glob(".*"))  # no temporary file left behind
    for p in (tmp_path / "s").iterdir():
        assert re.fullmatch(r"scenario_town_[0-9A-Za-z_-]+_\d{4}_\d{8}-\d{6}(-\d+)?\.(json|xlsx)", p.name), p.name


def test_scenario_file_names_never_come_from_data(tmp_path):
    table = pd.DataFrame({"village_id": ["v1"], "rank": [1]})
    saved = save_scenario(tmp_path, table, scenario_parameters({"land": 1}, {}, "minmax", "arithmetic"),
                          town_id="../../etc/passwd", year=2023, data_fingerprint="x")
    assert saved.json_path.parent == tmp_path and saved.table_path.parent == tmp_path
    assert re.fullmatch(r"scenario_town_[0-9A-Za-z_-]+\.json", saved.json_path.name), saved.json_path.name


def test_apply_scenario_restores_choices(study, app):
    app.weight_sliders["income"].value = 3.5
    app.standard_inputs["social_workers_per_10k_min"].value = 30.0
    app.aggregate_dropdown.value = "harmonic"
    saved = app.save()
    ranks = app.ranking.table["rank"].copy()
    for s in app.weight_sliders.values():
        s.value = 1.0
    app.standard_inputs["social_workers_per_10k_min"].value = 18.0
    app.aggregate_dropdown.value = "arithmetic"
    n = len(app.timings)
    app.apply_scenario(saved.json_path)
    assert len(app.timings) == n + 1  # one update for the whole scenario
    assert app.weights["income"] == 3.5 and app.standards["social_workers_per_10k_min"] == 30.0
    assert app.aggregate == "harmonic"
    pd.testing.assert_series_equal(app.ranking.table["rank"], ranks)


def test_load_scenario_rejects_other_files(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"weights": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match="parameters"):
        load_scenario(p)
    p.write_text('{"parameters": {"standards": {"nope": 1}}}', encoding="utf-8")
    with pytest.raises(ValueError, match="nope"):
        load_scenario(p)


# ------------------------------------------------------------ speed
def test_updates_are_fast_on_the_sample(study):
    if not (SAMPLE / "villages.csv").exists():
        pytest.skip("timing is specified on the bundled sample study")
    app = ConsultationPanel(study, raise_errors=True)
    changes = {
        "weights": lambda k: setattr(app.weight_sliders["land"], "value", 1.0 + 0.5 * (k % 6 + 1)),
        "standards": lambda k: setattr(app.standard_inputs["weak_total_yuan"], "value", 100_000.0 + 10_000 * (k + 1)),
        "map": lambda k: setattr(app.map_dropdown, "value", ["income_total_yuan", "score", "simpson_index"][k % 3]),
    }
    for kind, change in changes.items():
        times = []
        for k in range(7):
            change(k)
            assert app.timings[-1][0] == kind
            times.append(app.timings[-1][1])
        assert statistics.median(times) < 0.5, (kind, times)


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
    from villagestudy.consult.serve import OFFLINE_TEMPLATE, write_offline_template

    folder = write_offline_template(tmp_path)
    assert folder == tmp_path / "voila" / "templates" / OFFLINE_TEMPLATE
    text = (folder / "index.html.j2").read_text(encoding="utf-8")
    assert "http" not in text and "super.super()" in text
    assert json.loads((folder / "conf.json").read_text())["base_template"] == "lab"


def test_notebook_is_committed_without_outputs():
    nb = json.loads((NOTEBOOKS / "consultation.ipynb").read_text("utf-8"))
    assert len(nb["cells"]) == 2
    params, show = nb["cells"]
    assert "parameters" in params["metadata"].get("tags", [])
    src = "".join(params["source"])
    assert 'os.environ.get("VILLAGESTUDY_STUDY", "")' in src and "lang =" in src
    assert "panel(study_path or None, lang=lang).widget" in "".join(show["source"])
    for c in nb["cells"]:
        assert c.get("outputs", []) == [] and c.get("execution_count") is None


@pytest.mark.slow
def test_notebook_runs_in_a_kernel(monkeypatch):
    """The committed notebook, executed in a real kernel (as JupyterLab or Voilà would), shows one widget."""
    import nbformat
    from nbclient import NotebookClient

    if not (SAMPLE / "villages.csv").exists():
        pytest.skip("needs the bundled sample study")
    path = NOTEBOOKS / "consultation.ipynb"
    monkeypatch.setenv("VILLAGESTUDY_LANG", "en")
    monkeypatch.delenv("VILLAGESTUDY_STUDY", raising=False)  # empty: the bundled sample, found by the package
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, startup_timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = nb.cells[1].outputs
    assert [o["output_type"] for o in outputs] == ["execute_result"], outputs
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    texts = " ".join(str(m["state"].get("value", "")) for m in state.values())
    assert "Consultation: comparing villages" in texts and "vs-consult-ranking" in texts
