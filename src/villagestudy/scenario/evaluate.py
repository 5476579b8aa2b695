"""``evaluate(study, scenario) -> Comparison``, in steps a live view can cache.

The steps, in order (each a plain function; :func:`evaluate` runs them all, the
consultation app runs only those a change touches and caches the rest):

1. :func:`indicator_table` - the indicators of every village for the year
   (:func:`villagestudy.compute_indicators`), with ``office_area_m2`` joined;
   independent of the standards, so computed once per study and year;
2. :func:`apply_standards` - the four flags that depend on standards;
3. :func:`in_scope` - the villages normalisation and ranking run over;
4. :func:`rank_scope` - the composite index (:func:`villagestudy.ranking.rank_villages`);
   no flag enters the index, so standards never touch it;
5. :func:`missed_list` - the standards each village misses;
6. :func:`assemble` - the :class:`Comparison`.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

from .. import catalog
from .._map_unique import found_in
from .._version import __version__
from ..index import alpha_table, contributions, indicator_pillar_table, redundant_pairs
from ..metrics import compute_indicators
from ..metrics.standards import meets, missed_standards
from ..ranking import DEFAULT_UNCERTAINTY, rank_villages
from ..settings import Settings
from .comparison import NOTE_COLUMNS, RANKING_COLUMNS, Comparison
from .model import Scenario, ScenarioError
from ..metrics.governance import office_area_m2
from ..io import load_study

__all__ = ["evaluate", "indicator_table", "apply_standards", "in_scope", "rank_scope", "missed_list", "assemble",
           "settings_in_force", "STANDARD_FLAGS", "OFFICE_AREA"]

#: flags of the indicator table that depend on standards, and on which
STANDARD_FLAGS: dict[str, tuple[str, ...]] = {
    "weak_village": ("weak_total_yuan", "weak_operating_yuan"),
    "social_workers_ok": ("social_workers_per_10k_min",),
    "grid_part_time_ok": ("grid_part_time_max",),
    "office_area_ok": ("office_area_standard_m2",),
}
#: the raw column behind office_area_ok, joined to the indicator table
OFFICE_AREA = "office_area_m2"


def indicator_table(study, year: int | None) -> pd.DataFrame:
    """Every village's indicators for ``year`` with ``office_area_m2`` joined.

    ``attrs`` keeps ``year`` and ``notes`` (why values are missing).
    """
    table = compute_indicators(study, year)
    year = table.attrs.get("year")
    notes = table.attrs.get("notes")
    if study.governance is not None and len(study.governance) and OFFICE_AREA in study.governance:
        area = office_area_m2(study.governance, year, study.villages["village_id"])
        table[OFFICE_AREA] = pd.to_numeric(area, errors="coerce").reindex(table.index).astype("float64")
    else:
        table[OFFICE_AREA] = np.nan
    # the notes frame is kept aside: pandas deep-copies attrs at every step
    table.attrs = {"year": year, "notes": notes}
    return table


def settings_in_force(study, scenario: Scenario) -> Settings:
    """The study's settings with the scenario's standards."""
    return study.settings.replace(**scenario.standards)


def apply_standards(base: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The indicator table with the flags that depend on standards recomputed.

    The flags are computed as the metrics modules compute them (same columns,
    same :func:`~villagestudy.metrics.standards.meets`), so the result equals
    ``compute_indicators(study, year, **standards)`` (tested).
    """
    table = base.copy(deep=False)
    total = pd.to_numeric(table["income_total_yuan"], errors="coerce").astype("float64")
    operating = pd.to_numeric(table["operating_income_yuan"], errors="coerce").astype("float64")
    ok = meets(total, settings.weak_total_yuan, ">=") & meets(operating, settings.weak_operating_yuan, ">=")
    table["weak_village"] = (~ok).astype("boolean").where(total.notna() & operating.notna())
    table["social_workers_ok"] = meets(table["social_workers_per_10k"], settings.social_workers_per_10k_min, ">=")
    table["grid_part_time_ok"] = meets(table["grid_part_time_share"], settings.grid_part_time_max, "<=")
    if settings.office_area_standard_m2 is None or OFFICE_AREA not in table:
        table["office_area_ok"] = pd.Series(pd.NA, index=table.index, dtype="boolean")
    else:
        table["office_area_ok"] = meets(table[OFFICE_AREA], settings.office_area_standard_m2, ">=")
    for col in STANDARD_FLAGS:
        table[col] = table[col].astype("boolean")
    table.attrs = {"year": base.attrs.get("year"), "settings": settings.as_dict()}
    return table


