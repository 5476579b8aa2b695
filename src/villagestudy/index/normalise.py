"""Normalisation of treated indicators onto a common, "higher is better" scale.

Every method first multiplies an indicator by its direction d (+1/-1), so that
higher is always better, then (per indicator column, over the units present):

=========  ===================================================================
method     formula (y = d * x)
=========  ===================================================================
minmax     100 * (y - min y) / (max y - min y)                  -> [0, 100]
zscore     (y - mean y) / sd y  (sd with n-1)                   -> mean 0, sd 1
rank       rank of y, ties get the minimum rank, 1 = worst       -> [1, n]
prank      100 * (rank - 1) / (n - 1)  (percentile rank)         -> [0, 100]
goalposts  100 * (x - lo) / (hi - lo) if d = +1,
           100 * (hi - x) / (hi - lo) if d = -1, capped to [0, 100]
=========  ===================================================================

``zscore`` is *not* rescaled (mean 0, sd 1); geometric and harmonic means
shift it to positive values (see :mod:`villagestudy.index.aggregate`).
``goalposts`` take per-indicator ``lo`` < ``hi`` in the indicator's own units:
``hi`` is the target (the best) when d = +1, ``lo`` is the target when d = -1.
A constant indicator has no spread: ``minmax`` and ``zscore`` give NaN (as
COINr), so it drops out of aggregation for every unit alike.

Missing values. Every method works over the units that have a value and
leaves the others missing (they are not ranked on that indicator; aggregation
re-weights over the indicators a unit has). ``minmax``, ``prank`` and
``goalposts`` then put every indicator on the same 0-100 range whatever its
coverage; ``rank`` does not (it runs 1..n_present: an indicator that 26 of 47
units have runs 1..26 while the others run 1..47, which penalises the units
that have it), so mixed-coverage indices should use ``prank``, the
missing-aware percentile rank. A *structural* zero (e.g. the park indicators
of a village without parks) is a missing value, not a zero: the village is
neither rewarded nor penalised for parks it does not have.

Example
-------
>>> import numpy as np
>>> normalise_array(np.array([[1.0], [2.0], [5.0]]), np.array([-1.0]), "minmax")[:, 0].tolist()
[100.0, 75.0, 0.0]
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["NORMALISATION_METHODS", "normalise_array", "goalpost_arrays"]

NORMALISATION_METHODS = ("minmax", "zscore", "rank", "prank", "goalposts")


def _rank_min(y: np.ndarray) -> np.ndarray:
    """Column-wise ranks (ties -> min rank, 1 = lowest), NaN kept."""
    from scipy.stats import rankdata  # here, not at the top: scipy.stats alone takes 1 s to import
    out = np.full(y.shape, np.nan)
    for j in range(y.shape[1]):
        ok = ~np.isnan(y[:, j])
        if ok.any():
            out[ok, j] = rankdata(y[ok, j], method="min")
    return out


def normalise_array(x: np.ndarray, direction: np.ndarray, method: str = "minmax",
                    lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> np.ndarray:
    """Normalise a units x indicators array column by column (see module table).

    Parameters
    ----------
    x : ndarray, shape (units, indicators)
    direction : ndarray, shape (indicators,), of +1/-1
    method : {"minmax", "zscore", "rank", "prank", "goalposts"}
    lo, hi : ndarray, shape (indicators,), only for ``goalposts``
    """
    if method not in NORMALISATION_METHODS:
        raise ValueError(f"unknown normalisation '{method}'; use one of {', '.join(NORMALISATION_METHODS)}")
    x = np.asarray(x, dtype=float)
    d = np.asarray(direction, dtype=float)
    y = x * d
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "minmax":
            mn, mx = np.nanmin(y, axis=0), np.nanmax(y, axis=0)
            rng = np.where(mx > mn, mx - mn, np.nan)
            return (y - mn) / rng * 100.0
        if method == "zscore":
            n = np.sum(~np.isnan(y), axis=0)
            sd = np.nanstd(y, axis=0, ddof=1) if y.shape[0] > 1 else np.full(y.shape[1], np.nan)
            sd = np.where((sd > 0) & (n > 1), sd, np.nan)
            return (y - np.nanmean(y, axis=0)) / sd
        if method == "rank":
            return _rank_min(y)
        if method == "prank":
            r = _rank_min(y)
            n = np.sum(~np.isnan(y), axis=0).astype(float)
            return (r - 1.0) / np.where(n > 1, n - 1.0, np.nan) * 100.0
        # goalposts
        if lo is None or hi is None:
            raise ValueError("normalise='goalposts' needs goalposts= (lo and hi per indicator)")
        lo = np.asarray(lo, dtype=float)
        hi = np.asarray(hi, dtype=float)
        z = np.where(d > 0, (x - lo) / (hi - lo), (hi - x) / (hi - lo))
        return np.clip(z, 0.0, 1.0) * 100.0


def goalpost_arrays(goalposts: object, indicators: tuple[str, ...] | list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Turn goalposts into ``lo``, ``hi`` arrays in indicator order.

    ``goalposts`` may be a mapping ``{indicator: (lo, hi)}`` or a DataFrame with
    columns ``lo`` and ``hi`` and the indicator id as index or as column ``id``.
    Every indicator needs goalposts with ``lo < hi``.
    """
    if goalposts is None:
        raise ValueError("normalise='goalposts' needs goalposts= ({indicator: (lo, hi)} or a table id, lo, hi)")
    if isinstance(goalposts, pd.DataFrame):
        g = goalposts.set_index("id") if "id" in goalposts.columns else goalposts
        if not {"lo", "hi"} <= set(g.columns):
            raise ValueError("goalposts table needs columns lo and hi (and the indicator id)")
        mapping = {str(k): (r["lo"], r["hi"]) for k, r in g.iterrows()}
    elif isinstance(goalposts, Mapping):
        mapping = {str(k): tuple(v) for k, v in goalposts.items()}
    else:
        raise ValueError("goalposts must be a dict {indicator: (lo, hi)} or a DataFrame with id, lo, hi")
    missing = [i for i in indicators if i not in mapping]
    if missing:
        raise ValueError(f"goalposts missing for indicator(s): {', '.join(missing)}")
    lo = np.array([float(mapping[i][0]) for i in indicators])
    hi = np.array([float(mapping[i][1]) for i in indicators])
    bad = [i for i, a, b in zip(indicators, lo, hi) if not (np.isfinite(a) and np.isfinite(b) and a < b)]
    if bad:
        raise ValueError(f"goalposts need finite lo < hi; bad for: {', '.join(bad)}")
    return lo, hi
