"""Contiguous blocks of parcels (连片地块): which parcels touch or nearly touch.

A *block* is a connected component of the graph whose nodes are parcels and
whose edges join two parcels of the same village that touch or lie within a
tolerance (``settings.block_tolerance_m``, default 1 m) of each other. Blocks
never cross village boundaries.

Public functions
----------------
:func:`find_blocks`
    A block label per parcel (the map code colours parcels with it).
:func:`block_table`
    One row per block: village, block id, parcels, area in mu, distinct owners.
:func:`adjacent_pairs`
    The edges of the graph: pairs of parcels within the tolerance.
:func:`check_projected`
    Raise a clear error for a geographic CRS (degrees).

How pairs are found (all exact, no Python loop over parcels): the envelopes of
the geometries, padded by half the tolerance, go into one shapely
``STRtree``; a bare envelope self-query gives candidate pairs (``i < j``, same
village only), and only these candidates get an exact distance test. Two
axis-aligned rectangles (polygons with four corners that fill their envelope)
are tested with the closed-form box distance in numpy; every other candidate
pair with ``shapely.dwithin``. This is exact and several times faster than
``STRtree.query(predicate="dwithin")``, which tests each pair twice and every
geometry against itself (see ``benchmarks/bench_land.py``).
"""
from __future__ import annotations

import gc
from contextlib import contextmanager

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .._map_unique import sorted_distinct

__all__ = ["find_blocks", "block_table", "adjacent_pairs", "check_projected", "geometry_array"]

#: methods of :func:`adjacent_pairs`
METHODS = ("auto", "envelope", "strtree")

# Envelopes are padded by this much beyond tolerance/2 so that rounding can only
# add candidates (the exact test decides), never lose a pair at exactly the tolerance.
_PAD_M = 1e-6


# ---------------------------------------------------------------- geometry
@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while creating many geometries.

    Shapely geometries are tracked by the collector, so creating a million of
    them triggers thousands of collections that each walk the whole heap
    (measured: creation three times slower). The new objects hold no cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_projected(frame, what: str = "parcels") -> None:
    """Raise ``ValueError`` when ``frame`` is in a geographic CRS (degrees).

    Areas, perimeters and distances must be computed in a projected CRS in
    metres; computing them in degrees would give silently wrong numbers. A
    frame without a CRS (``crs is None``) is taken to be in metres, as the
    loader reprojects every layer to the study's projected CRS.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    >>> check_projected(g)
    Traceback (most recent call last):
    ...
    ValueError: parcels are in a geographic CRS (EPSG:4326), in degrees: ...
    """
    crs = getattr(frame, "crs", None)
    if crs is not None and getattr(crs, "is_geographic", False):
        raise ValueError(
            f"{what} are in a geographic CRS ({crs.to_string()}), in degrees: areas and distances "
            f"need a projected CRS in metres; reproject first, e.g. frame.to_crs('EPSG:4547')")


def geometry_array(frame) -> np.ndarray | None:
    """The geometries of a GeoDataFrame as a numpy object array, or ``None``.

    ``None`` when ``frame`` is not a GeoDataFrame, has no active geometry
    column, or every geometry is missing (empty geometries are left to the
    callers, which treat them as missing: testing emptiness costs a GEOS call
    per geometry).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> geometry_array(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), None])).shape
    (2,)
    >>> geometry_array(pd.DataFrame({"a": [1]})) is None
    True
    """
    try:
        geo = frame.geometry
    except AttributeError:
        return None
    if not hasattr(geo, "values") or not hasattr(geo, "crs"):
        return None
    arr = np.asarray(geo.values, dtype=object)
    if len(arr) == 0 or shapely.is_missing(arr).all():
        return None
    return arr


def _usable(geoms: np.ndarray, bounds: np.ndarray | None = None) -> np.ndarray:
    """Geometries that are neither missing nor empty (their bounds are finite)."""
    if bounds is None:
        bounds = shapely.bounds(geoms)
    return np.isfinite(bounds).all(axis=1)


