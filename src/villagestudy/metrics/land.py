"""Land fragmentation indicators per village (土地碎片化).

Farmland is the parcels whose ``land_use`` is in ``settings.farmland_uses``
(default ``["arable"]``); areas are ``area_mu`` (mu, 1 mu = 666.67 m2).

Table indicators (need only the parcel table):
``parcel_count``, ``farmland_area_mu``, ``mean_parcel_area_mu``, and, with
``household_id``, ``parcels_per_household``, ``simpson_index``,
``januszewski_index``.

Geometric indicators (need parcel polygons in a projected CRS in metres):
``block_count``, ``effective_mesh_size_mu``, ``effective_mesh_ratio``,
``contiguous_share``, ``shape_index_am``, ``owners_per_block_am`` and
``owner_mesh_ratio`` (the last two also need ``owner_id``).

Size-free and monotone: ``effective_mesh_ratio`` (mesh size / farmland area)
and ``owner_mesh_ratio`` (the same over single-owner pieces of blocks) do not
grow with the village's farmland area, and splitting a block (or giving part
of a block to another owner) can only lower them. ``owners_per_block_am`` is
kept as a description but is not monotone: splitting a two-owner block into
two one-owner blocks lowers it, so the index does not score it.
Blocks are found by :func:`villagestudy.metrics.blocks.find_blocks`.

Rules for awkward data (the same in every function)
---------------------------------------------------
* Every pure function returns a float Series indexed by ``village_id`` (every
  village that has at least one parcel, of any land use, sorted by id) and
  named with the indicator id.
* A village with parcels but no farmland gets 0 for the counts and sums
  (``parcel_count``, ``farmland_area_mu``, ``block_count``) and NaN for every
  ratio, with a note. Never inf.
* Farmland parcels whose ``area_mu`` is missing, zero or negative are left out
  of every land indicator (a parcel has an area: these are register errors),
  with a note giving their number per village. So ``parcel_count`` counts
  parcels of positive area.
* Parcels without ``household_id`` are left out of the household indicators
  (note); without the column those indicators are NaN (note).
* Geometric indicators use the farmland parcels that have a geometry; parcels
  without one are left out (note); without any geometry the indicators are
  NaN (note). Block areas are sums of ``area_mu``, so their reference area is
  the village's farmland area (of parcels with a geometry).
* A geographic CRS (degrees) raises ``ValueError`` naming the CRS in the pure
  functions; :func:`land_indicators` turns it into NaN with a note.
* Parcels without ``village_id`` are left out (note).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

import numpy as np
import pandas as pd
import shapely

from .. import catalog
from ..settings import Settings
from ._common import Notes, note as _note
from .blocks import _block_labels, check_projected, distinct_count, geometry_array

__all__ = [
    "LAND_INDICATORS", "GEOMETRIC_INDICATORS", "HOUSEHOLD_INDICATORS",
    "parcel_count", "farmland_area_mu", "mean_parcel_area_mu", "parcels_per_household",
    "simpson_index", "januszewski_index", "household_fragmentation",
    "block_count", "effective_mesh_size_mu", "effective_mesh_ratio", "contiguous_share", "shape_index_am",
    "owners_per_block_am", "owner_mesh_ratio", "land_indicators",
]

LAND_INDICATORS = ("parcel_count", "farmland_area_mu", "mean_parcel_area_mu", "parcels_per_household",
                   "simpson_index", "januszewski_index", "block_count", "effective_mesh_size_mu",
                   "effective_mesh_ratio", "contiguous_share", "shape_index_am", "owners_per_block_am",
                   "owner_mesh_ratio")
HOUSEHOLD_INDICATORS = ("parcels_per_household", "simpson_index", "januszewski_index")
GEOMETRIC_INDICATORS = ("block_count", "effective_mesh_size_mu", "effective_mesh_ratio", "contiguous_share",
                        "shape_index_am", "owners_per_block_am", "owner_mesh_ratio")

DEFAULT_FARMLAND = Settings.farmland_uses
DEFAULT_TOLERANCE_M = float(Settings.block_tolerance_m)
DEFAULT_BLOCK_MIN_MU = float(Settings.block_min_mu)


# ------------------------------------------------------------ preparation
def _as_uses(farmland_uses) -> tuple[str, ...]:
    if farmland_uses is None:
        return DEFAULT_FARMLAND
    if isinstance(farmland_uses, str):
        return (farmland_uses,)
    return tuple(farmland_uses)


@dataclass
class _Prep:
    """Farmland parcels of positive area, coded by village; caches shared work."""

    parcels: pd.DataFrame
    farmland_uses: tuple[str, ...]
    villages: pd.Index
    rows: np.ndarray          # positions (in ``parcels``) of farmland parcels of positive area
    vcode: np.ndarray         # village code of each of those rows
    area: np.ndarray          # their area_mu
    n_bad_area: np.ndarray    # per village: farmland parcels left out for their area
    n_no_village: int
    _blocks: dict = field(default_factory=dict, repr=False)

    @property
    def nv(self) -> int:
        return len(self.villages)

    @cached_property
    def count(self) -> np.ndarray:
        return np.bincount(self.vcode, minlength=self.nv).astype(float)

    @cached_property
    def total(self) -> np.ndarray:
        return np.bincount(self.vcode, weights=self.area, minlength=self.nv)

    @cached_property
    def no_farmland(self) -> np.ndarray:
        return self.count == 0

    def series(self, values, name: str) -> pd.Series:
        return pd.Series(np.asarray(values, dtype=float), index=self.villages, name=name)

    def common_notes(self, notes: Notes | None, indicator: str, ratio: bool = True) -> None:
        if notes is None:
            return
        if self.n_no_village:
            _note(notes, indicator, f"{self.n_no_village} parcel(s) without village_id left out")
        bad = np.flatnonzero(self.n_bad_area)
        for k in bad:
            notes.add(indicator, f"{int(self.n_bad_area[k])} farmland parcel(s) with missing, zero or "
                                 f"negative area_mu left out", village_id=str(self.villages[k]))
        if ratio:
            _note(notes, indicator, "no farmland parcels (land use in "
                  f"{', '.join(self.farmland_uses)}) of positive area",
                  self.villages[self.no_farmland])

    # -------------------------------------------------------- households
    @cached_property
    def households(self) -> dict | None:
        """Per (village, household) sums; None without a household_id column.

        Households are (village_id, household_id) pairs. Groups are numbered by
        a cheap scatter when every household id lies in one village (the usual
        case), else by factorizing the pair codes.
        """
        if "household_id" not in self.parcels:
            return None
        hcode, huniq = pd.factorize(self.parcels["household_id"])
        hcode = hcode[self.rows]
        has = hcode >= 0
        missing = np.bincount(self.vcode[~has], minlength=self.nv)
        nh = len(huniq)
        if has.all():
            hc, v, a = hcode, self.vcode, self.area
        else:
            hc, v, a = hcode[has], self.vcode[has], self.area[has]
        village_of = np.full(nh, -1, dtype=np.int64)
        village_of[hc] = v
        if (village_of[hc] == v).all():
            present = np.zeros(nh, dtype=bool)
            present[hc] = True
            hids = np.flatnonzero(present)           # household code of each group
            remap = np.cumsum(present) - 1
            g = remap[hc]
            hv = village_of[hids]
        else:
            key = v * max(nh, 1) + hc
            g, keys = pd.factorize(key)
            hids = keys % max(nh, 1)
            hv = (keys // max(nh, 1)).astype(np.int64)
        ng = len(hids)
        s = np.bincount(g, weights=a, minlength=ng)
        p = a / s[g]  # share of each parcel in its household's farmland: robust to scale
        n = np.bincount(g, minlength=ng)
        simpson = np.clip(1.0 - np.bincount(g, weights=p * p, minlength=ng), 0.0, 1.0)
        janus = np.clip(1.0 / np.bincount(g, weights=np.sqrt(p), minlength=ng), 0.0, 1.0)
        return {"village": hv, "household_code": hids, "household_uniques": huniq, "parcels": n,
                "area_mu": s, "simpson": simpson, "januszewski": janus,
                "n_households": np.bincount(hv, minlength=self.nv).astype(float),
                "n_parcels": np.bincount(hv, weights=n, minlength=self.nv), "missing": missing}

    def household_notes(self, notes: Notes | None, indicator: str) -> dict | None:
        self.common_notes(notes, indicator)
        hh = self.households
        if hh is None:
            _note(notes, indicator, "the parcels have no household_id column")
            return None
        if notes is not None:
            for k in np.flatnonzero(hh["missing"]):
                notes.add(indicator, f"{int(hh['missing'][k])} farmland parcel(s) without household_id left out",
                          village_id=str(self.villages[k]))
            _note(notes, indicator, "no farmland parcel has a household_id",
                  self.villages[~self.no_farmland & (hh["n_households"] == 0)])
        return hh

    def household_mean(self, column: str, notes: Notes | None, indicator: str) -> pd.Series:
        hh = self.household_notes(notes, indicator)
        if hh is None:
            return self.series(np.full(self.nv, np.nan), indicator)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.bincount(hh["village"], weights=hh[column], minlength=self.nv) / hh["n_households"]
        return self.series(np.where(hh["n_households"] > 0, value, np.nan), indicator)

    # ---------------------------------------------------------- geometry
    @cached_property
    def geometry_all(self) -> tuple[np.ndarray | None, str | None]:
        """(geometry of every parcel or None, why not)."""
        try:
            check_projected(self.parcels)
        except ValueError as exc:
            return None, str(exc)
        geoms = geometry_array(self.parcels)
        if geoms is None:
            return None, "the parcels have no geometry"
        return geoms, None

    def measure(self, fn) -> np.ndarray:
        """``fn`` (e.g. shapely.area) of each prepared row's geometry.

        Computed over the whole geometry column and then subset: shapely runs
        about twice as fast over the frame's own array as over a fancy-indexed copy.
        """
        return fn(self.geometry_all[0])[self.rows]

    def geoms(self, notes: Notes | None, indicator: str, strict: bool) -> np.ndarray | None:
        """The whole geometry column (use with ``rows``), or None with a note (or an error)."""
        geoms, why = self.geometry_all
        if geoms is None:
            if strict and why and "geographic" in why:
                raise ValueError(why)
            _note(notes, indicator, f"{why}; geometric indicators are NaN")
        return geoms

    def blocks(self, tolerance_m: float, method: str = "auto", labels: pd.Series | None = None) -> dict | None:
        """Block label per prepared row (-1: left out) and per-block sums."""
        key = (float(tolerance_m), method) if labels is None else ("given", id(labels))
        if key in self._blocks:
            return self._blocks[key]
        if labels is None:
            geoms = self.geometry_all[0]
            if geoms is None:
                return None
            _, row_block = _block_labels(geoms, self.rows, self.vcode, tolerance_m, method)
        else:
            if len(labels) != len(self.parcels):
                raise ValueError("blocks must have one label per parcel")
            given = pd.array(pd.Series(labels).take(self.rows), dtype="Int64")
            ok = ~np.asarray(given.isna())
            raw = np.asarray(given.fillna(0), dtype=np.int64)
            # a block is a (village, label) pair: a label never joins two villages
            comb = np.where(ok, self.vcode * (int(raw.max(initial=0)) + 1) + raw, -1)
            codes, _ = pd.factorize(comb[ok], sort=True)
            row_block = np.full(len(self.rows), -1, dtype=np.int64)
            row_block[ok] = codes
        in_block = row_block >= 0
        b = row_block[in_block]
        nb = int(b.max()) + 1 if len(b) else 0
        bvillage = np.zeros(nb, dtype=np.int64)
        bvillage[b] = self.vcode[in_block]
        barea = np.bincount(b, weights=self.area[in_block], minlength=nb)
        out = {"row_block": row_block, "n": nb, "village": bvillage, "area": barea,
               "covered": np.bincount(self.vcode[in_block], minlength=self.nv).astype(float)}
        self._blocks[key] = out
        return out

    def block_owners(self, blk: dict) -> np.ndarray:
        """Distinct non-missing owner_id per block."""
        ocode, _ = pd.factorize(self.parcels["owner_id"])
        ocode = ocode[self.rows]
        return distinct_count(blk["row_block"], ocode, blk["n"])


def _prepare(parcels: pd.DataFrame, farmland_uses=None) -> _Prep:
    missing = [c for c in ("village_id", "land_use", "area_mu") if c not in parcels]
    if missing:
        raise ValueError(f"the parcels lack column(s) {', '.join(missing)}")
    uses = _as_uses(farmland_uses)
    vcode_all, villages = pd.factorize(parcels["village_id"], sort=True)
    villages = pd.Index(villages, name="village_id")
    has_village = vcode_all >= 0
    farm = parcels["land_use"].isin(list(uses)).to_numpy(dtype=bool) & has_village
    area_all = pd.to_numeric(parcels["area_mu"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        good = farm & (area_all > 0) & np.isfinite(area_all)
    n_bad = np.bincount(vcode_all[farm & ~good], minlength=len(villages))
    rows = np.flatnonzero(good)
    return _Prep(parcels=parcels, farmland_uses=uses, villages=villages, rows=rows,
                 vcode=vcode_all[rows].astype(np.int64), area=area_all[rows], n_bad_area=n_bad,
                 n_no_village=int((~has_village).sum()))


# ------------------------------------------------------------ table indicators
def _parcel_count(prep: _Prep, notes=None) -> pd.Series:
    prep.common_notes(notes, "parcel_count", ratio=False)
    return prep.series(prep.count, "parcel_count")


def _farmland_area(prep: _Prep, notes=None) -> pd.Series:
    prep.common_notes(notes, "farmland_area_mu", ratio=False)
    return prep.series(prep.total, "farmland_area_mu")


def _mean_area(prep: _Prep, notes=None) -> pd.Series:
    prep.common_notes(notes, "mean_parcel_area_mu")
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(prep.count > 0, prep.total / prep.count, np.nan)
    return prep.series(v, "mean_parcel_area_mu")


def _parcels_per_household(prep: _Prep, notes=None) -> pd.Series:
    hh = prep.household_notes(notes, "parcels_per_household")
    if hh is None:
        return prep.series(np.full(prep.nv, np.nan), "parcels_per_household")
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(hh["n_households"] > 0, hh["n_parcels"] / hh["n_households"], np.nan)
    return prep.series(v, "parcels_per_household")


def parcel_count(parcels: pd.DataFrame, farmland_uses=DEFAULT_FARMLAND, notes: Notes | None = None) -> pd.Series:
    """Number of farmland parcels per village (耕地地块数).

    Farmland parcels of missing, zero or negative ``area_mu`` are not counted
    (note). 0 for a village without farmland.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"village_id": ["v1", "v1", "v2"], "land_use": ["arable", "forest", "arable"],
    ...                   "area_mu": [1.0, 2.0, 3.0]})
    >>> parcel_count(p).tolist()
    [1.0, 1.0]
    """
    return _parcel_count(_prepare(parcels, farmland_uses), notes)


def farmland_area_mu(parcels: pd.DataFrame, farmland_uses=DEFAULT_FARMLAND, notes: Notes | None = None) -> pd.Series:
    """Farmland area per village, in mu (耕地面积): sum of ``area_mu`` of farmland parcels.

    0 for a village without farmland.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"village_id": ["v1", "v1"], "land_use": ["arable", "arable"], "area_mu": [1.5, 2.0]})
    >>> farmland_area_mu(p).tolist()
    [3.5]
    """
    return _farmland_area(_prepare(parcels, farmland_uses), notes)


def mean_parcel_area_mu(parcels: pd.DataFrame, farmland_uses=DEFAULT_FARMLAND, notes: Notes | None = None) -> pd.Series:
    """Mean farmland parcel area per village, in mu (平均地块面积).

    Formula: farmland area / farmland parcel count. NaN (note) for a village
    without farmland.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"village_id": ["v1", "v1"], "land_use": ["arable", "arable"], "area_mu": [1.0, 2.0]})
    >>> mean_parcel_area_mu(p).tolist()
    [1.5]
    """
    return _mean_area(_prepare(parcels, farmland_uses), notes)


def parcels_per_household(parcels: pd.DataFrame, farmland_uses=DEFAULT_FARMLAND,
                          notes: Notes | None = None) -> pd.Series:
    """Farmland parcels per household (户均地块数), parcels per household.

    Formula: farmland parcels that have a ``household_id`` / number of distinct
    ``household_id`` among them (households are distinct within a village).
    Parcels without ``household_id`` are left out (note); without the column,
    NaN (note); NaN for a village without farmland or without any household id.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"village_id": ["v1"] * 3, "land_use": ["arable"] * 3,
    ...                   "area_mu": [1.0, 1.0, 2.0], "household_id": ["h1", "h1", "h2"]})
    >>> parcels_per_household(p).tolist()
    [1.5]
    """
    return _parcels_per_household(_prepare(parcels, farmland_uses), notes)


def simpson_index(parcels: pd.DataFrame, farmland_uses=DEFAULT_FARMLAND, notes: Notes | None = None) -> pd.Series:
    """Simpson fragmentation index per village (辛普森指数), 0-1.

    Formula: for each household, ``S = 1 - sum(a_i**2) / (sum a_i)**2`` over
    its farmland parcel areas ``a_i`` (mu); the village value is the unweighted
    mean of ``S`` over its households. 0 = every household has one parcel;
    ``1 - 1/n`` for ``n`` equal parcels; higher = more fragmented.
    Parcels without ``household_id`` or of non-positive area are left out.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"village_id": ["v1"] * 3, "land_use": ["arable"] * 3,
    ...                   "area_mu": [1.0, 1.0, 2.0], "household_id": ["h1"] * 3})
    >>> simpson_index(p).round(4).tolist()
    [0.625]
    """
    return _prepare(parcels, farmland_uses).household_mean("simpson", notes, "simpson_index")


def januszewski_index(parcels: pd.DataFrame, farmland_uses=DEFAULT_FARMLAND,
                      notes: Notes | None = None) -> pd.Series:
    """Januszewski index per village (雅努谢夫斯基指数), 0-1.

    Formula: for each household, ``K = sqrt(sum a_i) / sum(sqrt a_i)`` over its
    farmland parcel areas (mu); the village value is the unweighted mean of
    ``K`` over households. 1 = one parcel; ``1/sqrt(n)`` for ``n`` equal
    parcels; lower = more fragmented. Parcels without ``household_id`` or of
    non-positive area are left out.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"village_id": ["v1"] * 3, "land_use": ["arable"] * 3,
    ...                   "area_mu": [1.0, 1.0, 2.0], "household_id": ["h1"] * 3})
    >>> januszewski_index(p).round(4).tolist()
    [0.5858]
    """
    return _prepare(parcels, farmland_uses).household_mean("januszewski", notes, "januszewski_index")


def household_fragmentation(parcels: pd.DataFrame, farmland_uses=DEFAULT_FARMLAND) -> pd.DataFrame:
    """Per-household fragmentation: one row per (village, household) holding farmland.

    Parameters
    ----------
    parcels : DataFrame or GeoDataFrame
        With ``village_id``, ``land_use``, ``area_mu`` and ``household_id``.
    farmland_uses : sequence of str, default ("arable",)

    Returns
    -------
    DataFrame
        Columns ``village_id``, ``household_id``, ``parcels`` (count),
        ``area_mu`` (sum, mu), ``simpson`` (``1 - sum a_i^2 / (sum a_i)^2``),
        ``januszewski`` (``sqrt(sum a_i) / sum sqrt(a_i)``); sorted by village
        and household. Parcels without ``household_id`` or with a missing, zero
        or negative ``area_mu`` are left out.

    Raises
    ------
    ValueError
        When the parcels have no ``household_id`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"village_id": ["v1"] * 4, "land_use": ["arable"] * 4,
    ...                   "area_mu": [1.0, 1.0, 2.0, 5.0], "household_id": ["h1", "h1", "h1", "h2"]})
    >>> household_fragmentation(p).round(4).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'village_id': ['v1', 'v1'], 'household_id': ['h1', 'h2'], 'parcels': [3, 1],
     'area_mu': [4.0, 5.0], 'simpson': [0.625, 0.0], 'januszewski': [0.5858, 1.0]}
    """
    prep = _prepare(parcels, farmland_uses)
    hh = prep.households
    if hh is None:
        raise ValueError("the parcels have no household_id column")
    out = pd.DataFrame({
        "village_id": prep.villages.take(hh["village"]).to_numpy(),
        "household_id": np.asarray(hh["household_uniques"].take(hh["household_code"])),
        "parcels": hh["parcels"].astype(np.int64),
        "area_mu": hh["area_mu"],
        "simpson": hh["simpson"],
        "januszewski": hh["januszewski"],
    })
    return out.sort_values(["village_id", "household_id"], kind="stable").reset_index(drop=True)


# -------------------------------------------------------- geometric indicators
def _nan_series(prep: _Prep, name: str) -> pd.Series:
    return prep.series(np.full(prep.nv, np.nan), name)


def _block_inputs(prep: _Prep, indicator: str, notes, tolerance_m, method, blocks, strict: bool):
    """Blocks for an indicator, with its notes; None when they cannot be found."""
    prep.common_notes(notes, indicator, ratio=indicator != "block_count")
    if blocks is None and prep.geoms(notes, indicator, strict) is None:
        return None
    blk = prep.blocks(tolerance_m, method, blocks)
    left = prep.count - blk["covered"]
    if notes is not None:
        why = "no block label" if blocks is not None else "no geometry"
        for k in np.flatnonzero((left > 0) & (blk["covered"] > 0)):
            notes.add(indicator, f"{int(left[k])} farmland parcel(s) with {why} left out",
                      village_id=str(prep.villages[k]))
        _note(notes, indicator, f"no farmland parcel has a {'block label' if blocks is not None else 'geometry'}",
              prep.villages[(prep.count > 0) & (blk["covered"] == 0)])
    return blk


def _geo_value(prep: _Prep, blk: dict, value: np.ndarray, counts_ok: bool = False) -> np.ndarray:
    """NaN where the village has farmland none of which is in a block, or (ratios) no farmland."""
    bad = (prep.count > 0) & (blk["covered"] == 0)
    if not counts_ok:
        bad |= prep.count == 0
    return np.where(bad, np.nan, value)


def _block_count(prep, notes=None, tolerance_m=DEFAULT_TOLERANCE_M, method="auto", blocks=None, strict=True):
    blk = _block_inputs(prep, "block_count", notes, tolerance_m, method, blocks, strict)
    if blk is None:
        return _nan_series(prep, "block_count")
    v = np.bincount(blk["village"], minlength=prep.nv).astype(float)
    return prep.series(_geo_value(prep, blk, v, counts_ok=True), "block_count")


def _mesh(prep, notes=None, tolerance_m=DEFAULT_TOLERANCE_M, method="auto", blocks=None, strict=True):
    blk = _block_inputs(prep, "effective_mesh_size_mu", notes, tolerance_m, method, blocks, strict)
    if blk is None:
        return _nan_series(prep, "effective_mesh_size_mu")
    b = blk["area"]
    num = np.bincount(blk["village"], weights=b * b, minlength=prep.nv)
    den = np.bincount(blk["village"], weights=b, minlength=prep.nv)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(den > 0, num / den, np.nan)
    return prep.series(_geo_value(prep, blk, v), "effective_mesh_size_mu")


def _sum_squares_ratio(village: np.ndarray, piece_area: np.ndarray, nv: int) -> np.ndarray:
    """Per village ``sum(a_k**2) / (sum a_k)**2`` over pieces ``a_k`` (NaN without area)."""
    num = np.bincount(village, weights=piece_area * piece_area, minlength=nv)
    den = np.bincount(village, weights=piece_area, minlength=nv)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / (den * den), np.nan)


def _mesh_ratio(prep, notes=None, tolerance_m=DEFAULT_TOLERANCE_M, method="auto", blocks=None, strict=True):
    name = "effective_mesh_ratio"
    blk = _block_inputs(prep, name, notes, tolerance_m, method, blocks, strict)
    if blk is None:
        return _nan_series(prep, name)
    v = _sum_squares_ratio(blk["village"], blk["area"], prep.nv)
    return prep.series(_geo_value(prep, blk, v), name)


def _owner_mesh(prep, notes=None, tolerance_m=DEFAULT_TOLERANCE_M, method="auto", blocks=None, strict=True):
    name = "owner_mesh_ratio"
    if "owner_id" not in prep.parcels:
        prep.common_notes(notes, name)
        _note(notes, name, "the parcels have no owner_id column")
        return _nan_series(prep, name)
    blk = _block_inputs(prep, name, notes, tolerance_m, method, blocks, strict)
    if blk is None:
        return _nan_series(prep, name)
    ocode, _ = pd.factorize(prep.parcels["owner_id"])
    ocode = ocode[prep.rows]
    ok = (blk["row_block"] >= 0) & (ocode >= 0)
    if notes is not None:
        unowned = np.bincount(prep.vcode[(blk["row_block"] >= 0) & (ocode < 0)], minlength=prep.nv)
        for k in np.flatnonzero(unowned):
            notes.add(name, f"{int(unowned[k])} farmland parcel(s) without owner_id left out",
                      village_id=str(prep.villages[k]))
    # a piece is the part of one block held by one owner
    piece, first = pd.factorize(blk["row_block"][ok] * (int(ocode.max(initial=0)) + 1) + ocode[ok])
    area = np.bincount(piece, weights=prep.area[ok], minlength=len(first))
    village = np.zeros(len(first), dtype=np.int64)
    village[piece] = prep.vcode[ok]
    v = _sum_squares_ratio(village, area, prep.nv)
    return prep.series(_geo_value(prep, blk, v), name)


def _contiguous(prep, notes=None, tolerance_m=DEFAULT_TOLERANCE_M, min_block_mu=DEFAULT_BLOCK_MIN_MU,
                method="auto", blocks=None, strict=True):
    blk = _block_inputs(prep, "contiguous_share", notes, tolerance_m, method, blocks, strict)
    if blk is None:
        return _nan_series(prep, "contiguous_share")
    b = blk["area"]
    num = np.bincount(blk["village"], weights=np.where(b >= min_block_mu, b, 0.0), minlength=prep.nv)
    den = np.bincount(blk["village"], weights=b, minlength=prep.nv)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(den > 0, num / den, np.nan)
    return prep.series(_geo_value(prep, blk, v), "contiguous_share")


def _owners(prep, notes=None, tolerance_m=DEFAULT_TOLERANCE_M, method="auto", blocks=None, strict=True):
    name = "owners_per_block_am"
    if "owner_id" not in prep.parcels:
        prep.common_notes(notes, name)
        _note(notes, name, "the parcels have no owner_id column")
        return _nan_series(prep, name)
    blk = _block_inputs(prep, name, notes, tolerance_m, method, blocks, strict)
    if blk is None:
        return _nan_series(prep, name)
    owners = prep.block_owners(blk).astype(float)
    known = owners > 0
    b = np.where(known, blk["area"], 0.0)
    num = np.bincount(blk["village"], weights=b * owners, minlength=prep.nv)
    den = np.bincount(blk["village"], weights=b, minlength=prep.nv)
    if notes is not None:
        unknown = np.bincount(blk["village"][~known], minlength=prep.nv)
        for k in np.flatnonzero(unknown):
            notes.add(name, f"{int(unknown[k])} block(s) without any owner_id left out",
                      village_id=str(prep.villages[k]))
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(den > 0, num / den, np.nan)
    return prep.series(_geo_value(prep, blk, v), name)


def _shape(prep, notes=None, strict=True):
    name = "shape_index_am"
    prep.common_notes(notes, name)
    geoms = prep.geoms(notes, name, strict)
    if geoms is None:
        return _nan_series(prep, name)
    area = prep.measure(shapely.area)
    length = prep.measure(shapely.length)
    weight = prep.area  # the parcel area of every land indicator (settings.area_source) weighs the mean
    ok = np.isfinite(area) & (area > 0) & np.isfinite(weight)  # missing and empty geometries have no area
    v = prep.vcode
    if not ok.all():
        v, area, length, weight = v[ok], area[ok], length[ok], weight[ok]
    num = np.bincount(v, weights=weight * length / np.sqrt(area), minlength=prep.nv)
    den = np.bincount(v, weights=weight, minlength=prep.nv)
    if notes is not None:
        covered = np.bincount(v, minlength=prep.nv)
        left = prep.count - covered
        for k in np.flatnonzero((left > 0) & (covered > 0)):
            notes.add(name, f"{int(left[k])} farmland parcel(s) without a polygon of positive area left out",
                      village_id=str(prep.villages[k]))
        _note(notes, name, "no farmland parcel has a polygon of positive area",
              prep.villages[(prep.count > 0) & (covered == 0)])
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den > 0, 0.25 * num / den, np.nan)
    return prep.series(value, name)


_BLOCK_DOC_PARAMS = """
    Parameters
    ----------
    parcels : GeoDataFrame
        Canonical parcels with polygons in a projected CRS in metres.
    farmland_uses : sequence of str, default ("arable",)
    tolerance_m : float, default 1.0
        Gap (m) that still joins two parcels into a block (``settings.block_tolerance_m``).
    notes : Notes, optional
    blocks : Series, optional
        Block labels aligned with ``parcels`` (e.g. from
        :func:`villagestudy.metrics.blocks.find_blocks`, or any grouping a
        researcher wants to test); then no geometry is needed and
        ``tolerance_m`` is unused. A label is split by village.
"""


def block_count(parcels, farmland_uses=DEFAULT_FARMLAND, tolerance_m: float = DEFAULT_TOLERANCE_M,
                notes: Notes | None = None, blocks: pd.Series | None = None) -> pd.Series:
    """Number of contiguous farmland blocks per village (连片区数), blocks.

    A block is a connected component of farmland parcels of one village that
    touch or lie within ``tolerance_m`` of each other. 0 for a village without
    farmland; NaN (note) without geometry.
    {params}{returns}
    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"village_id": ["v1"] * 3, "land_use": ["arable"] * 3, "area_mu": [1.0] * 3},
    ...                      geometry=shapely.box([0, 10, 30], 0, [10, 20, 40], 10))
    >>> block_count(p).tolist()
    [2.0]
    """
    return _block_count(_prepare(parcels, farmland_uses), notes, tolerance_m, blocks=blocks)


def effective_mesh_size_mu(parcels, farmland_uses=DEFAULT_FARMLAND, tolerance_m: float = DEFAULT_TOLERANCE_M,
                           notes: Notes | None = None, blocks: pd.Series | None = None) -> pd.Series:
    """Effective mesh size of farmland per village (有效网格尺寸), mu (Jaeger 2000).

    Formula: ``m_eff = sum(B_j**2) / sum(B_j)`` over the village's contiguous
    block areas ``B_j`` (mu, sums of ``area_mu``); the reference area
    ``sum(B_j)`` is the village's farmland area. It is the expected area of the
    block containing a random point of farmland: equal to the farmland area when
    all farmland is one block, smaller = more fragmented. NaN (note) without
    farmland or geometry.
    {params}{returns}
    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"village_id": ["v1"] * 3, "land_use": ["arable"] * 3,
    ...                       "area_mu": [10.0, 20.0, 10.0]},
    ...                      geometry=shapely.box([0, 10, 30], 0, [10, 20, 40], 10))
    >>> effective_mesh_size_mu(p).tolist()   # blocks of 30 and 10 mu: (900 + 100) / 40
    [25.0]
    """
    return _mesh(_prepare(parcels, farmland_uses), notes, tolerance_m, blocks=blocks)


def effective_mesh_ratio(parcels, farmland_uses=DEFAULT_FARMLAND, tolerance_m: float = DEFAULT_TOLERANCE_M,
                         notes: Notes | None = None, blocks: pd.Series | None = None) -> pd.Series:
    """Effective mesh size as a share of the farmland area (有效网格比), 0-1.

    Formula: ``m_eff / A = sum(B_j**2) / (sum B_j)**2`` over the village's
    contiguous block areas ``B_j`` (mu), ``A = sum(B_j)`` its farmland area in
    blocks (Jaeger 2000's effective mesh size divided by its reference area).
    It is the probability that two random points of the village's farmland lie
    in the same block: 1 = one block, ``1/n`` for ``n`` equal blocks. Unlike the
    absolute mesh size it does not grow with the village's farmland area, and
    splitting a block can only lower it. NaN (note) without farmland or geometry.
    {params}{returns}
    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"village_id": ["v1"] * 3, "land_use": ["arable"] * 3,
    ...                       "area_mu": [10.0, 20.0, 10.0]},
    ...                      geometry=shapely.box([0, 10, 30], 0, [10, 20, 40], 10))
    >>> effective_mesh_ratio(p).tolist()   # blocks of 30 and 10 mu: (900 + 100) / 40**2
    [0.625]
    """
    return _mesh_ratio(_prepare(parcels, farmland_uses), notes, tolerance_m, blocks=blocks)


def owner_mesh_ratio(parcels, farmland_uses=DEFAULT_FARMLAND, tolerance_m: float = DEFAULT_TOLERANCE_M,
                     notes: Notes | None = None, blocks: pd.Series | None = None) -> pd.Series:
    """Effective mesh ratio of single-owner pieces of blocks (同权属连片网格比), 0-1.

    Formula: ``sum(P_jo**2) / (sum P_jo)**2`` where ``P_jo`` is the area (mu)
    of the farmland parcels of block ``j`` held by owner ``o`` (the economic
    society, ``owner_id``). It is the probability that two random points of the
    village's farmland lie in the same block *and* belong to the same owner:
    the land that can be developed contiguously without bringing several
    collectives together. 1 = one block held by one owner. Splitting a block,
    or giving part of a block to another owner, can only lower it (a sum of
    squares of parts is at most the square of the whole), so it replaces
    ``owners_per_block_am`` in the index. Parcels without ``owner_id`` are
    left out (note). NaN (note) without the ``owner_id`` column, farmland or
    geometry.
    {params}{returns}
    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"village_id": ["v1"] * 3, "land_use": ["arable"] * 3,
    ...                       "area_mu": [10.0, 20.0, 10.0], "owner_id": ["A", "B", "A"]},
    ...                      geometry=shapely.box([0, 10, 30], 0, [10, 20, 40], 10))
    >>> owner_mesh_ratio(p).tolist()   # pieces of 10, 20 and 10 mu: (100 + 400 + 100) / 40**2
    [0.375]
    """
    return _owner_mesh(_prepare(parcels, farmland_uses), notes, tolerance_m, blocks=blocks)


def contiguous_share(parcels, farmland_uses=DEFAULT_FARMLAND, tolerance_m: float = DEFAULT_TOLERANCE_M,
                     min_block_mu: float = DEFAULT_BLOCK_MIN_MU, notes: Notes | None = None,
                     blocks: pd.Series | None = None) -> pd.Series:
    """Share of farmland in contiguous blocks of at least ``min_block_mu`` (连片耕地占比), 0-1.

    Formula: ``sum(B_j for B_j >= min_block_mu) / sum(B_j)`` over block areas
    ``B_j`` (mu). A block of exactly ``min_block_mu`` counts. NaN (note)
    without farmland or geometry.
    {params}    min_block_mu : float, default 50.0
        Smallest block area in mu that counts as contiguous (``settings.block_min_mu``).
    {returns}
    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"village_id": ["v1"] * 3, "land_use": ["arable"] * 3,
    ...                       "area_mu": [30.0, 30.0, 40.0]},
    ...                      geometry=shapely.box([0, 10, 30], 0, [10, 20, 40], 10))
    >>> contiguous_share(p).tolist()   # blocks of 60 and 40 mu
    [0.6]
    """
    return _contiguous(_prepare(parcels, farmland_uses), notes, tolerance_m, min_block_mu, blocks=blocks)


def owners_per_block_am(parcels, farmland_uses=DEFAULT_FARMLAND, tolerance_m: float = DEFAULT_TOLERANCE_M,
                        notes: Notes | None = None, blocks: pd.Series | None = None) -> pd.Series:
    """Area-weighted mean number of owners per block (连片区平均权属经济社数), owners.

    Formula: ``sum(B_j * O_j) / sum(B_j)`` over the village's blocks, where
    ``O_j`` is the number of distinct non-missing ``owner_id`` (economic
    societies) among the block's parcels and ``B_j`` its area (mu). Blocks none
    of whose parcels has an ``owner_id`` are left out (note). NaN (note)
    without the ``owner_id`` column, farmland or geometry.

    Descriptive only: splitting a two-owner block into two one-owner blocks
    lowers it although the land is more fragmented, so the index scores
    :func:`owner_mesh_ratio` instead.
    {params}{returns}
    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"village_id": ["v1"] * 3, "land_use": ["arable"] * 3,
    ...                       "area_mu": [10.0, 20.0, 10.0], "owner_id": ["A", "B", "A"]},
    ...                      geometry=shapely.box([0, 10, 30], 0, [10, 20, 40], 10))
    >>> owners_per_block_am(p).tolist()   # (30 * 2 + 10 * 1) / 40
    [1.75]
    """
    return _owners(_prepare(parcels, farmland_uses), notes, tolerance_m, blocks=blocks)


def shape_index_am(parcels, farmland_uses=DEFAULT_FARMLAND, notes: Notes | None = None) -> pd.Series:
    """Area-weighted mean shape index of farmland parcels (面积加权形状指数), ratio.

    Formula: per parcel ``SHAPE = 0.25 * P / sqrt(A)`` (perimeter ``P`` in m,
    polygon area ``A`` in m2; a square is 1, a 1x4 rectangle 1.25, a circle
    0.886); the village value is ``sum(w * SHAPE) / sum(w)`` over farmland
    parcels with a polygon of positive area, weighted by ``w = area_mu``, the
    area every land indicator uses (registered or drawn: ``area_source``).
    Higher = more irregular. NaN (note) without farmland or geometry.

    Parameters
    ----------
    parcels : GeoDataFrame
        Parcels with polygons in a projected CRS in metres.
    farmland_uses : sequence of str, default ("arable",)
    notes : Notes, optional
    {returns}
    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"village_id": ["v1"], "land_use": ["arable"], "area_mu": [0.006]},
    ...                      geometry=[shapely.box(0, 0, 1, 4)])
    >>> shape_index_am(p).tolist()
    [1.25]
    """
    return _shape(_prepare(parcels, farmland_uses), notes)


_TABLE_DOC_PARAMS = """
    Parameters
    ----------
    parcels : DataFrame or GeoDataFrame
        Canonical parcel table: ``village_id``, ``land_use``, ``area_mu`` (and
        ``household_id`` for the household indicators).
    farmland_uses : sequence of str, default ("arable",)
        Land uses that count as farmland (``settings.farmland_uses``).
    notes : Notes, optional
        Receives why parcels were left out or values are NaN.
"""

_RETURNS_DOC = """
    Returns
    -------
    Series
        Float, indexed by ``village_id`` (every village with a parcel, sorted),
        named ``{name}``; unit: {unit}.
"""


def _fill_docs() -> None:
    for fn, params in [(parcel_count, _TABLE_DOC_PARAMS), (farmland_area_mu, _TABLE_DOC_PARAMS),
                       (mean_parcel_area_mu, _TABLE_DOC_PARAMS), (parcels_per_household, _TABLE_DOC_PARAMS),
                       (simpson_index, _TABLE_DOC_PARAMS), (januszewski_index, _TABLE_DOC_PARAMS),
                       (block_count, _BLOCK_DOC_PARAMS), (effective_mesh_size_mu, _BLOCK_DOC_PARAMS),
                       (effective_mesh_ratio, _BLOCK_DOC_PARAMS), (owner_mesh_ratio, _BLOCK_DOC_PARAMS),
                       (contiguous_share, _BLOCK_DOC_PARAMS), (owners_per_block_am, _BLOCK_DOC_PARAMS),
                       (shape_index_am, "")]:
        if fn.__doc__ is None:  # python -OO
            continue
        returns = _RETURNS_DOC.replace("{name}", fn.__name__).replace("{unit}", catalog.get(fn.__name__).unit_en)
        fn.__doc__ = fn.__doc__.replace("{params}", params).replace("{returns}", returns)


_fill_docs()


# ------------------------------------------------------------------- study
def land_indicators(study, year: int | None = None, notes: Notes | None = None, *,
                    method: str = "auto") -> pd.DataFrame:
    """All land indicators of a study, one row per village.

    Parameters
    ----------
    study : Study
        Uses ``study.parcels`` and the settings ``farmland_uses``,
        ``block_tolerance_m`` and ``block_min_mu``.
    year : int, optional
        Unused: the parcel register has no year (kept for a uniform signature).
    notes : Notes, optional
        Receives why values are missing (indicator, village, message).
    method : str
        Block pair test, see :func:`villagestudy.metrics.blocks.adjacent_pairs`.

    Returns
    -------
    DataFrame
        Indexed by ``village_id`` (villages with parcels; the study's other
        villages are added as NaN with a note by ``compute_indicators``'s
        reindexing), one column per land indicator id in catalog order. A
        geographic CRS makes the geometric indicators NaN with a note here
        (the pure functions raise instead).

    Examples
    --------
    >>> import pandas as pd
    >>> from villagestudy import Study
    >>> v = pd.DataFrame({"village_id": ["v1"], "village_name": ["甲村"], "town_id": ["t1"]})
    >>> p = pd.DataFrame({"parcel_id": ["a", "b"], "village_id": ["v1", "v1"], "land_use": ["arable"] * 2,
    ...                   "household_id": ["h1", "h1"], "area_mu": [1.0, 3.0]})
    >>> land_indicators(Study.from_frames(villages=v, parcels=p))["simpson_index"].tolist()
    [0.375]
    """
    notes = notes if notes is not None else Notes()
    s = study.settings
    parcels = study.parcels
    if parcels is None or len(parcels) == 0:
        for ind in LAND_INDICATORS:
            notes.add(ind, "the study has no parcel table")
        return pd.DataFrame({ind: pd.Series(dtype=float) for ind in LAND_INDICATORS},
                            index=pd.Index([], name="village_id", dtype="str"))
    prep = _prepare(parcels, s.farmland_uses)
    tol = s.block_tolerance_m
    cols = {
        "parcel_count": _parcel_count(prep, notes),
        "farmland_area_mu": _farmland_area(prep, notes),
        "mean_parcel_area_mu": _mean_area(prep, notes),
        "parcels_per_household": _parcels_per_household(prep, notes),
        "simpson_index": prep.household_mean("simpson", notes, "simpson_index"),
        "januszewski_index": prep.household_mean("januszewski", notes, "januszewski_index"),
        "block_count": _block_count(prep, notes, tol, method, strict=False),
        "effective_mesh_size_mu": _mesh(prep, notes, tol, method, strict=False),
        "effective_mesh_ratio": _mesh_ratio(prep, notes, tol, method, strict=False),
        "contiguous_share": _contiguous(prep, notes, tol, s.block_min_mu, method, strict=False),
        "shape_index_am": _shape(prep, notes, strict=False),
        "owners_per_block_am": _owners(prep, notes, tol, method, strict=False),
        "owner_mesh_ratio": _owner_mesh(prep, notes, tol, method, strict=False),
    }
    table = pd.DataFrame(cols, index=prep.villages)
    table.index.name = "village_id"
    if study.villages is not None and "village_id" in study.villages:
        absent = study.villages.loc[~study.villages["village_id"].isin(prep.villages), "village_id"]
        for ind in LAND_INDICATORS:
            _note(notes, ind, "no parcels in the parcel table", absent)
    return table
