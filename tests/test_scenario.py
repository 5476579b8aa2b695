"""Scenario (validation, JSON), evaluate() and Comparison (round trip, town view), and bad scenarios on the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLE, write_tiny_study

from villagestudy import Comparison, Scenario, evaluate, load_study
from villagestudy.cli import main
from villagestudy.ranking import rank_villages
from villagestudy.scenario import ScenarioError, ScenarioWarning
from villagestudy.scenario.model import AGGREGATIONS, NORMALISATIONS, index_weight_keys
from villagestudy.settings import STANDARDS


@pytest.fixture(scope="module")
def study():
    return load_study(SAMPLE)


@pytest.fixture(scope="module")
def default(study):
    return evaluate(study, Scenario(runs=40))


# ----------------------------------------------------------------- Scenario
def test_resolved_fills_every_choice_from_the_study(tmp_path):
    folder = write_tiny_study(tmp_path / "tiny")
    toml = folder / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[index]\nnormalise = "rank"\n[index.weights]\nland = 3\n',
                    encoding="utf-8")
    tiny = load_study(folder)
    s = Scenario(weights={"income": 2}).resolved(tiny)
    assert s.weights == {"land": 3.0, "income": 2.0} and s.normalise == "rank" and s.aggregate == "arithmetic"
    assert s.runs == 500 and s.seed == 0 and s.year == tiny.default_year and s.fingerprint == tiny.fingerprint
    assert set(s.standards) == set(STANDARDS)
    assert Scenario(normalise="zscore").resolved(tiny).normalise == "zscore"  # the scenario wins


scenarios = st.builds(
    Scenario, year=st.one_of(st.none(), st.integers(2000, 2030)), scope=st.sampled_from(["study", "town"]),
    town=st.sampled_from(["t1", "041252600"]),
    weights=st.dictionaries(st.sampled_from(index_weight_keys()), st.floats(0.5, 10, allow_nan=False), max_size=4),
    standards=st.dictionaries(st.sampled_from(["weak_total_yuan", "social_workers_per_10k_min"]),
                              st.floats(0, 1e6, allow_nan=False), max_size=2),
    normalise=st.one_of(st.none(), st.sampled_from(NORMALISATIONS)),
    aggregate=st.one_of(st.none(), st.sampled_from(AGGREGATIONS)),
    runs=st.one_of(st.none(), st.integers(0, 1000)), seed=st.one_of(st.none(), st.integers(0, 2**31)))


@given(scenarios)
@settings(max_examples=60, deadline=None)
def test_scenario_json_round_trip(s):
    back = Scenario.from_json(s.to_json(note="x", saved="2024-05-01T20:15:03+08:00"))
    assert back == s and hash(back) == hash(s)


def test_a_frozen_scenario_copies_its_dicts():
    weights = {"land": 2.0}
    s = Scenario(weights=weights)
    weights["land"] = 9.0
    assert s.weights == {"land": 2.0}
    with pytest.raises(AttributeError):
        s.scope = "town"


def test_reads_the_older_app_files(tmp_path):
    old = {"parameters": {"weights": {"land": 1, "income": 1, "governance": 3},
                          "standards": {"weak_total_yuan": 200000}, "normalise": "zscore", "aggregate": "arithmetic"},
           "town_id": "041252600", "year": 2023, "data_fingerprint": "abc", "uncertainty": {"n": 200, "seed": 0}}
    p = tmp_path / "old.json"
    p.write_text(json.dumps(old), encoding="utf-8")
    s = Scenario.from_json(p)
    assert s.town == "041252600" and s.weights["governance"] == 3.0 and s.runs == 200 and s.fingerprint == "abc"


BAD = {  # scenario -> a text each error line must name
    "unknown key": ({"wieghts": {"land": 2}}, "unknown key 'wieghts'"),
    "unknown pillar": ({"weights": {"goverance": 2}}, "weights.goverance"),
    "unknown indicator": ({"weights": {"simpson": 2}}, "weights.simpson"),
    "unknown standard": ({"standards": {"weak_total": 1}}, "standards.weak_total"),
    "negative weight": ({"weights": {"land": -1}}, "weights.land: negative"),
    "all weights zero": ({"weights": {"land": 0, "income": 0, "governance": 0}}, "all pillar weights are zero"),
    "unknown normalisation": ({"normalise": "minmax2"}, "normalise: unknown method 'minmax2'"),
    "unknown aggregation": ({"aggregate": "median"}, "aggregate: unknown method 'median'"),
    "unknown scope": ({"scope": "county"}, "scope: unknown scope 'county'"),
    "year without data": ({"year": 1990}, "year: no data for year 1990"),
    "unknown town": ({"town": "999"}, "town: unknown town '999'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_scenarios_name_the_key_and_the_allowed_values(study, case):
    data, named = BAD[case]
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data).validate(study)
    text = str(err.value)
    assert named in text
    if case not in ("negative weight", "all weights zero", "year without data"):
        assert "allowed:" in text


def test_every_problem_in_one_error(study):
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict({"weights": {"goverance": 2, "land": -1}, "normalise": "x", "year": 1990,
                            "extra": 1}).validate(study)
    assert len(err.value.problems) == 4  # unknown key, goverance, negative land, method (year needs the study)
    with pytest.raises(ScenarioError) as err:
        Scenario(weights={"goverance": 2}, year=1990).validate(study)
    assert len(err.value.problems) == 2


def test_other_data_is_a_visible_warning(study):
    s = Scenario(fingerprint="0000000000000000")
    with pytest.warns(ScenarioWarning, match="0000000000000000"):
        c = evaluate(study, s)
    assert any("0000000000000000" in n for n in c.notes.loc[c.notes["topic"] == "data", "note"])


# ----------------------------------------------------------------- evaluate
def test_evaluate_is_the_ranking_engine(study, default):
    """evaluate() adds nothing of its own to the index: the engine's scores and ranks."""
    table = default.indicators
    engine = rank_villages(table, uncertainty={"n": 40, "seed": 0}).table
    got = default.ranking.set_index("village_id")
    for col in ("land", "income", "governance", "score", "rank", "rank_in_town", "rank_p05", "rank_p95"):
        pd.testing.assert_series_equal(got[col], engine[col].astype(got[col].dtype), check_names=False)


