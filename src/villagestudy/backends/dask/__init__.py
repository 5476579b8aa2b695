"""Province-scale studies on Dask: the same loader steps and indicator groups, executed on a cluster.

A county study fits in memory; a provincial one (tens of millions of parcels,
thousands of towns) does not. This backend runs the same study code on a Dask
cluster the user already has (or on a :class:`distributed.LocalCluster`), with
the same results. It builds no scheduler of its own: every parallel step is a
Dask graph computed by whatever scheduler is in force. Dask itself is imported
only when a step runs (``pip install 'villagestudy[dask]'``).

* :mod:`.partitioned` - tables stored as one GeoParquet file per partition:
  :func:`villagestudy.load_study` returns a :class:`PartitionedStudy` whose
  partitioned tables are lazy (``study.parcels`` is None, so that no in-memory
  code silently receives a lazy frame; ``study.partitioned["parcels"].frame``
  is a ``dask_geopandas.GeoDataFrame``); ``study.for_towns(ids)``,
  ``study.to_memory()`` and ``study.village_rows(table, ids)`` read only the
  partitions they need (the maps use the last). Each partition goes through the
  loader's own :func:`villagestudy.io.canonicalise_table`.
* :mod:`.executor` - :class:`DaskExecutor` runs the indicator groups of
  :data:`villagestudy.metrics.INDICATOR_GROUPS` once per group of towns;
  :func:`compute_indicators_dask` does so for any study, in-memory ones
  included (their parcels split by town).
* :mod:`.client` - :func:`open_client`: a client on a scheduler address or a
  new LocalCluster, checking the workers' villagestudy version.
* :mod:`.reports` - :func:`run_jobs_on_dask`: one report task per town
  (``villagestudy reports --scheduler``).

Workers need the ``villagestudy`` package (same version) and must see the study
folder at the same path (a shared folder): partition paths are absolute.
"""
from .client import open_client
from .executor import PARTITIONED_TABLES, DaskExecutor, compute_indicators_dask, plan_groups
from .partitioned import (READER, Partition, PartitionedStudy, PartitionedTable, find_partitioned, open_partitioned,
                          partition_files)
from .reports import run_jobs_on_dask

__all__ = [
    "PARTITIONED_TABLES", "Partition", "PartitionedTable", "PartitionedStudy", "find_partitioned",
    "partition_files", "open_partitioned", "compute_indicators_dask", "open_client", "DaskExecutor",
    "plan_groups", "run_jobs_on_dask", "READER",
]
