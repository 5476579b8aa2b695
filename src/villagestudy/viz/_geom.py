"""Geometry -> plotly traces, and the look shared by every map and chart.

Maps draw polygons as filled ``go.Scatter`` traces in the study's projected
coordinates (metres): no tile server, no geo traces, nothing fetched from the
network. Many polygons of one colour go into ONE trace, their rings separated
by ``None``; geometries are simplified with a tolerance relative to the extent
of the map and coordinates are rounded (to 1 m, or 0.1 m for small maps), so
that a town map stays well under 1 MB of figure JSON.

The second half of the module is the shared look: font (Noto Sans CJK SC
first, so that Chinese renders in Chromium), the colour of missing data,
and colour scales. Escaping and number formatting come from
:mod:`villagestudy.formatting` (one formatter for every view).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import re
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.colors as pcolors
import plotly.graph_objects as go
import shapely

from .. import catalog
from ..formatting import esc, fmt_number, fmt_value, is_missing  # noqa: F401  (maps and charts import them from here)
from ..i18n import STRINGS, normalise_lang, t
from ..metrics.standards import meets
from ..settings import Settings
from ..study import Study
from ._spec import FigureSpec


# ------------------------------------------------------------------ style
FONT_FAMILY = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", '
               '"PingFang SC", "Heiti SC", sans-serif')
NO_DATA_COLOR = "#c8c8c8"
MISSED_COLOR = "#d62728"
BOUNDARY_COLOR = "#ffffff"
BACKGROUND_FILL = "#f0f0f0"
GOOD_COLOR = "#2c7bb6"
BAD_COLOR = "#d7191c"
DIVERGING = "RdBu"
SEQUENTIAL = "Viridis"
#: map labels: dark text with a white halo, readable on any fill
LABEL_FONT = dict(size=10, color="#222222", shadow="auto")
#: number of colour steps of a choropleth (odd: the midpoint is a step of its own)
COLOR_LEVELS = 41
#: display tolerance = this share of the larger side of the map's extent
SIMPLIFY_REL = 1.0 / 1000.0


def unique_labels(names: Sequence, ids: Sequence) -> list[str]:
    """Escaped display names, made unique by adding the id to repeated names."""
    names = [esc(n) if esc(n) else esc(i) for n, i in zip(names, ids)]
    counts = pd.Series(names).value_counts()
    return [f"{n} ({esc(i)})" if counts[n] > 1 else n for n, i in zip(names, ids)]


THEME = "plotly_white"
"""The plotly template of every figure (batch reports make it the session default, see :func:`use_theme`)."""


def use_theme() -> None:
    """Make :data:`THEME` plotly's default template in this session.

    ``go.Figure()`` then starts with it, and :func:`base_layout` does not set it
    again: setting a template copies and validates it, about a third of the
    time a report spends building its figures.
    """
    import plotly.io as pio

    if pio.templates.default != THEME:  # setting it, even to the same name, copies and validates it again
        pio.templates.default = THEME


def update_layout(fig: go.Figure | FigureSpec, **props) -> go.Figure | FigureSpec:
    """``fig.update_layout(**props)``: the same recursive merge, without plotly's batch bookkeeping.

    plotly's ``update_layout`` records every change for a front end that a
    figure made for a report never has: 15-20 ms a call, against 1-3 ms here.
    A dict merges into a property already set; anything else replaces it. The
    figure functions of this package pass a :class:`~villagestudy.viz._spec.FigureSpec`,
    which merges plain dicts and is validated once when built; a ``go.Figure``
    (subplots) is updated in place.

    >>> fig = go.Figure(layout={"legend": {"x": 0.5}})
    >>> update_layout(fig, legend={"y": 1}, height=300).layout.legend.to_plotly_json()
    {'x': 0.5, 'y': 1}
    """
    if isinstance(fig, FigureSpec):
        fig.update_layout(**props)
    else:
        _merge(fig.layout, props)
    return fig


def update_axes(fig: go.Figure | FigureSpec, axis: str, **props) -> go.Figure | FigureSpec:
    """``fig.update_xaxes(**props)`` (``axis="x"``) or ``fig.update_yaxes`` (``"y"``), as :func:`update_layout`."""
    if isinstance(fig, FigureSpec):
        fig.update_axes(axis, **props)
        return fig
    axes = fig.select_xaxes() if axis == "x" else fig.select_yaxes()
    for ax in axes:
        _merge(ax, props)
    return fig


def _merge(obj, props: dict) -> None:
    from plotly.basedatatypes import BasePlotlyType

    for key, value in props.items():
        if isinstance(value, dict):
            current = obj[key]
            if isinstance(current, BasePlotlyType) and current.to_plotly_json():
                _merge(current, value)
                continue
        obj[key] = value


def base_layout(fig: go.Figure | FigureSpec, title: str | None = None, *, lang: str = "zh",
                **layout) -> go.Figure | FigureSpec:
    """The shared look: white template, CJK font first, a compact margin."""
    import plotly.io as pio

    if pio.templates.default != THEME:
        layout["template"] = THEME
    return update_layout(
        fig,
        font=dict(family=FONT_FAMILY, size=13),
        hoverlabel=dict(font=dict(family=FONT_FAMILY)),
        title=dict(text=title, x=0.01, xanchor="left") if title else None,
        margin=dict(l=10, r=10, t=60 if title else 20, b=10),
        **layout,
    )


def map_layout(fig: go.Figure | FigureSpec, title: str | None = None, *, lang: str = "zh",
               height: int = 620) -> go.Figure | FigureSpec:
    """Layout of a map: hidden axes, true aspect ratio (``scaleanchor``), legend below."""
    base_layout(fig, title, lang=lang, height=height, plot_bgcolor="white", hovermode="closest",
                legend=dict(orientation="h", yanchor="top", y=-0.01, xanchor="left", x=0,
                            bgcolor="rgba(255,255,255,0.8)"))
    update_axes(fig, "x", visible=False, showgrid=False, zeroline=False)
    return update_axes(fig, "y", visible=False, showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1)


# ------------------------------------------------------------- geometry
def check_projected(frame, what: str = "geometries") -> None:
    """Refuse a geographic CRS: maps round coordinates to metres."""
    crs = getattr(frame, "crs", None)
    if crs is not None and getattr(crs, "is_geographic", False):
        raise ValueError(f"{what} are in a geographic CRS ({crs.to_string()}); maps need the study's "
                         f"projected CRS in metres (reproject with .to_crs first)")


def geoms_of(frame) -> np.ndarray:
    """Geometries of a GeoDataFrame/GeoSeries as an object array (empty when none)."""
    if frame is None:
        return np.empty(0, dtype=object)
    try:
        geo = frame.geometry
    except AttributeError:
        return np.empty(0, dtype=object)
    check_projected(frame)
    return np.asarray(geo.values, dtype=object)


def usable(geoms) -> np.ndarray:
    """True where a geometry is present and not empty."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


