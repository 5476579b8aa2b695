"""Batch reports on a Dask cluster: one task per town.

:func:`run_jobs_on_dask` is what ``villagestudy reports --scheduler ADDRESS``
(``run_reports(..., scheduler=...)``) uses instead of the local process pool;
this module registers it in :data:`villagestudy.reports.batch.SCHEDULER_RUNNERS`.
Everything else of the batch stays where it is: the reusable towns are
skipped before any task is sent, each finished town is recorded (progress bar,
failure count) as it completes, and the index page is written at the end by
:func:`villagestudy.reports.batch.run_reports`.

Each task is :func:`villagestudy.reports.batch.render_town` on one
:class:`~villagestudy.reports.batch.TownJob`, sent by reference: workers need
the villagestudy package (with the report's kernel, ``python3``) and must see
the study folder, the notebook and the output folder at the same paths as
this client (a shared folder).
"""
from __future__ import annotations

import uuid
from typing import Callable

from ...reports.batch import SCHEDULER_RUNNERS, TownJob, TownResult, render_town
from .client import open_client

__all__ = ["run_jobs_on_dask"]


def run_jobs_on_dask(todo: list[TownJob], scheduler: str | None, workers: int | None,
                     record: Callable[[TownResult], None]) -> None:
    """Render ``todo`` on Dask, one task per town, calling ``record`` with each result as it completes.

    Parameters
    ----------
    todo : list of TownJob
        The towns to render (reusable ones already left out).
    scheduler : str or None
        Address of a running scheduler (``tcp://host:8786``); None starts a
        ``LocalCluster`` of ``workers`` processes for the call.
    workers : int or None
        Worker processes of the LocalCluster (default: the number of cores);
        unused with ``scheduler``.
    record : callable
        Called in this process with each :class:`TownResult`, in completion
        order. A town whose task itself failed (its worker died, the function
        could not run there) is recorded as ``failed`` with the error; the other
        towns go on.
    """
    if not todo:
        return
    from distributed import as_completed  # optional dependency

    with open_client(scheduler, workers) as client:
        futures = {}
        for job in todo:
            # a fresh key: a town rendered again (e.g. --force) is a new task, never a cached result
            fut = client.submit(render_town, job, key=f"render_town-{job.safe_name}-{uuid.uuid4().hex[:12]}")
            futures[fut] = job
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                result = fut.result()
            except Exception as e:  # the task failed outside render_town's own error handling
                result = TownResult.worker_failed(job, f"{type(e).__name__}: {e}")
            record(result)
            fut.release()


SCHEDULER_RUNNERS["dask"] = run_jobs_on_dask
