"""Maps of a study as plotly figures: villages, industrial parks, grids, parcels.

Every map is drawn in the study's projected coordinates (metres) with filled
``go.Scatter`` traces: no tiles, no basemap, no geo traces, so the figures work
offline. Polygons of one colour share one
trace; a separate trace of invisible markers inside each polygon carries the
hover text (and, for choropleths, the colourbar). Text from data is
HTML-escaped. Missing values are grey and say "无数据"/"No data", never 0.

Functions
---------
:func:`village_map`    choropleth of an indicator or a composite score.
:func:`parks_map`      industrial parks over village boundaries.
:func:`grids_map`      grids and micro-grids, with or without a party group.
:func:`parcels_map`    the parcels of one village by household, owner or block.
:func:`park_values`    the per-park value a parks map is coloured by.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from ..i18n import normalise_lang, t
from ..metrics.blocks import adjacent_pairs, find_blocks
from ..settings import M2_PER_MU
from ._geom import (
    BACKGROUND_FILL, BAD_COLOR, COLOR_LEVELS, DIVERGING, GOOD_COLOR, MISSED_COLOR, NO_DATA_COLOR, SEQUENTIAL,
    Display, Meta, as_flags, colorscale_of, esc, fill_trace, fmt_number, fmt_value, geoms_of, hover_trace, is_missing,
    label_color, legend_entry, line_trace, map_layout, qualitative, resolve_settings, scale_colors, trace,
    squeeze_diverging, update_axes, update_layout, usable,
)
from ._spec import FigureSpec

__all__ = ["village_map", "parks_map", "grids_map", "parcels_map", "park_values", "PARK_MEASURES"]

#: per-park measures a parks map can be coloured by (catalog ids of the park indicators)
PARK_MEASURES = ("park_tax_per_mu_yuan", "park_far", "park_occupancy", "park_rent_per_m2_yuan")


# ----------------------------------------------------------------- helpers
def _colon(lang: str) -> str:
    return t("colon", lang)


def _villages(study, town_id=None, village_ids=None) -> pd.DataFrame:
    """Villages (id, name, town id, town name, geometry or None) of a selection.

    Built from plain arrays: a report draws about nine maps, and the pandas
    steps this replaces (a filtered GeoDataFrame, ``drop_duplicates``, ``map``)
    cost about 10 ms a map on a study of 200 villages.
    """
    villages = study.villages
    keep = np.ones(len(villages), dtype=bool)
    if town_id is not None:
        towns = [town_id] if isinstance(town_id, str) else [str(x) for x in town_id]
        keep &= villages["town_id"].isin(towns).to_numpy()
    if village_ids is not None:
        ids = [village_ids] if isinstance(village_ids, str) else [str(x) for x in village_ids]
        keep &= villages["village_id"].isin(ids).to_numpy()
    v = villages.loc[keep, ["village_id", "village_name", "town_id"]].reset_index(drop=True)
    towns = study.towns
    names = dict(zip(towns["town_id"], towns["town_name"] if "town_name" in towns else towns["town_id"]))
    v["town_name"] = [tid if is_missing(names.get(tid)) else names[tid] for tid in v["town_id"]]
    outline = {}
    if study.has_geometry("boundaries"):
        b = study.boundaries
        geoms = geoms_of(b)
        ok = usable(geoms)
        # the first usable outline of a village wins, as drop_duplicates kept it: fill in reverse
        outline = dict(zip(b["village_id"].to_numpy()[ok][::-1], geoms[ok][::-1]))
    v["geometry"] = np.array([outline.get(i) for i in v["village_id"]], dtype=object)
    return v


def _values(table: pd.DataFrame, column: str) -> pd.Series:
    if "village_id" in table.columns and table.index.name != "village_id":
        table = table.set_index("village_id")
    if column not in table.columns:
        raise KeyError(f"column {column!r} is not in the table; it has: {', '.join(map(str, table.columns))}")
    s = table[column]
    s.index = s.index.astype(str)
    return s[~s.index.duplicated()]


def _row_values(frame: pd.DataFrame, columns: Sequence[str], *, numeric: Sequence[str] = ()) -> list[dict]:
    """Each row of ``frame`` as a dict of ``columns``: None where the frame lacks a column, NaN where a
    ``numeric`` column holds no number.

    For hover texts, a few values per feature: one ``iloc`` row per feature, and a
    number coerced one value at a time, cost about 0.5 ms a feature.
    """
    values = {}
    for c in columns:
        if c not in frame:
            values[c] = [None] * len(frame)
        elif c in numeric:
            values[c] = pd.to_numeric(frame[c], errors="coerce").tolist()
        else:
            values[c] = frame[c].tolist()
    return [dict(zip(values, row)) for row in zip(*values.values())]


def _selection_title(study, town_id, label: str, lang: str, year=None) -> str:
    parts = []
    if isinstance(town_id, str):
        parts.append(esc(study.town_name(town_id)))
    parts.append(label)
    if year is not None:
        parts.append(t("year_n", lang, year=int(year)))
    return t("separator", lang).join(parts)


def _empty_note(fig: FigureSpec, text: str) -> None:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=16, color="#666"))


def _note(fig: FigureSpec, text: str, y: float = 1.0) -> None:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=1.0, y=y, xanchor="right", yanchor="bottom",
                       showarrow=False, font=dict(size=11, color="#555"))


def _group_fills(display: Display, geoms: np.ndarray, colors: list, **kw) -> list[dict]:
    """One filled trace per distinct colour (None colours are skipped)."""
    traces = []
    col = pd.Series(colors, dtype=object)
    for c in sorted({c for c in colors if c is not None}):
        idx = np.flatnonzero((col == c).to_numpy())
        traces.append(fill_trace(display, geoms[idx], c, **kw))
    return traces


def _colorbar(title: str, share: bool) -> dict:
    cb = dict(title=dict(text=title, side="right"), thickness=14, len=0.85, outlinewidth=0)
    # thousands separators, never SI suffixes such as "10M" (English letters in a Chinese map)
    cb["tickformat"] = ".0%" if share else ","
    return cb


class _Scale:
    """A continuous colour scale for a figure: colours per value, and the colourbar's scale and range.

    With a threshold the scale is diverging with its midpoint colour exactly at
    the threshold (``cmid``): the lower half of the colours spans
    ``[cmin, threshold]`` and the upper half ``[threshold, cmax]``, so that
    every value on the missing side of the standard gets a colour of that
    side, whatever the skew of the data. Without one it is sequential.
    """

    def __init__(self, values: np.ndarray, meta: Meta, threshold=None, colorscale=None):
        values = np.asarray(values, dtype=float)
        ok = values[~np.isnan(values)]
        self.threshold = threshold
        if threshold is not None:
            thr = float(threshold)
            lo = min(float(ok.min()), thr) if len(ok) else thr
            hi = max(float(ok.max()), thr) if len(ok) else thr
            if not hi > lo:
                d = abs(thr) * 0.1 or 1.0
                lo, hi = thr - d, thr + d
            # red = misses the standard: low values for ">=", high values for "<="
            self.base = colorscale_of(colorscale or DIVERGING, reverse=meta.comparison == "<=")
            self.cmin, self.cmax, self.cmid = lo, hi, thr
            self.colorscale = squeeze_diverging(self.base, (thr - lo) / (hi - lo))
        else:
            lo, hi = (float(ok.min()), float(ok.max())) if len(ok) else (0.0, 1.0)
            if not hi > lo:
                lo, hi = lo - 0.5, hi + 0.5
            self.base = self.colorscale = colorscale_of(colorscale or SEQUENTIAL, reverse=meta.direction < 0)
            self.cmin, self.cmax, self.cmid = lo, hi, None

    def colors(self, values) -> list:
        """Hex colour per value (None for NaN), in COLOR_LEVELS steps of the base scale."""
        v = np.asarray(values, dtype=float)
        n = COLOR_LEVELS - 1
        if self.cmid is None:
            level = np.round((v - self.cmin) / (self.cmax - self.cmin) * n)
        else:
            thr, mid = self.cmid, n // 2
            tol = 1e-9 * max(1.0, abs(thr))
            with np.errstate(invalid="ignore", divide="ignore"):
                below = 0.5 * (v - self.cmin) / (thr - self.cmin) if thr > self.cmin else np.zeros_like(v)
                above = 0.5 + 0.5 * (v - thr) / (self.cmax - thr) if self.cmax > thr else np.full_like(v, 0.5)
                level = np.where(v < thr - tol, np.minimum(np.floor(below * n), mid - 1),
                                 np.where(v > thr + tol, np.maximum(np.ceil(above * n), mid + 1), mid))
        return scale_colors(np.clip(level, 0, n) / n, self.base)

    def marker(self, values, title: str, share: bool) -> dict:
        """Marker properties that draw this scale's colourbar."""
        return dict(color=[float(x) for x in values], colorscale=self.colorscale, cmin=self.cmin, cmax=self.cmax,
                    showscale=True, colorbar=_colorbar(title, share))


