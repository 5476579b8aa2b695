"""Synthetic studies at province scale: parcels as a GeoParquet dataset partitioned by town.

:func:`write_partitioned_study` writes the same study as
:func:`villagestudy.synth.write_synthetic_study` with ``parcel_format="parquet"``
and the same arguments (identical towns, villages, boundaries, parks, grids,
income, governance and, row for row, identical parcels), except that the
parcels are a folder with one GeoParquet file per town::

    parcels.parquet/town_id=<town id>/part.0.parquet

and that the parcels are never all in memory: a first pass draws every
village's parcels only to learn the size of its farmland (the layout of the
county needs it) and keeps one (width, height) pair per village; after the
layout, a second pass draws them again from the same random state, town by
town, and writes each town's file before drawing the next. Peak memory is
that of the largest town plus the small tables, so tens of millions of parcels
can be generated on a laptop (it costs the parcel drawing twice: about 2x the
time of :func:`~villagestudy.synth.write_synthetic_study` for the parcels).

The dataset is written into a temporary folder beside ``parcels.parquet`` and
moved into place at the end, so a failed run never leaves half a dataset.

Examples
--------
>>> import tempfile, pathlib
>>> out = write_partitioned_study(pathlib.Path(tempfile.mkdtemp()) / "s", towns=2, villages_per_town=2,
...                               parcels_per_village=10, years=(2022, 2023))
>>> sorted(p.parent.name for p in (out / "parcels.parquet").glob("town_id=*/part.0.parquet"))[0][:8]
'town_id='
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..schema import LAND_USES
from ..settings import M2_PER_MU
from . import _land, write_synthetic_study

__all__ = ["write_partitioned_study", "PARTITION_FILE"]

PARTITION_FILE = "part.0.parquet"


class _Extents:
    """What the layout needs of the parcels: their count and farmland size per village."""

    def __init__(self, counts: np.ndarray, extent: np.ndarray, household_max: int):
        self.counts = counts
        self.extent = extent
        self.household_max = household_max


class _TownByTownParcels:
    """The ``_parcels`` hook of :func:`write_synthetic_study`: parcels drawn twice, written town by town.

    ``make_parcels`` and ``place_parcels`` consume the random generators exactly
    as :func:`villagestudy.synth._land.make_parcels` and ``place_parcels`` do,
    so every other table of the study is the same as without the hook.
    """

    def __init__(self) -> None:
        self._state = None
        self._args = None
        self._origin = None
        self.rows_written = 0
        self.files: list[Path] = []

    # first pass: extents only
    def make_parcels(self, rng: np.random.Generator, counts, frag, community) -> _Extents:
        # a copy (a dict): the second pass restarts from here
        self._state = (type(rng.bit_generator), rng.bit_generator.state)
        self._args = (np.asarray(counts), np.asarray(frag), np.asarray(community))
        extent = np.zeros((len(counts), 2))
        hh_max = 0
        for i, (k, f, c) in enumerate(zip(counts, frag, community)):
            _, _, household, _, ext = _land._one_village(rng, int(k), float(f), bool(c))
            extent[i] = ext
            hh_max = max(hh_max, int(household.max(initial=0)))
        return _Extents(np.asarray(counts), extent, hh_max)

    def place_parcels(self, parcels: _Extents, inner: np.ndarray, rng: np.random.Generator) -> None:
        # the same draws as _land.place_parcels; the offsets are applied village by village later
        slack = np.maximum(inner[:, 2] - inner[:, 0] - parcels.extent[:, 0], 0.0)
        ox = inner[:, 0] + slack * rng.uniform(0.0, 1.0, len(inner))
        self._origin = np.column_stack([ox, inner[:, 1]])
        return None

    # second pass: draw again, town by town, and write
    def write_parcels(self, out: Path, parcels: _Extents, pbox, vids: np.ndarray, parcel_format: str,
                      crs: str) -> None:
        villages = pd.read_csv(out / "villages.csv", dtype=str, encoding="utf-8-sig")
        town_of = dict(zip(villages["village_id"], villages["town_id"]))
        towns = [town_of[v] for v in vids]
        kind, state = self._state
        rng = np.random.Generator(kind())
        rng.bit_generator.state = state
        counts, frag, community = self._args
        width = max(5, len(str(int(counts.max()))))
        hh_width = max(4, len(str(int(parcels.household_max))))
        final = out / "parcels.parquet"
        tmp_root = Path(tempfile.mkdtemp(prefix=".parcels.parquet.", dir=out))
        try:
            done: set[str] = set()
            v = 0
            while v < len(vids):
                town = towns[v]
                if town in done:
                    raise AssertionError("the villages of a town are not contiguous")  # the generator's order
                end = v
                while end < len(vids) and towns[end] == town:
                    end += 1
                boxes, uses, hhs, socs = [], [], [], []
                for i in range(v, end):
                    b, u, h, s, _ = _land._one_village(rng, int(counts[i]), float(frag[i]), bool(community[i]))
                    ox, oy = self._origin[i]
                    boxes.append(np.round(b + np.array([ox, oy, ox, oy]), 2))
                    uses.append(u)
                    hhs.append(h)
                    socs.append(s)
                frame = _parcel_frame(np.concatenate(boxes), np.concatenate(uses), np.concatenate(hhs),
                                      np.concatenate(socs), counts[v:end], vids[v:end], width, hh_width, crs)
                folder = tmp_root / f"town_id={town}"
                folder.mkdir()
                frame.to_parquet(folder / PARTITION_FILE, index=False)
                (folder / PARTITION_FILE).chmod(0o644)
                self.rows_written += len(frame)
                self.files.append(final / folder.name / PARTITION_FILE)
                done.add(town)
                del frame, boxes, uses, hhs, socs
                v = end
            tmp_root.chmod(0o755)
            if final.is_dir():
                old = out / f".parcels.parquet.old.{tmp_root.name.rsplit('.', 1)[-1]}"
                final.rename(old)
                tmp_root.rename(final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                if final.exists():
                    final.unlink()
                tmp_root.rename(final)
        finally:
            if tmp_root.exists():
                shutil.rmtree(tmp_root, ignore_errors=True)


def _parcel_frame(box: np.ndarray, land_use: np.ndarray, household: np.ndarray, society: np.ndarray,
                  counts: np.ndarray, vids: np.ndarray, width: int, hh_width: int, crs: str) -> gpd.GeoDataFrame:
    """The parcel rows of some villages, exactly as ``synth._write_parcels`` makes them for the whole study."""
    local = np.arange(len(box)) - np.repeat(np.cumsum(counts) - counts, counts)
    village = pd.Series(np.repeat(vids, counts), dtype="str")
    soc = pd.Series(society).astype("str").str.zfill(2)
    hh = (village + soc + pd.Series(household).astype("str").str.zfill(hh_width)).where(household > 0)
    area = np.round((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]) / M2_PER_MU, 4)
    return gpd.GeoDataFrame({
        "parcel_id": village + pd.Series(local + 1).astype("str").str.zfill(width),
        "village_id": village,
        "land_use": pd.Series(np.array(LAND_USES, dtype=object)[land_use], dtype="str"),
        "household_id": hh,
        "owner_id": village + "-" + soc,
        "area": area,
    }, geometry=shapely.box(box[:, 0], box[:, 1], box[:, 2], box[:, 3]), crs=crs)


def write_partitioned_study(out: str | Path, *, towns: int = 4,
                            villages_per_town: int | tuple[int, int] | None = (8, 15),
                            parcels_per_village: int = 150, years: tuple[int, int] | str = (2019, 2023),
                            seed: int = 0, crs: str = "EPSG:4547") -> Path:
    """Write a synthetic study whose parcels are a GeoParquet dataset partitioned by town.

    Parameters are those of :func:`villagestudy.synth.write_synthetic_study`
    (the parcels are always GeoParquet). The study is the one that function
    writes with ``parcel_format="parquet"``, with ``parcels.parquet`` a folder
    of ``town_id=<id>/part.0.parquet`` files instead of one file; a single
    ``parcels.*`` file already in ``out`` is removed.

    Returns
    -------
    Path
        The study folder; open it with :func:`villagestudy.load_study` (the
        parcels are then read lazily with dask-geopandas, see
        :mod:`villagestudy.backends.dask`).
    """
    out = Path(out)
    hook = _TownByTownParcels()
    write_synthetic_study(out, towns=towns, villages_per_town=villages_per_town,
                          parcels_per_village=parcels_per_village, years=years, seed=seed,
                          parcel_format="parquet", crs=crs, _parcels=hook)
    return out