class Display:
    """How geometries are simplified and rounded for one figure.

    Built from the extent of everything a figure draws, so every layer of the
    figure uses the same tolerance.
    """

    def __init__(self, tolerance: float, decimals: int):
        self.tolerance = float(tolerance)
        self.decimals = int(decimals)

    @classmethod
    def for_geoms(cls, *arrays, rel: float | None = None) -> "Display":
        parts = [np.asarray(a, dtype=object) for a in arrays if a is not None and len(a)]
        parts = [p[usable(p)] for p in parts]
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls(0.0, 1)
        b = shapely.total_bounds(np.concatenate(parts))
        side = max(b[2] - b[0], b[3] - b[1], 0.0)
        tol = side * (SIMPLIFY_REL if rel is None else rel)
        # 1 m is far below a pixel on a map wider than 2 km; small maps keep 0.1 m
        return cls(tol, 0 if tol >= 1.0 else 1)

    # ------------------------------------------------------------ output
    def _round(self, values: np.ndarray) -> list:
        if self.decimals <= 0:
            return np.round(values).astype(np.int64).tolist()
        return np.round(values, self.decimals).tolist()

    def _with_gaps(self, coords: np.ndarray, idx: np.ndarray) -> tuple[list, list]:
        """x and y lists with ``None`` between parts (``idx`` = part of each point)."""
        if len(coords) == 0:
            return [], []
        breaks = np.flatnonzero(np.diff(idx)) + 1
        xs = self._round(coords[:, 0])
        ys = self._round(coords[:, 1])
        for pos in breaks[::-1]:
            xs.insert(int(pos), None)
            ys.insert(int(pos), None)
        return xs, ys

    def _parts(self, geoms) -> np.ndarray:
        """Usable geometries, simplified for display, exploded into single parts."""
        g = np.asarray(geoms, dtype=object)
        g = g[usable(g)] if len(g) else g
        if len(g) == 0:
            return g
        if self.tolerance > 0:
            g = shapely.simplify(g, self.tolerance, preserve_topology=True)
        return shapely.get_parts(g)

    def rings(self, geoms) -> tuple[list, list]:
        """Rings of polygons (exterior counter-clockwise, holes clockwise) for ``fill='toself'``.

        Polygons and multipolygons only (other types are skipped). Exteriors and
        holes wind in opposite directions, so a hole stays unfilled.
        """
        parts = self._parts(geoms)
        polys = parts[shapely.get_type_id(parts) == 3] if len(parts) else parts
        polys = polys[usable(polys)] if len(polys) else polys
        if len(polys) == 0:
            return [], []
        polys = shapely.orient_polygons(polys)
        rings = shapely.get_rings(polys)
        coords, idx = shapely.get_coordinates(rings, return_index=True)
        return self._clean(coords, idx, closed=True)

    def lines(self, geoms) -> tuple[list, list]:
        """Boundaries of polygons (or lines as they are) for ``mode='lines'`` traces."""
        parts = self._parts(geoms)
        if len(parts) == 0:
            return [], []
        polys = parts[shapely.get_type_id(parts) == 3]
        others = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
        pieces = list(shapely.get_rings(polys)) if len(polys) else []
        pieces += list(others)
        if not pieces:
            return [], []
        coords, idx = shapely.get_coordinates(np.asarray(pieces, dtype=object), return_index=True)
        return self._clean(coords, idx, closed=False)

    def _clean(self, coords: np.ndarray, idx: np.ndarray, closed: bool) -> tuple[list, list]:
        coords = np.round(coords, max(self.decimals, 0))
        if len(coords) > 1:
            same = (idx[1:] == idx[:-1]) & (coords[1:] == coords[:-1]).all(axis=1)
            keep = np.concatenate([[True], ~same])
            coords, idx = coords[keep], idx[keep]
        counts = np.bincount(idx)
        ok = counts[idx] >= (4 if closed else 2)
        return self._with_gaps(coords[ok], idx[ok])

    def points(self, geoms) -> tuple[list, list]:
        """A point inside each geometry (``None`` for a missing one): where hover and labels go."""
        g = np.asarray(geoms, dtype=object)
        if len(g) == 0:
            return [], []
        pts = np.full(len(g), None, dtype=object)
        ok = usable(g)
        pts[ok] = shapely.point_on_surface(g[ok])
        xs: list = [None] * len(g)
        ys: list = [None] * len(g)
        if ok.any():
            xy = shapely.get_coordinates(pts[ok])
            rx, ry = self._round(xy[:, 0]), self._round(xy[:, 1])
            for k, i in enumerate(np.flatnonzero(ok)):
                xs[i], ys[i] = rx[k], ry[k]
        return xs, ys