def test_comparison_columns_and_notes(study, default):
    r = default.ranking
    assert list(r.columns[:14]) == ["village_id", "town_id", "town_name", "village_name", "land", "income",
                                    "governance", "score", "rank", "rank_in_town", "rank_median", "rank_p05",
                                    "rank_p95", "data_availability"]
    assert sorted(r["rank"]) == list(range(1, len(r) + 1))
    assert set(default.notes["topic"]) <= {"value", "index", "data"}
    assert (default.notes["topic"] == "value").any()  # e.g. villages without parks
    assert default.provenance["data_fingerprint"] == study.fingerprint


def test_comparison_json_round_trips_exactly(study, tmp_path):
    c = evaluate(study, Scenario(runs=30, standards={"office_area_standard_m2": None}, scope="town",
                                 town=study.town_ids()[1]))
    c.to_json(tmp_path / "c.json")
    back = Comparison.from_json(tmp_path / "c.json")
    for name in ("indicators", "ranking", "missed", "notes", "structure"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(c, name), obj=name)
    assert set(back.extra) == set(c.extra) and "contributions" in c.extra
    for name, frame in c.extra.items():
        pd.testing.assert_frame_equal(back.extra[name], frame, obj=name)
    assert back.scenario == c.scenario and back.method == c.method and back.provenance == c.provenance
    assert back.to_json() == c.to_json()


def test_for_town_keeps_the_ranks_of_the_scope(default, study):
    town = study.town_ids()[2]
    view = default.for_town(town)
    assert set(view.ranking["town_id"]) == {town} and view.scenario.town == town
    full = default.ranking.set_index("village_id").loc[view.ranking["village_id"]]
    assert view.ranking["rank"].tolist() == full["rank"].tolist()
    assert set(view.missed["village_id"]) <= set(view.ranking["village_id"])
    # a village's contributions stay with its town; the audits of the whole index are kept whole
    mine = default.extra["contributions"]["unit"].isin(view.ranking["village_id"])
    assert mine.sum() > 0 and len(view.extra["contributions"]) == mine.sum()
    assert set(view.extra["contributions"]["unit"]) == set(view.ranking["village_id"])
    pd.testing.assert_frame_equal(view.extra["alpha"], default.extra["alpha"])
    with pytest.raises(KeyError, match="no town"):
        default.for_town("nope")


def test_repr_html_escapes_and_is_short(study, default):
    html = default._repr_html_()
    assert html.count("<tr data-village-id") == 12 and "whole study" in html


def test_no_varying_indicator_gives_no_score_and_says_why(tmp_path):
    tiny = load_study(write_tiny_study(tmp_path / "tiny"))
    c = evaluate(tiny, Scenario(scope="town", town="440100002", runs=0))
    assert c.ranking["score"].isna().all() and not c.has_index and c.index_notes


# ------------------------------------------------------------ command line
@pytest.mark.parametrize("args, named", [
    (["--weights", '{"goverance": 2}'], "weights.goverance"),
    (["--year", "1990"], "year: no data for year 1990"),
    (["--weights", '{"land": -1}'], "weights.land: negative"),
    (["--weights", '{"land": 0, "income": 0, "governance": 0}'], "all pillar weights are zero"),
    (["--standards", '{"weak": 1}'], "standards.weak"),
    (["--scope", "town"], "town: scope 'town' needs a town id"),
    (["--town", "999"], "town: unknown town '999'"),
])
def test_rank_refuses_bad_scenarios(args, named, capsys):
    assert main(["rank", str(SAMPLE), *args]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


@pytest.mark.parametrize("data, named", [
    ({"version": 1, "scenario": {"weights": {"goverance": 2}}}, "weights.goverance"),
    ({"version": 1, "scenario": {"normalise": "mean"}}, "normalise: unknown method 'mean'"),
    ({"version": 2, "scenario": {}}, "version"),
    ({"weights": {"land": 1}, "colour": "red"}, "unknown key 'colour'"),
])
def test_rank_and_reports_refuse_bad_scenario_files(tmp_path, data, named, capsys):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    for command in (["rank", str(SAMPLE)], ["reports", str(SAMPLE), "--out", str(tmp_path / "out")]):
        assert main([*command, "--params", str(p)]) == 2
        err = capsys.readouterr().err
        assert named in err and str(p) in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before any work


def test_rank_exit_code_from_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "villagestudy.cli", "rank", str(SAMPLE), "--weights",
                           '{"goverance": 2}'], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "weights.goverance" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_rank_scope_and_town(study, tmp_path, capsys):
    town = study.town_ids()[1]
    out = tmp_path / "r.json"
    assert main(["rank", str(SAMPLE), "--scope", "town", "--town", town, "--runs", "0", "--out", str(out)]) == 0
    c = Comparison.from_json(out)
    assert set(c.ranking["town_id"]) == {town} and c.ranking["rank"].max() == len(c.ranking)
    assert "over town" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(c.ranking, evaluate(study, c.scenario).ranking)