# ------------------------------------------------------------- choropleth
def village_map(study, table: pd.DataFrame, indicator: str, *, town_id=None, settings=None, lang: str = "zh",
                title: str | None = None, colorscale=None, show_names: bool = True,
                height: int = 620) -> go.Figure:
    """Choropleth of villages by an indicator (or a composite score column).

    Parameters
    ----------
    study : Study
        Gives the village boundaries, names and towns.
    table : DataFrame
        Indexed by ``village_id`` (e.g. :func:`villagestudy.compute_indicators`,
        or a table of composite scores) with a column ``indicator``.
    indicator : str
        A catalog indicator id, or a pillar/score column (``'score'``,
        ``'land'``...; labelled by :func:`villagestudy.catalog.label`).
    town_id : str or list of str, optional
        Only the villages of this town (towns).
    settings : Settings, dict or Study, optional
        Standards in force; default ``table.attrs['settings']`` (what the table
        was computed with), else the study's settings.
    lang : {"zh", "en"}
    colorscale : str or list, optional
        A plotly colour scale; default diverging ``RdBu`` around the standard
        (red = misses it) or sequential ``Viridis``.

    Returns
    -------
    plotly.graph_objects.Figure
        ``layout.meta`` holds ``indicator``, ``threshold``, ``cmin``/``cmax``
        and the ids of villages with no data (``missing``), missing the
        standard (``missed``) and without a boundary (``without_boundary``).
    """
    lang = normalise_lang(lang)
    if not study.has_geometry("boundaries"):
        raise ValueError("the study has no village boundaries (boundaries table with polygons): "
                         "a village map needs them")
    meta = Meta(indicator, lang)
    values = _values(table, indicator)
    s = resolve_settings(settings, study, table)
    thr = meta.threshold(s)
    v = _villages(study, town_id)
    v["value"] = values.reindex(v["village_id"]).to_numpy()
    has_geom = usable(v["geometry"].to_numpy(dtype=object))
    lost = v.loc[~has_geom, "village_id"].tolist()
    v = v[has_geom].reset_index(drop=True)
    geoms = v["geometry"].to_numpy(dtype=object)
    display = Display.for_geoms(geoms)
    colon = _colon(lang)
    traces: list[dict] = []
    info: dict = {"indicator": indicator, "threshold": thr, "without_boundary": lost}

    def hover(i, value_text, extra=""):
        return (f"<b>{esc(v.at[i, 'village_name'])}</b><br>{esc(v.at[i, 'town_name'])}<br>"
                f"{meta.label}{colon}{value_text}{extra}")

    names = [esc(n) for n in v["village_name"]] if show_names else None
    if meta.is_flag or pd.api.types.is_bool_dtype(v["value"]):
        flags = as_flags(v["value"])
        missing = flags.isna().to_numpy()
        good_value = meta.direction >= 0
        for val in (True, False):
            idx = np.flatnonzero((flags == val).to_numpy() & ~missing)
            if len(idx):
                traces.append(fill_trace(display, geoms[idx], GOOD_COLOR if val == good_value else BAD_COLOR,
                                         name=f"{meta.name}{colon}{t('yes' if val else 'no', lang)}",
                                         showlegend=True, legendrank=1 if val else 2))
        missed = np.zeros(len(v), dtype=bool)
        if meta.standard and thr is not None:
            missed = (flags == False).to_numpy() & ~missing  # noqa: E712 (object Series)
        texts = [hover(i, fmt_value(flags.iat[i], meta, lang)) for i in range(len(v))]
        ok = np.flatnonzero(~missing)
        if len(ok):
            fill = [GOOD_COLOR if flags.iat[i] == good_value else BAD_COLOR for i in ok]
            traces.append(hover_trace(display, geoms[ok], [texts[i] for i in ok],
                                      text=[names[i] for i in ok] if names else None, name=meta.name,
                                      textfont=dict(color=[label_color(c) for c in fill])))
    else:
        num = pd.to_numeric(v["value"], errors="coerce").astype(float).to_numpy()
        missing = np.isnan(num)
        scale = _Scale(num, meta, thr, colorscale)
        info.update(cmin=scale.cmin, cmax=scale.cmax, cmid=scale.cmid)
        colors = scale.colors(num)
        traces.extend(_group_fills(display, geoms, colors))
        missed = np.zeros(len(v), dtype=bool)
        extra = [""] * len(v)
        if thr is not None:
            missed = ~missing & ~meta.meets(np.nan_to_num(num, nan=thr), thr)
            std = meta.standard_text(thr, lang)
            extra = [f"<br>{std}{t('separator', lang)}{t('missed' if missed[i] else 'met', lang)}"
                     if not missing[i] else "" for i in range(len(v))]
        ok = np.flatnonzero(~missing)
        if len(ok):
            cb_title = meta.label if thr is None else f"{meta.label}<br>{meta.standard_text(thr, lang)}"
            marker = scale.marker(num[ok], cb_title, meta.is_share)
            traces.append(hover_trace(display, geoms[ok], [hover(i, fmt_value(num[i], meta, lang), extra[i])
                                                           for i in ok],
                                      text=[names[i] for i in ok] if names else None, marker=marker,
                                      textfont=dict(color=[label_color(colors[i]) for i in ok]),
                                      name=meta.name))
    idx_missing = np.flatnonzero(missing)
    if len(idx_missing):
        traces.append(fill_trace(display, geoms[idx_missing], NO_DATA_COLOR, name=t("no_data", lang),
                                 showlegend=True, legendgroup="no_data", legendrank=1100))
        traces.append(hover_trace(display, geoms[idx_missing],
                                  [hover(i, t("no_data", lang)) for i in idx_missing],
                                  text=[names[i] for i in idx_missing] if names else None,
                                  name=t("no_data", lang), legendgroup="no_data"))
    idx_missed = np.flatnonzero(missed)
    if len(idx_missed):
        traces.append(line_trace(display, geoms[idx_missed], MISSED_COLOR, width=3,
                                 name=t("missed_standard", lang), showlegend=True, legendrank=1101))
    # draw the missed outlines under the hover markers: hover traces last (a stable sort)
    traces.sort(key=lambda tr: tr.get("hovertemplate") is not None)
    fig = FigureSpec(traces)
    info["missing"] = v.loc[missing, "village_id"].tolist()
    info["missed"] = v.loc[missed, "village_id"].tolist()
    year = table.attrs.get("year") if meta.pillar in ("income", "governance") else None
    map_layout(fig, title if title is not None else _selection_title(study, town_id, meta.label, lang, year),
               lang=lang, height=height)
    update_layout(fig, meta=info)
    if lost:
        _note(fig, t("villages_without_boundary", lang, n=len(lost)))
    return fig.build()