# ---------------------------------------------------------------- traces
def trace(kind: str, **props) -> dict:
    """A trace as plotly's figure JSON (``{"type": kind, ...}``), not a graph object such as ``go.Scatter``.

    plotly validates a ``go.Scatter`` when it is made and again when it is added
    to a figure; a trace given as a dict is validated once, when its figure is
    built (``go.Figure(data=[...])``, ``fig.add_traces``). The figure is the
    same: properties set to None are left unset, as with ``go.Scatter``.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> line = trace("scatter", x=[0, 1], y=[1, 0], mode="lines", name=None)
    >>> go.Figure(data=[line]).data[0] == go.Scatter(x=[0, 1], y=[1, 0], mode="lines")
    True
    """
    return {"type": kind, **props}


def fill_trace(display: Display, geoms, color: str, *, name: str | None = None, showlegend: bool = False,
               line_color: str = BOUNDARY_COLOR, line_width: float = 0.6, dash: str | None = None,
               legendgroup: str | None = None, legendrank: int | None = None) -> dict:
    """ONE filled trace for many polygons of one colour (no hover: hover has its own trace)."""
    xs, ys = display.rings(geoms)
    return trace("scatter", x=xs, y=ys, mode="lines", fill="toself", fillcolor=color,
                 line=dict(color=line_color, width=line_width, dash=dash),
                 hoverinfo="skip", name=name, showlegend=showlegend and name is not None,
                 legendgroup=legendgroup, legendrank=legendrank)


