"""The consultation app's views: HTML of a Comparison, from Jinja2 templates (autoescaped).

Each function takes what it shows (a :class:`~villagestudy.Comparison`, the
language, a few display choices) and returns HTML; nothing here computes a
result. Text from data is escaped by the templates; only labels already escaped
by the shared helpers are passed as :class:`markupsafe.Markup`.
"""
from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from .. import catalog
from ..i18n import register, t
from ..settings import STANDARDS
from ..formatting import fmt_number, fmt_value
from ..viz._geom import Meta, unique_labels
from ..viz.charts import standard_label
from ..scenario.evaluate import OFFICE_AREA

__all__ = ["render", "weight_shares", "header_html", "status_html", "shares_html", "ranking_html", "missed_html",
           "profile_html", "saved_html", "standard_label_html", "box_title_html", "scope_note"]

PILLARS = catalog.PILLARS
SCORE_COLUMNS = ("score", *PILLARS)

register({
    "consult_scope": {"zh": "比较范围", "en": "Compared over"},
    "consult_scope_study": {"zh": "全研究区", "en": "Whole study"},
    "consult_scope_town": {"zh": "仅本镇", "en": "This town"},
    "consult_scope_note_study": {
        "zh": "得分在全研究区 {n} 个村（社区）之间标准化，与各镇（街道）报告一致、可跨镇比较；名次为本镇名次，“全区名次”为全研究区名次。",
        "en": "Scores are normalised over all {n} villages of the study, as in the town reports, and comparable "
              "between towns; rank is within the town, 'study rank' over the study."},
    "consult_scope_note_town": {
        "zh": "得分仅在本镇（街道）{n} 个村（社区）之间标准化，不能与其他镇（街道）或报告中的得分比较。",
        "en": "Scores are normalised over this town's {n} villages only: not comparable with other towns or "
              "with the reports."},
    "consult_rank_in_scope": {"zh": "全区名次", "en": "Study rank"},
    "consult_saved_in": {"zh": "已保存到：", "en": "Saved in: "},
})

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("villagestudy.consult", "templates"), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def render(template: str, **context) -> str:
    """Render one of the app's templates."""
    return _ENV.get_template(template).render(**context)


def _fmt(v) -> str:
    return "" if v is None or pd.isna(v) else fmt_number(v)


def _labels(names, ids) -> dict:
    ids = list(ids)
    return {i: Markup(label) for i, label in zip(ids, unique_labels(list(names), ids))}


def box_title_html(key: str, lang: str) -> str:
    return render("box_title.html.j2", title=t(key, lang))


def header_html(study, lang: str, warnings: list[str] = ()) -> str:
    s = study.settings
    parts = [s.name] + ([t("consult_synthetic", lang)] if s.synthetic else [])
    return render("header.html.j2", title=t("consult_title", lang), parts=parts, fingerprint=study.fingerprint,
                  fingerprint_label=f'{t("consult_fingerprint", lang)}{t("colon", lang)}', warnings=list(warnings))


def status_html(text: str, notes: list[str] = (), error: bool = False) -> str:
    return render("status.html.j2", text=text, notes=list(notes), error=error)


def shares_html(weights: dict, shares: dict, active: tuple, lang: str) -> str:
    if active and sum(weights[p] for p in active) <= 0:
        return render("shares.html.j2", zero=t("consult_weights_zero", lang), label="", pillars=[])
    pillars = [{"id": p, "share": shares[p], "label": catalog.PILLAR_LABELS[p][lang],
                "shown": f"{shares[p]}%" if p in active else "—"} for p in PILLARS]
    return render("shares.html.j2", zero="", label=f'{t("consult_shares", lang)}{t("colon", lang)}', pillars=pillars)


