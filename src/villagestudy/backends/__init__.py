"""Executors that run the same study code elsewhere; importing one registers it.

:mod:`villagestudy.backends.dask` registers its reader of partitioned folders
with :func:`villagestudy.io.register_partitioned_reader` and its report runner
in :data:`villagestudy.reports.batch.SCHEDULER_RUNNERS`.
"""
from . import dask

__all__ = ["dask"]
