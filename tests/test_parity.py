"""One scenario, one answer in every view.

For each scenario the Comparison of ``villagestudy.evaluate``, the app's
``.comparison`` after the same settings are made through its widgets, the output
of ``villagestudy rank --params``, and the report's ``town_<id>.comparison.json``
hold the same villages, the same ranks and the same scores (to 1e-9).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLE

from villagestudy import Comparison, Scenario, evaluate, load_study
from villagestudy.cli import main
from villagestudy.consult import ConsultationPanel
from villagestudy.reports import TownReport

RUNS = 60  # Monte Carlo runs: enough for distinct rank intervals, quick enough for six scenarios

#: name -> (town index in the study, scenario changes)
SCENARIOS = {
    "default": (0, {}),
    "governance_5": (0, {"weights": {"governance": 5.0}}),
    "stricter_xiaobo": (1, {"standards": {"weak_total_yuan": 200_000.0, "weak_operating_yuan": 100_000.0}}),
    "rank_geometric": (1, {"normalise": "rank", "aggregate": "geometric"}),
    "town_scope": (2, {"scope": "town", "weights": {"land": 2.0}}),
    "study_scope": (2, {"scope": "study", "weights": {"land": 2.0}}),
}
SCORES = ["land", "income", "governance", "score"]
RANKS = ["rank", "rank_in_town"]


@pytest.fixture(scope="module")
def study():
    return load_study(SAMPLE)


def scenario_of(study, name: str) -> Scenario:
    town, changes = SCENARIOS[name]
    return Scenario(town=study.town_ids()[town], runs=RUNS, **changes)


def assert_same_ranking(got: pd.DataFrame, want: pd.DataFrame, view: str) -> None:
    """Same villages, same ranks, scores to 1e-9."""
    got = got.assign(village_id=got["village_id"].astype(str)).set_index("village_id").sort_index()
    want = want.set_index("village_id").sort_index()
    assert got.index.tolist() == want.index.tolist(), f"{view}: other villages"
    for col in RANKS + ["rank_p05", "rank_p95"]:
        assert got[col].astype("float64").tolist() == want[col].astype("float64").tolist(), f"{view}: {col}"
    np.testing.assert_allclose(got[SCORES].to_numpy(float), want[SCORES].to_numpy(float), rtol=0, atol=1e-9,
                               err_msg=f"{view}: scores")


def missed_pairs(comparison: Comparison) -> set[tuple[str, str]]:
    m = comparison.missed
    return set(zip(*m.loc[m["status"] == "missed", ["village_id", "standard_key"]].to_numpy().T))


def app_with_widgets(study, scenario: Scenario) -> ConsultationPanel:
    """The app with the scenario's settings made through its widgets, as a user would."""
    app = ConsultationPanel(study, raise_errors=True, mc_runs=RUNS)
    app.town_dropdown.value = scenario.town
    app.scope_toggle.value = scenario.scope
    for pillar, weight in scenario.weights.items():
        app.weight_sliders[pillar].value = weight
    for key, value in scenario.standards.items():
        app.standard_inputs[key].value = value
    if scenario.normalise:
        app.normalise_dropdown.value = scenario.normalise
    if scenario.aggregate:
        app.aggregate_dropdown.value = scenario.aggregate
    return app


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_view_shows_evaluate(study, name, tmp_path):
    scenario = scenario_of(study, name)
    town = scenario.town
    want = evaluate(study, scenario).for_town(town)
    assert want.scenario.scope == scenario.scope and len(want.ranking)

    # the app, set through its widgets
    app = app_with_widgets(study, scenario)
    assert app.scenario.replace(study=None) == want.scenario
    assert_same_ranking(app.comparison.ranking, want.ranking, "app")
    assert missed_pairs(app.comparison) == missed_pairs(want)

    # villagestudy rank --params
    params = tmp_path / "scenario.json"
    scenario.to_json(params)
    out = tmp_path / "rank.csv"
    assert main(["rank", str(SAMPLE), "--params", str(params), "--town", town, "--out", str(out)]) == 0
    cli = pd.read_csv(out, dtype={"village_id": str, "town_id": str}, encoding="utf-8-sig")
    assert_same_ranking(cli, want.ranking, "villagestudy rank")

    # the report's audit file, written by the report from the Comparison it shows
    audit = tmp_path / "town.comparison.json"
    report = TownReport(str(SAMPLE), town_id=town, scenario=scenario.to_dict(), comparison_path=str(audit))
    shown = Comparison.from_json(audit)
    assert_same_ranking(shown.ranking, want.ranking, "report")
    assert missed_pairs(shown) == missed_pairs(want)
    assert report.comparison.to_json() == audit.read_text(encoding="utf-8")
    pd.testing.assert_frame_equal(shown.ranking, want.ranking)


def test_scope_changes_scores_and_is_named(study):
    town = study.town_ids()[0]
    whole = evaluate(study, Scenario(town=town, runs=0)).for_town(town)
    alone = evaluate(study, Scenario(town=town, scope="town", runs=0))
    assert set(alone.ranking["village_id"]) == set(whole.ranking["village_id"])
    assert alone.ranking["rank"].max() == len(alone.ranking) < whole.ranking["rank"].max()
    assert not np.allclose(alone.ranking["score"], whole.ranking["score"])


@pytest.mark.slow
def test_batch_writes_the_comparison_beside_the_report(study, tmp_path):
    """``villagestudy reports --params S.json --town T``: that town only, its Comparison beside its HTML."""
    scenario = scenario_of(study, "governance_5")
    params = tmp_path / "s.json"
    scenario.to_json(params)
    out = tmp_path / "reports"
    town = study.town_ids()[1]
    assert main(["reports", str(SAMPLE), "--params", str(params), "--town", town, "--out", str(out), "--quiet",
                 "--jobs", "1"]) == 0
    made = sorted(p.name for p in out.glob("town_*"))
    assert made == [f"town_{town}.comparison.json", f"town_{town}.html", f"town_{town}.ipynb", f"town_{town}.json",
                    f"town_{town}.xlsx"]
    shown = Comparison.from_json(out / f"town_{town}.comparison.json")
    want = evaluate(study, scenario.replace(town=town)).for_town(town)
    pd.testing.assert_frame_equal(shown.ranking, want.ranking)
    html = (out / f"town_{town}.html").read_text(encoding="utf-8")
    top = want.ranked()["village_name"].iloc[0]
    assert top in html

    # the scenario saved about one town (no --town): that town only; the earlier town stays on the index
    other = study.town_ids()[2]
    scenario.replace(town=other).to_json(params)
    before = (out / f"town_{town}.html").stat().st_mtime_ns
    assert main(["reports", str(SAMPLE), "--params", str(params), "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    assert sorted(p.name for p in out.glob("town_*.html")) == [f"town_{town}.html", f"town_{other}.html"]
    assert (out / f"town_{town}.html").stat().st_mtime_ns == before
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f"town_{town}.html" in index and f"town_{other}.html" in index
    shown = Comparison.from_json(out / f"town_{other}.comparison.json")
    pd.testing.assert_frame_equal(shown.ranking, evaluate(study, scenario.replace(town=other)).for_town(other).ranking)