def line_trace(display: Display, geoms, color: str, *, width: float = 1.0, dash: str | None = None,
               name: str | None = None, showlegend: bool = False, legendgroup: str | None = None,
               legendrank: int | None = None) -> dict:
    """ONE outline trace for many polygons (no fill)."""
    xs, ys = display.lines(geoms)
    return trace("scatter", x=xs, y=ys, mode="lines", line=dict(color=color, width=width, dash=dash),
                 hoverinfo="skip", name=name, showlegend=showlegend and name is not None,
                 legendgroup=legendgroup, legendrank=legendrank)


def hover_trace(display: Display, geoms, hovertext: Sequence[str], *, text: Sequence[str] | None = None,
                name: str | None = None, marker: dict | None = None, textfont: dict | None = None,
                legendgroup: str | None = None) -> dict:
    """Invisible markers inside each geometry carrying its hover text (and an optional label).

    With ``marker`` holding a colour scale and ``showscale=True`` this trace
    also draws the colourbar of a choropleth.
    """
    xs, ys = display.points(geoms)
    mk = dict(size=12, opacity=0, color="rgba(0,0,0,0)")
    if marker:
        mk.update(marker)
    return trace("scatter", x=xs, y=ys, mode="markers+text" if text is not None else "markers",
                 marker=mk, text=list(text) if text is not None else None,
                 textfont={**LABEL_FONT, **(textfont or {})}, textposition="middle center",
                 hovertext=list(hovertext), hovertemplate="%{hovertext}<extra></extra>",
                 name=name, showlegend=False, legendgroup=legendgroup)


def legend_entry(name: str, *, color: str, symbol: str = "square", mode: str = "markers",
                 dash: str | None = None, width: float = 2.0, marker_line: dict | None = None,
                 legendgroup: str | None = None, legendrank: int | None = None) -> dict:
    """A trace that only draws a legend entry (a marker, or a line with ``mode='lines'``)."""
    if mode == "lines":
        return trace("scatter", x=[None], y=[None], mode="lines", name=name, showlegend=True, hoverinfo="skip",
                     line=dict(color=color, width=width, dash=dash), legendgroup=legendgroup,
                     legendrank=legendrank)
    return trace("scatter", x=[None], y=[None], mode="markers", name=name, showlegend=True, hoverinfo="skip",
                 marker=dict(color=color, symbol=symbol, size=12, line=marker_line or dict(width=0)),
                 legendgroup=legendgroup, legendrank=legendrank)


# ----------------------------------------------------------------- colours
def _hex(color: str) -> str:
    m = re.match(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)", color)
    if not m:
        return color
    return "#" + "".join(f"{int(round(float(v))):02x}" for v in m.groups())


def scale_colors(fracs: Iterable[float], colorscale, levels: int = COLOR_LEVELS) -> list[str | None]:
    """Hex colours for positions in [0, 1] on a plotly colour scale, in ``levels`` steps.

    Positions are clipped to [0, 1]; NaN gives ``None``.
    """
    scale = pcolors.get_colorscale(colorscale) if isinstance(colorscale, str) else colorscale
    out: list[str | None] = []
    fr = np.asarray(list(fracs), dtype=float)
    steps = np.round(np.clip(fr, 0, 1) * (levels - 1)) / (levels - 1)
    ok = ~np.isnan(fr)
    sampled = pcolors.sample_colorscale(scale, steps[ok].tolist(), colortype="rgb") if ok.any() else []
    it = iter(sampled)
    for good in ok:
        out.append(_hex(next(it)) if good else None)
    return out


def squeeze_diverging(scale: list, p: float) -> list:
    """Move the midpoint of a diverging scale from 0.5 to ``p`` (lower half to [0, p], upper to [p, 1]).

    The colourbar then shows the midpoint colour exactly at the threshold even
    when the data are not symmetric around it.
    """
    p = min(max(float(p), 0.0), 1.0)
    out = []
    for pos, col in scale:
        pos = float(pos)
        if pos < 0.5:
            if p <= 0:
                continue
            out.append([pos / 0.5 * p, col])
        elif pos == 0.5:
            out.append([p, col])
        else:
            if p >= 1:
                continue
            out.append([p + (pos - 0.5) / 0.5 * (1 - p), col])
    if not any(abs(pos - p) < 1e-12 for pos, _ in out):  # a scale without a point at 0.5
        mid = pcolors.sample_colorscale(scale, [0.5], colortype="rgb")[0]
        out.append([p, mid])
        out.sort(key=lambda x: x[0])
    out[0][0], out[-1][0] = 0.0, 1.0
    return out


