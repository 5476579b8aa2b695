"""Indicators per village, one module per concept.

:func:`compute_indicators` assembles the indicator table: one row per village
(indexed by ``village_id``), ``village_name`` and ``town_id`` first, then one
column per indicator id of the catalog, in catalog order. An indicator whose
table or column the study lacks is all-NaN, and ``table.attrs["notes"]`` (a
DataFrame: indicator, village_id, note) says why.
"""
from __future__ import annotations

import pandas as pd

from .. import catalog
from ..study import Study
from ._common import Notes, safe_divide

__all__ = ["compute_indicators", "Notes", "safe_divide"]


def _pillar_functions(study: Study | None = None):
    # imported lazily so that one pillar's import error names that pillar
    from . import governance, income, land, parks

    fns = [land.land_indicators, parks.park_indicators, income.income_indicators,
           governance.governance_indicators]
    if study is not None:  # partitioned studies and Dask runs: the same functions, per partition
        from ..distributed import dask_pillars

        fns = dask_pillars(study, fns)
    return fns


def compute_indicators(study: Study, year: int | None = None, **settings) -> pd.DataFrame:
    """Compute every catalog indicator for every village of a study.

    Parameters
    ----------
    study : Study
    year : int, optional
        Year of the income and governance indicators; default the study's year
        (``study.toml``) or its latest year with data.
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
    >>> table = vs.compute_indicators(vs.load_study("data/sample"))
    """
    if settings:
        study = study.with_settings(**settings)
    if year is None:
        year = study.default_year
    notes = Notes()
    base = study.villages.set_index("village_id")[["village_name", "town_id"]]
    parts = [base]
    for fn in _pillar_functions(study):
        part = fn(study, year=year, notes=notes)
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
