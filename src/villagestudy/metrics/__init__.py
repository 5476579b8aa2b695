"""Indicators per village, one module per concept.

:func:`compute_indicators` assembles the indicator table: one row per village
(indexed by ``village_id``), ``village_name`` and ``town_id`` first, then one
column per indicator id of the catalog, in catalog order. An indicator whose
table or column the study lacks is all-NaN, and ``table.attrs["notes"]`` (a
DataFrame: indicator, village_id, note) says why.

The indicator groups are a registry, :data:`INDICATOR_GROUPS`: each names its
function and the study tables it reads. An executor runs them: in memory by
default, or on Dask (:class:`villagestudy.backends.dask.DaskExecutor`), which
splits a group's first input table by town.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import pandas as pd

from .. import catalog
from ..study import Study
from ._common import Notes, safe_divide
from .governance import governance_indicators
from .income import income_indicators
from .land import land_indicators
from .parks import park_indicators

__all__ = ["compute_indicators", "Notes", "safe_divide", "IndicatorGroup", "INDICATOR_GROUPS", "Executor",
           "run_in_memory"]


@dataclass(frozen=True)
class IndicatorGroup:
    """One function computing a group of indicators, and the study tables it reads.

    Attributes
    ----------
    func : callable
        ``func(study, year=None, notes=None) -> DataFrame`` indexed by
        ``village_id`` (one row per village of ``study.villages``).
    inputs : tuple of str
        The tables read besides ``towns`` and ``villages``. The first holds many
        rows per village: an executor may split it by town (villages never
        cross a town) and run ``func`` per part; the others are split by village.
    """

    func: Callable[..., pd.DataFrame]
    inputs: tuple[str, ...]


INDICATOR_GROUPS: dict[str, IndicatorGroup] = {
    "land": IndicatorGroup(land_indicators, ("parcels",)),
    "parks": IndicatorGroup(park_indicators, ("parks",)),
    "income": IndicatorGroup(income_indicators, ("income",)),
    "governance": IndicatorGroup(governance_indicators, ("grids", "governance")),
}
"""The indicator groups, in the order their columns are computed."""


class Executor(Protocol):
    """Runs one indicator group on a study: ``executor(group, study, year=..., notes=...)``."""

    def __call__(self, group: IndicatorGroup, study: Study, *, year: int | None, notes: Notes) -> pd.DataFrame:
        ...


def run_in_memory(group: IndicatorGroup, study: Study, *, year: int | None, notes: Notes) -> pd.DataFrame:
    """The default executor: the group's function on the whole study, in this process."""
    return group.func(study, year=year, notes=notes)


def compute_indicators(study: Study, year: int | None = None, *, executor: Executor | None = None,
                       **settings) -> pd.DataFrame:
    """Compute every catalog indicator for every village of a study.

    Parameters
    ----------
    study : Study
    year : int, optional
        Year of the income and governance indicators; default the study's year
        (``study.toml``) or its latest year with data.
    executor : keyword-only, Executor, optional
        Runs each indicator group; default the study's own (a partitioned
        study runs on Dask) or :func:`run_in_memory`.
    **settings
        Overrides of study settings (e.g. ``weak_total_yuan=200_000``).

    Returns
    -------
    DataFrame
        Indexed by ``village_id``; ``village_name``, ``town_id`` then one column
        per indicator id. ``attrs["notes"]`` explains missing values,
        ``attrs["year"]`` and ``attrs["settings"]`` record what was used.

    Examples
    --------
    >>> import villagestudy as vs
    >>> table = vs.compute_indicators(vs.load_study(vs.datasets.get_path("sample")))
    >>> table.index.name, table.columns[:2].tolist()
    ('village_id', ['village_name', 'town_id'])
    """
    if settings:
        study = study.with_settings(**settings)
    if year is None:
        year = study.default_year
    if executor is None:
        executor = getattr(study, "indicator_executor", None) or run_in_memory
    notes = Notes()
    base = study.villages.set_index("village_id")[["village_name", "town_id"]]
    parts = [base]
    for group in INDICATOR_GROUPS.values():
        part = executor(group, study, year=year, notes=notes)
        parts.append(part.reindex(base.index))
    table = pd.concat(parts, axis=1)
    for ind in catalog.ids():
        if ind not in table:
            table[ind] = float("nan")
            notes.add(ind, "not computed")
    table = table[["village_name", "town_id", *catalog.ids()]]
    table.index.name = "village_id"
    table.attrs["notes"] = notes.as_frame()
    table.attrs["year"] = year
    table.attrs["settings"] = study.settings.as_dict()
    return table