# ------------------------------------------------------------------- parks
def park_values(parks: pd.DataFrame, color_by: str = "park_tax_per_mu_yuan") -> pd.Series:
    """The value of each park that a parks map is coloured by.

    ``park_tax_per_mu_yuan`` = annual_tax_yuan / land_area_mu,
    ``park_far`` = floor_area_m2 / land area in m2, ``park_occupancy`` =
    occupied / floor area, ``park_rent_per_m2_yuan`` = rent / occupied floor
    area; any other name is a numeric column of ``parks``. Divisions by a
    missing, zero or negative denominator give NaN.
    """
    def col(name):
        if name not in parks:
            return pd.Series(np.nan, index=parks.index)
        return pd.to_numeric(parks[name], errors="coerce").astype(float)

    def div(a, b):
        b = b.where(b > 0)
        return a / b

    if color_by == "park_tax_per_mu_yuan":
        return div(col("annual_tax_yuan"), col("land_area_mu"))
    if color_by == "park_far":
        return div(col("floor_area_m2"), col("land_area_mu") * M2_PER_MU)
    if color_by == "park_occupancy":
        return div(col("occupied_floor_area_m2"), col("floor_area_m2"))
    if color_by == "park_rent_per_m2_yuan":
        return div(col("annual_rent_yuan"), col("occupied_floor_area_m2"))
    if color_by in parks:
        return col(color_by)
    raise KeyError(f"cannot colour parks by {color_by!r}: use one of {', '.join(PARK_MEASURES)} "
                   f"or a numeric column of the parks table")


