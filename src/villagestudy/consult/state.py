"""The consultation app's state: a scenario and the Comparison it shows, with caches. No widgets.

Every change goes through :meth:`ConsultationState.update`, which runs the steps
of :func:`villagestudy.evaluate` that the change touches and reuses the rest:

* year: the indicator table (:func:`~villagestudy.scenario.evaluate.indicator_table`,
  cached per year), then everything below;
* a standard: the four standard flags (:func:`~villagestudy.scenario.evaluate.apply_standards`)
  and the missed-standards list. No flag enters the index: the ranking stays;
* weights, methods, Monte Carlo, the scope, or the town under town scope: the
  ranking (:func:`~villagestudy.scenario.evaluate.rank_scope`, cached per choice);
* the town under study scope: nothing but the view (:meth:`Comparison.for_town`).

So the app's :attr:`ConsultationState.comparison` equals
``evaluate(study, scenario).for_town(town)`` (tested in ``tests/test_parity.py``).
"""
from __future__ import annotations

import json
import warnings
from collections import OrderedDict

import pandas as pd

from ..scenario import Comparison, Scenario, ScenarioWarning
from ..scenario.evaluate import (apply_standards, assemble, in_scope, indicator_table, missed_list, rank_scope,
                                 settings_in_force)
from ..settings import Settings
from ..study import Study

__all__ = ["ConsultationState", "RANK_KEYS", "FLAG_KEYS"]

#: scenario fields the ranking depends on (besides the year and, under town scope, the town)
RANK_KEYS = ("scope", "weights", "normalise", "aggregate", "impute", "winsorise", "runs", "seed")
#: scenario fields the standard flags and the missed list depend on
FLAG_KEYS = ("standards",)
_RANK_CACHE = 64


class ConsultationState:
    """A scenario and the Comparison it gives, kept up to date cheaply.

    Parameters
    ----------
    study : Study
    scenario : Scenario, optional
        Default: the study's own choices, looking at its first town.

    Attributes
    ----------
    scenario : Scenario
        Resolved (every choice explicit), with a town.
    scope_comparison : Comparison
        Every village in scope (the study, or the town).
    comparison : Comparison
        What the app shows: the town's view of ``scope_comparison``.
    """

    def __init__(self, study: Study, scenario: Scenario | None = None):
        self.study = study
        self._bases: dict = {}
        self._ranks: OrderedDict = OrderedDict()
        self._flagged: tuple | None = None  # (key, table with the flags in force, missed list)
        self._assembled_for: Scenario | None = None
        scenario = scenario or Scenario()
        if scenario.town is None:
            scenario = scenario.replace(town=study.town_ids()[0])
        self.warnings: list[str] = []
        self.scenario = self._checked(scenario)
        self.scope_comparison: Comparison | None = None
        self.comparison: Comparison | None = None
        self.ranking_result = None
        self._compute()

    def _checked(self, scenario: Scenario) -> Scenario:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ScenarioWarning)
            scenario.validate(self.study)
        self.warnings = [str(w.message) for w in caught]
        return scenario.resolved(self.study)

    # ---------------------------------------------------------------- state
    @property
    def settings(self) -> Settings:
        """The study's settings with the standards in force."""
        return settings_in_force(self.study, self.scenario)

    @property
    def active_pillars(self) -> tuple[str, ...]:
        """The pillars that entered the index (some indicator varies between the villages in scope)."""
        structure = self.scope_comparison.structure
        return tuple(p for p in ("land", "income", "governance") if (structure["id"] == p).any())

    def update(self, **changes) -> set[str]:
        """Change the scenario and recompute what the change touches.

        Returns the parts that changed: some of ``data``, ``flags``, ``rank``, ``town``.
        """
        old = self.scenario
        new = self._checked(old.replace(**changes))
        touched = set()
        if new.year != old.year:
            touched |= {"data", "flags", "rank"}
        if new.standards != old.standards:
            touched.add("flags")
        if any(getattr(new, k) != getattr(old, k) for k in RANK_KEYS):
            touched.add("rank")
        if new.town != old.town:
            touched.add("town")
            if new.scope == "town":
                touched |= {"flags", "rank"}
        self.scenario = new
        self._compute()
        return touched

    # -------------------------------------------------------------- compute
    def _base(self, year) -> pd.DataFrame:
        if year not in self._bases:
            self._bases[year] = indicator_table(self.study, year)
        return self._bases[year]

    def _table(self) -> pd.DataFrame:
        s = self.scenario
        key = (s.year, s.scope, s.town if s.scope == "town" else None, json.dumps(s.standards, sort_keys=True))
        if self._flagged is None or self._flagged[0] != key:
            table = in_scope(apply_standards(self._base(s.year), self.settings), s)
            self._flagged = (key, table, missed_list(table, self.settings))
        return self._flagged[1]

    def _rank(self, table: pd.DataFrame):
        s = self.scenario
        key = (s.year, s.town if s.scope == "town" else None,
               *[json.dumps(getattr(s, k), sort_keys=True) for k in RANK_KEYS])
        if key in self._ranks:
            self._ranks.move_to_end(key)
            return self._ranks[key]
        ranking = rank_scope(table, s, self.study)
        self._ranks[key] = ranking
        while len(self._ranks) > _RANK_CACHE:
            self._ranks.popitem(last=False)
        return ranking

    def _compute(self) -> None:
        s = self.scenario
        table = self._table()
        ranking = self._rank(table)
        # under study scope the town only picks the view: the comparison of the study stays
        assembled_for = s if s.scope == "town" else s.replace(town=None)
        if assembled_for != self._assembled_for:
            self.scope_comparison = assemble(self.study, s, self._base(s.year), table, ranking, self._flagged[2])
            self._assembled_for = assembled_for
        self.ranking_result = ranking
        self.comparison = self.scope_comparison.for_town(s.town)