def weight_shares(weights, pillars=PILLARS) -> dict[str, int]:
    """Weights as whole percentages that sum to exactly 100 (largest remainder).

    Pillars not in ``pillars`` (left out of the index) get 0. All zero gives all 0.

    >>> weight_shares({"land": 1, "income": 1, "governance": 1})
    {'land': 34, 'income': 33, 'governance': 33}
    >>> weight_shares({"land": 2, "income": 1, "governance": 1})
    {'land': 50, 'income': 25, 'governance': 25}
    """
    import numpy as np

    keys = list(weights)
    w = np.array([max(float(weights[k]), 0.0) if k in pillars else 0.0 for k in keys])
    total = w.sum()
    if total <= 0:
        return {k: 0 for k in keys}
    exact = w / total * 100.0
    floor = np.floor(exact).astype(int)
    left = 100 - int(floor.sum())
    # largest remainder first; ties (to 1e-9) go to the larger weight, then to the earlier pillar
    order = sorted(range(len(keys)), key=lambda i: (-round(exact[i] - floor[i], 9), -w[i], i))
    for i in order[:left]:
        floor[i] += 1
    return {k: int(v) for k, v in zip(keys, floor)}


def scope_note(scope: str, n: int, lang: str) -> str:
    return t(f"consult_scope_note_{scope}", lang, n=n)


def ranking_html(comparison, scope_size: int, lang: str) -> str:
    """The town's villages by rank: rank in town, score, pillar scores, study rank, rank interval."""
    s = comparison.scenario
    order = comparison.ranked()
    labels = _labels(order["village_name"], order.index)
    span = max(scope_size - 1, 1)
    show_scope_rank = s.scope == "study"
    head = [t("rank", lang), t("village", lang), catalog.label("score", lang),
            *[catalog.PILLAR_LABELS[p][lang] for p in PILLARS],
            *([t("consult_rank_in_scope", lang)] if show_scope_rank else []), t("rank_interval", lang)]
    rows = []
    for vid, r in order.iterrows():
        lo, hi = r.get("rank_p05"), r.get("rank_p95")
        bar = None
        if lo is not None and not pd.isna(lo) and not pd.isna(hi):
            bar = {"left": f"{(float(lo) - 1) / span * 100:.1f}",
                   "width": f"{max((float(hi) - float(lo)) / span * 100, 1.5):.1f}",
                   "dot": None if pd.isna(r["rank"]) else f"{(float(r['rank']) - 1) / span * 100:.1f}"}
        rows.append({"id": vid, "label": labels[vid], "rank": _fmt(r["rank"]), "rank_in_town": _fmt(r["rank_in_town"]),
                     "score": _fmt(r["score"]), "score_exact": "" if pd.isna(r["score"]) else repr(float(r["score"])),
                     "pillars": [_fmt(r[p]) for p in PILLARS], "bar": bar, "lo": _fmt(lo), "hi": _fmt(hi),
                     "median": _fmt(r.get("rank_median"))})
    note = t("consult_ranking_note", lang, n=s.runs, seed=s.seed) if s.runs else ""
    return render("ranking.html.j2", rows=rows, head=head, show_scope_rank=show_scope_rank, scope=s.scope,
                  scope_note=scope_note(s.scope, scope_size, lang), no_data=t("no_data", lang),
                  median_label=f'{t("rank_median", lang)}{t("colon", lang)}', note=note)


def standard_value_html(value, key: str, units: dict, lang: str) -> str:
    """A standard's value as the reports write it, e.g. ``= 10.0万元`` (escaped)."""
    return str(Markup('<span class="vs-std-shown">= {}</span>').format(_std_value(value, key, units, lang)))


def _std_value(value, key: str, units: dict, lang: str) -> str:
    if value is None or pd.isna(value):
        return t("no_data", lang)
    if STANDARDS[key].unit == "share":
        return fmt_number(value, share=True)
    unit = units.get(key, "")
    kind = "money" if STANDARDS[key].unit == "yuan" else None  # as the reports write money: 10万 (元)
    return f"{fmt_number(value, kind=kind, lang=lang)}{unit}" if lang == "zh" else f"{fmt_number(value, kind=kind, lang=lang)} {unit}"


