"""The village index: the generic composite-index engine on a study's indicators.

Structure: the catalog's indicators flagged ``in_index`` -> pillars (land,
income, governance) -> ``score``. Indicators that are missing for every
village (a table the study lacks) or constant leave the structure, with a note,
and so do pillars left with no indicator.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import catalog
from .catalog import PILLARS
from .index import build_index
from .index.uncertainty import DEFAULT_RUNS

DEFAULT_CHOICES = {"impute": "none", "winsorise": True, "normalise": "minmax", "aggregate": "arithmetic"}
# prank, not rank: raw ranks run 1..n over the villages that have a value, so an indicator that only
# villages with parks have (1..26) would not be on the scale of the others (1..47)
DEFAULT_UNCERTAINTY = {"n": DEFAULT_RUNS, "seed": 0, "weight_range": 0.25, "normalise": ["minmax", "prank"],
                       "aggregate": ["arithmetic", "geometric"], "winsorise": [False, True]}


@dataclass
class VillageRanking:
    """Scores and ranks of villages, with what was used to make them."""

    table: pd.DataFrame
    result: object  # index.IndexResult, or None when no index could be made
    structure: pd.DataFrame
    choices: dict
    notes: list[str] = field(default_factory=list)


def village_structure(table: pd.DataFrame, weights: dict | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The default structure, pruned to the indicators that carry information in ``table``."""
    structure = catalog.default_structure(weights)
    notes: list[str] = []
    keep = []
    for _, row in structure.iterrows():
        if row["id"] in PILLARS or row["id"] == "score":
            continue
        values = pd.to_numeric(table.get(row["id"]), errors="coerce") if row["id"] in table else None
        if values is None or values.notna().sum() == 0:
            notes.append(f"{row['id']}: no data, left out of the index")
        elif values.nunique(dropna=True) < 2:
            notes.append(f"{row['id']}: the same for every village, left out of the index")
        else:
            keep.append(row["id"])
    inds = structure[structure["id"].isin(keep)]
    pillars = [p for p in PILLARS if (inds["parent"] == p).any()]
    for p in PILLARS:
        if p not in pillars:
            notes.append(f"pillar {p}: no indicator that varies between villages, left out of the overall score")
    structure = pd.concat([structure[structure["id"].isin(["score", *pillars])], inds], ignore_index=True)
    return structure, notes


def rank_villages(table: pd.DataFrame, *, weights: dict | None = None, normalise: str | None = None,
                  aggregate: str | None = None, impute: str | None = None, winsorise: bool | None = None,
                  uncertainty: dict | bool | None = True, options: dict | None = None) -> VillageRanking:
    """Composite scores and ranks of villages, with rank intervals.

    Parameters
    ----------
    table : DataFrame
        An indicator table from :func:`villagestudy.compute_indicators`
        (indexed by ``village_id``, with ``village_name`` and ``town_id``).
    weights : dict, optional
        Weights of pillars (``land``, ``income``, ``governance``) and/or
        indicators; default equal. Weights are relative: only their shares
        among siblings matter.
    normalise, aggregate, impute, winsorise
        Method choices of :func:`villagestudy.index.build_index` (defaults:
        min-max 0-100, arithmetic mean, no imputation, COINr winsorisation).
    uncertainty : dict, bool or None
        Monte Carlo settings (default: 500 runs, seed=0, weights +/-25%,
        min-max or percentile-rank normalisation, arithmetic or geometric mean,
        winsorisation on or off); False or None for none.
    options : dict, optional
        Defaults for all of the above, e.g. the ``[index]`` table of ``study.toml``.

    Returns
    -------
    VillageRanking
        ``.table``: ``village_id`` index; ``village_name``, ``town_id``, the
        pillar scores (0-100 with min-max), ``score``, ``rank`` (overall, 1 =
        best), ``rank_in_town``, and ``rank_median``, ``rank_p05``, ``rank_p95``.
    """
    options = dict(options or {})
    choices = {**DEFAULT_CHOICES, **{k: v for k, v in options.items() if k in DEFAULT_CHOICES}}
    for key, value in (("normalise", normalise), ("aggregate", aggregate), ("impute", impute),
                       ("winsorise", winsorise)):
        if value is not None:
            choices[key] = value
    weights = {**options.get("weights", {}), **(weights or {})}
    structure, notes = village_structure(table, weights)
    indicator_ids = [i for i in structure["id"] if i not in (*PILLARS, "score")]
    if not indicator_ids:
        notes.append("no indicator varies between the villages: no composite index can be made")
        out = table[["village_name", "town_id"]].copy()
        for col in ("land", "income", "governance", "score"):
            out[col] = np.nan
        out["rank"] = out["rank_in_town"] = pd.array([pd.NA] * len(out), dtype="Int64")
        return VillageRanking(out, None, structure, choices, notes)
    data = table[indicator_ids].apply(pd.to_numeric, errors="coerce").astype("float64")
    if "town_id" in table:
        data["town_id"] = table["town_id"]
    mc = None
    if uncertainty:
        mc = {**DEFAULT_UNCERTAINTY, **options.get("uncertainty", {}),
              **(uncertainty if isinstance(uncertainty, dict) else {})}
        mc["normalise"] = sorted(set(mc["normalise"]) | {choices["normalise"]})
        mc["aggregate"] = sorted(set(mc["aggregate"]) | {choices["aggregate"]})
    group = "town_id" if str(choices["impute"]).startswith("group_") else None
    result = build_index(data, structure, impute=choices["impute"], group=group, winsorise=choices["winsorise"],
                         normalise=choices["normalise"], aggregate=choices["aggregate"], uncertainty=mc)
    out = table[["village_name", "town_id"]].copy()
    for col in ("land", "income", "governance", "score"):
        out[col] = result.scores[col] if col in result.scores else np.nan
    out["rank"] = result.scores["rank"]
    out["rank_in_town"] = (out.groupby("town_id")["score"].rank(ascending=False, method="min")
                           .astype("Int64"))
    if result.uncertainty is not None:
        for c in ("rank_median", "rank_p05", "rank_p95"):
            out[c] = result.uncertainty[c]
    out["data_availability"] = result.scores["data_availability"]
    choices["weights"] = result.steps["weighting"]["weights"]
    if mc:
        choices["uncertainty"] = mc
    return VillageRanking(out, result, structure, choices, notes)
