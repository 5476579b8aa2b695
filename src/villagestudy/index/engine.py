"""Generic composite-indicator engine (JRC / COINr method).

Pipeline, each step optional and recorded in :attr:`IndexResult.steps`::

    indicator table --impute--> --treat (winsorise, log)--> --normalise-->
        --weight--> --aggregate level by level--> scores, rank
                                             \\--> diagnostics, uncertainty

Works on any table with units as rows (index = unit id) and indicators as
columns, and any tree given by a structure table (see
:mod:`villagestudy.index.structure`). Method names:

* imputation: ``none``, ``mean``, ``median``, ``group_mean``, ``group_median``
* normalisation: ``minmax``, ``zscore``, ``rank``, ``prank``, ``goalposts``
* aggregation: ``arithmetic``, ``geometric``, ``harmonic``

Example
-------
>>> import pandas as pd
>>> t = pd.DataFrame({"a": [1.0, 2, 3], "b": [30.0, 20, 10]}, index=["x", "y", "z"])
>>> s = pd.DataFrame({"id": ["top", "a", "b"], "parent": [None, "top", "top"],
...                   "direction": [None, 1, -1]})
>>> r = build_index(t, s)
>>> r.scores[["top", "rank"]].to_dict("list")
{'top': [0.0, 50.0, 100.0], 'rank': [3, 2, 1]}
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import write_table
from .aggregate import (AGGREGATION_METHODS, aggregate_level, build_plan, pca_level_weights,
                        rank_desc, shift_for)
from .diagnostics import Diagnostics, compute_diagnostics
from .normalise import NORMALISATION_METHODS, goalpost_arrays, normalise_array
from .structure import StructureError, read_structure, read_table, validate_structure
from .treat import IMPUTATION_METHODS, KURT_THRESHOLD, SKEW_THRESHOLD, treat
from .treat import impute as _impute  # build_index's parameter ``impute`` shadows the name
from .uncertainty import MCInputs, run_uncertainty

__all__ = ["IndexResult", "build_index", "run_index_cli", "output_frame", "read_structure", "read_table",
           "StructureError"]
_RESERVED = {"rank", "data_availability", "rank_nominal", "rank_median", "rank_p05", "rank_p95"}

_UNCERTAINTY_KEYS = {"n", "seed", "weight_range", "normalise", "aggregate", "winsorise", "sensitivity"}


@dataclass
class IndexResult:
    """Everything :func:`build_index` computed.

    Attributes
    ----------
    scores : DataFrame
        Units x (one column per aggregate, root first then top-down; ``rank`` of
        the root, 1 = best, ties share the minimum rank; ``data_availability``,
        the share of indicators present in the input table before imputation).
    treated : DataFrame
        Indicators after imputation and outlier treatment (original units).
    normalised : DataFrame
        Indicators after normalisation.
    weights_used : DataFrame
        ``id``, ``parent``, ``level``, ``weight`` (as used), ``weight_share``
        (share among siblings, summing to 1 within each parent).
    steps : dict
        Every choice made (for reports).
    diagnostics : Diagnostics
    uncertainty : DataFrame or None
        ``rank_nominal``, ``rank_median``, ``rank_p05``, ``rank_p95`` by unit.
    sensitivity : DataFrame or None
        Index ``choice``; ``first_order``, ``total``, ``varied``.
    treatment : DataFrame or None
        Per-indicator skew/kurtosis and points treated (when winsorising).
    """

    scores: pd.DataFrame
    treated: pd.DataFrame
    normalised: pd.DataFrame
    weights_used: pd.DataFrame
    steps: dict
    diagnostics: Diagnostics
    uncertainty: pd.DataFrame | None = None
    sensitivity: pd.DataFrame | None = None
    treatment: pd.DataFrame | None = None
    imputed: pd.DataFrame | None = None
    mc_ranks: np.ndarray | None = field(default=None, repr=False)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} '{value}'; use one of {', '.join(allowed)}")


def build_index(table: pd.DataFrame, structure: pd.DataFrame, *, impute: str = "none",
                group: str | None = None, winsorise: bool = False, winmax: int = 5,
                log_if_fails: bool = False, normalise: str = "minmax",
                goalposts: Mapping | pd.DataFrame | None = None,
                weights: None | str | Mapping[str, float] = None, aggregate: str = "arithmetic",
                uncertainty: Mapping[str, Any] | None = None, diagnostics: bool = True) -> IndexResult:
    """Build a composite index.

    Parameters
    ----------
    table : DataFrame
        Units as rows (index = unit id), indicators as numeric columns; other
        columns (e.g. a group) are allowed.
    structure : DataFrame
        ``id``, ``parent``, ``weight``, ``direction`` (see
        :mod:`villagestudy.index.structure`).
    impute : {"none", "mean", "median", "group_mean", "group_median"}
    group : str, optional
        Column of ``table`` with each unit's group (for group imputation).
    winsorise : bool
        COINr outlier treatment: while |skew| >= 2 and kurtosis >= 3.5, move the
        most extreme point to the next value, up to ``winmax`` points.
    log_if_fails : bool
        If still failing after ``winmax`` points, log-transform the original
        indicator instead (COINr ``log_CT``).
    normalise : {"minmax", "zscore", "rank", "prank", "goalposts"}
        See :mod:`villagestudy.index.normalise`; min-max is to 0-100.
    goalposts : dict or DataFrame, optional
        ``{indicator: (lo, hi)}`` (or table ``id, lo, hi``) for ``goalposts``.
    weights : None, "pca" or dict
        None: the structure's weights. dict ``{id: weight}``: overrides them.
        ``"pca"``: per aggregate, squared first-principal-component loadings of
        its children (bottom-up), see :func:`~villagestudy.index.aggregate.pca_level_weights`.
    aggregate : {"arithmetic", "geometric", "harmonic"}
        Weighted mean at every level, weights re-normalised over the children
        present for each unit. Geometric/harmonic use values shifted by
        s = max(0, 1 - min normalised value) (s = 1 for min-max 0-100), then
        shifted back.
    uncertainty : dict, optional
        Monte Carlo options ``n`` (default 1000), ``seed``, ``weight_range``
        (0.25), ``normalise`` / ``aggregate`` (lists, default the nominal method),
        ``winsorise`` (default ``[False, True]``), ``sensitivity`` (True);
        see :mod:`villagestudy.index.uncertainty`.
    diagnostics : bool
        Compute correlations / Cronbach's alpha / flags (default True).

    Returns
    -------
    IndexResult

    Raises
    ------
    ValueError
        (``StructureError`` for structure problems) on any invalid input.
    """
    _check_choice("imputation", impute, IMPUTATION_METHODS)
    _check_choice("normalisation", normalise, NORMALISATION_METHODS)
    _check_choice("aggregation", aggregate, AGGREGATION_METHODS)
    st = validate_structure(structure, table)
    clash = sorted(_RESERVED & set(st.aggregates))
    if clash:
        raise StructureError(f"aggregate id(s) {', '.join(clash)} clash with output column names; rename them")
    inds = list(st.indicators)
    raw = table[inds].astype(float)
    availability = raw.notna().mean(axis=1)

    grp = None
    if impute.startswith("group_") or group is not None:
        if group is None:
            raise ValueError(f"imputation '{impute}' needs group= (a column of the table)")
        if group not in table.columns:
            raise ValueError(f"group column '{group}' not found in the table")
        grp = table[group]
    imputed = _impute(raw, impute, grp)
    steps: dict[str, Any] = {
        "structure": {"indicators": len(inds), "aggregates": len(st.aggregates), "top": st.root,
                      "levels": max(st.level.values())},
        "imputation": {"method": impute, "group": group,
                       "n_imputed": int(raw.isna().sum().sum() - imputed.isna().sum().sum()),
                       "n_missing_after": int(imputed.isna().sum().sum())},
    }

    winmax = int(winmax)
    if winsorise:
        treated, treatment = treat(imputed, winmax, log_if_fails)
    else:
        treated, treatment = imputed, None
    steps["treatment"] = {
        "winsorise": bool(winsorise), "winmax": winmax, "log_if_fails": bool(log_if_fails),
        "skew_threshold": SKEW_THRESHOLD, "kurtosis_threshold": KURT_THRESHOLD,
        "rule": "treat while |skew| >= 2 and kurtosis >= 3.5 (bias-corrected estimators)",
        "winsorised": ({} if treatment is None else
                       {k: int(r.winsorised_low + r.winsorised_high) for k, r in treatment.iterrows()
                        if r.winsorised_low + r.winsorised_high > 0}),
        "log_transformed": [] if treatment is None else [k for k, r in treatment.iterrows() if r.log_transformed],
    }

    direction = np.array([st.direction[i] for i in inds])
    lo = hi = None
    if goalposts is not None or normalise == "goalposts":
        lo, hi = goalpost_arrays(goalposts, inds)
    norm = normalise_array(treated.to_numpy(dtype=float), direction, normalise, lo, hi)
    normalised = pd.DataFrame(norm, index=table.index, columns=inds)
    shift = shift_for(norm)
    steps["normalisation"] = {
        "method": normalise, "scale": {"minmax": "0-100", "zscore": "mean 0, sd 1", "rank": "1..n (n best)",
                                       "prank": "0-100 percentile rank", "goalposts": "0-100, capped"}[normalise],
        "direction": "indicators multiplied by their direction first",
        "goalposts": None if lo is None else {i: [float(a), float(b)] for i, a, b in zip(inds, lo, hi)},
        "constant_indicators": [i for i in inds if np.all(np.isnan(norm[:, inds.index(i)]))],
    }

    plan = build_plan(st)
    override = _weight_override(weights, st)
    w_nom = plan.nominal_weights(st, override)
    code = AGGREGATION_METHODS.index(aggregate)
    nodes = np.empty((1, len(plan.nodes), norm.shape[0]))       # (runs, nodes, units)
    nodes[0, : plan.n_indicators, :] = norm.T
    pca_notes: list[str] = []
    for level in plan.levels:
        if isinstance(weights, str):
            wl, notes = pca_level_weights(nodes[0].T, level)
            w_nom[level.child_pos] = wl
            pca_notes += notes
        aggregate_level(nodes, level, w_nom[None, :], np.array([code]), np.array([shift]))

    top_down = st.aggregates_top_down()
    pos = {n: k for k, n in enumerate(plan.nodes)}
    scores = pd.DataFrame({a: nodes[0, pos[a], :] for a in top_down}, index=table.index)
    rank = rank_desc(scores[st.root].to_numpy())[0]
    scores["rank"] = pd.array(np.where(np.isnan(rank), pd.NA, rank), dtype="Int64")
    scores["data_availability"] = availability.to_numpy()

    weights_used = _weights_table(st, plan, w_nom)
    steps["weighting"] = {
        "method": "pca" if isinstance(weights, str) else ("custom" if override else "structure"),
        "weights": {n: float(w_nom[k]) for k, n in enumerate(plan.nodes) if n != st.root},
        "notes": pca_notes,
    }
    steps["aggregation"] = {
        "method": aggregate, "missing": "weights re-normalised over the children present for each unit",
        "shift": shift if aggregate != "arithmetic" else 0.0,
        "shift_rule": "geometric/harmonic means of x + s, minus s; s = max(0, 1 - min normalised value)",
    }
    steps["ranking"] = {"order": "descending (1 = highest top score)", "ties": "min", "rounding": 9}

    diag = compute_diagnostics(normalised, scores, st) if diagnostics else None
    result = IndexResult(scores=scores, treated=treated, normalised=normalised, weights_used=weights_used,
                         steps=steps, diagnostics=diag, treatment=treatment, imputed=imputed)

    if uncertainty is not None:
        opts = dict(uncertainty)
        unknown = sorted(set(opts) - _UNCERTAINTY_KEYS)
        if unknown:
            raise ValueError(f"unknown uncertainty option(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(_UNCERTAINTY_KEYS))}")
        mc_in = MCInputs(imputed=imputed, structure=st, plan=plan, weights=w_nom.copy(), direction=direction,
                         lo=lo, hi=hi, winmax=winmax, log_if_fails=bool(log_if_fails), nominal_rank=rank,
                         nominal={"normalise": normalise, "aggregate": aggregate, "winsorise": bool(winsorise)})
        mc = run_uncertainty(mc_in, **opts)
        result.uncertainty, result.sensitivity, result.mc_ranks = mc.uncertainty, mc.sensitivity, mc.ranks
        steps["uncertainty"] = mc.settings
    return result


def _weight_override(weights: object, st) -> dict[str, float] | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights != "pca":
            raise ValueError(f"weights must be None, 'pca' or a dict {{id: weight}}; got '{weights}'")
        return None
    if not isinstance(weights, Mapping):
        raise ValueError("weights must be None, 'pca' or a dict {id: weight}")
    unknown = sorted(set(map(str, weights)) - set(st.nodes))
    if unknown:
        raise ValueError(f"weights given for unknown id(s): {', '.join(unknown)}")
    out = {}
    for k, v in weights.items():
        v = float(v)
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"weight of '{k}' must be finite and >= 0; got {v}")
        out[str(k)] = v
    return out


def _weights_table(st, plan, w: np.ndarray) -> pd.DataFrame:
    rows = []
    for k, n in enumerate(plan.nodes):
        if n == st.root:
            continue
        rows.append({"id": n, "parent": st.parent[n], "level": st.level[n], "weight": float(w[k])})
    df = pd.DataFrame(rows)
    tot = df.groupby("parent")["weight"].transform("sum")
    df["weight_share"] = np.where(tot > 0, df["weight"] / tot.where(tot > 0, 1.0), np.nan)
    return df


def output_frame(result: IndexResult, id_name: str | None = None) -> pd.DataFrame:
    """The CLI's output table: unit id, a score per aggregate, ``rank`` (+ MC ranks), availability."""
    scores = result.scores
    aggs = [c for c in scores.columns if c not in ("rank", "data_availability")]
    out = scores[aggs + ["rank"]].copy()
    if result.uncertainty is not None:
        for c in ("rank_median", "rank_p05", "rank_p95"):
            out[c] = result.uncertainty[c].to_numpy()
    out["data_availability"] = scores["data_availability"].to_numpy()
    out.index.name = id_name or scores.index.name or "unit_id"
    return out.reset_index()