def in_scope(table: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The villages normalisation and ranking run over: all, or those of ``scenario.town``."""
    if scenario.scope == "town":
        return table[table["town_id"] == scenario.town]
    return table


def rank_scope(table: pd.DataFrame, scenario: Scenario, study=None):
    """The composite index of the villages of ``table`` under the (resolved) scenario.

    Monte Carlo settings other than runs and seed come from the study's
    ``[index.uncertainty]`` or the package defaults.
    """
    mc_options = dict((study.settings.index_options or {}).get("uncertainty") or {}) if study is not None else {}
    uncertainty = False
    if scenario.runs:
        uncertainty = {**DEFAULT_UNCERTAINTY, **mc_options, "n": scenario.runs, "seed": scenario.seed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant columns: the notes say what was left out
        return rank_villages(table, weights=scenario.weights, normalise=scenario.normalise,
                             aggregate=scenario.aggregate, impute=scenario.impute, winsorise=scenario.winsorise,
                             uncertainty=uncertainty)


def missed_list(table: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Every standard in force per village: met, missed or no data."""
    missed = missed_standards(table, settings)
    missed.attrs = {}
    return missed.reset_index(drop=True)


def _notes(base: pd.DataFrame, ids, ranking, extra: list[str]) -> pd.DataFrame:
    value_notes = base.attrs.get("notes")
    rows = []
    if isinstance(value_notes, pd.DataFrame) and len(value_notes):
        v = value_notes[found_in(value_notes["village_id"], ids) | value_notes["village_id"].isna()]
        rows += [("value", r.indicator, r.village_id, r.note) for r in v.itertuples()]
    rows += [("index", None, None, n) for n in ranking.notes]
    rows += [("data", None, None, n) for n in extra]
    frame = pd.DataFrame(rows, columns=list(NOTE_COLUMNS))
    return frame.astype({c: "str" for c in NOTE_COLUMNS})


def _json_safe(value):
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def assemble(study, scenario: Scenario, base: pd.DataFrame, table: pd.DataFrame, ranking,
             missed: pd.DataFrame) -> Comparison:
    """The :class:`Comparison` from the steps' results (``table`` in scope, with the standards in force)."""
    out = ranking.table.reset_index()
    names = dict(zip(study.towns["town_id"], study.towns.get("town_name", study.towns["town_id"])))
    out.insert(out.columns.get_loc("town_id") + 1, "town_name",
               out["town_id"].map(names).astype("str"))
    for col in RANKING_COLUMNS:
        if col not in out:
            out[col] = np.nan
    out = out[[*RANKING_COLUMNS, *[c for c in out.columns if c not in RANKING_COLUMNS]]]
    for col in ("rank", "rank_in_town"):
        out[col] = out[col].astype("Int64")
    for col in ("rank_median", "rank_p05", "rank_p95", "data_availability", "score", "land", "income",
                "governance"):
        out[col] = out[col].astype("float64")
    out.attrs = {}
    indicators = table.copy()
    indicators.attrs = {}
    mismatch = scenario.fingerprint_mismatch(study)
    method = {}
    if ranking.result is not None:
        method = _json_safe({"choices": {k: v for k, v in ranking.choices.items() if k != "uncertainty"},
                             "steps": {k: v for k, v in ranking.result.steps.items() if k != "uncertainty"}})
    structure = ranking.structure.copy()
    structure.attrs = {}
    return Comparison(
        scenario=scenario, indicators=indicators, ranking=out, missed=missed,
        notes=_notes(base, out["village_id"], ranking, [mismatch] if mismatch else []), structure=structure,
        method=method, extra=index_audit(ranking, table),
        provenance={"data_fingerprint": study.fingerprint, "package_version": __version__,
                    "study_name": study.settings.name, "study_path": str(study.path) if study.path else None,
                    "synthetic": bool(study.settings.synthetic)},
    )


def index_audit(ranking, table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """What a referee asks of the index, computed with it: redundancy, consistency, contributions.

    ``redundant_scored`` / ``redundant_candidates``: pairs of indicators above
    |rho| 0.9 among the scored indicators and among every directional
    indicator with at least 5 values; ``alpha`` and ``indicator_pillar``: COINr's
    audit; ``contributions``: each indicator's and pillar's part of a village's
    gap to its town's median score (not for a harmonic mean, which has no
    additive decomposition).
    """
    pillar_of = {i: catalog.get(i).pillar for i in catalog.ids()}
    scored = [i for i in ranking.structure["id"] if i in pillar_of and i in table]
    candidates = [i for i in catalog.ids() if i in table and catalog.get(i).direction != 0
                  and catalog.get(i).kind != "flag" and table[i].notna().sum() >= 5]
    out = {"redundant_scored": redundant_pairs(table[scored], pillar_of=pillar_of),
           "redundant_candidates": redundant_pairs(table[candidates], pillar_of=pillar_of)}
    result = ranking.result
    if result is not None:
        out["alpha"] = alpha_table(result.diagnostics)
        out["indicator_pillar"] = indicator_pillar_table(result.diagnostics, scored)
        if result.steps["aggregation"]["method"] in ("arithmetic", "geometric"):
            out["contributions"] = contributions(result, groups=table["town_id"].reindex(result.scores.index))
    for frame in out.values():
        frame.attrs = {}
    return out


def evaluate(study, scenario: Scenario | None = None, **changes) -> Comparison:
    """Compare the villages of ``study`` under ``scenario``: the one computation every view shows.

    Parameters
    ----------
    study : Study or path
        A loaded study or a study folder.
    scenario : Scenario, optional
        Default: the study's own choices (``study.toml``), scope ``study``.
    **changes
        Changes to the scenario, e.g. ``weights={"governance": 5}``.

    Returns
    -------
    Comparison

    Raises
    ------
    ScenarioError
        Listing every bad key of the scenario with the allowed values.

    Examples
    --------
    >>> import villagestudy as vs
    >>> study = vs.load_study(vs.datasets.get_path("sample"))
    >>> c = vs.evaluate(study, vs.Scenario(weights={"governance": 5}))
    >>> int(c.ranking["rank"].min()), c.scenario.scope
    (1, 'study')
    >>> c.for_town(study.town_ids()[0]).ranking["town_id"].nunique()
    1
    """
    if not hasattr(study, "villages"):
        study = load_study(study)
    scenario = scenario if scenario is not None else Scenario()
    if not isinstance(scenario, Scenario):
        raise TypeError(f"expected a Scenario, not {type(scenario).__name__}")
    if changes:
        scenario = scenario.replace(**changes)
    scenario.validate(study)
    scenario = scenario.resolved(study)
    problems = scenario.problems(study)
    if problems:  # the study's own [index] settings may be what is wrong
        raise ScenarioError(problems, "scenario with the study's settings")
    base = indicator_table(study, scenario.year)
    settings = settings_in_force(study, scenario)
    table = in_scope(apply_standards(base, settings), scenario)
    ranking = rank_scope(table, scenario, study)
    return assemble(study, scenario, base, table, ranking, missed_list(table, settings))
