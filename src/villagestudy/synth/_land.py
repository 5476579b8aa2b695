"""Parcels, industrial parks and governance grids of synthetic villages.

Parcels are axis-aligned rectangles laid out in rows ("strips") inside a
village's inner rectangle. One number per village, its fragmentation level
``f`` in [0, 1], drives everything that researchers compare:

* ``f`` near 0 (consolidated): large parcels (about 6 mu), strips touching each
  other in groups of four rows between field roads (blocks of 100+ mu), one or
  two parcels per household, households and economic societies in contiguous
  runs, so a block has few owners;
* ``f`` near 1 (fragmented): small parcels (about 0.6 mu), gaps of 3-8 m between
  runs of strips and between rows (small separate blocks), eight or so parcels
  per household scattered over the village, so a block has many owners.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ..settings import M2_PER_MU

ARABLE, GARDEN, FOREST, CONSTRUCTION, OTHER = range(5)
ROW_GAP_CONSOLIDATED = 4  # rows between field roads in a consolidated village
PARK_GAP = 30.0  # metres between the farmland and the park band


@dataclass
class VillageParcels:
    """The parcels of all villages, relative to each village's farmland origin."""

    counts: np.ndarray  # parcels per village
    box: np.ndarray  # (N, 4) float64 xmin, ymin, xmax, ymax relative to the village's farmland origin
    land_use: np.ndarray  # (N,) int8 codes into LAND_USES
    household: np.ndarray  # (N,) int32, 1-based within the village, 0 = none (collective land)
    society: np.ndarray  # (N,) int16, 1-based economic society
    extent: np.ndarray  # (V, 2) width and height of each village's farmland


