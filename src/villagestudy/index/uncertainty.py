"""Monte Carlo uncertainty and variance-based sensitivity analysis of the ranks.

Uncertain *choices* (factors), each drawn independently per run:

=========== ==================================================================
weights     every node weight w -> w * (1 + U(-X, X)), X = ``weight_range``
            (one factor: all weights move together as a group)
normalise   a method drawn uniformly from the list ``normalise``
aggregate   a method drawn uniformly from the list ``aggregate``
winsorise   on/off drawn uniformly from the list ``winsorise``
=========== ==================================================================

Imputation is not varied. A factor with one option (or ``weight_range=0``) is
fixed and not part of the design.

**Vectorisation.** Each (winsorise, normalise) variant of the indicator table
is computed once (with its first-level inputs already transformed for each
aggregation method); a block of runs gathers its variants into one array of
runs x units x indicators (stored indicator-major, (runs, indicators, units)),
builds a (runs, nodes) weight matrix and aggregates every run at once with
batched matrix products (:func:`villagestudy.index.aggregate.aggregate_nodes`);
there is no per-run Python loop.

**Uncertainty.** The rank distribution comes from the ``n`` runs of the base
sample A: ``rank_median``, ``rank_p05`` and ``rank_p95`` are empirical
quantiles (inverted-CDF, so each bound is a rank actually observed), beside
``rank_nominal`` from the nominal choices.

**Sensitivity.** Output Y of a run = mean absolute rank shift against the
nominal ranks, ``Y = mean_u |rank_u - rank_nominal_u|``. With the Saltelli
design (base samples A and B of n runs, and for every varied factor f the
matrix A_B^f = A with factor f taken from B; ``n * (k + 2)`` runs for k varied
factors) the estimators are (Saltelli et al. 2010, Jansen 1999)::

    V   = Var(Y_A ∪ Y_B)
    S_f = mean( Y_B * (Y_AB^f - Y_A) ) / V          (first order)
    T_f = mean( (Y_A - Y_AB^f)**2 ) / (2 V)           (total)

They are estimates: expect noise of order 1/sqrt(n) (small negative values
can occur); use n >= 500 for stable figures. Fixed factors report 0.

Example
-------
>>> import numpy as np, pandas as pd
>>> from villagestudy.index import build_index
>>> rng = np.random.default_rng(0)
>>> t = pd.DataFrame(rng.normal(size=(20, 4)), columns=list("abcd"))
>>> s = pd.DataFrame({"id": ["top", "p", "q", *"abcd"], "parent": [None, "top", "top", "p", "p", "q", "q"],
...                   "direction": [None, None, None, 1, 1, 1, -1]})
>>> r = build_index(t, s, uncertainty=dict(n=64, seed=1, aggregate=["arithmetic", "geometric"]))
>>> list(r.uncertainty.columns)
['rank_nominal', 'rank_median', 'rank_p05', 'rank_p95']
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .aggregate import AGGREGATION_METHODS, Plan, aggregate_nodes, forward, rank_desc, shift_for
from .normalise import NORMALISATION_METHODS, normalise_array
from .structure import Structure
from .treat import treat

__all__ = ["MCInputs", "UncertaintyResult", "run_uncertainty", "FACTORS", "DEFAULT_RUNS"]

DEFAULT_RUNS = 500
"""Monte Carlo runs behind rank intervals unless a caller asks for others (stable figures, see above)."""

FACTORS = ("weights", "normalise", "aggregate", "winsorise")
_CHUNK_BYTES = 32_000_000  # cap on one block's node array, to bound memory


@dataclass(frozen=True)
class MCInputs:
    """What the Monte Carlo needs from the nominal pipeline (built by ``build_index``)."""

    imputed: pd.DataFrame          # units x indicators, after imputation
    structure: Structure
    plan: Plan
    weights: np.ndarray            # (nodes,) nominal weights
    direction: np.ndarray          # (indicators,)
    lo: np.ndarray | None
    hi: np.ndarray | None
    winmax: int
    log_if_fails: bool
    nominal_rank: np.ndarray       # (units,)
    nominal: dict                  # nominal normalise / aggregate / winsorise


@dataclass
class UncertaintyResult:
    uncertainty: pd.DataFrame
    sensitivity: pd.DataFrame | None
    ranks: np.ndarray              # (n, units) ranks of the base sample
    settings: dict = field(default_factory=dict)


def _as_list(value, default) -> list:
    if value is None:
        return list(default)
    if isinstance(value, (str, bool)):
        return [value]
    return list(value)


def rank_quantiles(ranks: np.ndarray, quantiles: tuple[float, ...]) -> list[np.ndarray]:
    """Empirical quantiles (inverted CDF) of each unit's ranks over the runs, NaN runs left out.

    ``ranks`` is (runs, units). The same values as ``np.nanquantile(ranks, q,
    axis=0, method="inverted_cdf")`` for each ``q``, but numpy's nanquantile
    takes one unit at a time; the units whose every run ranked them (all of
    them, unless a unit lacks a score) are taken at once. A unit without any
    ranked run gets NaN.
    """
    missing = np.isnan(ranks)
    complete = ~missing.any(axis=0)
    partial = ~complete & ~missing.all(axis=0)
    out = [np.full(ranks.shape[1], np.nan) for _ in quantiles]
    if complete.any():
        for row, values in zip(out, np.quantile(ranks[:, complete], quantiles, axis=0, method="inverted_cdf")):
            row[complete] = values
    if partial.any():
        for row, q in zip(out, quantiles):
            row[partial] = np.nanquantile(ranks[:, partial], q, axis=0, method="inverted_cdf")
    return out


def run_uncertainty(inputs: MCInputs, *, n: int = 1000, seed: int | None = None, weight_range: float = 0.25,
                    normalise: list[str] | str | None = None, aggregate: list[str] | str | None = None,
                    winsorise: list[bool] | bool | None = None, sensitivity: bool = True,
                    chunk_runs: int | None = None) -> UncertaintyResult:
    """Run the Monte Carlo (see module docstring).

    Parameters
    ----------
    n : int
        Runs of the base sample (the rank distribution); the sensitivity
        design adds ``n * (k + 1)`` runs for k varied factors.
    seed : int, optional
        Seed of ``numpy.random.default_rng``; same seed, same result.
    weight_range : float
        X in w * (1 + U(-X, X)); 0 fixes the weights. Must be in [0, 1).
    normalise, aggregate : list of str, optional
        Methods to draw from; default the nominal method only.
    winsorise : list of bool, optional
        Default ``[False, True]``.
    sensitivity : bool
        Also estimate first-order and total indices.
    """
    n = int(n)
    if n < 2:
        raise ValueError("uncertainty n must be at least 2 runs")
    if not 0 <= float(weight_range) < 1:
        raise ValueError(f"weight_range must be in [0, 1) (a share of each weight); got {weight_range}")
    norms = _as_list(normalise, [inputs.nominal["normalise"]])
    aggs = _as_list(aggregate, [inputs.nominal["aggregate"]])
    wins = [bool(w) for w in _as_list(winsorise, [False, True])]
    for m in norms:
        if m not in NORMALISATION_METHODS:
            raise ValueError(f"unknown normalisation '{m}' in uncertainty; use {', '.join(NORMALISATION_METHODS)}")
        if m == "goalposts" and inputs.lo is None:
            raise ValueError("uncertainty normalise includes 'goalposts' but no goalposts= were given")
    for m in aggs:
        if m not in AGGREGATION_METHODS:
            raise ValueError(f"unknown aggregation '{m}' in uncertainty; use {', '.join(AGGREGATION_METHODS)}")
    if not (norms and aggs and wins):
        raise ValueError("uncertainty method lists must not be empty")

    # Precompute every (winsorise, normalise) variant once, node-major (indicators, units),
    # and its first-level children already transformed for each aggregation method.
    base = inputs.imputed.astype(float)
    plan = inputs.plan
    first = plan.levels[0]
    agg_codes = np.array([AGGREGATION_METHODS.index(m) for m in aggs])
    variants, firsts, absents, shifts = [], [], [], []
    for w in wins:
        x = treat(base, inputs.winmax, inputs.log_if_fails)[0] if w else base
        arr = x.to_numpy(dtype=float)
        for m in norms:
            z = normalise_array(arr, inputs.direction, m, inputs.lo, inputs.hi).T     # (I, U)
            sh = shift_for(z)
            kids = z[first.child_pos]
            absent = np.isnan(kids)
            for code in agg_codes:
                t = forward(kids.copy()[None], np.array([code]), np.array([sh]))[0]
                t[absent] = 0.0
                firsts.append(t)
            variants.append(z)
            absents.append(absent)
            shifts.append(sh)
    variants_arr = np.stack(variants)            # (V, I, U)
    firsts_arr = np.stack(firsts)                # (V * M, C1, U)
    # 1.0 where a first-level child has a value, per (variant, aggregation) as firsts_arr
    presents_arr = (np.repeat(~np.stack(absents), len(aggs), axis=0).astype(float)
                    if any(a.any() for a in absents) else None)
    shifts_arr = np.array(shifts)
    n_m = len(aggs)

    rng = np.random.default_rng(seed)
    n_nodes = len(inputs.plan.nodes)
    sizes = {"weights": None, "normalise": len(norms), "aggregate": len(aggs), "winsorise": len(wins)}
    varied = [f for f in FACTORS if (float(weight_range) > 0 if f == "weights" else sizes[f] > 1)]

    def draw() -> dict[str, np.ndarray]:
        return {"weights": rng.uniform(-1.0, 1.0, size=(n, n_nodes)),
                "normalise": rng.integers(0, len(norms), size=n),
                "aggregate": rng.integers(0, len(aggs), size=n),
                "winsorise": rng.integers(0, len(wins), size=n)}

    a, b = draw(), draw()
    blocks = [a]
    if sensitivity and varied:
        blocks.append(b)
        for f in varied:
            blocks.append({**a, f: b[f]})
    design = {f: np.concatenate([blk[f] for blk in blocks]) for f in FACTORS}
    total_runs = n * len(blocks)

    u_count = base.shape[0]
    chunk = chunk_runs or max(1, _CHUNK_BYTES // max(1, u_count * n_nodes * 8))
    # kept: the ranks of the n base runs (their quantiles are the result) and, for the sensitivity
    # estimators, one number per run: not every run's ranks (6 x 500 runs x 20,000 villages: 0.5 GB)
    ranks = np.empty((n, u_count))
    rank_shift = np.empty(total_runs) if sensitivity else None
    for start in range(0, total_runs, chunk):
        sl = slice(start, min(start + chunk, total_runs))
        v = design["winsorise"][sl] * len(norms) + design["normalise"][sl]
        mi = design["aggregate"][sl]
        # (runs, indicators, units): the runs x units x indicators input, indicator-major
        x = variants_arr[v] if plan.indicators_above_first else None
        w = inputs.weights[None, :] * (1.0 + float(weight_range) * design["weights"][sl])
        nodes = aggregate_nodes(plan, x, w, agg_codes[mi], shifts_arr[v],
                                first=(firsts_arr, presents_arr, v * n_m + mi))
        block = rank_desc(nodes[:, plan.root_pos, :])
        if start < n:
            ranks[start:min(sl.stop, n)] = block[:min(sl.stop, n) - start]
        if rank_shift is not None:
            rank_shift[sl] = mean_rank_shift(block, inputs.nominal_rank)

    med, p05, p95 = rank_quantiles(ranks, (0.5, 0.05, 0.95))
    unc = pd.DataFrame({"rank_nominal": inputs.nominal_rank, "rank_median": med,
                        "rank_p05": p05, "rank_p95": p95}, index=inputs.imputed.index)

    sens = None
    if sensitivity:
        sens = _sensitivity(rank_shift, n, varied)
    settings = {"n": n, "seed": seed, "weight_range": float(weight_range), "normalise": norms,
                "aggregate": aggs, "winsorise": wins, "varied": varied, "runs_evaluated": total_runs,
                "quantiles": "empirical, inverted CDF, over the n base runs",
                "sensitivity_output": "mean absolute rank shift against the nominal ranks" if sensitivity else None,
                "estimators": "Saltelli 2010 first order, Jansen total" if sensitivity else None}
    return UncertaintyResult(unc, sens, ranks, settings)


def mean_rank_shift(ranks: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """Each run's mean absolute rank shift against the nominal ranks (villages without a rank left out).

    The output whose variance the sensitivity indices split between the choices.

    Examples
    --------
    >>> mean_rank_shift(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, np.nan]]), np.array([1.0, 2.0, 3.0])).tolist()
    [0.0, 1.0]
    """
    with np.errstate(all="ignore"):
        return np.nanmean(np.abs(ranks - nominal[None, :]), axis=1)


def _sensitivity(y: np.ndarray, n: int, varied: list[str]) -> pd.DataFrame:
    """First-order and total indices of ``varied`` from ``y``, one value per run of the design's blocks."""
    rows = {f: {"first_order": 0.0, "total": 0.0, "varied": False} for f in FACTORS}
    if varied:
        ya, yb = y[:n], y[n:2 * n]
        var = np.var(np.concatenate([ya, yb]), ddof=1)
        for k, f in enumerate(varied):
            yab = y[(2 + k) * n:(3 + k) * n]
            if var > 0:
                s1 = float(np.mean(yb * (yab - ya)) / var)
                st = float(np.mean((ya - yab) ** 2) / (2 * var))
            else:
                s1 = st = float("nan")
            rows[f] = {"first_order": s1, "total": st, "varied": True}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "choice"
    return out
