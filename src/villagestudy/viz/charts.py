"""Charts that compare villages: income, standards, ranks, indicators.

Every function returns a plotly Figure; labels come from the catalog
(:mod:`villagestudy.catalog`) and :mod:`villagestudy.i18n` (Chinese by default,
``lang="en"``). Standards are drawn as dashed lines named by their settings
key (``layout.shapes[k].name``) at the threshold in force. Missing values are
shown as "无数据"/"No data", never as zero. Names from data are HTML-escaped.

Functions
---------
:func:`income_composition`  stacked income categories per village for a year.
:func:`income_trend`        income per village over the years, 消薄 thresholds drawn.
:func:`compliance_heatmap`  villages x standards: met / missed / no data.
:func:`compliance_table`    the long table behind the heatmap.
:func:`rank_intervals`      ranks with their uncertainty intervals.
:func:`small_multiples`     a few villages on several indicators.
:func:`ranked_bar`          villages ranked on one indicator, standard drawn.
:func:`contribution_chart`  why this rank: indicators' shares of a village's gap to the town median.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import catalog
from .._map_unique import found_in
from ..i18n import normalise_lang, register, t
from ..metrics.standards import missed_standards
from ..settings import STANDARDS
from ._geom import (
    BAD_COLOR, GOOD_COLOR, NO_DATA_COLOR, Meta, base_layout, esc, fmt_number, fmt_value, legend_entry,
    qualitative, resolve_settings, trace, unique_labels, update_axes, update_layout,
)
from ._spec import FigureSpec

__all__ = ["income_composition", "income_trend", "compliance_heatmap", "compliance_table", "rank_intervals",
           "small_multiples", "ranked_bar", "contribution_chart", "INCOME_CATEGORIES", "INCOME_COLORS"]

INCOME_CATEGORIES = ("business", "contracting", "investment", "subsidy", "other")
OPERATING_CATEGORIES = ("business", "contracting", "investment")
INCOME_COLORS = {"business": "#4c78a8", "contracting": "#f58518", "investment": "#54a24b",
                 "subsidy": "#e45756", "other": "#b279a2"}
STANDARD_LINE_COLORS = {"weak_total_yuan": "#d62728", "weak_operating_yuan": "#ff7f0e"}
BAR_COLOR = "#4c78a8"


# ----------------------------------------------------------------- helpers
def _colon(lang):
    return t("colon", lang)


def _unit_of_standard(key: str, lang: str) -> str:
    for ind in catalog.indicators_with_standard():
        if ind.standard == key and ind.kind != "flag":
            return ind.unit(lang)
    std = STANDARDS[key]
    return {"m2": "平方米" if lang == "zh" else "m2"}.get(std.unit, std.unit)


def standard_label(key: str, value: float, lang: str = "zh") -> str:
    """``'消薄标准：村集体年收入不低于 100,000 元'`` for a standard key and its threshold."""
    lang = normalise_lang(lang)
    std = STANDARDS[key]
    text = std.label_en if lang == "en" else std.label_zh
    if std.unit == "share":
        return f"{text} {value:.0%}"
    unit = _unit_of_standard(key, lang)
    return f"{text} {fmt_number(value)} {unit}" if lang == "en" else f"{text} {fmt_number(value)}{unit}"


def _add_standard_line(fig: go.Figure | FigureSpec, key: str, value: float, lang: str, *, horizontal: bool = True,
                       row=None, col=None, color: str | None = None, label: bool = True,
                       position: str = "left", log: bool = False) -> None:
    """A dashed line at a standard's threshold (shape named by its settings key), labelled above the line."""
    color = color or STANDARD_LINE_COLORS.get(key, "#d62728")
    kw = dict(line=dict(color=color, dash="dash", width=1.8), name=key)
    if row is not None:
        kw.update(row=row, col=col)
    if horizontal:
        fig.add_hline(y=value, **kw)
    else:
        fig.add_vline(x=value, **kw)
    if label and horizontal:
        import math

        fig.add_annotation(text=standard_label(key, value, lang), xref="paper",
                           x=0.01 if position == "left" else 0.99, xanchor=position,
                           y=math.log10(value) if log and value > 0 else value, yref="y", yanchor="bottom",
                           showarrow=False, font=dict(size=11, color=color), bgcolor="rgba(255,255,255,0.7)",
                           name=key)


def _table(table: pd.DataFrame) -> pd.DataFrame:
    if "village_id" in table.columns and table.index.name != "village_id":
        table = table.set_index("village_id")
    table = table.copy()
    table.index = table.index.astype(str)
    return table