def label_color(fill: str | None) -> str:
    """Dark text on light fills, white text on dark fills (relative luminance below 0.4)."""
    if not fill or not fill.startswith("#") or len(fill) != 7:
        return LABEL_FONT["color"]
    r, g, b = (int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#ffffff" if lum < 0.4 else LABEL_FONT["color"]


def colorscale_of(name_or_scale, reverse: bool = False) -> list:
    """``[[position, colour], ...]`` of a plotly colour scale (a name such as ``"RdBu"``, or the list itself).

    Examples
    --------
    >>> colorscale_of([[0, "#000000"], [1, "#ffffff"]], reverse=True)
    [[0.0, '#ffffff'], [1.0, '#000000']]
    """
    scale = _named_colorscale(name_or_scale) if isinstance(name_or_scale, str) else list(name_or_scale)
    if reverse:
        scale = [[1 - float(p), c] for p, c in reversed(scale)]
    return [[float(p), c] for p, c in scale]


@functools.lru_cache(maxsize=64)
def _named_colorscale(name: str) -> tuple:
    # plotly looks the name up and validates the scale on every call (about 0.6 ms): a report asks for a few
    # scales many times
    return tuple((p, c) for p, c in pcolors.get_colorscale(name))


def qualitative(n: int, palette: str = "Alphabet") -> list[str]:
    """``n`` colours of a plotly qualitative palette (cycled when more are asked).

    ``Alphabet`` (26 colours) for areas; ``Dark24`` for lines and bars, which
    need colours that stand out on white.
    """
    base = list(getattr(pcolors.qualitative, palette))
    return [base[i % len(base)] for i in range(n)]


# ----------------------------------------------------------------- values
class Meta:
    """What a figure needs to know about a column: label, unit, kind, direction, standard."""

    def __init__(self, column: str, lang: str = "zh"):
        self.id = column
        lang = normalise_lang(lang)
        self.standard: str | None = None
        self.comparison: str | None = None
        self.pillar: str | None = None
        if column in catalog.PILLAR_LABELS:
            self.label = self.name = catalog.label(column, lang)
            self.unit_en, self.kind, self.direction = "", "number", 1
            self.pillar = column
        else:
            try:
                ind = catalog.get(column)
            except KeyError:
                self.label = self.name = t(column, lang) if column in STRINGS else esc(column)
                self.unit_en, self.kind, self.direction = "", "number", 0
            else:
                self.label, self.name = ind.label(lang), ind.name(lang)
                self.unit_en, self.kind, self.direction = ind.unit_en, ind.kind, ind.direction
                self.standard, self.comparison = ind.standard, ind.comparison
                self.pillar = ind.pillar

    @property
    def is_share(self) -> bool:
        return self.unit_en.startswith("share")

    @property
    def is_flag(self) -> bool:
        return self.kind == "flag"

    def threshold(self, settings) -> float | None:
        if not self.standard or settings is None:
            return None
        v = getattr(settings, self.standard, None)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    def meets(self, value, threshold):
        """Whether values meet ``threshold``: :func:`villagestudy.metrics.standards.meets` (the one rule).

        A scalar gives a bool, an array a bool array (missing values: False).
        """
        arr = np.atleast_1d(np.asarray(value, dtype=float))
        res = meets(pd.Series(arr), threshold, self.comparison or ">=").fillna(False).to_numpy(dtype=bool)
        return res if np.ndim(value) else bool(res[0])

    def standard_text(self, threshold, lang: str = "zh") -> str:
        key = "standard_le" if self.comparison == "<=" else "standard_ge"
        return t(key, lang, value=fmt_value(threshold, self, lang))


def as_flags(values: pd.Series) -> pd.Series:
    """Truthy values as an object Series of True/False/None."""
    return pd.Series([None if is_missing(v) else bool(v) for v in values], index=values.index, dtype=object)


def resolve_settings(settings=None, study=None, table=None):
    """Settings in force: explicit ``settings`` > ``table.attrs['settings']`` > the study's > defaults."""
    def _from(obj):
        if obj is None:
            return None
        if isinstance(obj, Settings):
            return obj
        if isinstance(obj, Study):
            return obj.settings
        if isinstance(obj, dict):
            known = {f.name for f in dataclasses.fields(Settings)}
            return Settings().replace(**{k: v for k, v in obj.items() if k in known})
        raise TypeError(f"settings must be a Settings, a Study or a dict, not {type(obj).__name__}")

    for cand in (settings, getattr(table, "attrs", {}).get("settings") if table is not None else None,
                 study.settings if study is not None else None):
        s = _from(cand)
        if s is not None:
            return s
    return Settings()