def _is_rectangle(geoms: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """True for polygons that are axis-aligned rectangles (they fill their envelope).

    A polygon without holes, with four corners (five coordinates), whose area
    equals the area of its envelope (to 1e-9 relative) is its envelope: the
    distance between two such polygons is the distance between their boxes.
    """
    env = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    ok = shapely.get_type_id(geoms) == 3
    ok &= shapely.get_num_coordinates(geoms) == 5
    ok &= shapely.get_num_interior_rings(geoms) == 0
    with np.errstate(invalid="ignore"):
        ok &= env > 0
        ok &= np.abs(shapely.area(geoms) - env) <= 1e-9 * env
    return ok


def adjacent_pairs(geoms, tolerance_m: float = 1.0, groups=None, method: str = "auto", *,
                   bounds: np.ndarray | None = None, sort: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of geometries that touch or lie within ``tolerance_m`` metres.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        In a projected CRS in metres; no missing or empty geometry.
    tolerance_m : float
        Largest distance (m) at which two geometries are still joined; 0 joins
        only geometries that touch or overlap.
    groups : array-like of int, optional
        Group code per geometry (e.g. the village); only pairs within one group
        are returned.
    method : {"auto", "envelope", "strtree"}
        ``"auto"``: padded-envelope candidates, closed-form distance for pairs of
        axis-aligned rectangles, ``shapely.dwithin`` for the rest.
        ``"envelope"``: the same without the rectangle shortcut.
        ``"strtree"``: ``STRtree.query(predicate="dwithin")`` (the reference).
        All three return the same pairs.
    bounds : ndarray, optional
        ``shapely.bounds(geoms)`` when the caller has it already.
    sort : bool, default True
        Sort the pairs (the connected components do not need it).

    Returns
    -------
    (i, j) : two int64 arrays
        Positions with ``i < j``, sorted by ``i`` then ``j`` when ``sort``.

    Examples
    --------
    >>> import shapely
    >>> g = shapely.box([0, 10, 10.5], 0, [10, 10.4, 20], 10)
    >>> [a.tolist() for a in adjacent_pairs(g, tolerance_m=1.0)]
    [[0, 0, 1], [1, 2, 2]]
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    geoms = np.asarray(geoms, dtype=object)
    rows = np.arange(len(geoms))
    if bounds is None:
        bounds = shapely.bounds(geoms)
    i, j = _pairs(geoms, rows, bounds, None if groups is None else np.asarray(groups), tolerance_m, method)
    if not sort:
        return i, j
    order = np.lexsort((j, i))
    return i[order], j[order]


def _pairs(geoms: np.ndarray, rows: np.ndarray, bounds: np.ndarray, groups: np.ndarray | None,
           tolerance_m: float, method: str, rect: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j, unsorted) among ``geoms[rows]``, as positions in ``rows``.

    ``bounds``, ``groups`` and ``rect`` are per position of ``rows``. The
    geometries are read through ``rows`` rather than copied: shapely runs about
    twice as fast over an array in the frame's own order than over a
    fancy-indexed copy (measured), so per-geometry work is best done on the
    whole column by the caller and subset.
    """
    n = len(rows)
    tol = float(tolerance_m)
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tolerance_m must be a finite number >= 0, not {tolerance_m!r}")
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    if method == "strtree":
        sub = geoms[rows]
        i, j = shapely.STRtree(sub).query(sub, predicate="dwithin", distance=tol)
        keep = i < j
        if groups is not None:
            keep &= groups[i] == groups[j]
        return i[keep].astype(np.int64, copy=False), j[keep].astype(np.int64, copy=False)
    pad = tol / 2.0 + _PAD_M
    # The tree and the query only use envelopes: the diagonal of each padded
    # envelope carries it and is three times cheaper to build than a box.
    diag = np.empty((n, 2, 2))
    diag[:, 0, :] = bounds[:, 0:2] - pad
    diag[:, 1, :] = bounds[:, 2:4] + pad
    with _gc_paused():
        carriers = shapely.linestrings(diag)
    del diag
    i, j = shapely.STRtree(carriers).query(carriers)
    del carriers
    keep = i < j
    i = i[keep].astype(np.int64, copy=False)
    j = j[keep].astype(np.int64, copy=False)
    if groups is not None:
        keep = groups[i] == groups[j]
        if not keep.all():
            i, j = i[keep], j[keep]
    del keep
    if method == "auto":
        if rect is None:
            rect = _is_rectangle(geoms[rows], bounds)
        both = rect[i] & rect[j]
        within = np.zeros(len(i), dtype=bool)
        bi, bj = i[both], j[both]
        dx = np.maximum(bounds[bi, 0], bounds[bj, 0]) - np.minimum(bounds[bi, 2], bounds[bj, 2])
        dy = np.maximum(bounds[bi, 1], bounds[bj, 1]) - np.minimum(bounds[bi, 3], bounds[bj, 3])
        np.maximum(dx, 0.0, out=dx)
        np.maximum(dy, 0.0, out=dy)
        within[both] = dx * dx + dy * dy <= tol * tol
        rest = np.flatnonzero(~both)
    else:
        within = np.zeros(len(i), dtype=bool)
        rest = np.arange(len(i))
    if len(rest):
        within[rest] = shapely.dwithin(geoms[rows[i[rest]]], geoms[rows[j[rest]]], tol)
    return i[within], j[within]


def _component_labels(n: int, i: np.ndarray, j: np.ndarray, groups: np.ndarray | None = None
                      ) -> tuple[int, np.ndarray]:
    """Connected components of ``n`` nodes joined by edges ``(i, j)``.

    Labels are 0..k-1, ordered by group code and then by the first node of each
    component, so that they are reproducible whatever scipy's internal order.
    """
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n)).tocsr()
    k, labels = connected_components(graph, directed=False)
    first = np.full(k, n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n, dtype=np.int64))
    keys = [first] if groups is None else [first, np.asarray(groups)[first]]
    order = np.lexsort(keys)
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k, dtype=np.int64)
    return k, rank[labels]


def _block_labels(geoms: np.ndarray, rows: np.ndarray, groups: np.ndarray, tolerance_m: float,
                  method: str = "auto") -> tuple[int, np.ndarray]:
    """Block label of each of ``geoms[rows]``, never joining different groups.

    ``geoms`` is a whole geometry column; per-geometry measures are taken over
    it and subset (see :func:`_pairs`). Missing or empty geometries (non-finite
    bounds) get label -1.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    bounds = shapely.bounds(geoms)
    ok = _usable(geoms, bounds)
    rect = _is_rectangle(geoms, bounds) if method == "auto" else None
    keep = ok[rows]
    sub = rows[keep]
    g = np.asarray(groups)[keep]
    i, j = _pairs(geoms, sub, bounds[sub], g, tolerance_m, method, None if rect is None else rect[sub])
    k, lab = _component_labels(len(sub), i, j, g)
    labels = np.full(len(rows), -1, dtype=np.int64)
    labels[keep] = lab
    return k, labels


def distinct_count(group: np.ndarray, item: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of distinct ``item`` codes (>= 0; negative = missing) per group code."""
    group = np.asarray(group, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    ok = (item >= 0) & (group >= 0)
    if not ok.any():
        return np.zeros(n_groups, dtype=np.int64)
    width = int(item[ok].max()) + 1
    pairs = sorted_distinct(group[ok] * width + item[ok])
    return np.bincount(pairs // width, minlength=n_groups)


# ------------------------------------------------------------------ public
def _parcel_selection(parcels, farmland_uses) -> np.ndarray:
    n = len(parcels)
    use = np.ones(n, dtype=bool)
    if farmland_uses is not None:
        if isinstance(farmland_uses, str):
            farmland_uses = [farmland_uses]
        use &= parcels["land_use"].isin(list(farmland_uses)).to_numpy(dtype=bool)
    if "area_mu" in parcels:
        area = pd.to_numeric(parcels["area_mu"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            use &= area > 0
    if "village_id" in parcels:
        use &= parcels["village_id"].notna().to_numpy(dtype=bool)
    return use


def find_blocks(parcels, tolerance_m: float = 1.0, farmland_uses=None, *, method: str = "auto") -> pd.Series:
    """Contiguous block label of each parcel.

    Parcels of one village are joined when they touch or lie within
    ``tolerance_m`` metres of each other; a block is a connected component.
    Blocks never join parcels of different villages (``village_id``; a frame
    without that column is one village).

    Parameters
    ----------
    parcels : GeoDataFrame
        Parcel polygons in a projected CRS in metres, with ``village_id`` and,
        when ``farmland_uses`` is given, ``land_use``.
    tolerance_m : float, default 1.0
        Gap in metres that still joins two parcels (``settings.block_tolerance_m``).
    farmland_uses : sequence of str, optional
        Only parcels with these land uses join blocks (e.g. ``["arable"]``);
        default all parcels.
    method : {"auto", "envelope", "strtree"}
        How pairs are tested; see :func:`adjacent_pairs` (same result).

    Returns
    -------
    Series of Int64, named ``block_id``, indexed like ``parcels``
        Labels 0..k-1, ordered by village id and then by the parcels' order.
        ``<NA>`` for parcels that join no block: other land uses, a missing or
        empty geometry, a missing ``village_id``, or an ``area_mu`` that is
        missing, zero or negative (as in the land indicators).

    Raises
    ------
    ValueError
        When the parcels have no geometry or are in a geographic CRS.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"village_id": ["v1", "v1", "v1"]},
    ...                      geometry=shapely.box([0, 10, 30], 0, [10, 20, 40], 10))
    >>> find_blocks(p, tolerance_m=1.0).tolist()
    [0, 0, 1]
    """
    check_projected(parcels)
    geoms = geometry_array(parcels)
    if geoms is None:
        raise ValueError("the parcels have no geometry: contiguous blocks need parcel polygons")
    rows = np.flatnonzero(_parcel_selection(parcels, farmland_uses))
    if "village_id" in parcels:
        vcode_all, _ = pd.factorize(parcels["village_id"], sort=True)
        vcode = vcode_all[rows]
    else:
        vcode = np.zeros(len(rows), dtype=np.int64)
    _, labels = _block_labels(geoms, rows, vcode, tolerance_m, method)
    values = np.full(len(parcels), -1, dtype=np.int64)
    values[rows] = labels
    return pd.Series(pd.arrays.IntegerArray(np.maximum(values, 0), values < 0), index=parcels.index,
                     name="block_id")


def block_table(parcels, tolerance_m: float = 1.0, farmland_uses=None, blocks: pd.Series | None = None
                ) -> pd.DataFrame:
    """One row per contiguous block: its village, parcels, area and owners.

    Parameters
    ----------
    parcels : GeoDataFrame or DataFrame
        With ``village_id``, ``area_mu`` and optionally ``owner_id``; a geometry
        is needed unless ``blocks`` is given.
    tolerance_m, farmland_uses
        As in :func:`find_blocks` (used only when ``blocks`` is None).
    blocks : Series, optional
        Block labels aligned with ``parcels`` (e.g. from :func:`find_blocks`);
        parcels with ``<NA>`` are left out.

    Returns
    -------
    DataFrame
        Columns ``village_id``, ``block_id``, ``parcels`` (count), ``area_mu``
        (sum of the parcels' ``area_mu``, in mu), ``owners`` (number of distinct
        non-missing ``owner_id``; ``<NA>`` when no parcel of the block has one or
        the column is absent). Sorted by ``block_id``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> p = gpd.GeoDataFrame({"village_id": ["v1"] * 3, "area_mu": [1.0, 2.0, 4.0],
    ...                       "owner_id": ["A", "B", "A"]},
    ...                      geometry=shapely.box([0, 10, 30], 0, [10, 20, 40], 10))
    >>> block_table(p).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'village_id': ['v1', 'v1'], 'block_id': [0, 1], 'parcels': [2, 1],
     'area_mu': [3.0, 4.0], 'owners': [2, 1]}
    """
    if blocks is None:
        blocks = find_blocks(parcels, tolerance_m, farmland_uses)
    blocks = pd.Series(blocks)
    if len(blocks) != len(parcels):
        raise ValueError("blocks must have one label per parcel")
    lab = pd.array(blocks, dtype="Int64")
    ok = ~np.asarray(lab.isna())
    rows = np.flatnonzero(ok)
    labels = np.asarray(lab[ok], dtype=np.int64)
    bcode, bids = pd.factorize(labels, sort=True)
    k = len(bids)
    area = pd.to_numeric(parcels["area_mu"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[rows]
    count = np.bincount(bcode, minlength=k)
    total = np.bincount(bcode, weights=np.nan_to_num(area), minlength=k)
    village = np.empty(k, dtype=object)
    village[bcode] = parcels["village_id"].to_numpy(dtype=object)[rows]
    if "owner_id" in parcels:
        ocode, _ = pd.factorize(parcels["owner_id"].take(rows))
        owners_n = distinct_count(bcode, ocode, k)
        owners = pd.arrays.IntegerArray(owners_n, owners_n == 0)
    else:
        owners = pd.array([pd.NA] * k, dtype="Int64")
    return pd.DataFrame({
        "village_id": pd.array(village, dtype="str"),
        "block_id": np.asarray(bids, dtype=np.int64),
        "parcels": count.astype(np.int64),
        "area_mu": total,
        "owners": owners,
    })
