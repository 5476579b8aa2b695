"""Published standards, one place: which villages meet or miss them.

Every standard is a setting with a default and a source
(:data:`villagestudy.settings.STANDARDS`); the catalog says which indicator is
compared with it (``standard``) and how (``comparison``: ``>=`` or ``<=``).
This module derives everything from those two places, so a new standard needs
a setting and a catalog entry, nothing here:

* :func:`meets` - the one comparison used by every flag of the package
  (``weak_village``, ``social_workers_ok``, ``grid_part_time_ok``,
  ``office_area_ok``) and by the functions below, so that a flag and the list
  of missed standards can never disagree;
* :func:`missed_standards` - long table: per village and standard the value,
  the threshold in force, and whether it is met, missed or has no data;
* :func:`compliance_matrix` - villages x standards, True (met) / False
  (missed) / NA (no data), for charts;
* :func:`standards_table` - the standards in force with labels, units and
  sources, for reports and consultation widgets.

Rules
-----
* A standard set to ``None`` (e.g. ``office_area_standard_m2``, which has no
  default) is skipped: no rows, no column.
* A missing value (NaN) is reported as ``"no data"`` with ``missed`` NA: it is
  never counted as a missed standard.
* Values exactly at a threshold meet it. Comparisons allow a relative
  tolerance of ``1e-9`` (:data:`REL_TOL`) so that floating-point sums
  (e.g. ``33,333.33 + 33,333.33 + 33,333.34``) and rates such as
  ``9 / 5,000 * 10,000`` are not pushed to the wrong side of a threshold;
  99,999.99 yuan is still below 100,000.
* Indicators of kind ``flag`` with a standard (``office_area_ok``) are compared
  through their raw value when the table has it (``office_area_m2``, see
  :data:`RAW_VALUE_COLUMNS`; join it from
  :func:`villagestudy.metrics.governance.office_area_m2`), otherwise through
  the flag itself; the flag is only trusted when the table was computed with
  the same standard (``table.attrs["settings"]``), else the row says
  ``"no data"`` and ``attrs["notes"]`` says why.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .. import catalog
from ..settings import STANDARDS, Settings

__all__ = ["REL_TOL", "RAW_VALUE_COLUMNS", "meets", "standard_indicators", "missed_standards",
           "compliance_matrix", "standards_table"]

REL_TOL = 1e-9
"""Relative tolerance of threshold comparisons (see the module notes)."""

RAW_VALUE_COLUMNS = {"office_area_ok": "office_area_m2"}
"""For flag indicators with a standard: the column holding the compared raw value."""

_UNIT_ZH = {"yuan": "元", "per 10,000 residents": "人/万人", "share": "比例", "m2": "平方米"}

STATUS_MET, STATUS_MISSED, STATUS_NO_DATA = "met", "missed", "no data"


def meets(value, threshold: float | None, comparison: str = ">=") -> pd.Series:
    """Whether values meet a threshold, as a nullable boolean Series.

    Parameters
    ----------
    value : Series or array-like of float
        The values compared (NaN gives NA).
    threshold : float or None
        The standard in force; ``None`` gives NA everywhere.
    comparison : {">=", "<="}
        ``">="``: at least the threshold meets it; ``"<="``: at most.

    Returns
    -------
    Series of dtype ``"boolean"``
        True where the standard is met (exactly at the threshold counts as
        met, within a relative tolerance of :data:`REL_TOL`), False where
        missed, NA where the value or the threshold is missing.

    Examples
    --------
    >>> meets(pd.Series([99_999.99, 100_000.0, float("nan")]), 100_000).tolist()
    [False, True, <NA>]
    >>> meets(pd.Series([0.5, 0.75]), 0.5, "<=").tolist()
    [True, False]
    """
    if comparison not in (">=", "<="):
        raise ValueError(f"comparison must be '>=' or '<=', not {comparison!r}")
    values = value if isinstance(value, pd.Series) else pd.Series(value)
    values = pd.to_numeric(values, errors="coerce").astype("float64")
    if threshold is None or (isinstance(threshold, float) and math.isnan(threshold)):
        return pd.Series(pd.NA, index=values.index, dtype="boolean", name=values.name)
    t = float(threshold)
    tol = REL_TOL * max(1.0, abs(t))
    ok = values >= t - tol if comparison == ">=" else values <= t + tol
    return ok.astype("boolean").where(values.notna())


def standard_indicators() -> list[catalog.Indicator]:
    """Catalog indicators that have a standard, in catalog order."""
    return catalog.indicators_with_standard()


def _settings(table: pd.DataFrame, settings) -> Settings:
    if isinstance(settings, Settings):
        return settings
    base = Settings()
    recorded = table.attrs.get("settings") if hasattr(table, "attrs") else None
    if settings is None and isinstance(recorded, dict):
        known = {k: v for k, v in recorded.items() if hasattr(base, k)}
        base = base.replace(**known)
    if isinstance(settings, dict):
        base = base.replace(**settings)
    return base


def _village_columns(table: pd.DataFrame) -> pd.DataFrame:
    frame = table.copy()
    if "village_id" in frame.columns:
        frame = frame.set_index("village_id")
    frame.index = frame.index.astype("str")
    frame.index.name = "village_id"
    return frame


def missed_standards(table: pd.DataFrame, settings: Settings | dict | None = None) -> pd.DataFrame:
    """Per village, each standard in force: value, threshold, met or missed.

    Parameters
    ----------
    table : DataFrame
        The indicator table of :func:`villagestudy.compute_indicators` (indexed
        by ``village_id``, or with a ``village_id`` column), or any frame with
        some of the catalog's standard-bearing indicator columns. An
        ``office_area_m2`` column, when present, is compared with
        ``office_area_standard_m2`` directly.
    settings : Settings or dict, optional
        The standards in force. Default: the settings recorded in
        ``table.attrs["settings"]``, else the package defaults. A dict
        overrides the defaults (e.g. ``{"weak_total_yuan": 200_000}``).

    Returns
    -------
    DataFrame
        Long, one row per village and standard in force (standards set to
        ``None`` and indicators absent from the table are skipped), columns
        ``village_id``, ``village_name``, ``town_id``, ``indicator`` (catalog
        id), ``standard_key`` (settings key), ``value`` (float; NaN when
        unknown or when only a flag is available), ``standard`` (the
        threshold), ``comparison`` (``>=`` or ``<=``), ``status`` (``"met"``,
        ``"missed"`` or ``"no data"``) and ``missed`` (nullable boolean, NA for
        no data). ``attrs["notes"]`` lists skipped standards and indicators.

    Examples
    --------
    >>> t = pd.DataFrame({"village_name": ["甲", "乙"], "town_id": ["t1", "t1"],
    ...                   "income_total_yuan": [99_999.99, 100_000.0]},
    ...                  index=pd.Index(["v1", "v2"], name="village_id"))
    >>> m = missed_standards(t)
    >>> m[["village_id", "indicator", "status"]].values.tolist()
    [['v1', 'income_total_yuan', 'missed'], ['v2', 'income_total_yuan', 'met']]
    """
    settings = _settings(table, settings)
    frame = _village_columns(table)
    recorded = table.attrs.get("settings") if isinstance(table.attrs.get("settings"), dict) else None
    names = frame["village_name"] if "village_name" in frame else pd.Series(pd.NA, index=frame.index, dtype="str")
    towns = frame["town_id"] if "town_id" in frame else pd.Series(pd.NA, index=frame.index, dtype="str")
    notes: list[str] = []
    parts = []
    for ind in standard_indicators():
        threshold = getattr(settings, ind.standard, None)
        comparison = ind.comparison or ">="
        if threshold is None:
            notes.append(f"{ind.id}: standard {ind.standard} is not set; skipped")
            continue
        raw_col = RAW_VALUE_COLUMNS.get(ind.id)
        if ind.kind == "flag" and raw_col is not None and raw_col in frame:
            value = pd.to_numeric(frame[raw_col], errors="coerce").astype("float64")
            met = meets(value, threshold, comparison)
        elif ind.kind == "flag":
            if ind.id not in frame:
                notes.append(f"{ind.id}: not in the table; skipped")
                continue
            value = pd.Series(np.nan, index=frame.index, dtype="float64")
            met = frame[ind.id].astype("boolean")
            used = recorded.get(ind.standard) if recorded is not None else threshold
            if used is None or float(used) != float(threshold):
                notes.append(f"{ind.id}: the table's flag was computed with {ind.standard} = {used}, not "
                             f"{threshold}; add a {raw_col or 'raw value'} column to compare it: no data")
                met = pd.Series(pd.NA, index=frame.index, dtype="boolean")
        else:
            if ind.id not in frame:
                notes.append(f"{ind.id}: not in the table; skipped")
                continue
            value = pd.to_numeric(frame[ind.id], errors="coerce").astype("float64")
            met = meets(value, threshold, comparison)
        missed = (~met).astype("boolean")
        status = pd.Series(np.where(met.isna(), STATUS_NO_DATA,
                                    np.where(met.fillna(False).to_numpy(dtype=bool), STATUS_MET, STATUS_MISSED)),
                           index=frame.index, dtype="str")
        parts.append(pd.DataFrame({
            "village_id": frame.index.to_numpy(),
            "village_name": names.to_numpy(),
            "town_id": towns.to_numpy(),
            "indicator": ind.id,
            "standard_key": ind.standard,
            "value": value.to_numpy(),
            "standard": float(threshold),
            "comparison": comparison,
            "status": status.to_numpy(),
            "missed": missed.to_numpy(),
        }))
    columns = ["village_id", "village_name", "town_id", "indicator", "standard_key", "value", "standard",
               "comparison", "status", "missed"]
    if parts:
        out = pd.concat(parts, ignore_index=True)
        order = {ind.id: k for k, ind in enumerate(standard_indicators())}
        out["_k"] = out["indicator"].map(order)
        out["_v"] = pd.Categorical(out["village_id"], categories=list(dict.fromkeys(frame.index)), ordered=True)
        out = out.sort_values(["_v", "_k"], kind="mergesort").drop(columns=["_k", "_v"]).reset_index(drop=True)
    else:
        out = pd.DataFrame({c: pd.Series([], dtype="float64" if c in ("value", "standard") else "str")
                            for c in columns})
    out["missed"] = out["missed"].astype("boolean") if len(out) else pd.Series([], dtype="boolean")
    for c in ("village_id", "village_name", "town_id", "indicator", "standard_key", "comparison", "status"):
        out[c] = out[c].astype("str") if len(out) else out[c]
    out = out[columns]
    out.attrs["notes"] = notes
    out.attrs["settings"] = settings.standards()
    return out


def compliance_matrix(table: pd.DataFrame, settings: Settings | dict | None = None) -> pd.DataFrame:
    """Villages x standards: True where met, False where missed, NA without data.

    Parameters
    ----------
    table : DataFrame
        As for :func:`missed_standards`.
    settings : Settings or dict, optional
        As for :func:`missed_standards`.

    Returns
    -------
    DataFrame
        Indexed by ``village_id`` (the table's villages, in its order), one
        nullable-boolean column per standard-bearing indicator in force, named
        by the indicator id in catalog order (label them with
        :func:`villagestudy.catalog.label`). ``attrs["standards"]`` maps each
        column to its settings key, ``attrs["thresholds"]`` to the threshold.

    Examples
    --------
    >>> t = pd.DataFrame({"grid_part_time_share": [0.5, 0.786, float("nan")]},
    ...                  index=pd.Index(["v1", "v2", "v3"], name="village_id"))
    >>> compliance_matrix(t)["grid_part_time_share"].tolist()
    [True, False, <NA>]
    """
    long = missed_standards(table, settings)
    index = pd.Index(list(dict.fromkeys(_village_columns(table).index)), name="village_id", dtype="str")
    cols = list(dict.fromkeys(long["indicator"]))
    out = pd.DataFrame(index=index)
    for ind in cols:
        part = long[long["indicator"] == ind].set_index("village_id")["missed"]
        out[ind] = (~part).astype("boolean").reindex(index)
    out.attrs["standards"] = {ind: catalog.get(ind).standard for ind in cols}
    out.attrs["thresholds"] = {ind: float(long.loc[long["indicator"] == ind, "standard"].iloc[0]) for ind in cols}
    out.attrs["notes"] = long.attrs.get("notes", [])
    return out


def standards_table(settings: Settings | dict | None = None, lang: str = "zh") -> pd.DataFrame:
    """The standards: key, label, value in force, default, unit, indicators, source.

    Parameters
    ----------
    settings : Settings or dict, optional
        The settings whose values are shown (default: package defaults; a dict
        overrides them).
    lang : {"zh", "en"}
        Language of ``label`` and ``unit``.

    Returns
    -------
    DataFrame
        One row per standard of :data:`villagestudy.settings.STANDARDS`, with
        ``key``, ``label``, ``value`` (in force; NaN when not set), ``default``,
        ``unit``, ``comparison``, ``indicators`` (catalog ids compared with
        it) and ``source``.

    Examples
    --------
    >>> t = standards_table({"weak_total_yuan": 200_000}, lang="en").set_index("key")
    >>> float(t.loc["weak_total_yuan", "value"]), t.loc["weak_total_yuan", "unit"]
    (200000.0, 'yuan')
    """
    if isinstance(settings, dict):
        settings = Settings().replace(**settings)
    settings = settings or Settings()
    rows: list[dict[str, Any]] = []
    for key, std in STANDARDS.items():
        inds = [i for i in standard_indicators() if i.standard == key]
        value = getattr(settings, key, None)
        rows.append({
            "key": key,
            "label": std.label_en if lang == "en" else std.label_zh,
            "value": float("nan") if value is None else float(value),
            "default": float("nan") if std.default is None else float(std.default),
            "unit": std.unit if lang == "en" else _UNIT_ZH.get(std.unit, std.unit),
            "comparison": inds[0].comparison if inds else None,
            "indicators": ", ".join(i.id for i in inds),
            "source": std.source,
        })
    return pd.DataFrame(rows)
