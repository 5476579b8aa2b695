"""The study-wide context of a batch: computed once, loaded once per process, never changed by a report."""
from __future__ import annotations

import os
import pickle

import pandas as pd
import pytest

from villagestudy.datasets import get_path
from villagestudy.io import load_study
from villagestudy.reports import context as context_module
from villagestudy.reports import town as town_module
from villagestudy.reports.context import (LISA_INDICATOR, build_context, context_parameters, load_context,
                                          report_scenario, save_context)
from villagestudy.reports.town import TownReport
from villagestudy.spatial import global_moran, local_moran

SECTIONS = ("title", "summary", "overview", "land", "income", "governance", "ranking", "statistics", "spatial",
            "methods")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    scenario = report_scenario(uncertainty_runs=0)
    path = tmp_path_factory.mktemp("ctx") / "context.pkl"
    save_context(build_context(load_study(get_path("sample")), scenario), path)
    return path, context_parameters(scenario)


@pytest.fixture
def quiet_display(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    return shown


def test_spatial_statistics_are_computed_once_for_the_study(stored):
    path, parameters = stored
    ctx = load_context(path, parameters)
    results = ctx.spatial[""]
    values = ctx.comparison.indicators[LISA_INDICATOR]
    direct = global_moran(ctx.study.boundaries, values)
    assert results.moran[LISA_INDICATOR].loc[0, "moran_i"] == pytest.approx(direct.loc[0, "moran_i"])
    assert results.moran[LISA_INDICATOR].loc[0, "p_value"] == direct.loc[0, "p_value"]
    pd.testing.assert_frame_equal(results.lisa, local_moran(ctx.study.boundaries, values))
    score = ctx.comparison.ranking.set_index("village_id")["score"]
    assert results.moran["score"].loc[0, "moran_i"] == pytest.approx(
        global_moran(ctx.study.boundaries, score).loc[0, "moran_i"])


def test_town_reports_show_the_stored_spatial_results(stored, monkeypatch):
    path, parameters = stored
    ctx = load_context(path, parameters)
    calls = []
    monkeypatch.setattr(context_module, "spatial_results", lambda *a: calls.append(a))
    for name in ("global_moran", "local_moran"):
        monkeypatch.setattr(town_module, name, lambda *a, **k: calls.append(a))
    for town in ctx.study.town_ids():
        report = TownReport("", town_id=town, uncertainty_runs=0, context_path=str(path))
        table = report.spatial_table()
        moran = ctx.spatial[""].moran["simpson_index"].loc[0]
        row = table.iloc[context_module.SPATIAL_INDICATORS.index("simpson_index")]
        assert row["Moran's I"] == f"{moran['moran_i']:.3f}" and row["村数"] == f"{int(moran['n_villages']):,}"
        assert report.lisa_figure().layout.meta["clusters"]
    assert calls == []  # nothing recomputed per town


def test_a_process_loads_the_context_file_once_until_it_changes(stored, monkeypatch):
    path, parameters = stored
    loads = []
    real_load = pickle.load
    monkeypatch.setattr(context_module.pickle, "load", lambda f: loads.append(1) or real_load(f))
    context_module._LOADED.clear()
    first = load_context(path, parameters)
    assert load_context(path, parameters) is first and len(loads) == 1
    assert load_context(path, {"scenario": {"other": 1}}) is None and len(loads) == 1  # other parameters
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    second = load_context(path, parameters)
    assert second is not first and len(loads) == 2
    assert load_context(path.with_name("missing.pkl"), parameters) is None


def test_a_whole_report_leaves_the_shared_context_unchanged(stored, quiet_display, tmp_path):
    path, parameters = stored
    context_module._LOADED.clear()
    shared = load_context(path, parameters)
    with open(path, "rb") as f:
        pristine = pickle.load(f)
    for town in shared.study.town_ids()[:2]:
        report = TownReport("", town_id=town, uncertainty_runs=0, report_mode=True, context_path=str(path))
        assert report._context is shared
        for section in SECTIONS:
            getattr(report, section)()
        report.save_tables(str(tmp_path / f"{town}.xlsx"))
    assert quiet_display
    pd.testing.assert_frame_equal(shared.comparison.indicators, pristine.comparison.indicators)
    pd.testing.assert_frame_equal(shared.comparison.ranking, pristine.comparison.ranking)
    for name in ("villages", "boundaries", "parcels"):
        mine, theirs = getattr(shared.study, name), getattr(pristine.study, name)
        if mine is not None:
            pd.testing.assert_frame_equal(pd.DataFrame(mine), pd.DataFrame(theirs))
    pd.testing.assert_frame_equal(shared.spatial[""].lisa, pristine.spatial[""].lisa)
    pd.testing.assert_frame_equal(shared.models.fit, pristine.models.fit)