def missed_html(comparison, units: dict, lang: str) -> str:
    """Per standard in force: the villages that miss it (worst first) and those without data."""
    m = comparison.missed
    if m is None or not len(m):
        return render("missed.html.j2", blocks=[], empty=t("consult_no_standards", lang))
    ids = list(dict.fromkeys(m["village_id"]))
    names = comparison.ranking.set_index("village_id")["village_name"].reindex(ids)
    labels = _labels(names, ids)
    sep = "、" if lang == "zh" else ", "
    blocks = []
    for key in dict.fromkeys(m["standard_key"]):
        rows = m[m["standard_key"] == key]
        threshold = float(rows["standard"].iloc[0])
        missed = rows[rows["status"] == "missed"]
        missed = missed.sort_values("value", ascending=rows["comparison"].iloc[0] != "<=", kind="mergesort",
                                    na_position="last")
        nodata = rows[rows["status"] == "no data"]
        items = []
        for r in missed.itertuples():
            value = ""
            if not pd.isna(r.value):
                shown = _std_value(r.value, key, units, lang)
                value = f"（{shown}）" if lang == "zh" else f" ({shown})"
            items.append({"id": r.village_id, "label": labels[r.village_id], "value": value})
        n = len(missed)
        blocks.append({
            "key": key, "n": n, "head": standard_label(key, threshold, lang), "villages": items,
            "count": t("consult_missed_n", lang, n=n) if n else t("consult_missed_none", lang),
            "nodata": t("consult_no_data_n", lang, n=len(nodata),
                        names=Markup(sep).join(labels[v] for v in nodata["village_id"])) if len(nodata) else "",
        })
    return render("missed.html.j2", blocks=blocks, empty="")


def redundancy_html(comparison, lang: str) -> str:
    """The index's redundancy check in words: pairs of scored indicators above |rho| 0.9, or none."""
    pairs = comparison.extra.get("redundant_scored")
    if pairs is None:
        return ""
    if pairs.empty:
        return note_html(t("consult_no_redundant", lang))
    listed = t("list_sep", lang).join(f"{catalog.name(a, lang)} ~ {catalog.name(b, lang)} (ρ {r:.2f})"
                                      for a, b, r in zip(pairs["id"], pairs["other"], pairs["rho"]))
    return note_html(t("consult_redundant", lang, pairs=listed))


def why_this_rank_text(comparison, village_id: str, lang: str) -> str:
    """Each pillar's part of the village's gap to its town's median score (from the Comparison), in words."""
    contrib = comparison.extra.get("contributions")
    if contrib is None or contrib.empty or comparison.scenario.aggregate != "arithmetic":
        return ""  # a geometric mean splits into log points, a harmonic one not at all: the report explains
    mine = contrib[(contrib["unit"] == village_id) & (contrib["kind"] == "pillar")].set_index("id")
    mine = mine.reindex([p for p in catalog.PILLARS if p in mine.index]).reset_index()
    if mine.empty:
        return ""

    def signed(v) -> str:
        return f"+{fmt_number(v)}" if v > 0 else fmt_number(v)

    parts = t("list_sep", lang).join(f"{catalog.PILLAR_LABELS[p][lang]} {signed(v)}"
                                     for p, v in zip(mine["id"], mine["contribution"]) if p in catalog.PILLAR_LABELS)
    return t("consult_why_rank", lang, parts=parts, total=signed(float(mine["contribution"].sum())))


