"""Indicator groups on Dask: the registry's functions, run once per group of towns.

Villages never cross a town, so contiguous blocks and every per-village
indicator are local to a town. :class:`DaskExecutor` splits an indicator
group's first input table (see :data:`villagestudy.metrics.INDICATOR_GROUPS`)
into units (the partition files of a partitioned table, or the towns of an
in-memory one), joins units that share towns with
:func:`scipy.sparse.csgraph.connected_components`, and runs the group's
function on each joined group as one Dask task.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ...metrics import IndicatorGroup, Notes, compute_indicators, run_in_memory
from ...settings import Settings
from ...study import Study
from .client import DEFAULT_SCHEDULER, compute, open_client, scatter

__all__ = ["DaskExecutor", "compute_indicators_dask", "plan_groups", "PARTITIONED_TABLES"]

PARTITIONED_TABLES = ("parcels", "parks", "grids")
"""Tables that may be a partitioned GeoParquet folder (and are split by town on Dask)."""


def concat_frames(frames: Sequence[pd.DataFrame | None]) -> pd.DataFrame | None:
    """The frames one after the other (None when there is none)."""
    frames = [f for f in frames if f is not None]
    if not frames:
        return None
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


@dataclass
class TownGroup:
    """Towns computed together, and the units (partitions or town pieces) that hold their rows."""

    towns: list[str] = field(default_factory=list)
    units: list[int] = field(default_factory=list)


def plan_groups(villages: pd.DataFrame, unit_villages: list[Iterable[str]]) -> list[TownGroup]:
    """Groups of towns computed together: towns joined by a unit that holds villages of both.

    The connected components of the graph of towns and units (an edge where a
    unit holds a village of a town), ordered by their first unit. Units of no
    known village, and towns in no unit, join the first group (so that their
    villages get the same "no rows" notes as in memory).

    Examples
    --------
    >>> v = pd.DataFrame({"village_id": ["a", "b", "c"], "town_id": ["T1", "T2", "T3"]})
    >>> [(g.towns, g.units) for g in plan_groups(v, [["a"], ["b", "c"], ["c"], ["x"]])]
    [(['T1'], [0, 3]), (['T2', 'T3'], [1, 2])]
    """
    town_of = dict(zip(villages["village_id"], villages["town_id"]))
    towns = list(dict.fromkeys(villages["town_id"]))
    index = {t: i for i, t in enumerate(towns)}
    n_towns, n_units = len(towns), len(unit_villages)
    unit_node, town_node, linked = [], [], np.zeros(n_units, dtype=bool)
    for u, vids in enumerate(unit_villages):
        for t in {index[town_of[v]] for v in vids if v in town_of}:
            unit_node.append(n_towns + u)
            town_node.append(t)
            linked[u] = True
    n = n_towns + n_units
    graph = coo_matrix((np.ones(len(unit_node)), (unit_node, town_node)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    by_label: dict[int, TownGroup] = {}
    for u in np.flatnonzero(linked):  # ascending: groups come in the order of their first unit
        by_label.setdefault(int(label[n_towns + u]), TownGroup()).units.append(int(u))
    orphans = [int(u) for u in np.flatnonzero(~linked)]
    if not by_label:
        return [TownGroup(towns, orphans)] if towns or orphans else []
    first = next(iter(by_label.values()))
    first.units.extend(orphans)
    for i, t in enumerate(towns):
        by_label.get(int(label[i]), first).towns.append(t)
    return list(by_label.values())


def _split_by_village(frame: pd.DataFrame | None, village_group: dict, n: int) -> list:
    if frame is None:
        return [None] * n
    codes = frame["village_id"].map(village_group)
    parts = {int(g): sub for g, sub in frame.groupby(codes, sort=False)}
    return [parts.get(i, frame.iloc[:0]) for i in range(n)]


def _group_task(group: IndicatorGroup, frames: list, sub: dict, settings: Settings, year: int | None):
    """One indicator group on the study of one group of towns (runs on a worker)."""
    sub = dict(sub)
    study = Study(towns=sub.pop("towns"), villages=sub.pop("villages"), settings=settings,
                  **{group.inputs[0]: concat_frames(frames)}, **sub)
    notes = Notes()
    part = group.func(study, year=year, notes=notes)
    return part, list(notes.items)


@dataclass(frozen=True)
class DaskExecutor:
    """The executor of :func:`villagestudy.metrics.compute_indicators` on Dask.

    A group whose first input is partitioned runs once per group of partitions;
    with ``split_in_memory`` (what :func:`compute_indicators_dask` asks for) the
    land group of an in-memory study runs once per group of towns too. Every
    other group runs in this process, as in memory.

    Parameters
    ----------
    client : distributed.Client, optional
        Default: the scheduler in force.
    split_in_memory : bool
        Split the in-memory ``parcels`` table by town.
    """

    client: object = DEFAULT_SCHEDULER
    split_in_memory: bool = False

    def __call__(self, group: IndicatorGroup, study: Study, *, year: int | None, notes: Notes) -> pd.DataFrame:
        table = group.inputs[0]
        ptable = getattr(study, "partitioned", {}).get(table)  # a PartitionedStudy's lazy tables
        if ptable is None and not (self.split_in_memory and table == "parcels"):
            return run_in_memory(group, study, year=year, notes=notes)
        client = self.client
        villages = study.villages
        if ptable is not None:
            units = [p.villages for p in ptable.parts]
            delayed_parts = ptable.frame.to_delayed() if units else []
        else:
            frame = getattr(study, table)
            if frame is None or len(frame) == 0 or "village_id" not in frame:
                return run_in_memory(group, study, year=year, notes=notes)  # nothing to split
            town = frame["village_id"].map(dict(zip(villages["village_id"], villages["town_id"])))
            pieces = [sub for _, sub in frame.groupby(town, sort=False)]
            lost = frame[town.isna()]
            if len(lost) and pieces:  # rows of no known village: with the first town, as in memory
                pieces[0] = pd.concat([pieces[0], lost])
            units = [p["village_id"].unique() for p in pieces]
        groups = plan_groups(villages, units)
        if not groups:
            return run_in_memory(group, study, year=year, notes=notes)
        town_group = {t: g for g, grp in enumerate(groups) for t in grp.towns}
        village_group = {v: town_group.get(t, 0) for v, t in zip(villages["village_id"], villages["town_id"])}
        n = len(groups)
        subs = [{"towns": study.towns[study.towns["town_id"].isin(grp.towns)]} for grp in groups]
        for g, part in enumerate(_split_by_village(villages, village_group, n)):
            subs[g]["villages"] = part
        for name in group.inputs[1:]:
            for g, part in enumerate(_split_by_village(getattr(study, name), village_group, n)):
                subs[g][name] = part
        if ptable is not None:
            inputs = [[delayed_parts[u] for u in grp.units] for grp in groups]
        else:
            inputs = [[x] for x in scatter(client, [concat_frames([pieces[u] for u in grp.units])
                                                     for grp in groups])]
        subs = scatter(client, subs)
        import dask  # optional dependency

        task = dask.delayed(_group_task, pure=False)
        results = compute([task(group, inputs[g], subs[g], study.settings, year) for g in range(n)], client)
        seen = set()
        for _, items in results:
            for indicator, village_id, message in items:
                if village_id is None:  # a note about the whole study: once, not once per group
                    if (indicator, message) in seen:
                        continue
                    seen.add((indicator, message))
                notes.add(indicator, message, village_id=village_id)
        return pd.concat([part for part, _ in results])


def compute_indicators_dask(study: Study, year: int | None = None, client=None, scheduler: str | None = None,
                            workers: int | None = None, **settings) -> pd.DataFrame:
    """:func:`villagestudy.compute_indicators` on Dask, for any study.

    Parameters
    ----------
    study : Study or PartitionedStudy
    year : int, optional
        As in ``compute_indicators``.
    client : distributed.Client, optional
        Run on this client.
    scheduler : str, optional
        Else connect to this scheduler address for the call...
    workers : int, optional
        ...or start a LocalCluster of this many worker processes for the call.
        With none of the three, the scheduler in force is used (a default
        client if one exists, else Dask's local threads).
    **settings
        Overrides of study settings, as in ``compute_indicators``.

    Returns
    -------
    DataFrame
        The table of ``compute_indicators``: the same values to floating-point
        rounding, the same dtypes; the same notes in another order, with notes
        about the whole study (no ``village_id``) kept once.

    Examples
    --------
    Starting a cluster takes seconds, so this example is shown, not run (the
    tests in ``tests/test_distributed.py`` run it)::

        import villagestudy as vs
        with open_client(workers=2) as client:
            study = vs.load_study("province")        # validated on the cluster
            table = compute_indicators_dask(study, client=client)
    """
    if client is None and (scheduler is not None or workers is not None):
        with open_client(scheduler, workers) as c:
            return compute_indicators_dask(study, year, client=c, **settings)
    executor = DaskExecutor(client if client is not None else DEFAULT_SCHEDULER, split_in_memory=True)
    return compute_indicators(study, year=year, executor=executor, **settings)
