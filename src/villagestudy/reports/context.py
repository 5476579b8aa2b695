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
from ..spatial import global_moran, local_moran, village_neighbours
from ..stats import InsufficientDataError, within_town_comparison


@dataclass
class StudyModels:
    """The study-wide regression a report shows, or why it could not be fitted."""

    outcome: str
    predictors: list[str]
    fit: pd.DataFrame | None = None
    refused: str | None = None
    refused_code: tuple[str, dict] | None = None  # (code, fields) of the refusal, for other languages


#: indicators whose global Moran's I a report shows ("score" is the index score of the scenario)
SPATIAL_INDICATORS = ("weak_village", "operating_income_per_resident_yuan", "simpson_index", "score")
#: the indicator of the report's LISA map
LISA_INDICATOR = "operating_income_per_resident_yuan"


@dataclass
class SpatialResults:
    """Moran's I of :data:`SPATIAL_INDICATORS` and the LISA of :data:`LISA_INDICATOR` for one Comparison.

    ``moran`` maps an indicator to its :func:`~villagestudy.spatial.global_moran`
    row, or to the :class:`ValueError` text saying why no pattern can be tested;
    ``lisa`` is :func:`~villagestudy.spatial.local_moran` of the LISA indicator
    (None, with ``lisa_refused``, when it cannot be computed).
    """

    moran: dict
    lisa: pd.DataFrame | None = None
    lisa_refused: str | None = None


def spatial_values(comparison, indicator: str) -> pd.Series:
    """Village values of ``indicator`` in ``comparison`` (``score``: the scenario's index score)."""
    if indicator == "score":
        return comparison.ranking.set_index("village_id")["score"]
    return comparison.indicators[indicator]


def spatial_results(study, comparison) -> SpatialResults | None:
    """Global and local Moran's I of one Comparison over the study's village boundaries (None without them).

    Study-wide: every town report of a batch shows the same, so the batch
    computes it once (:func:`build_context`).
    """
    if not study.has_geometry("boundaries"):
        return None
    neighbours = village_neighbours(study.boundaries)  # found once for every indicator below
    moran = {}
    for indicator in SPATIAL_INDICATORS:
        try:
            moran[indicator] = global_moran(study.boundaries, spatial_values(comparison, indicator),
                                            neighbours=neighbours)
        except ValueError as e:
            moran[indicator] = str(e)
    try:
        lisa, refused = local_moran(study.boundaries, spatial_values(comparison, LISA_INDICATOR),
                                    neighbours=neighbours), None
    except ValueError as e:
        lisa, refused = None, str(e)
    return SpatialResults(moran, lisa, refused)


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
    spatial: dict | None = None  # "" (the study's comparison) or a town id (scope town) -> SpatialResults

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

    def spatial_for(self, town_id: str) -> SpatialResults | None:
        """Moran's I and LISA behind a town's report (of its scope's comparison), None without boundaries."""
        key = str(town_id) if self.comparisons else ""
        if self.spatial is None or key not in self.spatial:
            comparison = self.comparisons[key] if key else self.comparison
            self.spatial = {**(self.spatial or {}), key: spatial_results(self.study, comparison)}
        return self.spatial[key]


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
    spatial = {key: spatial_results(shown, c) for key, c in ({"": comparison} | comparisons).items()}
    return ReportContext(shown, scenario, comparison, comparisons, context_parameters(scenario),
                         fit_report_models(comparison.indicators), spatial)


def save_context(ctx: ReportContext, path: Path) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump(ctx, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


#: the last context loaded in this process, with the file's identity: a warm kernel (one per batch
#: worker, see :mod:`villagestudy.reports.engine`) loads it once, not once per town
_LOADED: dict = {}


def load_context(path: str | Path, parameters: dict) -> ReportContext | None:
    """The stored context if it was made with the same parameters, else None (then recompute).

    The context of a large study is large (every village and parcel): a process
    that makes town after town keeps the last one it loaded and reads the file
    again only when it changed (path, size and modification time). Reports only
    read the context (a test checks that a whole report leaves it unchanged).
    """
    path = Path(path)
    try:
        info = path.stat()
    except OSError:
        return None
    stamp = (str(path.resolve()), info.st_mtime_ns, info.st_size)
    if _LOADED.get("stamp") == stamp:
        ctx = _LOADED["context"]
    else:
        try:
            with open(path, "rb") as f:
                ctx = pickle.load(f)  # written by this batch, beside its reports: trusted
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            return None
        _LOADED.clear()
        _LOADED.update(stamp=stamp, context=ctx)
    return ctx if ctx.parameters == parameters else None
