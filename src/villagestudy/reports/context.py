"""Study-wide results that every town report of a batch shares, computed once.

A town report ranks its villages against the whole study, so each report needs
the indicators and the composite index of every village. The batch computes
them once (:func:`build_context`), stores them beside the reports, and every
report loads them (:func:`load_context`) instead of recomputing them per town.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..settings import STANDARDS


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
    study: object  # Study
    year: int | None
    table: pd.DataFrame
    ranks: object  # ranking.VillageRanking
    parameters: dict
    models: StudyModels | None = None


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
    from ..stats import InsufficientDataError, within_town_comparison

    predictors = [p for p in REPORT_PREDICTORS if table[p].notna().sum() > 0]
    models = StudyModels(REPORT_OUTCOME, predictors)
    try:
        models.fit = within_town_comparison(table, REPORT_OUTCOME, predictors, group="town_id")
    except (InsufficientDataError, ValueError) as e:
        models.refused = str(e)
        if getattr(e, "code", None):
            models.refused_code = (e.code, e.fields)
    return models


def context_parameters(year, weights, standards, normalise, aggregate, uncertainty_runs) -> dict:
    return {"year": int(year) if year else None, "weights": dict(weights or {}), "standards": dict(standards or {}),
            "normalise": normalise, "aggregate": aggregate, "uncertainty_runs": int(uncertainty_runs)}


def build_context(study, year=None, weights=None, standards=None, normalise="minmax", aggregate="arithmetic",
                  uncertainty_runs=500) -> ReportContext:
    """Load (if given a path) and compute what every town report of a study needs."""
    from .. import compute_indicators, load_study
    from ..ranking import rank_villages

    params = context_parameters(year, weights, standards, normalise, aggregate, uncertainty_runs)
    if not hasattr(study, "villages"):
        study = load_study(study)
    if standards:
        unknown = sorted(set(standards) - set(STANDARDS))
        if unknown:
            raise ValueError(f"unknown standard(s) {', '.join(unknown)}; known: {', '.join(STANDARDS)}")
        study = study.with_settings(**standards)
    year = int(year) if year else study.default_year
    table = compute_indicators(study, year=year)
    options = dict(study.settings.index_options)
    if study.settings.weights:
        options["weights"] = dict(study.settings.weights)
    ranks = rank_villages(table, weights=weights, normalise=normalise, aggregate=aggregate,
                          uncertainty={"n": uncertainty_runs, "seed": 0} if uncertainty_runs else False,
                          options=options)
    return ReportContext(study, year, table, ranks, params, fit_report_models(table))


def save_context(ctx: ReportContext, path: Path) -> Path:
    from .._atomic import atomic_path

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