def _floor_label(v, lang: str) -> str:
    if pd.isna(v):
        return ""
    if lang == "en":
        return t("wan_m2", lang, value=f"{v / 1000:,.0f}")
    return t("wan_m2", lang, value=f"{v / 10000:.1f}")


def parks_map(study, *, color_by: str = "park_tax_per_mu_yuan", town_id=None, village_ids=None, settings=None,
              lang: str = "zh", title: str | None = None, show_labels: bool = True, colorscale=None,
              height: int = 620) -> go.Figure:
    """Industrial parks over village boundaries, coloured by a per-park measure.

    Parks with polygons are drawn as polygons (old parks with a dashed
    outline, labelled with their floor area); parks without a geometry as
    markers at their village (old parks as squares, others as circles; marker
    area grows with floor area). Old = built before ``settings.old_before_year``.
    Parks whose value is missing are grey ("无数据").

    Parameters
    ----------
    color_by : str
        One of :data:`PARK_MEASURES` (default tax per mu) or a numeric column
        of the parks table; see :func:`park_values`.
    town_id, village_ids : optional
        Restrict the map to some towns or villages.
    """
    lang = normalise_lang(lang)
    s = resolve_settings(settings, study)
    colon = _colon(lang)
    meta = Meta(color_by, lang)
    v = _villages(study, town_id, village_ids)
    vgeoms = v["geometry"].to_numpy(dtype=object)
    has_v = usable(vgeoms)
    parks = study.village_rows("parks", v["village_id"])  # partitions read on demand
    parks = (parks if parks is not None else pd.DataFrame(columns=["park_id", "village_id"])).reset_index(drop=True)
    pgeoms = geoms_of(parks) if hasattr(parks, "geometry") and len(parks) else np.full(len(parks), None, object)
    if len(pgeoms) != len(parks):
        pgeoms = np.full(len(parks), None, dtype=object)
    has_p = usable(pgeoms)
    if not has_v.any() and not has_p.any():
        raise ValueError("neither village boundaries nor park polygons to draw: a parks map needs one of them")
    display = Display.for_geoms(vgeoms, pgeoms)
    fig = FigureSpec()
    traces: list[dict] = []
    # background: villages
    if has_v.any():
        traces.append(fill_trace(display, vgeoms[has_v], BACKGROUND_FILL, line_color="#9a9a9a", line_width=0.8))
        idx = np.flatnonzero(has_v)
        traces.append(hover_trace(display, vgeoms[idx],
                                  [f"<b>{esc(v.at[i, 'village_name'])}</b><br>{esc(v.at[i, 'town_name'])}" for i in idx],
                                  text=[esc(v.at[i, "village_name"]) for i in idx],
                                  textfont=dict(size=10, color="#8a8a8a"), name=t("village", lang)))
    info: dict = {"color_by": color_by, "old_before_year": s.old_before_year, "parks": len(parks)}
    if len(parks) == 0:
        _empty_note(fig, t("no_parks", lang))
        fig.add_traces(traces)
        map_layout(fig, title if title is not None else _selection_title(study, town_id, t("parks_map_title", lang),
                                                                           lang), lang=lang, height=height)
        update_layout(fig, meta=info)
        return fig.build()
    vals = park_values(parks, color_by).to_numpy(dtype=float)
    missing = np.isnan(vals)
    built = pd.to_numeric(parks.get("built_year", pd.Series(np.nan, index=parks.index)), errors="coerce")
    old = (built < s.old_before_year).fillna(False).to_numpy(dtype=bool)
    floor = pd.to_numeric(parks.get("floor_area_m2", pd.Series(np.nan, index=parks.index)), errors="coerce")
    scale = _Scale(vals, meta, None, colorscale)
    colors = scale.colors(vals)
    colors = [c if c is not None else NO_DATA_COLOR for c in colors]
    vname = dict(zip(v["village_id"], v["village_name"]))
    old_name = t("old_parks", lang, year=s.old_before_year)
    other_name = t("other_parks", lang)

    amounts = ("land_area_mu", "floor_area_m2", "occupied_floor_area_m2", "annual_rent_yuan", "annual_tax_yuan")
    park_rows = _row_values(parks, ("park_id", "park_name", "village_id", *amounts), numeric=amounts)

    def hover(i):
        p = park_rows[i]
        pname = esc(p["park_name"]) or esc(p["park_id"])
        rows = [f"<b>{pname}</b> ({esc(p['park_id'])})", esc(vname.get(p["village_id"], p["village_id"])),
                f"{meta.label}{colon}{fmt_value(vals[i], meta, lang)}",
                f"{t('built_year', lang)}{colon}{'' if pd.isna(built.iat[i]) else int(built.iat[i])}"
                f"{(' · ' + old_name) if old[i] else ''}" if not pd.isna(built.iat[i])
                else f"{t('built_year', lang)}{colon}{t('no_data', lang)}"]
        for c in amounts:
            if c in parks:
                x = p[c]
                rows.append(f"{t(c, lang)}{colon}{t('no_data', lang) if pd.isna(x) else fmt_number(x)}")
        return "<br>".join(rows)

    texts = [hover(i) for i in range(len(parks))]
    cb_x: list = []
    cb_y: list = []
    cb_v: list = []
    # parks with polygons
    poly = np.flatnonzero(has_p)
    if len(poly):
        in_poly = set(poly.tolist())
        fill_colors = [colors[i] if i in in_poly else None for i in range(len(parks))]
        traces.extend(_group_fills(display, pgeoms, fill_colors, line_width=0))
        if (missing & has_p).any():
            traces.append(legend_entry(t("no_data", lang), color=NO_DATA_COLOR, legendgroup="no_data",
                                       legendrank=1100))
        for flag, name, dash, width, color, rank in ((True, old_name, "dash", 1.8, "#111111", 1),
                                                     (False, other_name, None, 1.0, "#444444", 2)):
            idx = np.flatnonzero(has_p & (old == flag))
            if len(idx):
                traces.append(line_trace(display, pgeoms[idx], color, width=width, dash=dash, name=name,
                                         showlegend=True, legendgroup="old" if flag else "other", legendrank=rank))
        traces.append(hover_trace(display, pgeoms[poly], [texts[i] for i in poly],
                                  text=[_floor_label(floor.iat[i], lang) for i in poly] if show_labels else None,
                                  textfont=dict(size=9, color=[label_color(colors[i]) for i in poly]),
                                  name=t("park", lang)))
        px_, py_ = display.points(pgeoms[poly])
        for k, i in enumerate(poly):
            if not missing[i]:
                cb_x.append(px_[k]), cb_y.append(py_[k]), cb_v.append(vals[i])
        if show_labels:
            _note(fig, t("label_floor_area", lang), y=1.0)
    # parks without polygons: markers at their village
    rest = np.flatnonzero(~has_p)
    if len(rest):
        vpos = dict(zip(v["village_id"][has_v], zip(*display.points(vgeoms[has_v])))) if has_v.any() else {}
        side = 0.0
        if has_v.any():
            b = shapely.total_bounds(vgeoms[has_v])
            side = max(b[2] - b[0], b[3] - b[1])
        xs, ys = np.full(len(parks), np.nan), np.full(len(parks), np.nan)
        for vid, grp in parks.iloc[rest].groupby("village_id", sort=False):
            if vid not in vpos:
                continue
            x0, y0 = vpos[vid]
            n = len(grp)
            r = side / 70.0 if n > 1 else 0.0
            for k, i in enumerate(grp.index):
                a = 2 * math.pi * k / max(n, 1) + math.pi / 2
                xs[i], ys[i] = x0 + r * math.cos(a), y0 + r * math.sin(a)
        fmax = float(np.nanmax(floor.to_numpy(dtype=float))) if floor.notna().any() else 0.0
        sizes = [10 + 26 * math.sqrt(f / fmax) if fmax > 0 and not pd.isna(f) and f > 0 else 10
                 for f in floor.to_numpy(dtype=float)]
        nd = display.decimals
        for flag, name, symbol, rank in ((True, old_name, "square", 1), (False, other_name, "circle", 2)):
            idx = [i for i in rest if old[i] == flag and not np.isnan(xs[i])]
            if not idx:
                continue
            traces.append(trace("scatter",
                x=[round(float(xs[i]), nd) for i in idx], y=[round(float(ys[i]), nd) for i in idx],
                mode="markers", name=name, legendgroup="old" if flag else "other", legendrank=rank,
                showlegend=not (has_p & (old == flag)).any(),
                marker=dict(color=[colors[i] for i in idx], size=[sizes[i] for i in idx], symbol=symbol,
                            line=dict(color="#222222" if flag else "#ffffff", width=1.5 if flag else 1)),
                hovertext=[texts[i] for i in idx], hovertemplate="%{hovertext}<extra></extra>"))
            for i in idx:
                if not missing[i]:
                    cb_x.append(round(float(xs[i]), nd)), cb_y.append(round(float(ys[i]), nd)), cb_v.append(vals[i])
        if (missing[rest]).any() and not (missing & has_p).any():
            traces.append(legend_entry(t("no_data", lang), color=NO_DATA_COLOR, symbol="circle",
                                       legendgroup="no_data", legendrank=1100))
        _note(fig, t("marker_size_floor_area", lang), y=1.04 if len(poly) and show_labels else 1.0)
        info["not_drawn"] = [str(parks.at[i, "park_id"]) for i in rest if np.isnan(xs[i])]
    if cb_v:
        traces.append(trace("scatter", x=cb_x, y=cb_y, mode="markers", hoverinfo="skip", showlegend=False,
                            name=meta.name,
                            marker=dict(size=1, opacity=0, **scale.marker(cb_v, meta.label, meta.is_share))))
    info.update(cmin=scale.cmin, cmax=scale.cmax, old=[str(x) for x in parks.loc[old, "park_id"]],
                missing=[str(x) for x in parks.loc[missing, "park_id"]])
    fig.add_traces(traces)
    map_layout(fig, title if title is not None else _selection_title(
        study, town_id, f"{t('parks_map_title', lang)}{t('separator', lang)}{meta.label}", lang),
        lang=lang, height=height)
    update_layout(fig, meta=info)
    return fig.build()


