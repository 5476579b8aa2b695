"""Map of local spatial clusters (LISA): HH / LL / HL / LH / not significant.

Drawn with the village map machinery of :mod:`villagestudy.viz.maps`
(filled scatter traces in the study's projected coordinates: offline, no
tiles). The clusters come from :func:`villagestudy.spatial.local_moran`; this
module only colours them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..i18n import normalise_lang, register, t
from ._geom import (NO_DATA_COLOR, Display, Meta, esc, fill_trace, fmt_value, hover_trace, map_layout, update_layout,
                    usable)
from ._spec import FigureSpec
from .maps import _colon, _note, _selection_title, _villages

__all__ = ["lisa_map", "LISA_COLORS"]

# the usual LISA palette (GeoDa): red hot spots, blue cold spots, pale outliers
LISA_COLORS = {"HH": "#d7191c", "LL": "#2c7bb6", "HL": "#fdae61", "LH": "#abd9e9", "ns": "#eeeeee"}

register({
    "lisa_HH": {"zh": "高-高集聚", "en": "High-high cluster"},
    "lisa_LL": {"zh": "低-低集聚", "en": "Low-low cluster"},
    "lisa_HL": {"zh": "高值孤岛（周边低）", "en": "High among low"},
    "lisa_LH": {"zh": "低值洼地（周边高）", "en": "Low among high"},
    "lisa_ns": {"zh": "不显著", "en": "Not significant"},
    "lisa_title": {"zh": "{label}：局部空间集聚（LISA）", "en": "{label}: local spatial clusters (LISA)"},
    "lisa_moran": {"zh": "全局 Moran's I = {i}，置换 p = {p}，{n} 个村",
                   "en": "Global Moran's I = {i}, permutation p = {p}, {n} villages"},
    "lisa_p": {"zh": "局部 p 值", "en": "Local p-value"},
})


def lisa_map(study, lisa: pd.DataFrame, indicator: str, *, town_id=None, moran: pd.DataFrame | None = None,
             lang: str = "zh", title: str | None = None, height: int = 620) -> go.Figure:
    """Villages coloured by their LISA cluster of ``indicator``.

    Parameters
    ----------
    study : Study
        Gives the boundaries, names and towns.
    lisa : DataFrame
        From :func:`villagestudy.spatial.local_moran` (indexed by
        ``village_id``, with ``value``, ``cluster``, ``p_value``).
    indicator : str
        The indicator the clusters are of (for labels).
    town_id : str, optional
        Draw only this town's villages (the clusters may have been computed
        over the whole study, which is usual: a town's edge villages have
        neighbours in other towns).
    moran : DataFrame, optional
        :func:`villagestudy.spatial.global_moran`'s row, noted on the map.

    Returns
    -------
    plotly.graph_objects.Figure
        ``layout.meta``: indicator, clusters ({village_id: label}), left_out
        (villages drawn grey: no value, no neighbour or not in ``lisa``).

    Examples
    --------
    >>> import villagestudy as vs
    >>> from villagestudy.spatial import local_moran
    >>> study = vs.load_study(vs.datasets.get_path("sample"))
    >>> table = vs.compute_indicators(study)
    >>> lisa = local_moran(study.boundaries, table["simpson_index"])
    >>> fig = lisa_map(study, lisa, "simpson_index")
    >>> sorted(set(fig.layout.meta["clusters"].values()) - {"HH", "LL", "HL", "LH", "ns"})
    []
    """
    lang = normalise_lang(lang)
    if not study.has_geometry("boundaries"):
        raise ValueError("the study has no village boundaries: a LISA map needs them")
    meta = Meta(indicator, lang)
    colon = _colon(lang)
    v = _villages(study, town_id)
    v = v[usable(v["geometry"].to_numpy(dtype=object))].reset_index(drop=True)
    geoms = v["geometry"].to_numpy(dtype=object)
    cluster = lisa["cluster"].reindex(v["village_id"]).to_numpy(dtype=object)
    display = Display.for_geoms(geoms)
    fig = FigureSpec()
    traces: list[dict] = []
    hovers = []
    for i in range(len(v)):
        vid = v.at[i, "village_id"]
        c = cluster[i]
        if isinstance(c, str):
            value = fmt_value(lisa.at[vid, "value"], meta, lang)
            hovers.append(f"<b>{esc(v.at[i, 'village_name'])}</b><br>{meta.label}{colon}{value}<br>"
                          f"{t('lisa_' + c, lang)}<br>{t('lisa_p', lang)}{colon}{lisa.at[vid, 'p_value']:.3f}")
        else:
            hovers.append(f"<b>{esc(v.at[i, 'village_name'])}</b><br>{t('no_data', lang)}")
    for k, label in enumerate(("HH", "LL", "HL", "LH", "ns")):
        idx = np.flatnonzero(cluster == label)
        if len(idx):
            traces.append(fill_trace(display, geoms[idx], LISA_COLORS[label], name=t("lisa_" + label, lang),
                                     showlegend=True, legendrank=k + 1))
    missing = np.flatnonzero(~pd.Series(cluster).apply(lambda c: isinstance(c, str)).to_numpy())
    if len(missing):
        traces.append(fill_trace(display, geoms[missing], NO_DATA_COLOR, name=t("no_data", lang), showlegend=True,
                                 legendrank=10))
    traces.append(hover_trace(display, geoms, hovers, text=[esc(n) for n in v["village_name"]], name=meta.name))
    fig.add_traces(traces)
    map_layout(fig, title if title is not None else _selection_title(
        study, town_id, t("lisa_title", lang, label=meta.label), lang), lang=lang, height=height)
    if moran is not None and len(moran):
        row = moran.iloc[0]
        _note(fig, t("lisa_moran", lang, i=f"{row['moran_i']:.3f}", p=f"{row['p_value']:.3f}",
                     n=int(row["n_villages"])))
    update_layout(fig, meta={"indicator": indicator,
                            "clusters": {vid: c for vid, c in zip(v["village_id"], cluster) if isinstance(c, str)},
                            "left_out": v.loc[missing, "village_id"].tolist()})
    return fig.build()
