"""Province-scale studies on Dask: partitioned tables, indicators per partition, a client.

A county study fits in memory; a provincial one (tens of millions of parcels,
thousands of towns) does not. This module lets the same study run on a Dask
cluster the user already has (or on a :class:`distributed.LocalCluster`), with
the same results. It builds no scheduler of its own: every parallel step is a
Dask graph computed by whatever scheduler is in force.

Partitioned tables
------------------
``parcels`` (and optionally ``parks`` and ``grids``) may be a *folder*
``parcels.parquet/`` (or ``parcels/``) of GeoParquet files, one per partition,
normally one per town in hive style (``town_id=<id>/part.0.parquet``); plain
files (``part.0.parquet``, ``part.1.parquet``, ...) are accepted too.
:func:`villagestudy.load_study` then returns a :class:`PartitionedStudy`:

* ``study.parcels`` is ``None`` (so that no in-memory code silently receives a
  lazy frame) and ``study.partitioned["parcels"]`` is a :class:`PartitionedTable`
  whose ``.frame`` is a lazy ``dask_geopandas.GeoDataFrame`` with one partition
  per file, already in canonical form (the same columns, units and CRS as the
  in-memory ``Study.parcels``);
* ``study.for_towns(ids)`` and ``study.to_memory()`` return ordinary in-memory
  :class:`~villagestudy.study.Study` objects (reading only the partitions they need);
* ``study.has("parcels")``, ``summary()`` and ``fingerprint`` account for the
  partitioned tables (the fingerprint hashes each partition file's bytes).

Loading validates every partition with the same checks as an ordinary table
(``canonical_table``, ``check_geometry``, stripped leading zeros, unknown
``village_id``) in one Dask task per file, and reports every problem with the
partition file's path relative to the study folder and the row within that file
(first feature = row 1, as for a GeoPackage). It runs on the current Dask
client when there is one (e.g. inside :func:`open_client`), else on Dask's
local threaded scheduler. Ordinary studies are loaded exactly as before.

Indicators
----------
:func:`villagestudy.compute_indicators` on a :class:`PartitionedStudy` runs the
pillar functions whose table is partitioned (land on ``parcels``, parks on
``parks``, governance on ``grids``) once per group of partitions on Dask:
villages never cross a town, so contiguous blocks are local to a partition.
Partitions that share villages (plain files cut across towns) are grouped so
that every village is computed whole. The other pillars (one row per village)
run on the client. :func:`compute_indicators_dask` does the same for any
study, in-memory ones included (their parcels are split by town), on a given
client, scheduler address or new LocalCluster. The table is the in-memory
result (same values to floating-point rounding, same dtypes); its notes are
the same set, in another order, with notes about the whole study (no
``village_id``) kept once.

Reports
-------
:func:`villagestudy.reports.dask_runner.run_jobs_on_dask` sends one task per
town (``render_town``) to a cluster; see ``villagestudy reports --scheduler``.

Workers need the ``villagestudy`` package (same version) and must see the study
folder at the same path (a shared folder): partition paths are absolute.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import logging
import os
import urllib.parse
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import Problem, ProblemList, StudyError, UsageError
from .io.readers import ROW
from .schema import TABLES
from .settings import Settings
from .study import Study

__all__ = [
    "PARTITIONED_TABLES", "Partition", "PartitionedTable", "PartitionedStudy", "find_partitioned",
    "partition_files", "open_partitioned", "compute_indicators_dask", "open_client", "dask_pillars",
]

PARTITIONED_TABLES = ("parcels", "parks", "grids")
"""Tables that may be a partitioned GeoParquet folder."""

# pillar function -> (its partitioned table, the in-memory tables it also reads besides villages)
_PILLAR_INPUTS = {
    "land_indicators": ("parcels", ()),
    "park_indicators": ("parks", ()),
    "governance_indicators": ("grids", ("governance",)),
}
_DEFAULT = object()  # "the scheduler in force": a global client if any, else Dask's local threads
_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("villagestudy_dask_run", default=None)


# ------------------------------------------------------------------ discovery
def find_partitioned(folder: Path, table: str, problems: ProblemList | None = None) -> Path | None:
    """The partitioned folder of ``table`` in a study folder (``parcels.parquet/`` or ``parcels/``), or None.

    A single file for the same table beside the folder is ignored with a warning.
    """
    if table not in PARTITIONED_TABLES:
        return None
    for name in (f"{table}.parquet", table):
        root = Path(folder) / name
        if root.is_dir():
            if problems is not None:
                from .io.load import FILE_CANDIDATES

                others = [n for n, _ in FILE_CANDIDATES[table] if (Path(folder) / n).is_file()]
                if others:
                    problems.warning(f"{name}/", f"several files for table '{table}' ({', '.join(others)} and "
                                     f"the partitioned folder {name}/); using {name}/")
            return root
    return None


def partition_files(root: Path) -> list[Path]:
    """The ``.parquet`` files of a partitioned folder, sorted; hidden and ``_``-files are skipped."""
    root = Path(root)
    out = []
    for path in root.rglob("*.parquet"):
        rel = path.relative_to(root)
        if any(p.startswith((".", "_")) for p in rel.parts) or not path.is_file():
            continue
        out.append(path)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def _hive_town(rel: Path) -> str | None:
    for part in rel.parts[:-1]:
        key, sep, value = part.partition("=")
        if sep and key == "town_id":
            return urllib.parse.unquote(value)
    return None


@dataclass(frozen=True)
class Partition:
    """One file of a partitioned table, as found when the study was loaded."""

    path: str                      # absolute path (workers must see the same path)
    file: str                      # path relative to the study folder, as problems name it
    town_id: str | None = None     # from a hive folder ``town_id=<id>``
    rows: int = 0
    villages: tuple[str, ...] = ()
    sha256: str = ""
    fixes: tuple[tuple[str, str], ...] = ()  # village ids whose stripped leading zeros were restored
    has_geometry: bool = False


@dataclass(frozen=True)
class _ReadSpec:
    table: str
    settings: Settings
    crs: str | None


@dataclass
class _Checked:
    problems: list[Problem]
    rows: int
    villages: tuple[str, ...]
    sha256: str
    fixes: tuple[tuple[str, str], ...]
    meta: pd.DataFrame | None
    has_geometry: bool


# ------------------------------------------------------------- one partition
def _file_digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _canonical(part: Partition, spec: _ReadSpec, problems: ProblemList, known: pd.Index | None = None,
               villages_file: str = "villages.csv", check: bool = True):
    """Read one partition and make it canonical with the checks of ``load_study``.

    Returns ``(frame with the _row column, fixes)``; ``frame`` is None when the
    file cannot be read or is empty. ``known`` (the study's village ids) turns on
    the stripped-zero repair and the unknown-id check; without it the repairs
    found at load time (``part.fixes``) are applied. ``check=False`` leaves out
    the geometry check, which only reports (reads after the load-time validation).
    """
    from .io.load import _fill_areas_from_geometry, _geo_to_study_crs
    from .io.readers import read_geo_table
    from .validate import _unknown, canonical_table, check_geometry, repair_stripped_zeros

    path = Path(part.path)
    inner = ProblemList()
    raw = read_geo_table(path, None, inner)
    problems.extend(dataclasses.replace(p, file=part.file) if p.file == path.name else p for p in inner.items)
    if raw is None:
        return None, ()
    raw.file = part.file
    if len(raw.frame) == 0:
        problems.warning(part.file, "the partition has no rows; skipped")
        return None, ()
    table = TABLES[spec.table]
    is_geo = isinstance(raw.frame, gpd.GeoDataFrame)
    if is_geo:
        raw.frame, _ = _geo_to_study_crs(raw.frame, part.file, spec.crs, problems)
    canon = canonical_table(raw, table, spec.settings, problems)
    if canon is None:
        return None, ()
    if is_geo:
        if check:
            check_geometry(canon, table.key[0], part.file, problems)
        canon = _fill_areas_from_geometry(canon, spec.table)
    if spec.table == "parcels" and "area_mu" not in canon:
        problems.error(part.file, "parcels without geometry need an area column", column="area",
                       expected="a column 'area' (or 面积(亩))")
    fixes = tuple(part.fixes)
    if "village_id" in canon:
        if fixes:
            canon["village_id"] = canon["village_id"].replace(dict(fixes))
        elif known is not None:
            ids = canon["village_id"]
            uniq = pd.unique(ids.dropna())
            if (known.get_indexer(uniq) < 0).any():  # (hashes the distinct ids: isin(known) scans all of known)
                before = ids.copy()
                repair_stripped_zeros({spec.table: canon, "villages": pd.DataFrame({"village_id": known})},
                                      {spec.table: part.file, "villages": villages_file}, problems)
                after = canon["village_id"]
                changed = before.notna() & before.ne(after)
                fixes = tuple(sorted(set(zip(before[changed].astype(str), after[changed].astype(str)))))
                _unknown(canon, "village_id", known, part.file, "a village_id listed in " + villages_file, problems)
    if known is not None and spec.table == "grids" and {"parent_grid_id", "level", "grid_id"} <= set(canon.columns):
        parents = set(canon.loc[canon["level"] == "grid", "grid_id"])
        micro = canon[(canon["level"] == "micro") & canon["parent_grid_id"].notna()]
        _unknown(micro, "parent_grid_id", parents, part.file, "the grid_id of a grid (level = grid) "
                 "in the same partition", problems)
    return canon, fixes


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the row numbers, as ``load_study`` does at the end."""
    out = frame.drop(columns=[ROW])
    if isinstance(frame, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs)
    return out


def _check_partition(part: Partition, spec: _ReadSpec, known: pd.Index | None, villages_file: str) -> _Checked:
    """Validation task of one partition: its problems and what the study needs to know of it."""
    problems = ProblemList()
    digest = _file_digest(part.path)
    frame, fixes = _canonical(part, spec, problems, known=known, villages_file=villages_file)
    if frame is None:
        return _Checked(problems.items, 0, (), digest, (), None, False)
    villages = tuple(str(v) for v in pd.unique(frame["village_id"].dropna())) if "village_id" in frame else ()
    has_geom = isinstance(frame, gpd.GeoDataFrame) and bool(frame.geometry.notna().any())
    return _Checked(problems.items, len(frame), villages, digest, fixes, _empty_like(_finish(frame)), has_geom)


def _empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    """An empty frame with the columns and dtypes of ``frame`` that holds no reference to its data.

    (``frame.iloc[:0]`` is a view: kept as a task's result it would keep the whole partition alive.)
    """
    empty = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in frame.dtypes.items()})
    if isinstance(frame, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(empty, geometry=frame.geometry.name, crs=frame.crs)
    return empty


def _read_partition(part: Partition, spec: _ReadSpec, template: pd.DataFrame) -> pd.DataFrame:
    """One canonical partition (the reader of the lazy frame); conformed to ``template``'s columns."""
    problems = ProblemList()
    frame, _ = _canonical(part, spec, problems, check=False)
    if problems.errors:  # validated at load time: the file has changed since
        raise StudyError(problems.errors + [Problem(part.file, "the partition has changed since the study "
                                                    "was loaded; load it again")])
    if frame is None:
        return template.copy()
    frame = _finish(frame)
    missing = [c for c in template.columns if c not in frame.columns]
    for c in missing:
        frame[c] = template[c].reindex(frame.index)
    return frame[list(template.columns)]


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame | None:
    frames = [f for f in frames if f is not None]
    if not frames:
        return None
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------ tables
@dataclass
class PartitionedTable:
    """A table stored as one GeoParquet file per partition, read lazily.

    Attributes
    ----------
    table : str
        ``parcels``, ``parks`` or ``grids``.
    root : Path
        The partitioned folder.
    parts : list of Partition
        The non-empty partition files, sorted by path, with their row counts,
        village ids and content hashes found when the study was loaded.
    meta : DataFrame
        An empty frame with the canonical columns and dtypes.
    """

    table: str
    root: Path
    parts: list[Partition]
    spec: _ReadSpec
    meta: pd.DataFrame

    @property
    def rows(self) -> int:
        return int(sum(p.rows for p in self.parts))

    @property
    def npartitions(self) -> int:
        return len(self.parts)

    @cached_property
    def frame(self):
        """The lazy canonical table: a ``dask_geopandas.GeoDataFrame``, one partition per file."""
        import dask.dataframe as dd
        import dask_geopandas  # noqa: F401  (registers the GeoDataFrame collection)

        return dd.from_map(_read_partition, self.parts, spec=self.spec, template=self.meta, meta=self.meta,
                           label=f"villagestudy-{self.table}", enforce_metadata=False)

    def __getstate__(self) -> dict:  # e.g. a study pickled for reports: the lazy frame is rebuilt on demand
        state = dict(self.__dict__)
        state.pop("frame", None)
        return state

    def read_partition(self, i: int) -> pd.DataFrame:
        """Partition ``i`` as an in-memory canonical frame."""
        return _read_partition(self.parts[i], self.spec, self.meta)

    def read(self, villages: Iterable[str] | None = None) -> pd.DataFrame:
        """The rows of some villages (default all) in memory, reading only the partitions that hold them."""
        import dask

        keep = None if villages is None else set(villages)
        idx = [i for i, p in enumerate(self.parts) if keep is None or not keep.isdisjoint(p.villages)]
        frames = dask.compute(*[dask.delayed(_read_partition)(self.parts[i], self.spec, self.meta) for i in idx])
        frame = _concat(list(frames))
        if frame is None:
            return self.meta.copy()
        if keep is not None:
            frame = frame[frame["village_id"].isin(keep)]
        return frame.reset_index(drop=True)


# ------------------------------------------------------------------ study
@dataclass(repr=False, eq=False)
class PartitionedStudy(Study):
    """A study some of whose tables are partitioned folders (see the module docs).

    ``partitioned`` maps a table name to its :class:`PartitionedTable`; the
    study's attribute of that name (e.g. ``parcels``) is None. Everything else
    is an ordinary in-memory :class:`~villagestudy.study.Study`.
    """

    partitioned: dict[str, PartitionedTable] = field(default_factory=dict)

    def has(self, table: str) -> bool:
        if table in self.partitioned:
            return self.partitioned[table].rows > 0
        return super().has(table)

    def has_geometry(self, table: str) -> bool:
        if table in self.partitioned:
            return any(p.has_geometry for p in self.partitioned[table].parts)
        return super().has_geometry(table)

    def for_towns(self, town_ids: Iterable[str] | str) -> Study:
        """An in-memory :class:`Study` of some towns (only their partitions are read)."""
        sub = Study.for_towns(self, town_ids)
        keep = set(sub.villages["village_id"])
        values = {f.name: getattr(sub, f.name) for f in dataclasses.fields(Study) if f.init}
        for name, table in self.partitioned.items():
            values[name] = table.read(keep)
        values["_fingerprint"] = None
        return Study(**values)

    def to_memory(self) -> Study:
        """The whole study in memory (an ordinary :class:`Study`); only for studies that fit."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(Study) if f.init}
        for name, table in self.partitioned.items():
            values[name] = table.read()
        values["_fingerprint"] = None
        return Study(**values)

    @property
    def fingerprint(self) -> str:
        """Hash of the in-memory tables and settings, and of every partition file's bytes."""
        if self._fingerprint is None:
            base = Study.fingerprint.fget(self)
            h = hashlib.sha256(base.encode())
            for name in sorted(self.partitioned):
                h.update(name.encode())
                for p in self.partitioned[name].parts:
                    h.update(f"\0{p.file}\0{p.sha256}\0{p.fixes!r}".encode())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def summary(self) -> dict:
        s = super().summary()
        if "parcels" in self.partitioned:
            s["parcels"] = self.partitioned["parcels"].rows
        s["partitions"] = {name: t.npartitions for name, t in self.partitioned.items()}
        return s


def _dataset_crs(path: Path) -> str | None:
    """The projected CRS of a GeoParquet file from its metadata (None when absent or geographic)."""
    import json

    import pyarrow.parquet as pq
    from pyproj import CRS

    try:
        meta = pq.read_schema(path).metadata or {}
        geo = json.loads(meta[b"geo"])
        col = geo["columns"][geo.get("primary_column", "geometry")]
        crs = CRS.from_user_input(col.get("crs", "OGC:CRS84"))
    except Exception:
        return None
    return crs.to_string() if crs.is_projected else None


def open_partitioned(folder: Path, found: dict[str, Path], tables: dict[str, pd.DataFrame], files: dict[str, str],
                     settings: Settings, crs: str | None, problems: ProblemList
                     ) -> tuple[dict[str, PartitionedTable], str | None]:
    """Validate the partitioned tables of a study being loaded (one Dask task per file).

    Called by :func:`villagestudy.load_study` after the in-memory tables are
    canonical (``tables`` still carry their ``_row`` column). Appends every
    problem to ``problems``, records each table's source in ``files`` and
    returns the tables and the study CRS (taken from the first partition when
    neither ``study.toml`` nor an in-memory layer set it).
    """
    import dask

    folder = Path(folder)
    villages = tables.get("villages")
    known = None
    if villages is not None and "village_id" in villages:
        known = pd.Index(villages["village_id"].dropna().unique())
    villages_file = files.get("villages", "villages.csv")
    listing: dict[str, list[Partition]] = {}
    for name, root in found.items():
        label = f"{root.name}/"
        files[name] = label
        paths = partition_files(root)
        if not paths:
            problems.error(label, "the partitioned folder holds no .parquet file",
                           expected="one GeoParquet file per partition, e.g. town_id=<id>/part.0.parquet")
            continue
        listing[name] = [Partition(str(p.resolve()), p.relative_to(folder).as_posix(),
                                   _hive_town(p.relative_to(root))) for p in paths]
    if crs is None:
        for parts in listing.values():
            crs = _dataset_crs(Path(parts[0].path))
            if crs:
                break
    specs = {name: _ReadSpec(name, settings.replace(crs=crs), crs) for name in listing}
    known_d = dask.delayed(known, pure=True) if known is not None else None
    tasks = [dask.delayed(_check_partition, pure=True)(part, specs[name], known_d, villages_file)
             for name, parts in listing.items() for part in parts]
    checked = iter(dask.compute(*tasks))
    out: dict[str, PartitionedTable] = {}
    for name, parts in listing.items():
        kept, metas = [], []
        n_errors = len(problems.errors)
        for part in parts:
            res = next(checked)
            problems.extend(res.problems)
            if res.rows:
                kept.append(dataclasses.replace(part, rows=res.rows, villages=res.villages, sha256=res.sha256,
                                                fixes=res.fixes, has_geometry=res.has_geometry))
                metas.append(res.meta)
        if not kept and len(problems.errors) == n_errors:
            problems.error(files[name], "the table has no data rows",
                           expected=f"one row per {TABLES[name].key[0].removesuffix('_id')}")
        meta = _union_meta(metas)
        out[name] = PartitionedTable(name, found[name], kept, specs[name], meta)
    if "parcels" in out and villages is not None and "village_id" in villages:
        from .io.load import _warn_missing_data

        present = pd.unique(np.concatenate([np.asarray(p.villages, dtype=object) for p in out["parcels"].parts]
                                           or [np.zeros(0, dtype=object)]))
        _warn_missing_data({"villages": villages, "parcels": pd.DataFrame({"village_id": present})},
                           {"parcels": files["parcels"]}, problems)
    return out, crs


def _union_meta(metas: list[pd.DataFrame]) -> pd.DataFrame:
    if not metas:
        return pd.DataFrame()
    meta = metas[0]
    extra = {}
    for m in metas[1:]:
        for c in m.columns:
            if c not in meta.columns and c not in extra:
                extra[c] = m[c]
    for c, s in extra.items():
        meta[c] = s
    return meta


# ------------------------------------------------------------------ client
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
    except ImportError as e:  # pragma: no cover - optional dependency
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
    """This package's version on a worker; imports what the tasks need (a check, and a warm-up)."""
    from . import validate  # noqa: F401  (pandera, the readers)
    from ._version import __version__
    from .metrics import land  # noqa: F401  (geopandas, shapely, scipy)

    return __version__


def _check_workers(client) -> None:
    from ._version import __version__

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


def _scatter(client, items: list):
    if client is None or client is _DEFAULT or not hasattr(client, "scatter"):
        return items
    # unique keys: with content hashing, equal inputs of two pillars share a key that the
    # first pillar may already be releasing ("computation on lost data")
    return client.scatter(items, hash=False)


def _compute(tasks: list, client) -> list:
    import dask

    if client is None or client is _DEFAULT:
        return list(dask.compute(*tasks))
    return client.gather(client.compute(tasks))


# ------------------------------------------------------------ indicators
@dataclass
class _Group:
    towns: list[str]
    units: list[int]


def _plan_groups(villages: pd.DataFrame, unit_villages: list[Iterable[str]]) -> list[_Group]:
    """Groups of towns computed together: towns joined by a unit (a partition) that holds villages of both.

    Towns whose villages are in no unit join the first group (so that their
    villages get the same "no rows" notes as in memory).
    """
    town_of = dict(zip(villages["village_id"], villages["town_id"]))
    towns = list(dict.fromkeys(villages["town_id"]))
    index = {t: i for i, t in enumerate(towns)}
    parent = list(range(len(towns)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    unit_town: list[int | None] = []
    for vids in unit_villages:
        ts = sorted({index[town_of[v]] for v in vids if v in town_of})
        unit_town.append(ts[0] if ts else None)
        for t in ts[1:]:
            a, b = find(ts[0]), find(t)
            if a != b:
                parent[max(a, b)] = min(a, b)
    by_root: dict[int, _Group] = {}
    orphan_units = []
    for u, t in enumerate(unit_town):
        if t is None:
            orphan_units.append(u)
            continue
        root = find(t)
        by_root.setdefault(root, _Group([], [])).units.append(u)
    groups = sorted(by_root.items(), key=lambda kv: kv[1].units[0])
    if not groups:
        return [_Group(towns, orphan_units)] if towns or orphan_units else []
    first = groups[0][1]
    first.units.extend(orphan_units)
    lookup = dict(groups)
    for i, t in enumerate(towns):
        lookup.get(find(i), first).towns.append(t)
    return [g for _, g in groups]


def _split_by_village(frame: pd.DataFrame | None, village_group: dict, n: int) -> list:
    if frame is None:
        return [None] * n
    codes = frame["village_id"].map(village_group)
    parts = {int(g): sub for g, sub in frame.groupby(codes, sort=False)}
    return [parts.get(i, frame.iloc[:0]) for i in range(n)]


def _pillar_task(fn: Callable, table: str, frames: list, sub: dict, settings: Settings, year: int | None):
    """One pillar function on the study of one group of towns (runs on a worker)."""
    from .metrics._common import Notes

    sub = dict(sub)
    study = Study(towns=sub.pop("towns"), villages=sub.pop("villages"), settings=settings,
                  **{table: _concat(frames)}, **sub)
    notes = Notes()
    part = fn(study, year=year, notes=notes)
    return part, list(notes.items)


class _PerPartition:
    """A pillar function run per partition group on Dask, with the pillar's signature."""

    def __init__(self, fn: Callable, table: str, extra: tuple[str, ...], client):
        self.fn, self.table, self.extra, self.client = fn, table, extra, client
        self.__name__ = getattr(fn, "__name__", "pillar")

    def __call__(self, study: Study, year: int | None = None, notes=None) -> pd.DataFrame:
        from .metrics._common import Notes

        notes = notes if notes is not None else Notes()
        client = self.client
        villages = study.villages
        ptable = getattr(study, "partitioned", {}).get(self.table)
        if ptable is not None:
            units = [p.villages for p in ptable.parts]
            delayed_parts = ptable.frame.to_delayed() if units else []
        else:
            frame = getattr(study, self.table)
            if frame is None or len(frame) == 0 or "village_id" not in frame:
                return self.fn(study, year=year, notes=notes)  # nothing to split
            town = frame["village_id"].map(dict(zip(villages["village_id"], villages["town_id"])))
            pieces = [sub for _, sub in frame.groupby(town, sort=False)]
            lost = frame[town.isna()]
            if len(lost) and pieces:  # rows of no known village: with the first town, as in memory
                pieces[0] = pd.concat([pieces[0], lost])
            units = [p["village_id"].unique() for p in pieces]
        groups = _plan_groups(villages, units)
        if not groups:
            return self.fn(study, year=year, notes=notes)
        village_group = {}
        town_group = {t: g for g, grp in enumerate(groups) for t in grp.towns}
        for v, t in zip(villages["village_id"], villages["town_id"]):
            village_group[v] = town_group.get(t, 0)
        n = len(groups)
        subs = [{"towns": None, "villages": None} for _ in range(n)]
        for g, part in enumerate(_split_by_village(villages, village_group, n)):
            subs[g]["villages"] = part
        towns = study.towns
        for g, grp in enumerate(groups):
            subs[g]["towns"] = towns[towns["town_id"].isin(grp.towns)]
        for name in self.extra:
            for g, part in enumerate(_split_by_village(getattr(study, name), village_group, n)):
                subs[g][name] = part
        if ptable is not None:
            inputs = [[delayed_parts[u] for u in grp.units] for grp in groups]
        else:
            inputs = _scatter(client, [_concat([pieces[u] for u in grp.units]) for grp in groups])
            inputs = [[x] for x in inputs]
        subs = _scatter(client, subs)
        import dask

        task = dask.delayed(_pillar_task, pure=False)
        tasks = [task(self.fn, self.table, inputs[g], subs[g], study.settings, year) for g in range(n)]
        results = _compute(tasks, client)
        seen = set()
        for _, items in results:
            for indicator, village_id, message in items:
                if village_id is None:  # a note about the whole study: once, not once per group
                    if (indicator, message) in seen:
                        continue
                    seen.add((indicator, message))
                notes.add(indicator, message, village_id=village_id)
        return pd.concat([part for part, _ in results])


def dask_pillars(study: Study, fns: list[Callable]) -> list[Callable]:
    """The hook of :func:`villagestudy.metrics.compute_indicators`: pillar functions for this study.

    Unchanged for an ordinary study outside :func:`compute_indicators_dask`.
    Otherwise each pillar whose table is partitioned (and, inside
    :func:`compute_indicators_dask`, the land pillar of an in-memory study) is
    replaced by the same function run per partition group on Dask.
    """
    partitioned = getattr(study, "partitioned", None) or {}
    client = _ACTIVE.get()
    if not partitioned and client is None:
        return fns
    out = []
    for fn in fns:
        table, extra = _PILLAR_INPUTS.get(getattr(fn, "__name__", ""), (None, ()))
        if table is not None and (table in partitioned or (client is not None and table == "parcels")):
            out.append(_PerPartition(fn, table, extra, client if client is not None else _DEFAULT))
        else:
            out.append(fn)
    return out


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
        The table of ``compute_indicators`` (see the module docs for the notes).

    Examples
    --------
    Starting a cluster takes seconds, so this example is shown, not run (the
    tests in ``tests/test_distributed.py`` run it)::

        import villagestudy as vs
        with open_client(workers=2) as client:
            study = vs.load_study("province")        # validated on the cluster
            table = compute_indicators_dask(study, client=client)
    """
    from .metrics import compute_indicators

    if client is None and (scheduler is not None or workers is not None):
        with open_client(scheduler, workers) as c:
            return compute_indicators_dask(study, year, client=c, **settings)
    token = _ACTIVE.set(client if client is not None else _DEFAULT)
    try:
        return compute_indicators(study, year=year, **settings)
    finally:
        _ACTIVE.reset(token)