# ------------------------------------------------------------------- grids
PARTY_COLORS = {True: "#e0524a", False: "#9ecae1", None: NO_DATA_COLOR}


def _short_id(grid_id, village_id) -> str:
    """A grid id without its village's id in front (``'041252600024-W01'`` -> ``'W01'``)."""
    g, v = str(grid_id), str(village_id)
    if g.startswith(v) and len(g) > len(v):
        rest = g[len(v):].lstrip("-_./ ")
        if rest:
            return rest
    return g


def grids_map(study, village_id=None, *, town_id=None, lang: str = "zh", title: str | None = None,
              show_ids: bool | None = None, height: int = 620) -> go.Figure:
    """Grid and micro-grid boundaries of a village/community (or of a town, or the study).

    Micro-grids are filled by whether they have a party group (legend: with,
    without, no data); grid boundaries are dark lines; village boundaries a
    thick grey outline. Hover gives the households and staff of each grid.

    Parameters
    ----------
    village_id : str or list of str, optional
        The village(s)/communit(ies) to draw; default all of ``town_id``, or the study.
    show_ids : bool, optional
        Label grids with their id (without the village code in front);
        default only when there are at most 15 grids.
    """
    lang = normalise_lang(lang)
    colon = _colon(lang)
    v = _villages(study, town_id, village_id)
    vgeoms = v["geometry"].to_numpy(dtype=object)
    has_v = usable(vgeoms)
    grids = study.village_rows("grids", v["village_id"])  # partitions read on demand
    grids = (grids if grids is not None else pd.DataFrame(columns=["grid_id", "village_id", "level"])
             ).reset_index(drop=True)
    ggeoms = geoms_of(grids) if len(grids) else np.empty(0, dtype=object)
    if len(ggeoms) != len(grids):
        ggeoms = np.full(len(grids), None, dtype=object)
    has_g = usable(ggeoms)
    display = Display.for_geoms(vgeoms, ggeoms)
    fig = FigureSpec()
    traces: list[dict] = []
    if has_v.any():
        traces.append(fill_trace(display, vgeoms[has_v], "#fafafa", line_width=0))
    level = grids["level"].astype(str).str.lower().to_numpy() if len(grids) else np.empty(0, dtype=object)
    micro = level == "micro"
    grid = level == "grid"

    def num(col):
        if col not in grids:
            return pd.Series(np.nan, index=grids.index)
        return pd.to_numeric(grids[col], errors="coerce")

    hh = num("households")
    ft, pt = num("full_time_staff"), num("part_time_staff")
    parent = grids["parent_grid_id"] if "parent_grid_id" in grids else pd.Series(None, index=grids.index)
    micro_hh = hh[micro].groupby(parent[micro]).sum(min_count=1) if micro.any() else pd.Series(dtype=float)
    micro_n = parent[micro].value_counts() if micro.any() else pd.Series(dtype=int)
    party = as_flags(grids["has_party_group"]) if "has_party_group" in grids else pd.Series(None, index=grids.index,
                                                                                             dtype=object)
    vname = dict(zip(v["village_id"], v["village_name"]))

    def fmt(x):
        return t("no_data", lang) if pd.isna(x) else fmt_number(x, count=True)

    def hover(i):
        gid = grids.at[i, "grid_id"]
        rows = [f"<b>{t('micro_grid' if micro[i] else 'grid', lang)} {esc(gid)}</b>",
                esc(vname.get(grids.at[i, "village_id"], grids.at[i, "village_id"]))]
        households = hh.iat[i]
        if grid[i] and pd.isna(households):
            households = micro_hh.get(gid, np.nan)
        rows.append(f"{t('households', lang)}{colon}{fmt(households)}")
        if micro[i]:
            if not pd.isna(parent.iat[i]):
                rows.append(f"{t('parent_grid', lang)}{colon}{esc(parent.iat[i])}")
            p = party.iat[i]
            rows.append(f"{t('party_group', lang)}{colon}"
                        f"{t('no_data', lang) if p is None else t('has' if p else 'has_not', lang)}")
        else:
            rows.append(f"{t('micro_grids_n', lang)}{colon}{int(micro_n.get(gid, 0))}")
        rows.append(f"{t('full_time_staff', lang)}{colon}{fmt(ft.iat[i])}")
        rows.append(f"{t('part_time_staff', lang)}{colon}{fmt(pt.iat[i])}")
        return "<br>".join(rows)

    info: dict = {"grids": int(grid.sum()), "micro_grids": int(micro.sum())}
    for val, key, rank in ((True, "micro_with_party", 1), (False, "micro_without_party", 2),
                           (None, "micro_party_unknown", 3)):
        sel = micro & has_g & np.array([party.iat[i] is val if val is None else party.iat[i] == val
                                        for i in range(len(grids))], dtype=bool)
        if sel.any() or (val is not None and (micro & has_g).any()):
            traces.append(fill_trace(display, ggeoms[sel], PARTY_COLORS[val], name=t(key, lang), showlegend=True,
                                     line_color="#ffffff", line_width=0.8, legendrank=rank))
        info[key] = [str(x) for x in grids.loc[sel, "grid_id"]]
    gsel = grid & has_g
    if gsel.any():
        traces.append(line_trace(display, ggeoms[gsel], "#333333", width=2, name=t("grid_boundary", lang),
                                 showlegend=True, legendrank=10))
    if has_v.any():
        traces.append(line_trace(display, vgeoms[has_v], "#7a7a7a", width=3, name=t("boundary", lang),
                                 showlegend=True, legendrank=11))
    msel = np.flatnonzero(micro & has_g)
    if len(msel):
        traces.append(hover_trace(display, ggeoms[msel], [hover(i) for i in msel], name=t("micro_grid", lang)))
    gidx = np.flatnonzero(gsel)
    if show_ids is None:
        show_ids = len(gidx) <= 15
    if len(gidx):
        traces.append(hover_trace(display, ggeoms[gidx], [hover(i) for i in gidx],
                                  text=[esc(_short_id(grids.at[i, "grid_id"], grids.at[i, "village_id"]))
                                        for i in gidx] if show_ids else None,
                                  textfont=dict(size=11, color="#111"), name=t("grid", lang)))
    if has_v.any():
        idx = np.flatnonzero(has_v)
        if not has_g.any():
            traces.append(hover_trace(display, vgeoms[idx], [f"<b>{esc(v.at[i, 'village_name'])}</b>" for i in idx],
                                      text=[esc(v.at[i, "village_name"]) for i in idx], name=t("village", lang)))
    if not has_g.any():
        _empty_note(fig, t("no_grid_geometry", lang))
    if title is None:
        if isinstance(village_id, str):
            title = f"{esc(vname.get(village_id, village_id))}{t('separator', lang)}{t('grids_map_title', lang)}"
        else:
            title = _selection_title(study, town_id, t("grids_map_title", lang), lang)
    fig.add_traces(traces)
    map_layout(fig, title, lang=lang, height=height)
    update_layout(fig, meta=info)
    return fig.build()


