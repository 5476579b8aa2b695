"""Vectorised bottom-up aggregation, shared by the nominal pass and the Monte Carlo.

Every array here carries a leading *runs* axis: the nominal index is simply one
run, so the nominal pipeline and every Monte Carlo run go through the same code.
Internally arrays are node-major, (runs, nodes, units): a level's children are
then contiguous rows, and each level is one batched matrix product
(runs, aggregates, children) @ (runs, children, units).

For an aggregate a with children c and weights w_c, over the children present
(non-NaN) for unit u (weights are re-normalised over those children)::

    arithmetic  A = sum w_c x_c / sum w_c
    geometric   A = exp( sum w_c log(x_c + s) / sum w_c ) - s
    harmonic    A = sum w_c / sum (w_c / (x_c + s)) - s

Geometric and harmonic means need positive values. The *shift* s is
``max(0, 1 - min)`` over all normalised indicators of the run, i.e. the
smallest value is moved to 1 and positive data with min >= 1 are not moved;
for min-max 0-100 data s = 1 (the common "+1" convention, so 0 is allowed and
results stay on 0-100). The same s is used at every level (aggregates lie
within the range of their children, so they stay >= 1 - s).

A unit with no child present gets NaN for that aggregate.

Example
-------
>>> import numpy as np, pandas as pd
>>> from villagestudy.index.structure import validate_structure
>>> s = validate_structure(pd.DataFrame({"id": ["t", "a", "b"], "parent": [None, "t", "t"],
...                                      "weight": [1, 3, 1], "direction": [None, 1, 1]}))
>>> plan = build_plan(s)
>>> x = np.array([[[100.0, 0.0]]])                       # 1 run, 1 unit, 2 indicators
>>> w = plan.nominal_weights(s)[None, :]
>>> float(aggregate_runs(plan, x, w, np.array([0]), np.array([1.0]))[0, 0, -1])
75.0
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .structure import Structure

__all__ = ["AGGREGATION_METHODS", "Plan", "build_plan", "aggregate_runs", "aggregate_nodes", "aggregate_level",
           "forward", "shift_for", "pca_level_weights", "rank_desc"]

AGGREGATION_METHODS = ("arithmetic", "geometric", "harmonic")


@dataclass(frozen=True)
class Level:
    """One aggregation level: which node rows feed which aggregate rows."""

    child_pos: np.ndarray     # (C,) positions of children in the node axis, grouped by aggregate
    agg_pos: np.ndarray       # (A,) positions of the aggregates
    member: np.ndarray        # (C, A) 1 where child c belongs to aggregate a


@dataclass(frozen=True)
class Plan:
    """Index arithmetic for a structure: node order ``indicators + aggregates``."""

    nodes: tuple[str, ...]
    n_indicators: int
    levels: tuple[Level, ...]
    root_pos: int
    indicators_above_first: bool   # does any aggregate above the first level take an indicator?

    def nominal_weights(self, structure: Structure, override: dict[str, float] | None = None) -> np.ndarray:
        """Weights in node order (the root's weight is irrelevant and set to 1)."""
        w = dict(structure.weight)
        if override:
            w.update(override)
        return np.array([1.0 if n == structure.root else float(w[n]) for n in self.nodes])


def build_plan(structure: Structure) -> Plan:
    nodes = structure.nodes
    pos = {n: k for k, n in enumerate(nodes)}
    levels = []
    for lev in structure.levels:
        aggs = [a for a in structure.aggregates if structure.level[a] == lev]
        kids = [c for a in aggs for c in structure.children[a]]
        member = np.zeros((len(kids), len(aggs)))
        k = 0
        for j, a in enumerate(aggs):
            for _ in structure.children[a]:
                member[k, j] = 1.0
                k += 1
        levels.append(Level(np.array([pos[c] for c in kids]), np.array([pos[a] for a in aggs]), member))
    n_ind = len(structure.indicators)
    above = any(np.any(lv.child_pos < n_ind) for lv in levels[1:])
    return Plan(nodes, n_ind, tuple(levels), pos[structure.root], bool(above))


def shift_for(normalised: np.ndarray) -> float:
    """Shift s = max(0, 1 - min) that makes every value >= 1 for geometric/harmonic means."""
    mn = np.nanmin(normalised) if np.any(~np.isnan(normalised)) else 1.0
    return float(max(0.0, 1.0 - mn))


def _runs_by_code(codes: np.ndarray) -> list[tuple[int, slice | np.ndarray]]:
    """(code, runs) pairs of a per-run code (a method, a variant); a plain slice when all runs share one (no copies)."""
    if codes.size and np.all(codes == codes[0]):
        return [(int(codes[0]), slice(None))]
    return [(int(m), codes == m) for m in np.unique(codes)]


def forward(v: np.ndarray, methods: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """x -> x (arithmetic), log(x + s) (geometric), 1 / (x + s) (harmonic), in place; NaN kept.

    ``v`` has runs on its first axis; ``methods`` and ``shift`` are per run.
    """
    extra = (None,) * (v.ndim - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for m, runs in _runs_by_code(methods):
            if m == 1:
                v[runs] = np.log(v[runs] + shift[runs][(slice(None), *extra)])
            elif m == 2:
                v[runs] = 1.0 / (v[runs] + shift[runs][(slice(None), *extra)])
    return v


def _backward(m: np.ndarray, methods: np.ndarray, shift: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for code, runs in _runs_by_code(methods):
            if code == 1:
                m[runs] = np.exp(m[runs]) - shift[runs, None, None]
            elif code == 2:
                m[runs] = 1.0 / m[runs] - shift[runs, None, None]
    return m


def aggregate_level(nodes: np.ndarray, level: Level, weights: np.ndarray, methods: np.ndarray,
                    shift: np.ndarray, transformed: tuple[np.ndarray, np.ndarray | None] | None = None) -> None:
    """Fill one level's aggregate rows of ``nodes`` in place.

    Parameters
    ----------
    nodes : ndarray (runs, nodes, units)
        Node-major, so that gathering a level's children copies contiguous rows.
    weights : ndarray (runs, nodes), raw (unnormalised) weights
    methods : ndarray (runs,) int, 0 arithmetic, 1 geometric, 2 harmonic
    shift : ndarray (runs,), see module docstring
    transformed : (t, present, keys), optional
        The children already passed through :func:`forward` with missing
        values set to 0, once per variant: ``t`` (variants, C, units),
        ``present`` the same shape, 1.0 where a child has a value (None if
        nothing is missing), and ``keys`` (runs,) the variant of each run. The
        Monte Carlo transforms each variant once instead of once per run, and
        each run multiplies its weights into its variant's array (no copy per run).
    """
    wm = weights[:, level.child_pos, None] * level.member[None]       # (R, C, A)
    wt = wm.transpose(0, 2, 1)                                        # (R, A, C)
    if transformed is None:
        t = nodes[:, level.child_pos, :]                              # (R, C, U) copy
        absent = np.isnan(t)
        if not absent.any():
            absent = None
        forward(t, methods, shift)
        if absent is not None:
            t[absent] = 0.0
        num = np.matmul(wt, t)                                        # (R, A, U)
        den = None if absent is None else np.matmul(wt, (~absent).astype(float))
    else:
        by_key, present, keys = transformed
        num = np.empty(wt.shape[:2] + by_key.shape[2:])               # (R, A, U)
        den = None if present is None else np.empty_like(num)
        for key, runs in _runs_by_code(keys):
            w_runs = wt[runs]
            num[runs] = np.matmul(w_runs, by_key[key])
            if den is not None:
                den[runs] = np.matmul(w_runs, present[key])
    if den is None:
        den = np.broadcast_to(wm.sum(axis=1)[:, :, None], num.shape)  # same children for every unit
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    nodes[:, level.agg_pos, :] = _backward(mean, methods, shift)


def aggregate_nodes(plan: Plan, indicators: np.ndarray, weights: np.ndarray, methods: np.ndarray,
                    shift: np.ndarray, first: tuple[np.ndarray, np.ndarray | None] | None = None) -> np.ndarray:
    """Aggregate many runs at once, node-major: ``indicators`` (runs, indicators, units).

    Returns ndarray (runs, nodes, units). ``indicators`` may be None when
    ``first`` (the pre-transformed first level, see :func:`aggregate_level`) is
    given and no higher level takes an indicator directly.
    """
    r = weights.shape[0]
    u = (first[0] if first is not None else indicators).shape[2]
    nodes = np.empty((r, len(plan.nodes), u))
    if indicators is not None:
        nodes[:, : plan.n_indicators, :] = indicators
    for k, level in enumerate(plan.levels):
        aggregate_level(nodes, level, weights, methods, shift, first if k == 0 else None)
    return nodes


def aggregate_runs(plan: Plan, indicators: np.ndarray, weights: np.ndarray, methods: np.ndarray,
                   shift: np.ndarray) -> np.ndarray:
    """Aggregate normalised indicators of many runs at once.

    Parameters
    ----------
    indicators : ndarray (runs, units, indicators), normalised
    weights : ndarray (runs, nodes)
    methods : ndarray (runs,) of 0/1/2
    shift : ndarray (runs,)

    Returns
    -------
    ndarray (runs, units, nodes): indicators followed by every aggregate.
    """
    nodes = aggregate_nodes(plan, np.ascontiguousarray(np.swapaxes(indicators, 1, 2)), weights, methods, shift)
    return np.swapaxes(nodes, 1, 2)


def pca_level_weights(nodes: np.ndarray, level: Level) -> tuple[np.ndarray, list[str]]:
    """PCA weights of one level from one run's node values ``(units, nodes)``.

    For each aggregate, on the units with every child present: the first
    eigenvector v of the children's correlation matrix gives weights v**2
    (they sum to 1). An aggregate with one child gets weight 1; one whose
    children have fewer than 3 complete units or no spread gets equal weights
    (reported in the returned notes).
    """
    w = np.zeros(len(level.child_pos))
    notes: list[str] = []
    for j in range(level.member.shape[1]):
        rows = np.flatnonzero(level.member[:, j])
        if rows.size == 1:
            w[rows] = 1.0
            continue
        x = nodes[:, level.child_pos[rows]]
        x = x[~np.isnan(x).any(axis=1)]
        sd = x.std(axis=0) if x.shape[0] else np.zeros(rows.size)
        if x.shape[0] < 3 or np.any(sd == 0):
            w[rows] = 1.0 / rows.size
            notes.append(f"aggregate #{j}: too few complete units or a constant child; equal weights")
            continue
        corr = np.corrcoef(x, rowvar=False)
        vals, vecs = np.linalg.eigh(corr)
        v = vecs[:, np.argmax(vals)]
        w[rows] = v**2 / np.sum(v**2)
    return w, notes


def rank_desc(scores: np.ndarray, decimals: int = 9) -> np.ndarray:
    """Rank each row of ``scores`` (runs, units): highest = 1, ties share the minimum rank.

    Scores are rounded to ``decimals`` first, so values equal up to floating-point
    noise (e.g. from different batch sizes in the matrix products) count as ties.
    Missing scores get a NaN rank.

    Examples
    --------
    >>> rank_desc(np.array([[50.0, 80.0, 80.0, 20.0, np.nan]])).tolist()
    [[3.0, 1.0, 1.0, 4.0, nan]]
    """
    s = np.round(np.atleast_2d(np.asarray(scores, dtype=float)), decimals)
    missing = np.isnan(s)
    key = np.where(missing, np.inf, -s)
    order = np.argsort(key, axis=1)  # tied keys get one rank whatever their order: no stable sort needed (3x slower)
    sorted_key = np.take_along_axis(key, order, axis=1)
    # min-rank of ties: position of the first element of each run of equal keys
    n = s.shape[1]
    idx = np.broadcast_to(np.arange(n), s.shape)
    new = np.ones(s.shape, dtype=bool)
    new[:, 1:] = sorted_key[:, 1:] != sorted_key[:, :-1]
    first = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
    ranks_sorted = first + 1.0
    ranks = np.empty(s.shape)
    np.put_along_axis(ranks, order, ranks_sorted, axis=1)
    ranks[missing] = np.nan
    return ranks