def _atomic_write(frame: pd.DataFrame, out: Path) -> Path:
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"cannot write '{out.name}': use a .csv or .parquet file name")
    return write_table(frame, out, index=False)  # temporary file, then moved into place


def run_index_cli(table_path: str | Path, structure_path: str | Path, out: str | Path, *,
                  id_column: str | None = None, **choices: Any) -> IndexResult:
    """Read a table and a structure, build the index and write the scores.

    Parameters
    ----------
    table_path, structure_path : path
        CSV / XLSX / Parquet files (see :func:`read_table`, :func:`read_structure`).
    out : path
        ``.csv`` or ``.parquet``; written to a temporary file then moved into
        place. Columns: unit id, a score per aggregate, ``rank``, and with
        uncertainty ``rank_median``, ``rank_p05``, ``rank_p95``; then
        ``data_availability``.
    id_column : str, optional
        Unit-id column of the table (default: its first column).
    **choices
        Keyword arguments of :func:`build_index`. ``goalposts`` may also be a
        path to a CSV/XLSX with columns ``id, lo, hi``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t.csv").write_text("unit,a,b\\nx,1,3\\ny,2,1\\n")
    >>> _ = (d / "s.csv").write_text("id,parent,weight,direction\\ntop,,1,\\na,top,1,1\\nb,top,1,1\\n")
    >>> r = run_index_cli(d / "t.csv", d / "s.csv", d / "out.csv")
    >>> (d / "out.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    'unit,top,rank,data_availability'
    """
    table = read_table(table_path, id_column)
    structure = read_structure(structure_path)
    gp = choices.get("goalposts")
    if isinstance(gp, (str, Path)):
        choices["goalposts"] = read_structure(gp)  # same reader: keeps ids as text
    result = build_index(table, structure, **choices)
    _atomic_write(output_frame(result, table.index.name), Path(out))
    return result