# ----------------------------------------------------------------- parcels
def _group_colors(geoms: np.ndarray, codes: np.ndarray, n_groups: int, tolerance_m: float) -> np.ndarray:
    """A palette index per group; neighbouring groups get different colours when possible."""
    palette_n = len(qualitative(26))
    if n_groups <= palette_n:
        return np.arange(n_groups)
    neighbours: list[set] = [set() for _ in range(n_groups)]
    try:
        ok = np.flatnonzero(usable(geoms) & (codes >= 0))
        i, j = adjacent_pairs(geoms[ok], max(tolerance_m, 0.0))
        gi, gj = codes[ok][np.asarray(i)], codes[ok][np.asarray(j)]
        for a, b in zip(gi, gj):
            if a != b:
                neighbours[a].add(b)
                neighbours[b].add(a)
    except Exception:  # no adjacency: cycle the palette
        return np.arange(n_groups) % palette_n
    color = np.full(n_groups, -1)
    for g in sorted(range(n_groups), key=lambda g: -len(neighbours[g])):
        used = {color[n] for n in neighbours[g]}
        c = next((c for c in range(palette_n) if c not in used), g % palette_n)
        color[g] = c
    return color


def parcels_map(study, village_id: str, *, by: str = "household", settings=None, lang: str = "zh",
                title: str | None = None, max_legend: int = 12, height: int = 620) -> go.Figure:
    """The parcels of one village coloured by household, owner or contiguous block.

    ``by="household"`` (``household_id``), ``"owner"`` (``owner_id``, the
    economic society) or ``"block"`` (contiguous blocks of farmland from
    :func:`villagestudy.metrics.blocks.find_blocks`, with the study's
    ``block_tolerance_m`` and ``farmland_uses``). With up to ``max_legend``
    groups each has its own colour and legend entry; with more, neighbouring
    groups get different colours from a 26-colour palette and the legend is
    left out. Parcels without a group are grey. The village boundary is
    outlined as closed rings and the view holds the parcels and the whole outline.
    """
    lang = normalise_lang(lang)
    if by not in ("household", "owner", "block"):
        raise ValueError(f"by must be 'household', 'owner' or 'block', not {by!r}")
    colon = _colon(lang)
    s = resolve_settings(settings, study)
    if not study.has_geometry("parcels"):
        raise ValueError("the study's parcels have no geometry: a parcel map needs parcel polygons")
    village_id = str(village_id)
    v = _villages(study, village_ids=[village_id])
    if not len(v):
        raise KeyError(f"no village {village_id!r} in the study")
    parcels = study.village_rows("parcels", [village_id]).reset_index(drop=True)  # partitions read on demand
    geoms = geoms_of(parcels)
    if by == "block":
        labels = find_blocks(parcels, tolerance_m=s.block_tolerance_m, farmland_uses=list(s.farmland_uses))
        groups = pd.Series([None if pd.isna(x) else f"{t('block', lang)} {int(x) + 1}" for x in labels],
                           dtype=object)
        order = sorted({g for g in groups if g is not None}, key=lambda g: int(g.rsplit(" ", 1)[1]))
    else:
        col = "household_id" if by == "household" else "owner_id"
        raw = parcels[col] if col in parcels else pd.Series(None, index=parcels.index, dtype=object)
        groups = pd.Series([None if pd.isna(x) or str(x) == "" else str(x) for x in raw], dtype=object)
        order = sorted({g for g in groups if g is not None})
    code_of = {g: k for k, g in enumerate(order)}
    codes = np.array([code_of.get(g, -1) for g in groups], dtype=np.int64)
    vgeom = v["geometry"].to_numpy(dtype=object)
    display = Display.for_geoms(geoms, vgeom)
    fig = FigureSpec()
    traces: list[dict] = []
    pal = qualitative(26)
    has = usable(geoms)
    if len(order) <= max_legend:
        for k, g in enumerate(order):
            idx = np.flatnonzero((codes == k) & has)
            traces.append(fill_trace(display, geoms[idx], pal[k % len(pal)], name=esc(g), showlegend=True,
                                     line_width=0.5))
    else:
        cidx = _group_colors(geoms, codes, len(order), s.block_tolerance_m)
        parcel_color = np.where(codes >= 0, cidx[np.maximum(codes, 0)], -1)
        for c in sorted(set(parcel_color[parcel_color >= 0].tolist())):
            idx = np.flatnonzero((parcel_color == c) & has)
            traces.append(fill_trace(display, geoms[idx], pal[c], line_width=0.5))
        _note(fig, t("groups_n", lang, n=len(order), by=t(f"by_{by}", lang)))
    none = np.flatnonzero((codes < 0) & has)
    if len(none):
        traces.append(fill_trace(display, geoms[none], NO_DATA_COLOR,
                                 name=t("no_block" if by == "block" else "no_data", lang), showlegend=True,
                                 line_width=0.5, legendrank=1100))
    if usable(vgeom).any():
        traces.append(line_trace(display, vgeom[usable(vgeom)], "#222222", width=2, name=t("boundary", lang),
                                 showlegend=True, legendrank=1101))

    parcel_rows = _row_values(parcels, ("parcel_id", "household_id", "owner_id", "land_use", "area_mu"),
                              numeric=("area_mu",))

    def hover(i):
        p = parcel_rows[i]
        use = p["land_use"]
        rows = [f"<b>{t('parcel', lang)} {esc(p['parcel_id'])}</b>"]
        for key, val in (("household", p["household_id"]), ("owner", p["owner_id"])):
            rows.append(f"{t(key, lang)}{colon}{t('no_data', lang) if pd.isna(val) else esc(val)}")
        if by == "block":
            rows.append(f"{t('block', lang)}{colon}{esc(groups.iat[i]) if groups.iat[i] else t('no_block', lang)}")
        if use is not None and not pd.isna(use):
            rows.append(f"{t('land_use', lang)}{colon}{t('land_use_' + str(use), lang, default=esc(use))}")
        area = p["area_mu"]
        rows.append(f"{t('area_mu', lang)}{colon}{t('no_data', lang) if pd.isna(area) else f'{area:.2f}'}")
        return "<br>".join(rows)

    idx = np.flatnonzero(has)
    if len(idx):
        traces.append(hover_trace(display, geoms[idx], [hover(i) for i in idx], name=t("parcel", lang)))
    name = esc(v.at[0, "village_name"])
    fig.add_traces(traces)
    map_layout(fig, title if title is not None else t("parcels_map_title", lang, village=name, by=t(f"by_{by}", lang)),
               lang=lang, height=height)
    shown = np.concatenate([geoms[has], vgeom[usable(vgeom)]])
    if len(shown):
        # the view holds the parcels AND the whole village outline: zoomed to the parcels alone, the
        # outline was cut to one or two stray straight segments beside them
        b = shapely.total_bounds(shown)
        pad = 0.04 * max(b[2] - b[0], b[3] - b[1], 1.0)
        update_axes(fig, "x", range=[b[0] - pad, b[2] + pad])
        update_axes(fig, "y", range=[b[1] - pad, b[3] + pad])
    update_layout(fig, meta={"village_id": village_id, "by": by, "groups": len(order),
                            "ungrouped": [str(x) for x in parcels.loc[codes < 0, "parcel_id"]]})
    return fig.build()