def _one_village(rng: np.random.Generator, k: int, f: float, community: bool):
    mean_mu = float(np.exp(np.log(6.0) * (1 - f) + np.log(0.6) * f))
    mu = np.clip(mean_mu * rng.lognormal(0.0, 0.35, k), 0.1, 60.0)
    depth = (60.0 * (1 - f) + 18.0 * f) * rng.uniform(0.85, 1.15)
    p_gap = 0.15 * f  # probability of a gap after a parcel within a row
    width = mean_mu * M2_PER_MU / depth
    total = k * mean_mu * M2_PER_MU
    per_row = max(1, int(round(np.sqrt(total * 1.3) / (width + p_gap * 5.5))))
    n_rows = -(-k // per_row)
    row = np.arange(k) // per_row
    d_row = depth * rng.uniform(0.92, 1.08, n_rows)
    w = mu * M2_PER_MU / d_row[row]
    gap = np.where(rng.random(k) < p_gap, rng.uniform(3.0, 8.0, k), 0.0)
    step = w + gap
    start = np.cumsum(step) - step
    x = start - start[row * per_row]
    road_every = max(1, int(round(ROW_GAP_CONSOLIDATED - 2 * f)))
    r = np.arange(n_rows)
    row_gap = np.where((r + 1) % road_every == 0, rng.uniform(5.0, 8.0, n_rows),
                       np.where(rng.random(n_rows) < 0.5 * f, rng.uniform(3.0, 6.0, n_rows), 0.0))
    y_row = np.cumsum(d_row + row_gap) - (d_row + row_gap)
    y = y_row[row]
    box = np.column_stack([x, y, x + w, y + d_row[row]])
    # land use: some whole rows are garden/forest/other, scattered house plots are construction
    row_use = np.where(rng.random(n_rows) < 0.06 + 0.15 * f,
                       rng.choice([GARDEN, FOREST, OTHER], size=n_rows, p=[0.45, 0.4, 0.15]), ARABLE)
    use = row_use[row].astype(np.int8)
    p_build = 0.01 + 0.07 * f + (0.08 if community else 0.0)
    use[rng.random(k) < p_build] = CONSTRUCTION
    use[rng.random(k) < 0.01] = OTHER
    # households: contiguous runs, then a share f of them shuffled across the village
    has_hh = (use != OTHER) & ~((use == FOREST) & (rng.random(k) < 0.5))
    n_hh_parcels = int(has_hh.sum())
    per_hh = (1.4 * (1 - f) + 8.0 * f) * rng.uniform(0.85, 1.15)
    n_hh = max(1, int(round(n_hh_parcels / per_hh)))
    seq = (np.arange(n_hh_parcels) * n_hh) // max(1, n_hh_parcels)
    move = np.flatnonzero(rng.random(n_hh_parcels) < f ** 0.8)
    seq[move] = seq[rng.permutation(move)]
    n_soc = int(min(n_hh, rng.integers(3, 10)))
    household = np.zeros(k, np.int32)
    household[has_hh] = seq + 1
    hh_society = (np.arange(n_hh) * n_soc) // n_hh + 1
    society = ((np.arange(k) * n_soc) // k + 1).astype(np.int16)  # collective land: by position
    scatter = rng.random(k) < f
    society[scatter] = rng.integers(1, n_soc + 1, int(scatter.sum()))
    society[has_hh] = hh_society[seq]
    extent = (float(box[:, 2].max()), float(box[:, 3].max()))
    return box, use, household, society, extent


def make_parcels(rng: np.random.Generator, counts: np.ndarray, frag: np.ndarray,
                 community: np.ndarray) -> VillageParcels:
    boxes, uses, hhs, socs, ext = [], [], [], [], []
    for k, f, c in zip(counts, frag, community):
        b, u, h, s, e = _one_village(rng, int(k), float(f), bool(c))
        boxes.append(b)
        uses.append(u)
        hhs.append(h)
        socs.append(s)
        ext.append(e)
    return VillageParcels(np.asarray(counts), np.concatenate(boxes), np.concatenate(uses), np.concatenate(hhs),
                          np.concatenate(socs), np.array(ext))


def park_band_height(extent_h: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Height of the band above the farmland that holds parks and the village centre."""
    return np.maximum(0.45 * extent_h, 220.0) * rng.uniform(1.0, 1.3, len(extent_h))


def place_parcels(parcels: VillageParcels, inner: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Absolute parcel rectangles (N, 4), each village's farmland at the bottom of its inner rectangle."""
    slack = np.maximum(inner[:, 2] - inner[:, 0] - parcels.extent[:, 0], 0.0)
    ox = inner[:, 0] + slack * rng.uniform(0.0, 1.0, len(inner))
    oy = inner[:, 1]
    off = np.column_stack([ox, oy, ox, oy])
    return np.round(parcels.box + np.repeat(off, parcels.counts, axis=0), 2)


def make_parks(rng: np.random.Generator, n_parks: np.ndarray, band: np.ndarray):
    """Park rectangles in each village's park band ``band`` (V, 4); returns (village index, boxes)."""
    vidx = np.repeat(np.arange(len(n_parks)), n_parks)
    if len(vidx) == 0:
        return vidx, np.zeros((0, 4))
    slot = np.concatenate([np.arange(n) for n in n_parks])
    n = n_parks[vidx]
    b = band[vidx]
    slot_w = (b[:, 2] - b[:, 0]) / n
    band_h = b[:, 3] - b[:, 1]
    target = np.clip(rng.lognormal(np.log(60.0), 0.7, len(vidx)), 8.0, 400.0) * M2_PER_MU
    aspect = rng.uniform(0.6, 1.7, len(vidx))
    w = np.minimum(np.sqrt(target * aspect), 0.85 * slot_w)
    h = np.minimum(target / w, 0.85 * band_h)
    x0 = b[:, 0] + slot * slot_w + rng.uniform(0.0, 1.0, len(vidx)) * (slot_w - w)
    y0 = b[:, 1] + rng.uniform(0.0, 1.0, len(vidx)) * (band_h - h)
    return vidx, np.round(np.column_stack([x0, y0, x0 + w, y0 + h]), 2)


def split_polygons(polys: np.ndarray, parts: np.ndarray, rng: np.random.Generator, axis: int):
    """Cut each polygon into ``parts`` pieces by lines across ``axis`` (0: vertical cuts, 1: horizontal).

    Returns (index of the source polygon, piece, share of the cut extent) for every piece; the pieces of one
    polygon tile it.
    """
    src = np.repeat(np.arange(len(polys)), parts)
    bounds = shapely.bounds(polys)
    shares, lo, hi = [], [], []
    for n in parts:  # a loop per village is fine
        s = rng.dirichlet(np.full(n, 6.0))
        edges = np.concatenate([[0.0], np.cumsum(s)])
        edges[-1] = 1.0
        shares.append(s)
        lo.append(edges[:-1])
        hi.append(edges[1:])
    shares, lo, hi = (np.concatenate(a) for a in (shares, lo, hi))
    bb = bounds[src]
    pad = 1.0
    if axis == 0:
        a0, a1 = bb[:, 0], bb[:, 2]
        c0, c1 = a0 + lo * (a1 - a0), a0 + hi * (a1 - a0)
        c0 = np.where(lo == 0, a0 - pad, np.round(c0, 2))
        c1 = np.where(hi == 1, a1 + pad, np.round(c1, 2))
        cutters = shapely.box(c0, bb[:, 1] - pad, c1, bb[:, 3] + pad)
    else:
        a0, a1 = bb[:, 1], bb[:, 3]
        c0, c1 = a0 + lo * (a1 - a0), a0 + hi * (a1 - a0)
        c0 = np.where(lo == 0, a0 - pad, np.round(c0, 2))
        c1 = np.where(hi == 1, a1 + pad, np.round(c1, 2))
        cutters = shapely.box(bb[:, 0] - pad, c0, bb[:, 2] + pad, c1)
    pieces = shapely.intersection(polys[src], cutters)
    return src, pieces, shares
