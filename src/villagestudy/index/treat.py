"""Imputation and outlier treatment (COINr method).

Outlier rule (COINr ``check_SkewKurt``): an indicator *fails* when

    |G1| >= 2  and  G2 >= 3.5

with the bias-corrected sample skewness and excess kurtosis (as e1071 type 2,
COINr ``skew()``/``kurt()``, scipy ``skew(bias=False)``/``kurtosis(bias=False)``)::

    g1 = m3 / m2**1.5,             G1 = g1 * sqrt(n (n-1)) / (n-2)
    g2 = m4 / m2**2 - 3,           G2 = ((n+1) g2 + 6) (n-1) / ((n-2)(n-3))

where ``m_k`` are the central moments (divisor n) of the non-missing values.

While an indicator fails and fewer than ``winmax`` points are winsorised, the
most extreme value on the side of the skew (the maximum if G1 >= 0) is replaced
by the next value inward; tied extremes move together and all count. If it
still fails, ``log_if_fails`` replaces the *original* column by COINr's
``log_CT`` transform ``log(x - min + 0.01 (max - min))`` (for a negative skew
the mirror ``-log(max + 0.01 (max - min) - x)``), as COINr's default second
treatment does.

Example
-------
>>> import numpy as np
>>> x, lo, hi, ok = winsorise(np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100.0]))
>>> x[-1], hi, ok
(np.float64(10.0), 1, True)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["IMPUTATION_METHODS", "impute", "skewness", "kurtosis", "winsorise", "log_ct", "treat"]

IMPUTATION_METHODS = ("none", "mean", "median", "group_mean", "group_median")
SKEW_THRESHOLD = 2.0
KURT_THRESHOLD = 3.5


def impute(values: pd.DataFrame, method: str = "none", group: pd.Series | None = None) -> pd.DataFrame:
    """Fill missing indicator values.

    ``mean``/``median`` use the indicator's mean/median over all units;
    ``group_mean``/``group_median`` the mean/median over units of the same group
    (a cell stays missing when its whole group lacks the indicator, or when its
    group label is missing). ``none`` leaves gaps, which aggregation then skips
    by re-normalising weights.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"x": [1.0, 3.0, None, 10.0]})
    >>> g = pd.Series(["a", "a", "a", "b"])
    >>> impute(t, "group_mean", g)["x"].tolist()
    [1.0, 3.0, 2.0, 10.0]
    """
    if method not in IMPUTATION_METHODS:
        raise ValueError(f"unknown imputation '{method}'; use one of {', '.join(IMPUTATION_METHODS)}")
    out = values.astype(float)
    if method == "none":
        return out
    if method in ("mean", "median"):
        fill = out.mean() if method == "mean" else out.median()
        return out.fillna(fill)
    if group is None:
        raise ValueError(f"imputation '{method}' needs group= (a column of the table naming each unit's group)")
    group = pd.Series(group, index=out.index)
    how = "mean" if method == "group_mean" else "median"
    fill = out.groupby(group, dropna=True).transform(how)
    return out.fillna(fill)


def skewness(x: np.ndarray) -> float:
    """Bias-corrected sample skewness G1 of the non-missing values (NaN if n < 3 or constant)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3:
        return float("nan")
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return float("nan")
    g1 = np.sqrt(n) * np.sum(d**3) / m2**1.5
    return float(g1 * np.sqrt(n * (n - 1)) / (n - 2))


def kurtosis(x: np.ndarray) -> float:
    """Bias-corrected sample excess kurtosis G2 of the non-missing values (NaN if n < 4 or constant)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4:
        return float("nan")
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return float("nan")
    r = n * np.sum(d**4) / m2**2
    return float(((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))


def _passes(x: np.ndarray, skew_thresh: float, kurt_thresh: float) -> bool:
    sk, kt = skewness(x), kurtosis(x)
    if np.isnan(sk) or np.isnan(kt):
        return True  # too few or constant values: nothing to treat (COINr returns it untreated)
    return bool(abs(sk) < skew_thresh or kt < kurt_thresh)


def winsorise(x: np.ndarray, winmax: int = 5, skew_thresh: float = SKEW_THRESHOLD,
              kurt_thresh: float = KURT_THRESHOLD) -> tuple[np.ndarray, int, int, bool]:
    """Winsorise one indicator as COINr's ``winsorise()``.

    Returns
    -------
    x : ndarray
        Treated copy (NaN kept).
    n_low, n_high : int
        Points winsorised at the low / high end.
    passed : bool
        Whether the skew/kurtosis rule is met at the end.
    """
    x = np.array(x, dtype=float)
    passed = _passes(x, skew_thresh, kurt_thresh)
    n_low = n_high = 0
    while not passed and n_low + n_high < winmax:
        ok = ~np.isnan(x)
        # COINr decides the side from the current skew at each step
        if skewness(x) >= 0:
            top = np.nanmax(x)
            at = ok & (x == top)
            rest = x[ok & ~at]
            if rest.size == 0:
                break
            x[at] = rest.max()
            n_high = int(at.sum())
        else:
            bot = np.nanmin(x)
            at = ok & (x == bot)
            rest = x[ok & ~at]
            if rest.size == 0:
                break
            x[at] = rest.min()
            n_low = int(at.sum())
        passed = _passes(x, skew_thresh, kurt_thresh)
    return x, n_low, n_high, passed


def log_ct(x: np.ndarray) -> np.ndarray:
    """COINr ``log_CT``: ``log(x - min + 0.01 (max - min))``, mirrored for a negative skew."""
    x = np.asarray(x, dtype=float)
    lo, hi = np.nanmin(x), np.nanmax(x)
    a = 0.01 * (hi - lo)
    if skewness(x) >= 0:
        return np.log(x - lo + a)
    return -np.log(hi + a - x)


def treat(values: pd.DataFrame, winmax: int = 5, log_if_fails: bool = False,
          skew_thresh: float = SKEW_THRESHOLD, kurt_thresh: float = KURT_THRESHOLD
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply :func:`winsorise` (then optionally :func:`log_ct`) to every column.

    Returns the treated table and a summary with one row per indicator:
    ``skew``, ``kurtosis`` (before), ``winsorised_low``, ``winsorised_high``,
    ``log_transformed``, ``skew_after``, ``kurtosis_after``, ``passes``.
    """
    out = values.astype(float).copy()
    rows = []
    for col in out.columns:
        x0 = out[col].to_numpy(dtype=float)
        x, lo, hi, ok = winsorise(x0, winmax, skew_thresh, kurt_thresh)
        logged = False
        if not ok and log_if_fails:
            # COINr applies the second treatment to the original, not the winsorised, values
            x, lo, hi, logged = log_ct(x0), 0, 0, True
            ok = _passes(x, skew_thresh, kurt_thresh)
        out[col] = x
        rows.append({"indicator": col, "skew": skewness(x0), "kurtosis": kurtosis(x0),
                     "winsorised_low": lo, "winsorised_high": hi, "log_transformed": logged,
                     "skew_after": skewness(x), "kurtosis_after": kurtosis(x), "passes": ok})
    return out, pd.DataFrame(rows).set_index("indicator")
