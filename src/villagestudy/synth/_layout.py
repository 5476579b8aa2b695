"""Village polygons that tile rectangular towns, and towns that tile the county.

Each town is a rectangle cut into rows of villages. Row boundaries are smooth
wavy polylines and column boundaries are slanted segments, so villages are
irregular, never overlap, and neighbours share their edges vertex for vertex.
Every village gets an axis-aligned *inner rectangle* that is guaranteed to lie
inside its polygon: farmland and parks are placed there, so nothing needs to be
clipped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

JITTER = 0.12  # boundary jitter as a share of the smaller adjacent cell
MARGIN = 3.0  # metres kept between the inner rectangle and the jittered boundary


@dataclass
class Layout:
    polygons: np.ndarray  # shapely polygons, one per village (input order)
    inner: np.ndarray  # (n, 4) xmin, ymin, xmax, ymax of each village's inner rectangle
    towns: np.ndarray  # (T, 4) town rectangles


def _rows_of(n: int) -> np.ndarray:
    rows = max(1, int(round(math.sqrt(n / 1.2))))
    counts = np.full(rows, n // rows)
    counts[: n % rows] += 1
    return counts


def cell_need(inner_w: np.ndarray, inner_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nominal cell size that guarantees an inner rectangle of at least ``inner_w`` x ``inner_h``."""
    k = 1.0 - 2.0 * JITTER
    return (inner_w + 2 * MARGIN + 0.1) / k, (inner_h + 2 * MARGIN + 0.1) / k


def _wavy(rng: np.random.Generator, x: np.ndarray, amp: float, scale: float) -> np.ndarray:
    """A smooth offset in [-amp, amp] along x (two sinusoids with random phases)."""
    lam1, lam2 = scale * rng.uniform(1.5, 3.0), scale * rng.uniform(0.6, 1.0)
    p1, p2 = rng.uniform(0, 2 * np.pi, 2)
    return amp * (0.6 * np.sin(2 * np.pi * x / lam1 + p1) + 0.4 * np.sin(2 * np.pi * x / lam2 + p2))


def _town_geometry(rng, x0, y0, tw, row_h, row_w, jitter):
    """Polygons and inner rectangles of the villages of one town (row-major order)."""
    R = len(row_h)
    ynom = y0 + np.concatenate([[0.0], np.cumsum(row_h)])
    ynom[-1] = y0 + float(np.sum(row_h))
    xr = np.round(x0 + tw, 2)
    xb, xt = [], []  # column boundaries at the bottom and top of each row
    for w in row_w:
        xs = x0 + np.concatenate([[0.0], np.cumsum(w)])
        amp = jitter * np.minimum(w[:-1], w[1:])
        b, t = xs.copy(), xs.copy()
        b[1:-1] += rng.uniform(-1, 1, len(amp)) * amp
        t[1:-1] += rng.uniform(-1, 1, len(amp)) * amp
        b[0] = t[0] = x0
        b[-1] = t[-1] = xr
        xb.append(np.round(b, 2))
        xt.append(np.round(t, 2))
    scale = tw / max(len(w) for w in row_w)
    lines, amps = [], np.zeros(R + 1)
    for b in range(R + 1):  # boundary b lies under row b
        if b == 0:
            xs = xb[0]
            ys = np.full(len(xs), np.round(ynom[0], 2))
        elif b == R:
            xs = xt[R - 1]
            ys = np.full(len(xs), np.round(ynom[R], 2))
        else:
            extra = np.linspace(x0, x0 + tw, int(np.ceil(tw / (scale / 4))) + 1)
            xs = np.unique(np.round(np.concatenate([xt[b - 1], xb[b], extra]), 2))
            xs = xs[(xs >= x0) & (xs <= xr)]
            amps[b] = jitter * min(row_h[b - 1], row_h[b])
            ys = np.round(ynom[b] + _wavy(rng, xs - x0, amps[b], scale), 2)
        lines.append((xs, ys))
    polys, inner = [], []
    for r in range(R):
        (bx, by), (tx, ty) = lines[r], lines[r + 1]
        for k in range(len(row_w[r])):
            i0, i1 = np.searchsorted(bx, [xb[r][k], xb[r][k + 1]])
            j0, j1 = np.searchsorted(tx, [xt[r][k], xt[r][k + 1]])
            ring = np.concatenate([np.column_stack([bx[i0:i1 + 1], by[i0:i1 + 1]]),
                                   np.column_stack([tx[j0:j1 + 1], ty[j0:j1 + 1]])[::-1]])
            polys.append(shapely.polygons(ring))
            inner.append((max(xb[r][k], xt[r][k]) + MARGIN, ynom[r] + amps[r] + MARGIN,
                          min(xb[r][k + 1], xt[r][k + 1]) - MARGIN, ynom[r + 1] - amps[r + 1] - MARGIN))
    return np.array(polys, dtype=object), np.array(inner)


def layout_study(rng: np.random.Generator, villages_per_town: list[int], need_w: np.ndarray, need_h: np.ndarray,
                 centre: tuple[float, float] = (500_000.0, 2_500_000.0)) -> Layout:
    """Place towns and villages; ``need_w``/``need_h`` are the inner rectangles each village needs (m)."""
    cw, ch = cell_need(np.asarray(need_w, float), np.asarray(need_h, float))
    towns = []
    start = 0
    for n in villages_per_town:
        idx = np.arange(start, start + n)
        start += n
        rows = np.split(idx, np.cumsum(_rows_of(n))[:-1])
        widths = [cw[r] * rng.uniform(1.0, 1.15, len(r)) for r in rows]
        heights = np.array([ch[r].max() for r in rows])
        towns.append({"rows": rows, "widths": widths, "heights": heights,
                      "w": max(w.sum() for w in widths), "h": float(heights.sum())})
    T = len(towns)
    ncol = math.ceil(math.sqrt(T))
    county_rows = [list(range(i, min(i + ncol, T))) for i in range(0, T, ncol)]
    county_w = max(sum(towns[t]["w"] for t in cr) for cr in county_rows)
    county_h = sum(max(towns[t]["h"] for t in cr) for cr in county_rows)
    # snap the origin to whole metres so that town edges are exact
    ox, oy = round(centre[0] - county_w / 2), round(centre[1] - county_h / 2)
    polys = np.empty(len(need_w), dtype=object)
    inner = np.zeros((len(need_w), 4))
    rects = np.zeros((T, 4))
    y = float(oy)
    for cr in county_rows:
        rh = max(towns[t]["h"] for t in cr)
        stretch_x = county_w / sum(towns[t]["w"] for t in cr)
        x = float(ox)
        for t in cr:
            town = towns[t]
            tw = round(town["w"] * stretch_x, 2)
            row_h = town["heights"] * (rh / town["h"])
            row_w = [w * (tw / w.sum()) for w in town["widths"]]
            for attempt in range(6):
                jitter = JITTER * 0.5 ** attempt if attempt < 5 else 0.0
                state = rng.bit_generator.state
                p, inn = _town_geometry(rng, round(x, 2), round(y, 2), tw, row_h, row_w, jitter)
                boxes = shapely.box(inn[:, 0], inn[:, 1], inn[:, 2], inn[:, 3])
                if shapely.is_valid(p).all() and shapely.contains(p, boxes).all():
                    break
                rng.bit_generator.state = state
            order = np.concatenate(town["rows"])
            polys[order] = p
            inner[order] = inn
            rects[t] = (round(x, 2), round(y, 2), round(x, 2) + tw, round(y + rh, 2))
            x += tw
        y += rh
    return Layout(polys, inner, rects)
