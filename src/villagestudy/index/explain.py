"""Why this rank: each indicator's and pillar's share of a unit's score gap to a reference.

With arithmetic aggregation (weights re-normalised over the children present
for each unit, as in :mod:`villagestudy.index.aggregate`) a unit's top score
is exactly a weighted sum of its normalised indicators::

    score_u = sum_i W_iu x_iu,    W_iu = product over the path i -> top of w_c / sum(w of present siblings)

(``W_iu = 0`` when indicator i is missing for unit u). The *reference* of a
unit is the median-scoring unit of its group (the town): for an even number
of units, the mean of the two middle ones. The contribution of indicator i is
``W_iu x_iu - mean_r W_ir x_ir`` over the reference unit(s) r, so the
contributions of a unit add up exactly to ``score_u - median score of its
group``; a pillar's contribution is the sum of its indicators'.

Geometric aggregation is additive on the log scale: ``log(score + s) = sum_i
W_iu log(x_iu + s)`` (s the shift of the index), so the same decomposition of
``log(x + s)`` gives contributions in log points that add up to
``log((score_u + s) / (reference + s))``; the reference of an even group is
then the geometric mean of the two middle units. Harmonic aggregation has no
additive decomposition and is refused.

Example
-------
>>> import pandas as pd
>>> from villagestudy.index import build_index
>>> table = pd.DataFrame({"a": [0.0, 5.0, 10.0], "b": [10.0, 0.0, 4.0]}, index=["u1", "u2", "u3"])
>>> structure = pd.DataFrame({"id": ["top", "a", "b"], "parent": [None, "top", "top"], "direction": [None, 1, 1]})
>>> res = build_index(table, structure)
>>> c = contributions(res, groups=pd.Series("g", index=table.index))
>>> u3 = c[(c["unit"] == "u3") & (c["kind"] == "indicator")]   # scores 50, 25, 70: median 50
>>> u3["contribution"].round(6).tolist(), float(u3["contribution"].sum())   # a: 50 - 0, b: 20 - 50
([50.0, -30.0], 20.0)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["effective_weights", "contributions", "CONTRIBUTION_COLUMNS"]

CONTRIBUTION_COLUMNS = ["unit", "group", "id", "kind", "pillar", "value", "weight", "contribution", "score",
                        "reference_score", "scale"]


def _tree(weights_used: pd.DataFrame) -> tuple[str, dict[str, list[str]], dict[str, float]]:
    parent = dict(zip(weights_used["id"], weights_used["parent"].fillna("").astype(str)))
    weight = dict(zip(weights_used["id"], weights_used["weight"].astype(float)))
    parents = set(parent.values()) - {""}
    root = next(p for p in parents if p not in parent or parent.get(p, "") == "")
    children: dict[str, list[str]] = {}
    for node, par in parent.items():
        if par:
            children.setdefault(par, []).append(node)
    return root, children, weight


def effective_weights(normalised: pd.DataFrame, weights_used: pd.DataFrame) -> pd.DataFrame:
    """Weight of each indicator in each unit's top score (units x indicators, rows sum to 1).

    ``weights_used`` is :attr:`IndexResult.weights_used` (``id``, ``parent``,
    ``weight``); a unit missing an indicator gives it weight 0 and its
    siblings share its weight, as the aggregation does.
    """
    root, children, weight = _tree(weights_used)
    present: dict[str, np.ndarray] = {}

    def has(node: str) -> np.ndarray:
        if node not in present:
            if node in children:
                present[node] = np.any([has(c) for c in children[node]], axis=0)
            else:
                present[node] = normalised[node].notna().to_numpy()
        return present[node]

    out = pd.DataFrame(0.0, index=normalised.index, columns=list(normalised.columns))

    def walk(node: str, share: np.ndarray) -> None:
        kids = children.get(node)
        if not kids:
            out[node] = share
            return
        w = np.array([[weight[c]] for c in kids]) * np.array([has(c) for c in kids], dtype=float)
        total = w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(total > 0, w / total, 0.0)
        for k, c in enumerate(kids):
            walk(c, share * frac[k])

    walk(root, np.ones(len(normalised)))
    return out


def _group_references(parts: np.ndarray, top: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the mean ``parts`` row of its median-``top`` unit(s) (units with a ``top`` only).

    ``codes`` is each unit's group (0 .. n_groups - 1, -1 for none). A group
    with an odd number of scored units takes its middle unit, an even number the
    mean of its two middle units; ties keep the units' order. A group without a
    scored unit gets a row of NaN.
    """
    scored = np.flatnonzero((codes >= 0) & ~np.isnan(top))
    order = scored[np.lexsort((scored, top[scored], codes[scored]))]  # by group, then top, then position
    counts = np.bincount(codes[order], minlength=n_groups)
    starts = np.cumsum(counts) - counts
    refs = np.full((n_groups, parts.shape[1]), np.nan)
    has = counts > 0
    upper = order[starts[has] + counts[has] // 2]
    lower = order[starts[has] + (counts[has] - 1) // 2]  # the same unit when the count is odd
    refs[has] = np.where((counts[has] % 2 == 1)[:, None], parts[upper], (parts[lower] + parts[upper]) / 2)
    return refs


def contributions(result, groups: pd.Series, *, pillar_of: dict[str, str] | None = None) -> pd.DataFrame:
    """Contribution of every indicator and pillar to each unit's gap to its group's median score.

    Parameters
    ----------
    result : IndexResult
        From :func:`villagestudy.index.build_index` (arithmetic or geometric).
    groups : Series
        Group (e.g. town) of each unit, indexed like ``result.scores``.
    pillar_of : dict, optional
        Indicator -> the aggregate reported as its pillar; default its parent.

    Returns
    -------
    DataFrame
        Columns :data:`CONTRIBUTION_COLUMNS`: one row per unit and indicator
        (``kind="indicator"``) and per unit and pillar (``kind="pillar"``);
        ``value`` is the normalised value (pillar score for a pillar),
        ``weight`` the effective weight in the top score, ``contribution`` the
        part of ``score - reference_score`` due to it (log points when
        ``scale == "log"``). Per unit the indicator rows (and the pillar rows)
        add up to the gap.
    """
    method = result.steps["aggregation"]["method"]
    if method not in ("arithmetic", "geometric"):
        raise ValueError(f"no additive decomposition of a {method} mean: use arithmetic or geometric aggregation")
    norm = result.normalised
    w = effective_weights(norm, result.weights_used)
    shift = float(result.steps["aggregation"].get("shift", 0.0) or 0.0)
    root = result.scores.columns[0]
    score = result.scores[root].astype(float)
    parts = w * (norm.fillna(0.0) if method == "arithmetic" else np.log(norm + shift).fillna(0.0))
    top = score if method == "arithmetic" else np.log(score + shift)
    parent = dict(zip(result.weights_used["id"], result.weights_used["parent"]))
    pillar_of = pillar_of or {i: parent[i] for i in norm.columns}
    groups = groups.reindex(score.index)
    codes, keys = pd.factorize(groups)  # groups in order of first appearance, -1 for a unit without one
    indicators = list(norm.columns)
    parts_arr = parts[indicators].to_numpy(dtype=float)
    refs = _group_references(parts_arr, top.to_numpy(dtype=float), codes, len(keys))
    ref_tops = np.nansum(refs, axis=1)
    reference = dict(zip(keys, ref_tops if method == "arithmetic" else np.exp(ref_tops) - shift))
    # per group in that order, its units with a score in the units' order
    with_score = np.flatnonzero((codes >= 0) & score.notna().to_numpy())
    rows = with_score[np.argsort(codes[with_score], kind="stable")]
    units = list(score.index[rows])
    unit_groups = list(keys[codes[rows]])
    diff = pd.DataFrame(parts_arr[rows] - refs[codes[rows]], index=score.index[rows], columns=indicators)
    pillars = pd.Series(pillar_of).groupby(pd.Series(pillar_of)).groups
    # per unit: its indicator rows, then its pillar rows (pillars in name order)
    blocks = [pd.DataFrame({"id": np.tile(indicators, len(units)), "kind": "indicator",
                            "pillar": np.tile([pillar_of[i] for i in indicators], len(units)),
                            "value": norm.loc[units, indicators].to_numpy().ravel(),
                            "weight": w.loc[units, indicators].to_numpy().ravel(),
                            "contribution": diff.to_numpy().ravel(),
                            "_unit": np.repeat(np.arange(len(units)), len(indicators)),
                            "_row": np.tile(np.arange(len(indicators)), len(units))})]
    for k, (p, inds) in enumerate(pillars.items()):
        inds = list(inds)
        value = result.scores.loc[units, p].to_numpy() if p in result.scores else np.full(len(units), np.nan)
        blocks.append(pd.DataFrame({"id": p, "kind": "pillar", "pillar": p, "value": value,
                                    "weight": w.loc[units, inds].sum(axis=1).to_numpy(),
                                    "contribution": diff[inds].sum(axis=1).to_numpy(),
                                    "_unit": np.arange(len(units)), "_row": len(indicators) + k}))
    out = pd.concat(blocks, ignore_index=True).sort_values(["_unit", "_row"], kind="mergesort")
    out.insert(0, "unit", np.asarray(units, dtype=object)[out["_unit"].to_numpy()])
    out.insert(1, "group", np.asarray(unit_groups, dtype=object)[out["_unit"].to_numpy()])
    out = out.drop(columns=["_unit", "_row"]).reset_index(drop=True)[CONTRIBUTION_COLUMNS[:8]]
    out["score"] = score.reindex(out["unit"]).to_numpy()
    out["reference_score"] = out["group"].map(reference).astype(float)
    out["scale"] = "points" if method == "arithmetic" else "log"
    return out
