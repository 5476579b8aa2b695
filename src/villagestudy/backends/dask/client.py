"""The Dask client: open one, check its workers, and send work to the scheduler in force."""
from __future__ import annotations

import contextlib
import logging
import os
import warnings
from typing import Iterator

from ..._version import __version__
from ...errors import UsageError

__all__ = ["open_client", "DEFAULT_SCHEDULER"]

DEFAULT_SCHEDULER = object()
"""The scheduler in force: Dask's default client if there is one, else Dask's local threads."""


@contextlib.contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None, **cluster_options) -> Iterator:
    """A ``distributed.Client`` for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``), or a cluster
        object. The client checks that the workers can import this version of
        villagestudy, and closes only itself at the end.
    workers : int, optional
        Without ``scheduler``: start a ``LocalCluster`` of this many worker
        processes (default: the number of cores), one thread each, and close it
        at the end.
    **cluster_options
        More ``LocalCluster`` options (e.g. ``memory_limit="4GB"``).

    While the block runs the client is Dask's default, so ``load_study`` and
    ``compute_indicators`` on a partitioned study use it too.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:  # optional dependency
        raise UsageError("Dask is not installed: pip install 'villagestudy[dask]'") from e
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as e:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        try:
            _check_workers(client)
            yield client
        finally:
            client.close()
        return
    options = {"n_workers": workers or os.cpu_count() or 1, "threads_per_worker": 1, "processes": True,
               "dashboard_address": None, "silence_logs": logging.ERROR}
    options.update(cluster_options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "Port 8787 is already in use"
        cluster = LocalCluster(**options)
    try:
        with Client(cluster) as client:
            client.run(_worker_version)  # the imports of the tasks, on every worker at once
            yield client
    finally:
        cluster.close()


def _worker_version() -> str:
    """This package's version on a worker.

    Unpickling this function imports villagestudy there, with everything the
    tasks import: a check, and a warm-up.
    """
    return __version__


def _check_workers(client) -> None:
    try:
        client.wait_for_workers(1, timeout=60)
        versions = client.run(_worker_version)
    except Exception as e:
        raise UsageError(f"the Dask workers cannot run villagestudy ({type(e).__name__}: {e}); install "
                         f"villagestudy {__version__} on every worker") from None
    other = sorted({v for v in versions.values() if v != __version__})
    if other:
        warnings.warn(f"some Dask workers run villagestudy {', '.join(other)}, this client {__version__}",
                      stacklevel=3)


def scatter(client, items: list):
    """``items`` sent to the workers ahead of the tasks (as they are, on the default scheduler)."""
    if client is None or client is DEFAULT_SCHEDULER or not hasattr(client, "scatter"):
        return items
    # unique keys: with content hashing, equal inputs of two groups share a key that the
    # first group may already be releasing ("computation on lost data")
    return client.scatter(items, hash=False)


def compute(tasks: list, client) -> list:
    """The results of Dask ``tasks`` on ``client`` (or the scheduler in force)."""
    import dask

    if client is None or client is DEFAULT_SCHEDULER:
        return list(dask.compute(*tasks))
    return client.gather(client.compute(tasks))
