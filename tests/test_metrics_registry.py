"""The registry of indicator groups and the executor that runs them (metrics/__init__.py)."""
from __future__ import annotations

import dataclasses

import pandas as pd

from villagestudy import catalog
from villagestudy.io import load_study
from villagestudy.metrics import INDICATOR_GROUPS, IndicatorGroup, compute_indicators, run_in_memory
from villagestudy.study import TABLE_NAMES


def test_the_groups_compute_every_catalog_indicator_once(tiny_study_dir):
    study = load_study(tiny_study_dir)
    columns = [c for g in INDICATOR_GROUPS.values() for c in g.func(study, year=2023).columns]
    assert len(columns) == len(set(columns))
    assert set(columns) == set(catalog.ids())
    for group in INDICATOR_GROUPS.values():
        assert group.inputs and set(group.inputs) <= set(TABLE_NAMES[2:])


def test_an_executor_runs_each_group_once_in_registry_order(tiny_study_dir):
    study = load_study(tiny_study_dir)
    seen = []

    def recording(group, study_, *, year, notes):
        seen.append((group, year))
        return run_in_memory(group, study_, year=year, notes=notes)

    table = compute_indicators(study, executor=recording)
    assert seen == [(g, 2023) for g in INDICATOR_GROUPS.values()]
    pd.testing.assert_frame_equal(table, compute_indicators(study))
    pd.testing.assert_frame_equal(table.attrs["notes"], compute_indicators(study).attrs["notes"])


def test_groups_are_objects_not_names(tiny_study_dir, monkeypatch):
    """A renamed indicator function is still run (pillars were once matched by ``__name__``)."""
    study = load_study(tiny_study_dir)
    expected = compute_indicators(study)
    land = INDICATOR_GROUPS["land"]

    def renamed(study_, year=None, notes=None):
        return land.func(study_, year=year, notes=notes)

    monkeypatch.setitem(INDICATOR_GROUPS, "land", dataclasses.replace(land, func=renamed))
    pd.testing.assert_frame_equal(compute_indicators(study), expected)
    monkeypatch.setitem(INDICATOR_GROUPS, "land", IndicatorGroup(lambda s, year=None, notes=None:
                                                                pd.DataFrame(index=pd.Index([], name="village_id")),
                                                                ("parcels",)))
    assert compute_indicators(study)["simpson_index"].isna().all()  # the registry is what runs