def profile_html(comparison, village_id: str | None, lang: str) -> str:
    """One village against its town's median, with the standards it meets or misses."""
    table = comparison.indicators
    if village_id is None or village_id not in table.index:
        return render("profile.html.j2", village=None, empty=t("consult_no_villages", lang))
    row = table.loc[village_id]
    ranking = comparison.ranking.set_index("village_id")
    head = []
    if village_id in ranking.index:
        r = ranking.loc[village_id]
        if not pd.isna(r["rank_in_town"]):
            text = t("consult_rank_of", lang, rank=_fmt(r["rank_in_town"]), n=len(ranking))
            if comparison.scenario.scope == "study":
                text += f"{t('separator', lang)}{t('consult_rank_in_scope', lang)} {_fmt(r['rank'])}"
            if not pd.isna(r["rank_p05"]):
                text += (f"{t('separator', lang)}{t('rank_interval', lang)}{t('colon', lang)}"
                         f"{_fmt(r['rank_p05'])}–{_fmt(r['rank_p95'])}")
            head.append(text)
        scores = [f"{catalog.label(c, lang)} {_fmt(r[c])}" for c in SCORE_COLUMNS if not pd.isna(r[c])]
        if scores:
            head.append(t("separator", lang).join(scores))
        why = why_this_rank_text(comparison, village_id, lang)
        if why:
            head.append(why)
    mine = comparison.missed[comparison.missed["village_id"] == village_id]
    status = dict(zip(mine["indicator"], mine["status"]))
    thresholds = {i: (c, s) for i, c, s in zip(mine["indicator"], mine["comparison"], mine["standard"])}
    status_text = {"met": ("vs-ok", t("met", lang)), "missed": ("vs-bad", t("missed", lang)),
                   "no data": ("vs-nodata", t("no_data", lang))}
    rows = []
    for p in PILLARS:
        ids = [i for i in catalog.ids(p) if i in table and table[i].notna().any()]
        if not ids:
            continue
        rows.append({"pillar": catalog.PILLAR_LABELS[p][lang]})
        for ind in ids:
            meta = Meta(ind, lang)
            col = table[ind]
            if meta.is_flag:
                flags = col.dropna().astype(bool)
                median = t("consult_flag_count", lang, k=int(flags.sum()), n=len(col))
                shown = fmt_value(row[ind], meta, lang)
                if ind == "office_area_ok" and OFFICE_AREA in table and not pd.isna(row[OFFICE_AREA]):
                    area = fmt_number(row[OFFICE_AREA])
                    shown += f"（{area}）" if lang == "zh" else f" ({area})"
            else:
                num = pd.to_numeric(col, errors="coerce")
                median = fmt_value(num.median(), meta, lang) if num.notna().any() else t("no_data", lang)
                shown = fmt_value(row[ind], meta, lang)
            standard, cls, text = "", "", ""
            if ind in thresholds:
                comparison_op, thr = thresholds[ind]
                standard = f"{'≤' if comparison_op == '<=' else '≥'} " \
                           f"{fmt_number(thr, share=meta.is_share and not meta.is_flag)}"
                cls, text = status_text.get(status.get(ind), ("", ""))
            rows.append({"pillar": None, "id": ind, "label": meta.label, "value": shown, "median": median,
                         "standard": standard, "status": text, "status_class": cls})
    name = _labels([row["village_name"]], [village_id])[village_id]
    cols = [t("consult_indicator", lang), t("consult_this_village", lang), t("consult_town_median", lang),
            t("standard", lang), t("status", lang)]
    return render("profile.html.j2", village=village_id, name=name, head=head, cols=cols, rows=rows, empty="")


def saved_html(json_path: Path | None, table_path: Path | None, lang: str, error: str | None = None) -> str:
    if error is not None:
        return render("saved.html.j2", error=t("consult_save_failed", lang, error=error))
    return render("saved.html.j2", error=None, saved_in=t("consult_saved_in", lang),
                  folder=str(json_path.resolve().parent), names=[json_path.name, table_path.name])


def standard_label_html(label: str, unit: str, lang: str, note: str = "") -> str:
    text = f"{label}（{unit}）" if lang == "zh" else f"{label} ({unit})"
    return render("standard_label.html.j2", label=text, note=note)


#: plotly's own mimetype (drawn by the jupyterlab-plotly extension)
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def plotly_output(fig) -> dict:
    """A display_data output of a plotly figure, drawn offline wherever the app is shown.

    Two renderings of one figure specification: plotly's mimetype, which the
    jupyterlab-plotly extension draws (JupyterLab, a plain Voilà), and HTML
    without any script, a ``<div class="vs-plotly">`` holding the figure as
    data (``data-figure``), which the app's Voilà page draws with its own
    offline plotly.js (``templates/voila/plots.js``; the page does not load the
    plotly extension: :mod:`villagestudy.consult.serve`).
    """
    spec = json.loads(fig.to_json(validate=False))
    spec["config"] = {"displaylogo": False,
                      "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
    height = int(spec.get("layout", {}).get("height") or 450)
    return {"output_type": "display_data",
            "data": {PLOTLY_MIME: spec,
                     "text/html": render("plotly_figure.html.j2", figure=spec, height=height),
                     "text/plain": "<plotly figure>"}, "metadata": {}}


def html_output(text: str) -> dict:
    return {"output_type": "display_data", "data": {"text/html": text, "text/plain": ""}, "metadata": {}}


def note_html(text: str) -> str:
    return render("note.html.j2", text=text)
