"""Study-wide results that every town report of a batch shares, computed once.

A town report shows its town's view of one :class:`~villagestudy.Comparison`
(:func:`villagestudy.evaluate` of the batch's scenario). The batch evaluates it
once (:func:`build_context`), stores it beside the reports, and every report
loads it (:func:`load_context`) instead of recomputing it per town.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._atomic import atomic_path
from ..io import load_study
from ..scenario import Scenario, evaluate
from ..stats import InsufficientDataError, within_town_comparison


@dataclass
class StudyModels:
    """The study-wide regression a report shows, or why it could not be fitted."""

    outcome: str
    predictors: list[str]
    fit: pd.DataFrame | None = None
    refused: str | None = None
    refused_code: tuple[str, dict] | None = None  # (code, fields) of the refusal, for other languages


@dataclass
class ReportContext:
    """What every town report of a batch shares: the study and the Comparison(s) of one scenario.

    With scope ``study`` one comparison covers every village and a report shows
    its town's view (:meth:`Comparison.for_town`); with scope ``town`` each town
    has a comparison of its own villages.
    """

    study: object  # Study, with the scenario's standards in force
    scenario: object  # Scenario (not resolved: the town is each report's own)
    comparison: object  # Comparison over the whole study (its indicators also feed the models)
    comparisons: dict  # scope town: town_id -> Comparison of that town alone
    parameters: dict
    models: StudyModels | None = None

    @property
    def year(self) -> int | None:
        return self.comparison.scenario.year

    @property
    def table(self):
        """The study-wide indicator table (standards in force)."""
        return self.comparison.indicators

    def comparison_for(self, town_id: str):
        """The Comparison a town's report shows (its villages; ranks from the scenario's scope)."""
        if self.comparisons:
            return self.comparisons[str(town_id)]
        return self.comparison.for_town(str(town_id))


REPORT_OUTCOME = "operating_income_per_resident_yuan"
REPORT_PREDICTORS = ("simpson_index", "social_workers_per_10k", "party_volunteer_rate")


def fit_report_models(table: pd.DataFrame) -> StudyModels:
    """Operating income per resident on fragmentation and governance, within towns.

    Town fixed effects with inference chosen for the number of towns
    (:func:`villagestudy.stats.within_town_comparison`: wild cluster bootstrap
    below 30 towns, descriptive only below 4); the method, the numbers of
    villages and towns and every warning are columns of the table itself.
    Fitted once per study because it uses every village, whichever town a
    report is about.
    """
    predictors = [p for p in REPORT_PREDICTORS if table[p].notna().sum() > 0]
    models = StudyModels(REPORT_OUTCOME, predictors)
    try:
        models.fit = within_town_comparison(table, REPORT_OUTCOME, predictors, group="town_id")
    except (InsufficientDataError, ValueError) as e:
        models.refused = str(e)
        if getattr(e, "code", None):
            models.refused_code = (e.code, e.fields)
    return models


def report_scenario(scenario=None, *, year=None, weights=None, standards=None, normalise=None, aggregate=None,
                    uncertainty_runs=None):
    """The Scenario of a report: ``scenario`` (a Scenario or its dict) or the older separate parameters."""
    if scenario:
        scenario = scenario if isinstance(scenario, Scenario) else Scenario.from_dict(scenario)
    else:
        runs = None if uncertainty_runs is None or int(uncertainty_runs) < 0 else int(uncertainty_runs)
        scenario = Scenario(weights=weights or {}, standards=standards or {}, normalise=normalise or None,
                            aggregate=aggregate or None, runs=runs)
    if year:
        scenario = scenario.replace(year=int(year))
    return scenario


def context_parameters(scenario) -> dict:
    """What a stored context was made with (compared before reusing it)."""
    return {"scenario": scenario.to_dict()}


def build_context(study, scenario=None, **legacy) -> ReportContext:
    """Load (if given a path) and evaluate what every town report of a study needs.

    ``scenario`` is a Scenario or its dict; ``legacy`` takes the older separate
    parameters (``year``, ``weights``, ``standards``, ``normalise``,
    ``aggregate``, ``uncertainty_runs``).
    """
    scenario = report_scenario(scenario, **legacy)
    if not hasattr(study, "villages"):
        study = load_study(study)
    study_scope = scenario.replace(scope="study", town=None)
    comparison = evaluate(study, study_scope)
    comparisons = {}
    if scenario.scope == "town":
        comparisons = {t: evaluate(study, scenario.replace(town=t)) for t in study.town_ids()}
    shown = study.with_settings(**comparison.scenario.standards)
    return ReportContext(shown, scenario, comparison, comparisons, context_parameters(scenario),
                         fit_report_models(comparison.indicators))


def save_context(ctx: ReportContext, path: Path) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump(ctx, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_context(path: str | Path, parameters: dict) -> ReportContext | None:
    """The stored context if it was made with the same parameters, else None (then recompute)."""
    try:
        with open(path, "rb") as f:
            ctx = pickle.load(f)  # written by this batch, beside its reports: trusted
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return None
    return ctx if ctx.parameters == parameters else None
