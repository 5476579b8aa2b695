"""Partitioned studies: tables stored as one GeoParquet file per partition, checked and read on Dask.

``parcels`` (and optionally ``parks`` and ``grids``) may be a *folder*
``parcels.parquet/`` (or ``parcels/``) of GeoParquet files, one per partition,
normally one per town in hive style (``town_id=<id>/part.0.parquet``); plain
files (``part.0.parquet``, ``part.1.parquet``, ...) are accepted too.
:func:`villagestudy.load_study` then returns a :class:`PartitionedStudy`
(this module registers :data:`READER` with :mod:`villagestudy.io`).

Loading checks every partition with the loader's own step
(:func:`villagestudy.io.canonicalise_table`) plus the checks across tables
that a partition allows (stripped leading zeros, unknown ``village_id``, grid
parents within the partition), one Dask task per file, and reports every
problem with the partition file's path relative to the study folder and the
row within that file (first feature = row 1, as for a GeoPackage). It runs on
the current Dask client when there is one (e.g. inside :func:`open_client`),
else on Dask's local threaded scheduler.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import urllib.parse
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pyproj import CRS

from ...errors import Problem, ProblemList, StudyError
from ...io import canonicalise_table, register_partitioned_reader
from ...io.load import FILE_CANDIDATES, drop_row_numbers, warn_missing_data
from ...io.readers import read_geo_table
from ...io.validate import check_grid_parents, check_village_ids, repair_stripped_zeros
from ...schema import TABLES
from ...settings import Settings
from ...study import Study
from .executor import PARTITIONED_TABLES, DaskExecutor, concat_frames

__all__ = ["Partition", "PartitionedTable", "PartitionedStudy", "find_partitioned", "partition_files",
           "open_partitioned", "READER"]


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
    """Read one partition and make it canonical: the loader's step for its table, then its checks across tables.

    Returns ``(frame with the _row column, fixes)``; ``frame`` is None when the
    file cannot be read or is empty. ``known`` (the study's village ids) turns on
    the stripped-zero repair and the unknown-id check; without it the repairs
    found at load time (``part.fixes``) are applied. ``check=False`` leaves out
    the geometry check, which only reports (reads after the load-time validation).
    """
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
    canon, _ = canonicalise_table(raw, spec.table, spec.settings, spec.crs, problems, geometry_checks=check)
    if canon is None:
        return None, ()
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
                check_village_ids(canon, known, part.file, villages_file, problems)
    if known is not None and spec.table == "grids":
        check_grid_parents(canon, part.file, problems, within=" in the same partition")
    return canon, fixes


def _check_partition(part: Partition, spec: _ReadSpec, known: pd.Index | None, villages_file: str) -> _Checked:
    """Validation task of one partition: its problems and what the study needs to know of it."""
    problems = ProblemList()
    digest = _file_digest(part.path)
    frame, fixes = _canonical(part, spec, problems, known=known, villages_file=villages_file)
    if frame is None:
        return _Checked(problems.items, 0, (), digest, (), None, False)
    villages = tuple(str(v) for v in pd.unique(frame["village_id"].dropna())) if "village_id" in frame else ()
    has_geom = isinstance(frame, gpd.GeoDataFrame) and bool(frame.geometry.notna().any())
    return _Checked(problems.items, len(frame), villages, digest, fixes, _empty_like(drop_row_numbers(frame)), has_geom)


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
    frame = drop_row_numbers(frame)
    missing = [c for c in template.columns if c not in frame.columns]
    for c in missing:
        frame[c] = template[c].reindex(frame.index)
    return frame[list(template.columns)]


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
        frame = concat_frames(list(frames))
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

    def village_rows(self, table: str, village_ids: Iterable[str]) -> pd.DataFrame | None:
        """The rows of some villages; a partitioned table reads only the partitions that hold them."""
        if table in self.partitioned:
            return self.partitioned[table].read(village_ids)
        return super().village_rows(table, village_ids)

    @property
    def indicator_executor(self) -> DaskExecutor:
        """How :func:`villagestudy.compute_indicators` runs on this study: on Dask, per group of partitions."""
        return DaskExecutor()

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
        present = pd.unique(np.concatenate([np.asarray(p.villages, dtype=object) for p in out["parcels"].parts]
                                           or [np.zeros(0, dtype=object)]))
        warn_missing_data({"villages": villages, "parcels": pd.DataFrame({"village_id": present})},
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




@dataclass(frozen=True)
class _Reader:
    """What :func:`villagestudy.load_study` uses to read partitioned folders (a :class:`PartitionedReader`)."""

    tables: tuple[str, ...] = PARTITIONED_TABLES

    def find(self, folder: Path, table: str, problems: ProblemList) -> Path | None:
        return find_partitioned(folder, table, problems)

    def open(self, folder, found, tables, files, settings, crs, problems):
        return open_partitioned(folder, found, tables, files, settings, crs, problems)

    def study(self, partitioned: dict, **fields) -> PartitionedStudy:
        return PartitionedStudy(partitioned=partitioned, **fields)


READER = _Reader()
register_partitioned_reader(READER)