def _names(study, table: pd.DataFrame | None, ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """Village names and town names for ids, from the table or the study."""
    names = {}
    towns = {}
    if study is not None:
        # the rows of these villages only: a chart of one town must not walk every village of a province
        v = study.villages[found_in(study.villages["village_id"], ids)]
        names.update(zip(v["village_id"], v["village_name"]))
        t = study.towns[found_in(study.towns["town_id"], v["town_id"])]
        tn = dict(zip(t["town_id"], t.get("town_name", t["town_id"])))
        towns.update((i, tn.get(tw, tw)) for i, tw in zip(v["village_id"], v["town_id"]))
    if table is not None:
        if "village_name" in table:
            names.update((i, n) for i, n in table["village_name"].items() if not pd.isna(n))
        if "town_id" in table and study is None:
            towns.update((i, n) for i, n in table["town_id"].items() if not pd.isna(n))
    return [names.get(i, i) for i in ids], [towns.get(i, "") for i in ids]


def _select(table: pd.DataFrame, town_id=None, village_ids=None) -> pd.DataFrame:
    if town_id is not None and "town_id" in table:
        towns = [town_id] if isinstance(town_id, str) else [str(x) for x in town_id]
        table = table[table["town_id"].astype(str).isin(towns)]
    if village_ids is not None:
        ids = [village_ids] if isinstance(village_ids, str) else [str(x) for x in village_ids]
        table = table.reindex([i for i in ids if i in table.index] + [i for i in ids if i not in table.index])
    return table


def _title(parts: Iterable, lang: str) -> str:
    return t("separator", lang).join(str(p) for p in parts if p not in (None, ""))


def _town_title(study, town_id) -> str | None:
    if isinstance(town_id, str) and study is not None:
        return esc(study.town_name(town_id))
    return esc(town_id) if isinstance(town_id, str) else None


# ------------------------------------------------------------------ income
def _income_wide(study, years=None, village_ids=None) -> pd.DataFrame:
    """(village_id, year) x category amounts; rows only where the village has data that year."""
    inc = study.income if study.income is not None else pd.DataFrame(
        columns=["village_id", "year", "category", "amount_yuan"])
    inc = inc[inc["village_id"].isin(set(village_ids))] if village_ids is not None else inc
    if years is not None:
        inc = inc[inc["year"].isin(list(years))]
    if not len(inc):
        return pd.DataFrame(columns=list(INCOME_CATEGORIES),
                            index=pd.MultiIndex.from_tuples([], names=["village_id", "year"]))
    amount = pd.to_numeric(inc["amount_yuan"], errors="coerce")
    wide = (inc.assign(amount_yuan=amount, year=inc["year"].astype(int))
            .pivot_table(index=["village_id", "year"], columns="category", values="amount_yuan",
                         aggfunc=lambda s: s.sum(min_count=1)))
    return wide.reindex(columns=list(INCOME_CATEGORIES))


def _study_villages(study, town_id=None, village_ids=None) -> list[str]:
    v = study.villages
    if town_id is not None:
        towns = [town_id] if isinstance(town_id, str) else [str(x) for x in town_id]
        v = v[v["town_id"].isin(towns)]
    if village_ids is not None:
        ids = [village_ids] if isinstance(village_ids, str) else [str(x) for x in village_ids]
        present = set(v["village_id"])
        return [i for i in ids if i in present]
    return v["village_id"].tolist()


def income_composition(study, year: int | None = None, *, town_id=None, village_ids=None, settings=None,
                       lang: str = "zh", title: str | None = None, show_standard: bool = True,
                       height: int = 520) -> go.Figure:
    """Stacked bars of the five income categories per village for one year.

    Losses (negative amounts, e.g. an investment loss) go below zero
    (``barmode="relative"``); a diamond marks each village's total; villages
    are sorted by total, and villages without income data that year are shown
    at the end with "无数据". With ``show_standard`` the 消薄 total-income
    threshold in force is drawn (shape named ``weak_total_yuan``).
    """
    lang = normalise_lang(lang)
    colon = _colon(lang)
    s = resolve_settings(settings, study)
    year = int(year) if year is not None else study.default_year
    ids = _study_villages(study, town_id, village_ids)
    wide = _income_wide(study, [year] if year is not None else None, ids)
    wide = wide.xs(year, level="year") if year is not None and len(wide) else wide.droplevel("year") \
        if len(wide) else pd.DataFrame(columns=list(INCOME_CATEGORIES))
    total = wide.sum(axis=1, min_count=1)
    have = [i for i in ids if i in total.index and not pd.isna(total.get(i))]
    order = sorted(have, key=lambda i: -total[i]) + [i for i in ids if i not in set(have)]
    names, towns = _names(study, None, order)
    labels = unique_labels(names, order)
    fig = FigureSpec()
    unit = "元" if lang == "zh" else " yuan"
    for cat in INCOME_CATEGORIES:
        y = [None if i not in wide.index or pd.isna(wide.at[i, cat]) else float(wide.at[i, cat]) for i in order]
        cname = t(f"income_{cat}", lang)
        hover = [f"<b>{labels[k]}</b><br>{cname}{colon}"
                 f"{t('no_data', lang) if y[k] is None else fmt_number(y[k], kind='money', lang=lang) + unit}" for k in range(len(order))]
        fig.add_trace(trace("bar", x=labels, y=y, name=cname, marker_color=INCOME_COLORS[cat], hovertext=hover,
                            hovertemplate="%{hovertext}<extra></extra>", meta=cat))
    tot = [float(total[i]) if i in set(have) else None for i in order]
    fig.add_trace(trace("scatter", x=labels, y=tot, mode="markers", name=t("total", lang),
                        marker=dict(symbol="diamond", size=10, color="#222", line=dict(color="white", width=1)),
                        hovertext=[f"<b>{labels[k]}</b><br>{t('total', lang)}{colon}"
                                   f"{t('no_data', lang) if tot[k] is None else fmt_number(tot[k], kind='money', lang=lang) + unit}"
                                   for k in range(len(order))],
                        hovertemplate="%{hovertext}<extra></extra>"))
    missing = [labels[k] for k, i in enumerate(order) if i not in set(have)]
    if missing:
        fig.add_trace(trace("scatter", x=missing, y=[0] * len(missing), mode="text",
                            text=[t("no_data", lang)] * len(missing),
                            textposition="top center", textfont=dict(color="#777"), name=t("no_data", lang),
                            showlegend=False, hoverinfo="skip"))
    if show_standard and s.weak_total_yuan is not None:
        _add_standard_line(fig, "weak_total_yuan", float(s.weak_total_yuan), lang)
    base_layout(fig, title if title is not None else _title(
        [_town_title(study, town_id), t("income_composition_title", lang),
         t("year_n", lang, year=year) if year is not None else None], lang), lang=lang,
        barmode="relative", height=height, legend=dict(orientation="h", y=-0.18, x=0),
        yaxis_title=t("amount_yuan", lang), xaxis_tickangle=-40 if len(order) > 8 else 0)
    update_axes(fig, "y", tickformat=",", zeroline=True, zerolinecolor="#888")
    update_layout(fig, meta={"year": year, "villages": order, "missing": [i for i in order if i not in set(have)]})
    return fig.build()


def income_trend(study, *, village_ids=None, town_id=None, measure: str = "total", settings=None,
                 lang: str = "zh", title: str | None = None, log_y: bool | str = "auto",
                 height: int = 520) -> go.Figure:
    """Collective income per village over the years, with the 消薄 thresholds.

    ``measure``: ``"total"`` (all five categories), ``"operating"`` (business
    + contracting + investment) or ``"both"`` (total solid, operating dashed).
    The two thresholds in force, ``weak_total_yuan`` and
    ``weak_operating_yuan``, are drawn as labelled dashed lines (shapes named
    by the key). Years without data are gaps, not zeros. ``log_y``: a log
    y axis; ``"auto"`` uses one when every value is positive and the values
    and thresholds span more than two orders of magnitude.
    """
    lang = normalise_lang(lang)
    if measure not in ("total", "operating", "both"):
        raise ValueError(f"measure must be 'total', 'operating' or 'both', not {measure!r}")
    colon = _colon(lang)
    s = resolve_settings(settings, study)
    ids = _study_villages(study, town_id, village_ids)
    wide = _income_wide(study, None, ids)
    years = sorted({int(y) for y in wide.index.get_level_values("year")}) if len(wide) else study.years
    names, _ = _names(study, None, ids)
    labels = unique_labels(names, ids)
    palette = qualitative(len(ids), "Dark24")
    unit = "元" if lang == "zh" else " yuan"
    fig = FigureSpec()
    measures = ["total", "operating"] if measure == "both" else [measure]
    # per (village, year): the measure's sum, missing when every category is missing (a gap, not a zero)
    sums = {m: wide[list(INCOME_CATEGORIES if m == "total" else OPERATING_CATEGORIES)].sum(axis=1, min_count=1)
            .dropna().to_dict() for m in measures}
    for k, vid in enumerate(ids):
        for m in measures:
            ys = [None if (vid, y) not in sums[m] else float(sums[m][(vid, y)]) for y in years]
            mname = t(f"income_{m}", lang)
            fig.add_trace(trace("scatter",
                x=years, y=ys, mode="lines+markers", name=labels[k] if measure != "both" else f"{labels[k]} {mname}",
                legendgroup=vid, line=dict(color=palette[k], dash="dash" if m == "operating" and measure == "both"
                                           else None),
                hovertext=[f"<b>{labels[k]}</b><br>{t('year_n', lang, year=y)}<br>{mname}{colon}"
                           f"{t('no_data', lang) if v is None else fmt_number(v, kind='money', lang=lang) + unit}" for y, v in zip(years, ys)],
                hovertemplate="%{hovertext}<extra></extra>", meta={"village_id": vid, "measure": m}))
    ys_all = [y for tr in fig.data for y in tr["y"] if y is not None]
    if log_y == "auto":
        ys_th = ys_all + [float(getattr(s, k)) for k in ("weak_total_yuan", "weak_operating_yuan") if getattr(s, k)]
        log_y = bool(ys_all) and min(ys_th) > 0 and max(ys_th) / min(ys_th) > 100
    if log_y and ys_all and min(ys_all) <= 0:
        log_y = False  # a log axis cannot show zero or losses
    for key, pos in (("weak_total_yuan", "left"), ("weak_operating_yuan", "right")):
        value = getattr(s, key)
        if value is not None:
            _add_standard_line(fig, key, float(value), lang, position=pos, log=bool(log_y))
    base_layout(fig, title if title is not None else _title(
        [_town_title(study, town_id), t("income_trend_title", lang)], lang), lang=lang, height=height,
        xaxis_title=t("year", lang), yaxis_title=t("amount_yuan", lang))
    update_axes(fig, "x", tickmode="array", tickvals=years, tickformat="d")
    if log_y:  # ticks at powers of ten only: the 2-9 minor ticks of a log axis overlap
        update_axes(fig, "y", type="log", tickformat=",", dtick=1)
    else:
        update_axes(fig, "y", tickformat=",", rangemode="tozero")
    update_layout(fig, meta={"years": years, "villages": ids, "log_y": bool(log_y),
                            "thresholds": {k: getattr(s, k) for k in ("weak_total_yuan", "weak_operating_yuan")}})
    return fig.build()


# --------------------------------------------------------------- standards
def compliance_table(table: pd.DataFrame, settings=None, *, pillar: str | None = None,
                     indicators: Sequence[str] | None = None) -> pd.DataFrame:
    """Per village and standard in force: ``village_id``, ``indicator``, ``value``, ``standard``, ``status``.

    ``status`` is ``"met"``, ``"missed"`` or ``"no data"``. Uses
    :func:`villagestudy.metrics.standards.missed_standards` (one rule for the
    whole package); settings default to ``table.attrs['settings']``.
    """
    tab = _table(table)
    s = resolve_settings(settings, None, table)
    src = tab.copy()
    src.attrs = dict(table.attrs)
    long = missed_standards(src, s)[["village_id", "indicator", "value", "standard", "status"]]
    if pillar is not None:
        long = long[[catalog.get(i).pillar == pillar for i in long["indicator"]]]
    if indicators is not None:
        long = long[long["indicator"].isin(list(indicators))]
    return long.reset_index(drop=True)


STATUS_CODES = {"missed": 0, "no data": 1, "met": 2}
STATUS_COLORS = {"missed": BAD_COLOR, "no data": NO_DATA_COLOR, "met": GOOD_COLOR}


def compliance_heatmap(table: pd.DataFrame, settings=None, *, study=None, pillar: str | None = None,
                       indicators: Sequence[str] | None = None, town_id=None, lang: str = "zh",
                       title: str | None = None) -> go.Figure:
    """Villages x standards: met (blue) / missed (red) / no data (grey), with words in the cells.

    Columns are the catalog indicators that have a standard in force
    (``settings`` > ``table.attrs['settings']`` > the study's); ``pillar``
    (e.g. ``"governance"``) or ``indicators`` narrow them. Hover gives the
    value and the threshold. ``data[0].z`` codes: 0 missed, 1 no data, 2 met.
    """
    lang = normalise_lang(lang)
    colon = _colon(lang)
    tab = _select(_table(table), town_id)
    src = tab.copy()
    src.attrs = dict(table.attrs)
    s = resolve_settings(settings, study, table)
    long = compliance_table(src, s, pillar=pillar, indicators=indicators)
    inds = list(dict.fromkeys(long["indicator"]))
    ids = list(tab.index)
    names, towns = _names(study, tab, ids)
    labels = unique_labels(names, ids)
    metas = {i: Meta(i, lang) for i in inds}
    thr = {i: float(long.loc[long["indicator"] == i, "standard"].iloc[0]) for i in inds}
    xlab = [f"{metas[i].name}<br>{metas[i].standard_text(thr[i], lang)}" for i in inds]
    z, text, hover = [], [], []
    lookup = {(r.village_id, r.indicator): r for r in long.itertuples(index=False)}
    for k, vid in enumerate(ids):
        zr, tr, hr = [], [], []
        for i in inds:
            r = lookup.get((vid, i))
            status = r.status if r is not None else "no data"
            word = t({"met": "met", "missed": "missed", "no data": "no_data"}[status], lang)
            raw = tab.at[vid, i] if i in tab else np.nan
            val = fmt_value(raw, metas[i], lang)
            zr.append(STATUS_CODES[status])
            tr.append(word)
            hr.append(f"<b>{labels[k]}</b><br>{metas[i].label}{colon}{val}<br>"
                      f"{metas[i].standard_text(thr[i], lang)}<br>{t('status', lang)}{colon}{word}")
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    cs = [[0, STATUS_COLORS["missed"]], [1 / 3, STATUS_COLORS["missed"]], [1 / 3, STATUS_COLORS["no data"]],
          [2 / 3, STATUS_COLORS["no data"]], [2 / 3, STATUS_COLORS["met"]], [1, STATUS_COLORS["met"]]]
    fig = FigureSpec([trace("heatmap", z=z, x=xlab, y=labels, text=text, texttemplate="%{text}", customdata=hover,
                            hovertemplate="%{customdata}<extra></extra>", colorscale=cs, zmin=-0.5, zmax=2.5,
                            showscale=False, xgap=2, ygap=2, textfont=dict(color="white", size=12))])
    for status, key in (("met", "met"), ("missed", "missed"), ("no data", "no_data")):
        fig.add_trace(legend_entry(t(key, lang), color=STATUS_COLORS[status]))
    if not inds:
        fig.add_annotation(text=t("no_data", lang), xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)
    base_layout(fig, title if title is not None else _title(
        [_town_title(study, town_id), t("compliance_title", lang)], lang), lang=lang,
        height=max(260, 140 + 30 * len(ids)), plot_bgcolor="white",
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"))
    update_axes(fig, "y", autorange="reversed", showgrid=False)
    update_axes(fig, "x", side="bottom", showgrid=False)
    update_layout(fig, meta={"indicators": inds, "villages": ids, "thresholds": thr})
    return fig.build()


# ------------------------------------------------------------------- ranks
def rank_intervals(ranks: pd.DataFrame, *, study=None, lang: str = "zh", title: str | None = None,
                   height: int | None = None) -> go.Figure:
    """Ranks with their uncertainty intervals, best rank at the top.

    ``ranks`` is indexed by ``village_id`` with ``village_name``, ``rank``,
    ``rank_median``, ``rank_p05`` and ``rank_p95`` (from the composite index).
    Each village has a horizontal error bar from ``rank_p05`` to ``rank_p95``
    around its median rank, and a diamond at its rank. Villages without a
    rank come last with "无数据".
    """
    lang = normalise_lang(lang)
    colon = _colon(lang)
    tab = _table(ranks)
    need = ["rank", "rank_median", "rank_p05", "rank_p95"]
    lacking = [c for c in need if c not in tab]
    if lacking:
        raise KeyError(f"rank_intervals needs columns {', '.join(need)}; missing {', '.join(lacking)}")
    num = tab[need].apply(pd.to_numeric, errors="coerce").astype(float)
    order = num.sort_values(["rank", "rank_median"], na_position="last", kind="mergesort").index.tolist()
    num = num.loc[order]
    names, _ = _names(study, tab, order)
    labels = unique_labels(names, order)
    has = num["rank_median"].notna().to_numpy()
    med = num["rank_median"].to_numpy()
    lo, hi = num["rank_p05"].to_numpy(), num["rank_p95"].to_numpy()
    plus = np.where(np.isnan(hi), 0, np.clip(hi - med, 0, None))
    minus = np.where(np.isnan(lo), 0, np.clip(med - lo, 0, None))

    def f(x):
        return t("no_data", lang) if pd.isna(x) else (f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}")

    hover = [f"<b>{labels[k]}</b><br>{t('rank', lang)}{colon}{f(num['rank'].iat[k])}<br>"
             f"{t('rank_median', lang)}{colon}{f(med[k])}<br>{t('rank_interval', lang)}{colon}"
             f"{f(lo[k])} – {f(hi[k])}" for k in range(len(order))]
    fig = FigureSpec()
    fig.add_trace(trace("scatter",
        x=[None if np.isnan(m) else float(m) for m in med], y=labels, mode="markers",
        name=f"{t('rank_median', lang)}（{t('rank_interval', lang)}）" if lang == "zh"
        else f"{t('rank_median', lang)} ({t('rank_interval', lang)})",
        marker=dict(size=9, color="#4c78a8"),
        error_x=dict(type="data", symmetric=False, array=plus.tolist(), arrayminus=minus.tolist(),
                     color="#4c78a8", thickness=2, width=4),
        hovertext=hover, hovertemplate="%{hovertext}<extra></extra>"))
    r = num["rank"].to_numpy()
    fig.add_trace(trace("scatter", x=[None if np.isnan(v) else float(v) for v in r], y=labels, mode="markers",
                        name=t("rank", lang), marker=dict(symbol="diamond-open", size=11, color="#222"),
                        hovertext=hover, hovertemplate="%{hovertext}<extra></extra>"))
    miss = [labels[k] for k in range(len(order)) if not has[k] and np.isnan(r[k])]
    if miss:
        x0 = float(np.nanmin(lo)) if np.isfinite(lo).any() else 1.0
        fig.add_trace(trace("scatter", x=[x0] * len(miss), y=miss, mode="text", text=[t("no_data", lang)] * len(miss),
                            textposition="middle right", textfont=dict(color="#777"), showlegend=False,
                            hoverinfo="skip", name=t("no_data", lang)))
    n = len(order)
    base_layout(fig, title if title is not None else t("rank_title", lang), lang=lang,
                height=height or max(300, 120 + 26 * n), xaxis_title=t("rank", lang),
                legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"))
    update_axes(fig, "y", autorange="reversed", categoryorder="array", categoryarray=labels)
    update_axes(fig, "x", dtick=1 if n <= 30 else None, rangemode="tozero")
    update_layout(fig, meta={"villages": order})
    return fig.build()


# ------------------------------------------------------------- indicators
def small_multiples(table: pd.DataFrame, indicators: Sequence[str], village_ids=None, *, settings=None, study=None,
                    lang: str = "zh", cols: int = 3, title: str | None = None) -> go.Figure:
    """A few villages compared on several indicators: one bar panel per indicator.

    Panel titles are catalog labels; a dashed line marks the standard in
    force where the indicator has one (shape named by the standard key).
    Missing values are labelled "无数据" (no bar). Each village keeps its
    colour in every panel.
    """
    lang = normalise_lang(lang)
    colon = _colon(lang)
    indicators = list(indicators)
    if not indicators:
        raise ValueError("small_multiples needs at least one indicator")
    tab = _table(table)
    for i in indicators:
        if i not in tab:
            raise KeyError(f"indicator {i!r} is not in the table")
    tab = _select(tab, None, village_ids)
    s = resolve_settings(settings, study, table)
    ids = list(tab.index)
    names, _ = _names(study, tab, ids)
    labels = unique_labels(names, ids)
    palette = qualitative(len(ids), "Dark24")
    cols = max(1, min(cols, len(indicators)))
    rows = -(-len(indicators) // cols)
    metas = [Meta(i, lang) for i in indicators]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[m.label for m in metas],
                        horizontal_spacing=0.08, vertical_spacing=0.22 / max(rows, 1) + 0.08)
    thresholds = {}
    for n, (ind, meta) in enumerate(zip(indicators, metas)):
        r, c = n // cols + 1, n % cols + 1
        raw = tab[ind]
        colors = palette
        text = None
        if meta.is_flag:  # a full bar per village, coloured and labelled yes/no (a 0 bar would look empty)
            flags = [None if pd.isna(x) else bool(x) for x in raw]
            vals = [None if f is None else 1.0 for f in flags]
            good = meta.direction >= 0
            colors = [NO_DATA_COLOR if f is None else (GOOD_COLOR if f == good else BAD_COLOR) for f in flags]
            text = ["" if f is None else t("yes" if f else "no", lang) for f in flags]
        else:
            vals = [None if pd.isna(x) else float(x) for x in pd.to_numeric(raw, errors="coerce")]
        fig.add_trace(trace("bar", x=labels, y=vals, marker_color=colors, showlegend=False, name=meta.name,
                            text=text, textposition="inside" if text else None,
                            hovertext=[f"<b>{labels[k]}</b><br>{meta.label}{colon}{fmt_value(raw.iat[k], meta, lang)}"
                                       for k in range(len(ids))],
                            hovertemplate="%{hovertext}<extra></extra>", meta=ind), row=r, col=c)
        miss = [labels[k] for k in range(len(ids)) if vals[k] is None]
        if miss:
            fig.add_trace(trace("scatter", x=miss, y=[0] * len(miss), mode="text",
                                text=[t("no_data", lang)] * len(miss),
                                textposition="top center", textfont=dict(color="#777", size=11),
                                showlegend=False, hoverinfo="skip", name=t("no_data", lang)), row=r, col=c)
        thr = meta.threshold(s)
        if thr is not None and not meta.is_flag:
            thresholds[ind] = thr
            _add_standard_line(fig, meta.standard, thr, lang, row=r, col=c, label=False)
            # a category axis places category k at k: its right end is at n - 0.5
            fig.add_annotation(text=meta.standard_text(thr, lang), xref=f"x{n + 1 if n else ''}",
                               yref=f"y{n + 1 if n else ''}", x=len(labels) - 0.5, y=thr, xanchor="right", yanchor="bottom",
                               showarrow=False, font=dict(size=10, color="#d62728"),
                               bgcolor="rgba(255,255,255,0.75)")
        if meta.is_share:
            fig.update_yaxes(tickformat=".0%", row=r, col=c)
        elif meta.is_flag:
            fig.update_yaxes(showticklabels=False, range=[0, 1.05], row=r, col=c)
        else:
            fig.update_yaxes(tickformat=",", row=r, col=c)
    for a in fig.layout.annotations:
        if a.text in {m.label for m in metas}:
            a.font = dict(size=12)
    base_layout(fig, title if title is not None else t("small_multiples_title", lang), lang=lang,
                height=120 + 300 * rows)
    update_layout(fig, meta={"indicators": indicators, "villages": ids, "thresholds": thresholds})
    return fig


def ranked_bar(table: pd.DataFrame, indicator: str, *, town_id=None, village_ids=None, settings=None, study=None,
               lang: str = "zh", title: str | None = None, height: int | None = None) -> go.Figure:
    """Villages ranked on one indicator (best at the top), the standard drawn.

    Best = highest for indicators where higher is better (direction +1 or 0),
    lowest where lower is better. With a standard in force bars are blue
    where it is met and red where missed, and a dashed vertical line marks the
    threshold (shape named by the standard key). Missing values come last,
    with "无数据" and no bar.
    """
    lang = normalise_lang(lang)
    colon = _colon(lang)
    tab = _select(_table(table), town_id, village_ids)
    if indicator not in tab:
        raise KeyError(f"indicator {indicator!r} is not in the table")
    meta = Meta(indicator, lang)
    s = resolve_settings(settings, study, table)
    thr = meta.threshold(s)
    raw = tab[indicator]
    vals = (raw.map(lambda x: np.nan if pd.isna(x) else float(bool(x))) if meta.is_flag
            else pd.to_numeric(raw, errors="coerce")).astype(float)
    order = vals.sort_values(ascending=meta.direction < 0, na_position="last", kind="mergesort").index.tolist()
    vals = vals.loc[order]
    names, towns = _names(study, tab, order)
    labels = unique_labels(names, order)
    has = vals.notna().to_numpy()
    if thr is not None and not meta.is_flag:
        met = [bool(meta.meets(v, thr)) if h else None for v, h in zip(vals, has)]
        colors = [NO_DATA_COLOR if m is None else (GOOD_COLOR if m else BAD_COLOR) for m in met]
    else:
        met = [None] * len(order)
        colors = [BAR_COLOR] * len(order)
    rank = 0
    hover, text = [], []
    for k, vid in enumerate(order):
        v = vals.iat[k]
        if has[k]:
            rank += 1
        extra = ""
        if thr is not None and has[k] and not meta.is_flag:
            extra = f"<br>{meta.standard_text(thr, lang)}{t('separator', lang)}{t('met' if met[k] else 'missed', lang)}"
        hover.append(f"<b>{labels[k]}</b>{'<br>' + esc(towns[k]) if towns[k] else ''}<br>{meta.label}{colon}"
                     f"{fmt_value(raw.loc[vid], meta, lang)}"
                     + (f"<br>{t('rank', lang)}{colon}{rank}" if has[k] else "") + extra)
        text.append(fmt_value(raw.loc[vid], meta, lang))
    fig = FigureSpec([trace("bar", x=[float(v) if h else None for v, h in zip(vals, has)], y=labels,
                            orientation="h", marker_color=colors,
                            text=[tx if h else "" for tx, h in zip(text, has)],
                            textposition="outside", cliponaxis=False, hovertext=hover,
                            hovertemplate="%{hovertext}<extra></extra>", name=meta.name, showlegend=False)])
    miss = [labels[k] for k in range(len(order)) if not has[k]]
    if miss:
        fig.add_trace(trace("scatter", x=[0] * len(miss), y=miss, mode="text", text=[t("no_data", lang)] * len(miss),
                            textposition="middle right", textfont=dict(color="#777"), showlegend=False,
                            hoverinfo="skip", name=t("no_data", lang)))
    if thr is not None and not meta.is_flag:
        _add_standard_line(fig, meta.standard, thr, lang, horizontal=False, label=False)
        fig.add_annotation(text=standard_label(meta.standard, thr, lang), x=thr, xref="x", y=1.0, yref="paper",
                           yanchor="bottom", showarrow=False, font=dict(size=11, color="#d62728"))
        fig.add_trace(legend_entry(t("met", lang), color=GOOD_COLOR))
        fig.add_trace(legend_entry(t("missed", lang), color=BAD_COLOR))
    n = len(order)
    base_layout(fig, title if title is not None else _title(
        [_town_title(study, town_id), t("ranked_title", lang, label=meta.label)], lang), lang=lang,
        height=height or max(300, 130 + 26 * n), xaxis_title=meta.label,
        legend=dict(orientation="h", y=-0.08 if n > 6 else -0.2, x=0))
    update_axes(fig, "y", autorange="reversed", categoryorder="array", categoryarray=labels)
    if meta.is_share:
        update_axes(fig, "x", tickformat=".0%")
    else:
        update_axes(fig, "x", tickformat=",")
    update_layout(fig, meta={"indicator": indicator, "villages": order, "threshold": thr})
    return fig.build()


# ------------------------------------------------------------ why this rank
register({
    "contrib_title": {"zh": "{name}：得分 {score}，本镇（街道）中位数 {ref}，差 {gap}",
                      "en": "{name}: score {score}, town median {ref}, gap {gap}"},
    "contrib_title_log": {"zh": "{name}：得分 {score}，本镇（街道）中位数 {ref}（几何平均，对数贡献）",
                          "en": "{name}: score {score}, town median {ref} (geometric mean, log contributions)"},
    "contrib_axis": {"zh": "对得分差的贡献（分）", "en": "Contribution to the score gap (points)"},
    "contrib_axis_log": {"zh": "对得分差的贡献（对数点）", "en": "Contribution to the score gap (log points)"},
    "contrib_above": {"zh": "高于中位村", "en": "Above the median village"},
    "contrib_below": {"zh": "低于中位村", "en": "Below the median village"},
    "contrib_value": {"zh": "标准化值", "en": "Normalised value"},
    "contrib_weight": {"zh": "有效权重", "en": "Effective weight"},
})


def contribution_chart(contrib: pd.DataFrame, unit: str, *, name: str | None = None, lang: str = "zh",
                       title: str | None = None) -> go.Figure:
    """Why this rank: each indicator's contribution to a village's gap to its town's median score.

    ``contrib`` is the tidy table of :func:`villagestudy.index.contributions`
    (or :func:`villagestudy.index.explain.village_contributions`). One
    horizontal bar per indicator, grouped by pillar (the pillar's total in the
    label), blue when the indicator lifts the village above the median village,
    red when it pulls it below; the bars add up to the gap in the title.
    ``meta``: unit, indicators (top to bottom), gap.

    Examples
    --------
    >>> import pandas as pd
    >>> from villagestudy.index import build_index, contributions
    >>> table = pd.DataFrame({"simpson_index": [0.2, 0.5, 0.4], "certified_share": [0.1, 0.3, 0.9]},
    ...                      index=["v1", "v2", "v3"])
    >>> structure = pd.DataFrame({"id": ["score", "land", "governance", "simpson_index", "certified_share"],
    ...                           "parent": [None, "score", "score", "land", "governance"],
    ...                           "direction": [None, None, None, -1, 1]})
    >>> c = contributions(build_index(table, structure), groups=pd.Series("t1", index=table.index))
    >>> fig = contribution_chart(c, "v2", name="乙村")
    >>> round(fig.layout.meta["gap"], 6)    # score 12.5 against the median village's 50
    -37.5
    """
    lang = normalise_lang(lang)
    colon = _colon(lang)
    rows = contrib[(contrib["unit"] == unit)]
    if rows.empty:
        raise KeyError(f"no contributions for {unit!r} (a village without a score, or not in the table)")
    ind = rows[rows["kind"] == "indicator"]
    pil = rows[rows["kind"] == "pillar"].set_index("id")["contribution"]
    ind = ind.assign(_p=ind["pillar"].map({p: k for k, p in enumerate(catalog.PILLARS)}).fillna(99))
    ind = ind.sort_values(["_p", "contribution"], kind="mergesort")
    labels = [f"{catalog.name(p, lang)} ({fmt_number(pil.get(p, np.nan))}) · {catalog.name(i, lang)}"
              if lang == "en" else f"{catalog.name(p, lang)}（{fmt_number(pil.get(p, np.nan))}）· {catalog.name(i, lang)}"
              for p, i in zip(ind["pillar"], ind["id"])]
    colors = [GOOD_COLOR if v >= 0 else BAD_COLOR for v in ind["contribution"]]
    hover = [f"<b>{esc(lab)}</b><br>{t('contrib_value', lang)}{colon}{fmt_number(v)}<br>"
             f"{t('contrib_weight', lang)}{colon}{fmt_number(w * 100)}%<br>{fmt_number(c)}"
             for lab, v, w, c in zip(labels, ind["value"], ind["weight"], ind["contribution"])]
    fig = FigureSpec([trace("bar", x=ind["contribution"], y=[esc(x) for x in labels], orientation="h",
                            marker_color=colors, customdata=hover, hovertemplate="%{customdata}<extra></extra>",
                            showlegend=False)])
    fig.add_trace(legend_entry(t("contrib_above", lang), color=GOOD_COLOR))
    fig.add_trace(legend_entry(t("contrib_below", lang), color=BAD_COLOR))
    log = (rows["scale"] == "log").any()
    score, ref = float(rows["score"].iloc[0]), float(rows["reference_score"].iloc[0])
    gap = float(ind["contribution"].sum())
    shown = esc(name if name is not None else unit)
    if title is None:
        title = (t("contrib_title_log", lang, name=shown, score=fmt_number(score), ref=fmt_number(ref)) if log else
                 t("contrib_title", lang, name=shown, score=fmt_number(score), ref=fmt_number(ref),
                   gap=fmt_number(gap)))
    base_layout(fig, title, lang=lang, height=max(300, 120 + 26 * len(ind)), plot_bgcolor="white",
                legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"))
    update_axes(fig, "x", title_text=t("contrib_axis_log" if log else "contrib_axis", lang), zeroline=True,
                     zerolinecolor="#444444")
    update_axes(fig, "y", autorange="reversed")
    update_layout(fig, meta={"unit": unit, "indicators": ind["id"].tolist(), "gap": gap})
    return fig.build()
