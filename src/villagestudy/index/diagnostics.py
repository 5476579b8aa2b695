"""Statistical coherence checks of a composite index (JRC/COINr audit).

* ``correlations``: indicator x indicator correlation matrix of the normalised
  values (pairwise complete units).
* ``parent_correlations``: every node (indicator or aggregate) against its
  parent aggregate score.
* ``cronbach``: Cronbach's alpha of each aggregate over its k children, from
  the pairwise-complete covariance matrix C (as COINr ``get_cronbach``)::

      alpha = k / (k - 1) * (1 - trace(C) / sum(C))

  which is the textbook ``k/(k-1) (1 - sum var(x_i) / var(sum x_i))`` when no
  value is missing.

* ``flags``: pairs of indicators correlated above ``high`` (0.9: possible
  double counting) and nodes correlating below ``low`` (0.2, or negatively)
  with their parent (weak or conflicting contribution).

Example
-------
>>> import pandas as pd
>>> round(cronbach_alpha(pd.DataFrame({"a": [1, 2, 3, 4.0], "b": [1, 2, 3, 5.0]})), 3)
0.972
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .structure import Structure

__all__ = ["Diagnostics", "cronbach_alpha", "compute_diagnostics"]


@dataclass
class Diagnostics:
    """Results of :func:`compute_diagnostics` (all DataFrames)."""

    correlations: pd.DataFrame
    parent_correlations: pd.DataFrame
    cronbach: pd.DataFrame
    flags: pd.DataFrame
    settings: dict = field(default_factory=dict)


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of the columns of ``items`` (pairwise-complete covariances; NaN if k < 2)."""
    k = items.shape[1]
    if k < 2:
        return float("nan")
    cov = items.astype(float).cov().to_numpy()
    total = np.nansum(cov)
    if not total > 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.nansum(np.diag(cov)) / total))


def _corr(a: pd.Series, b: pd.Series, method: str) -> float:
    ok = a.notna() & b.notna()
    if ok.sum() < 3 or a[ok].nunique() < 2 or b[ok].nunique() < 2:
        return float("nan")
    return float(a[ok].corr(b[ok], method=method))


def compute_diagnostics(normalised: pd.DataFrame, scores: pd.DataFrame, structure: Structure, *,
                        high: float = 0.9, low: float = 0.2, method: str = "pearson") -> Diagnostics:
    """Correlations, Cronbach's alpha and flags for an index.

    Parameters
    ----------
    normalised : DataFrame (units x indicators)
    scores : DataFrame (units x aggregates, at least)
    structure : Structure
    high, low : float
        Flag thresholds (see module docstring).
    method : {"pearson", "spearman", "kendall"}
    """
    values = pd.concat([normalised[list(structure.indicators)], scores[list(structure.aggregates)]], axis=1)
    corr = normalised[list(structure.indicators)].corr(method=method, min_periods=3)

    prow = []
    for node in structure.nodes:
        par = structure.parent[node]
        if par is None:
            continue
        prow.append({"id": node, "parent": par, "level": structure.level[node],
                     "r": _corr(values[node], values[par], method)})
    parent_corr = pd.DataFrame(prow, columns=["id", "parent", "level", "r"])

    crow = []
    for agg in structure.aggregates:
        kids = list(structure.children[agg])
        sub = values[kids]
        crow.append({"aggregate": agg, "level": structure.level[agg], "n_children": len(kids),
                     "n_units": int(sub.dropna().shape[0]), "alpha": cronbach_alpha(sub)})
    cronbach = pd.DataFrame(crow, columns=["aggregate", "level", "n_children", "n_units", "alpha"])

    flags = []
    ind = list(structure.indicators)
    for i in range(len(ind)):
        for j in range(i + 1, len(ind)):
            r = corr.iat[i, j]
            if pd.notna(r) and r > high:
                same = structure.parent[ind[i]] == structure.parent[ind[j]]
                flags.append({"kind": "collinear", "id": ind[i], "other": ind[j], "r": float(r),
                              "message": f"{ind[i]} and {ind[j]} correlate at {r:.2f} (> {high})"
                                         f"{' within ' + str(structure.parent[ind[i]]) if same else ''}: "
                                         "possible double counting"})
    for row in prow:
        r = row["r"]
        if pd.notna(r) and r < low:
            kind = "negative" if r < 0 else "weak"
            flags.append({"kind": kind, "id": row["id"], "other": row["parent"], "r": float(r),
                          "message": f"{row['id']} correlates at {r:.2f} with its parent {row['parent']} "
                                     f"(< {low}): {'conflicts with' if r < 0 else 'contributes little to'} it"})
    flag_df = pd.DataFrame(flags, columns=["kind", "id", "other", "r", "message"])
    return Diagnostics(corr, parent_corr, cronbach, flag_df, {"high": high, "low": low, "method": method})
