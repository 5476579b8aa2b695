"""The consultation panel: ipywidgets that recompute the comparison live.

For consultation meetings (议事会, 乡村夜话) where the group changes weights,
standards and methods and everyone sees the effect at once. The same panel
runs in JupyterLab (display ``panel.widget``) and in Voilà
(``villagestudy consult``).

What is computed when (measured in ``benchmarks/bench_consult.py``):

* town or year: the indicator table of that town and year, once
  (:func:`villagestudy.compute_indicators` on the town only, cached per
  (town, year)), then everything below;
* a standard: only the four flags that depend on standards
  (``weak_village``, ``social_workers_ok``, ``grid_part_time_ok``,
  ``office_area_ok``: :func:`apply_standards`, the package's one comparison
  :func:`villagestudy.metrics.standards.meets`), the list of villages missing
  each standard, the map when it shows an indicator compared with a standard,
  and the profile. No flag enters the composite index, so the ranking stays;
* a weight, the normalisation or the aggregation: the ranking
  (:func:`villagestudy.ranking.rank_villages` with a small seeded Monte Carlo
  for the rank intervals; results cached per choice), the map when it shows a
  score, and the profile;
* the map's indicator: the map only; the village: the profile only.

Figures go to a ``widgets.Output`` as plotly's own mimetype
(``application/vnd.plotly.v1+json``), which the jupyterlab-plotly extension
draws with its local copy of plotly.js: nothing is fetched from a CDN. Every
text taken from data is HTML-escaped.

Examples
--------
>>> from villagestudy.consult import panel
>>> app = panel("data/sample", lang="zh")
>>> box = app.widget                               # display it in JupyterLab or Voila
>>> app.weight_sliders["governance"].value = 2      # the ranking and the map update at once
>>> int(app.ranking.table["rank"].min())
1
"""
from __future__ import annotations

import html
import json
import os
import warnings
from collections import OrderedDict
from pathlib import Path
from time import perf_counter
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import catalog
from ..i18n import normalise_lang, t
from ..settings import STANDARDS, Settings
from ..study import Study
from .scenario import TABLE_FORMATS, SavedScenario, load_scenario, save_scenario, scenario_parameters

__all__ = ["ConsultationPanel", "panel", "apply_standards", "weight_shares", "STANDARD_FLAGS",
           "NORMALISATIONS", "AGGREGATIONS", "DEFAULT_OUT_DIR"]

PILLARS = ("land", "income", "governance")
SCORE_COLUMNS = ("score", *PILLARS)
NORMALISATIONS = ("minmax", "zscore", "rank", "prank")
AGGREGATIONS = ("arithmetic", "geometric", "harmonic")
DEFAULT_OUT_DIR = Path("outputs") / "scenarios"

#: flags of the indicator table that depend on standards, and on which
STANDARD_FLAGS: dict[str, tuple[str, ...]] = {
    "weak_village": ("weak_total_yuan", "weak_operating_yuan"),
    "social_workers_ok": ("social_workers_per_10k_min",),
    "grid_part_time_ok": ("grid_part_time_max",),
    "office_area_ok": ("office_area_standard_m2",),
}
#: the raw column behind office_area_ok, joined to the cached table
OFFICE_AREA = "office_area_m2"

_WEIGHT_MAX = 5.0
_WEIGHT_STEP = 0.5
_RANK_CACHE = 64


# ------------------------------------------------------------------ helpers
def apply_standards(base: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The indicator table with the flags that depend on standards recomputed.

    ``base`` is an indicator table of :func:`villagestudy.compute_indicators`
    with an ``office_area_m2`` column joined (the raw value behind
    ``office_area_ok``). The flags are computed exactly as the metrics modules
    compute them (same columns, same :func:`~villagestudy.metrics.standards.meets`),
    so the result equals ``compute_indicators(study, year, **standards)`` at a
    fraction of its cost (tested).
    """
    from ..metrics.standards import meets

    table = base.copy(deep=False)
    total = pd.to_numeric(table["income_total_yuan"], errors="coerce").astype("float64")
    operating = pd.to_numeric(table["operating_income_yuan"], errors="coerce").astype("float64")
    ok = meets(total, settings.weak_total_yuan, ">=") & meets(operating, settings.weak_operating_yuan, ">=")
    table["weak_village"] = (~ok).astype("boolean").where(total.notna() & operating.notna())
    table["social_workers_ok"] = meets(table["social_workers_per_10k"], settings.social_workers_per_10k_min, ">=")
    table["grid_part_time_ok"] = meets(table["grid_part_time_share"], settings.grid_part_time_max, "<=")
    if settings.office_area_standard_m2 is None or OFFICE_AREA not in table:
        table["office_area_ok"] = pd.Series(pd.NA, index=table.index, dtype="boolean")
    else:
        table["office_area_ok"] = meets(table[OFFICE_AREA], settings.office_area_standard_m2, ">=")
    for col in STANDARD_FLAGS:
        table[col] = table[col].astype("boolean")
    table.attrs = {"year": base.attrs.get("year"), "settings": settings.as_dict()}
    return table


def weight_shares(weights: Mapping[str, float], pillars=PILLARS) -> dict[str, int]:
    """Weights as whole percentages that sum to exactly 100 (largest remainder).

    Pillars not in ``pillars`` (left out of the index) get 0. All zero gives all 0.

    >>> weight_shares({"land": 1, "income": 1, "governance": 1})
    {'land': 34, 'income': 33, 'governance': 33}
    >>> weight_shares({"land": 2, "income": 1, "governance": 1})
    {'land': 50, 'income': 25, 'governance': 25}
    """
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


def _esc(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _fmt_number(v, share: bool = False) -> str:
    v = float(v)
    if share:
        return f"{v:.1%}"
    if abs(v) >= 1000 or v.is_integer():
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:,.1f}"
    return f"{v:.2f}"


def _fmt_score(v) -> str:
    if v is None or pd.isna(v):
        return ""
    v = float(v)
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def _fmt_rank(v) -> str:
    if v is None or pd.isna(v):
        return ""
    v = float(v)
    return f"{v:.0f}" if v.is_integer() else f"{v:.1f}"


def _plotly_output(fig) -> dict:
    """A display_data output of plotly's mimetype (drawn offline by jupyterlab-plotly)."""
    spec = json.loads(fig.to_json(validate=False))
    spec["config"] = {"displaylogo": False,
                      "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
    return {"output_type": "display_data",
            "data": {"application/vnd.plotly.v1+json": spec, "text/plain": "<plotly figure>"},
            "metadata": {}}


def _html_output(text: str) -> dict:
    return {"output_type": "display_data", "data": {"text/html": text, "text/plain": ""}, "metadata": {}}


CSS = """<style>
.vs-consult { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei",
  "PingFang SC", sans-serif; }
.vs-consult h2.vs-title { margin: 4px 0 2px 0; font-size: 20px; }
.vs-consult .vs-sub { color: #555; font-size: 12px; }
.vs-consult .vs-box-title { font-weight: bold; margin: 10px 0 4px 0; font-size: 14px; }
.vs-consult .vs-shares { font-size: 13px; color: #08519c; }
.vs-consult .vs-warn { color: #b30000; }
.vs-consult .vs-status { font-size: 12px; color: #666; }
.vs-consult .vs-status.vs-error { color: #b30000; font-weight: bold; }
.vs-consult table.vs-t { border-collapse: collapse; font-size: 13px; width: 100%; }
.vs-consult table.vs-t th { text-align: left; border-bottom: 2px solid #999; padding: 3px 6px;
  background: #f6f6f6; white-space: nowrap; }
.vs-consult table.vs-t td { border-bottom: 1px solid #e3e3e3; padding: 3px 6px; }
.vs-consult table.vs-t td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.vs-consult table.vs-t tr.vs-pillar td { background: #eef3f8; font-weight: bold; }
.vs-consult .vs-ci { position: relative; display: inline-block; width: 100px; height: 10px;
  background: #eeeeee; vertical-align: middle; margin-right: 6px; }
.vs-consult .vs-ci-text { display: inline-block; min-width: 3.6em; text-align: left; }
.vs-consult .vs-ci span { position: absolute; top: 2px; height: 6px; background: #9ecae1; }
.vs-consult .vs-ci i { position: absolute; top: 0; width: 2px; height: 10px; background: #08519c; }
.vs-consult .vs-std { margin: 0 0 10px 0; }
.vs-consult .vs-std-head { font-weight: bold; font-size: 13px; }
.vs-consult .vs-std ul { margin: 2px 0 0 0; padding-left: 0; font-size: 13px; list-style: none; }
.vs-consult .vs-std li { display: inline; }
.vs-consult .vs-std li + li::before { content: "、"; }
.vs-consult.vs-en .vs-std li + li::before { content: "; "; }
.vs-consult .vs-scroll { max-height: 600px; overflow-y: auto; }
.vs-consult .vs-missed-n { color: #b30000; }
.vs-consult .vs-ok { color: #1a7f37; }
.vs-consult .vs-bad { color: #b30000; font-weight: bold; }
.vs-consult .vs-nodata { color: #888; }
.vs-consult .vs-val { color: #666; }
.vs-consult .vs-note { font-size: 12px; color: #666; margin-top: 4px; }
.vs-consult .vs-saved-path { line-height: 1.4; }
.vs-consult .vs-saved-path code { word-break: break-all; font-size: 11px; }
</style>"""


# -------------------------------------------------------------------- panel
class ConsultationPanel:
    """Widgets that compare the villages of a town live; display ``.widget``.

    Parameters
    ----------
    study : Study or path
        A loaded study or a study folder.
    lang : {"zh", "en"}
    town_id, year : optional
        Initial town (default the study's first) and year (default the
        study's year).
    out_dir : path, optional
        Folder of saved scenarios; default ``$VILLAGESTUDY_SCENARIOS`` or
        ``outputs/scenarios``.
    mc_runs, seed : int
        Monte Carlo runs behind the rank intervals (default 200, seed=0: the
        same choices always give the same intervals).
    map_indicator : str
        Initial map colouring: ``score``, a pillar or a catalog indicator id.
    raise_errors : bool
        Re-raise errors of an update (tests) instead of only showing them.

    Attributes
    ----------
    widget : ipywidgets.Widget
        The whole panel.
    table : DataFrame
        Indicator table of the town and year, flags for the standards in force.
    ranking : VillageRanking
        Scores, ranks and rank intervals for the current choices.
    missed : DataFrame
        :func:`~villagestudy.metrics.standards.missed_standards` of ``table``.
    figure : plotly Figure or None
        The map shown.
    timings : list of (str, float)
        Seconds taken by each update, by kind of change.
    """

    def __init__(self, study: Study | str | os.PathLike, *, lang: str = "zh", town_id: str | None = None,
                 year: int | None = None, out_dir: str | os.PathLike | None = None, mc_runs: int = 200,
                 seed: int = 0, map_indicator: str = "score", raise_errors: bool = False):
        import ipywidgets as widgets

        self._w = widgets
        if not isinstance(study, Study):
            from ..io import load_study

            study = load_study(study)
        self.study = study
        self.lang = normalise_lang(lang)
        self.out_dir = Path(out_dir or os.environ.get("VILLAGESTUDY_SCENARIOS") or DEFAULT_OUT_DIR)
        self.mc_runs = int(mc_runs)
        self.seed = int(seed)
        self.raise_errors = raise_errors
        self.timings: list[tuple[str, float]] = []
        self.last_error: BaseException | None = None
        self.last_saved: SavedScenario | None = None
        self.table: pd.DataFrame | None = None
        self.ranking = None
        self.missed: pd.DataFrame | None = None
        self.figure = None
        self.map_table: pd.DataFrame | None = None
        self._towns: dict[str, Study] = {}
        self._bases: dict[tuple, pd.DataFrame] = {}
        self._active: dict[tuple, tuple[str, ...]] = {}
        self._ranks: OrderedDict = OrderedDict()
        self._suspended = 0
        if not len(study.towns):
            raise ValueError("the study has no towns")
        index_options = dict(study.settings.index_options or {})
        self._index_options = {k: v for k, v in index_options.items() if k not in ("weights", "uncertainty")}
        self._index_options.pop("normalise", None)
        self._index_options.pop("aggregate", None)
        study_weights = {**index_options.get("weights", {}), **(study.settings.weights or {})}
        extra_weights = {k: v for k, v in study_weights.items() if k not in PILLARS}
        if extra_weights:
            self._index_options["weights"] = extra_weights
        self._build(town_id, year, {p: float(study_weights.get(p, 1.0)) for p in PILLARS},
                    index_options.get("normalise", "minmax"), index_options.get("aggregate", "arithmetic"),
                    map_indicator)
        self._refresh("town")
        self._observe()

    # ---------------------------------------------------------- widgets
    def _build(self, town_id, year, weights, normalise, aggregate, map_indicator) -> None:
        w, lang = self._w, self.lang
        study = self.study
        towns = [(str(n), str(i)) for i, n in zip(study.towns["town_id"],
                                                    study.towns.get("town_name", study.towns["town_id"]))]
        town_ids = [i for _, i in towns]
        town_id = str(town_id) if town_id is not None else town_ids[0]
        if town_id not in town_ids:
            raise KeyError(f"no town {town_id!r} in the study; towns: {', '.join(town_ids)}")
        years = study.years
        year = int(year) if year is not None else study.default_year
        if years and year not in years:
            raise KeyError(f"no data for year {year}; years: {', '.join(map(str, years))}")
        narrow = dict(description_width="88px")
        self.town_dropdown = w.Dropdown(options=towns, value=town_id, description=t("town", lang), style=narrow,
                                        layout=w.Layout(width="98%"))
        self.town_dropdown.add_class("vs-town")
        self.year_dropdown = w.Dropdown(options=[(t("year_n", lang, year=y), y) for y in years] or [("—", None)],
                                        value=year if years else None, description=t("year", lang), style=narrow,
                                        layout=w.Layout(width="98%"))
        self.year_dropdown.add_class("vs-year")
        self.weight_sliders = {}
        for p in PILLARS:
            value = float(weights.get(p, 1.0))
            s = w.FloatSlider(value=value, min=0.0, max=max(_WEIGHT_MAX, value), step=_WEIGHT_STEP,
                              description=catalog.PILLAR_LABELS[p][lang], continuous_update=False,
                              readout_format=".1f", style=narrow, layout=w.Layout(width="98%"))
            s.add_class(f"vs-w-{p}")
            self.weight_sliders[p] = s
        self.shares_html = w.HTML()
        self.shares_html.add_class("vs-shares-box")
        from ..metrics.standards import standards_table

        st = standards_table(study.settings, lang=lang).set_index("key")
        self._std_units = {k: st.at[k, "unit"] for k in st.index}
        self.standard_inputs = {}
        std_rows = []
        for key, std in STANDARDS.items():
            value = getattr(study.settings, key)
            share = std.unit == "share"
            box = w.BoundedFloatText(value=0.0 if value is None else float(value), min=0.0,
                                     max=1.0 if share else 1e12, step=0.05 if share else (1000.0 if std.unit == "yuan"
                                                                                          else 1.0),
                                     layout=w.Layout(width="160px"))
            box.add_class(f"vs-std-{key}")
            self.standard_inputs[key] = box
            label = f"{_esc(st.at[key, 'label'])}（{_esc(st.at[key, 'unit'])}）" if lang == "zh" else \
                f"{_esc(st.at[key, 'label'])} ({_esc(st.at[key, 'unit'])})"
            if key == "office_area_standard_m2":
                label += f'<br><span class="vs-note">{_esc(t("consult_office_none", lang))}</span>'
            std_rows.append(w.VBox([w.HTML(f'<div style="font-size:12px;line-height:1.3">{label}</div>'), box],
                                   layout=w.Layout(margin="0 0 4px 0")))
        self.normalise_dropdown = w.Dropdown(
            options=[(t(f"consult_norm_{m}", lang), m) for m in NORMALISATIONS],
            value=normalise if normalise in NORMALISATIONS else "minmax", description=t("consult_normalise", lang),
            style=narrow, layout=w.Layout(width="98%"))
        self.normalise_dropdown.add_class("vs-normalise")
        self.aggregate_dropdown = w.Dropdown(
            options=[(t(f"consult_agg_{m}", lang), m) for m in AGGREGATIONS],
            value=aggregate if aggregate in AGGREGATIONS else "arithmetic", description=t("consult_aggregate", lang),
            style=narrow, layout=w.Layout(width="98%"))
        self.aggregate_dropdown.add_class("vs-aggregate")
        # save
        self.format_toggle = w.ToggleButtons(options=[(f.upper(), f) for f in TABLE_FORMATS], value="csv",
                                             description=t("consult_format", lang), style=dict(
                                                 description_width="88px", button_width="60px"))
        self.note_text = w.Textarea(placeholder=t("consult_note", lang), layout=w.Layout(width="98%", height="60px"))
        self.save_button = w.Button(description=t("consult_save", lang), icon="save", button_style="primary",
                                    layout=w.Layout(width="98%"))
        self.save_button.add_class("vs-save")
        self.saved_html = w.HTML()
        self.saved_html.add_class("vs-saved")
        # results
        self.status_html = w.HTML()
        self.status_html.add_class("vs-status-box")
        self.ranking_html = w.HTML()
        self.ranking_html.add_class("vs-ranking-box")
        self.missed_html = w.HTML()
        self.missed_html.add_class("vs-missed-box")
        map_options = [(catalog.label(c, lang), c) for c in SCORE_COLUMNS]
        for p in PILLARS:
            prefix = catalog.PILLAR_LABELS[p][lang]
            map_options += [(f"{prefix} · {catalog.label(i, lang)}", i) for i in catalog.ids(p)]
        ids = [v for _, v in map_options]
        self.map_dropdown = w.Dropdown(options=map_options, value=map_indicator if map_indicator in ids else "score",
                                       description=t("consult_map_by", lang), style=narrow,
                                       layout=w.Layout(width="min(560px, 98%)"))
        self.map_dropdown.add_class("vs-map-indicator")
        self.map_output = w.Output(layout=w.Layout(width="100%", min_height="420px"))
        self.map_output.add_class("vs-map")
        self.village_dropdown = w.Dropdown(options=[], description=t("village", lang), style=narrow,
                                           layout=w.Layout(width="min(420px, 98%)"))
        self.village_dropdown.add_class("vs-village")
        self.profile_html = w.HTML()
        self.profile_html.add_class("vs-profile-box")
        # layout
        s = study.settings
        sub = [_esc(s.name)]
        if s.synthetic:
            sub.append(_esc(t("consult_synthetic", lang)))
        fingerprint = f"<code>{_esc(study.fingerprint)}</code>"
        sub.append(f'{_esc(t("consult_fingerprint", lang))}{_esc(t("colon", lang))}{fingerprint}')
        header = w.HTML(f'{CSS}<h2 class="vs-title">{_esc(t("consult_title", lang))}</h2>'
                        f'<div class="vs-sub">{" · ".join(sub)}</div>')

        def title(key):
            return w.HTML(f'<div class="vs-box-title">{_esc(t(key, lang))}</div>')

        controls = w.VBox([
            self.town_dropdown, self.year_dropdown,
            title("consult_weights"), *self.weight_sliders.values(), self.shares_html,
            title("consult_standards"), *std_rows,
            title("consult_method"), self.normalise_dropdown, self.aggregate_dropdown,
            title("consult_save"), self.format_toggle, self.note_text, self.save_button, self.saved_html,
        ], layout=w.Layout(width="340px", min_width="300px", padding="0 12px 0 0"))
        ranking_box = w.VBox([title("consult_ranking"), self.ranking_html],
                             layout=w.Layout(flex="1 1 460px", min_width="0", padding="0 12px 0 0"))
        map_box = w.VBox([title("consult_map"), self.map_dropdown, self.map_output],
                         layout=w.Layout(flex="1 1 420px", min_width="0"))
        missed_box = w.VBox([title("consult_missed"), self.missed_html],
                            layout=w.Layout(flex="1 1 460px", min_width="0", padding="0 12px 0 0"))
        profile_box = w.VBox([title("consult_profile"), self.village_dropdown, self.profile_html],
                             layout=w.Layout(flex="1 1 420px", min_width="0"))
        row = dict(flex_flow="row wrap", width="100%", align_items="flex-start")
        results = w.VBox([
            self.status_html,
            w.HBox([ranking_box, map_box], layout=w.Layout(**row)),
            w.HBox([missed_box, profile_box], layout=w.Layout(**row)),
        ], layout=w.Layout(flex="1 1 600px", min_width="0"))
        self.widget = w.VBox([header, w.HBox([controls, results], layout=w.Layout(width="100%"))],
                             layout=w.Layout(width="100%"))
        self.widget.add_class("vs-consult")
        self.widget.add_class(f"vs-{self.lang}")

    def _observe(self) -> None:
        self.town_dropdown.observe(lambda ch: self._refresh("town"), names="value")
        self.year_dropdown.observe(lambda ch: self._refresh("year"), names="value")
        for s in self.weight_sliders.values():
            s.observe(lambda ch: self._refresh("weights"), names="value")
        for box in self.standard_inputs.values():
            box.observe(lambda ch: self._refresh("standards"), names="value")
        self.normalise_dropdown.observe(lambda ch: self._refresh("method"), names="value")
        self.aggregate_dropdown.observe(lambda ch: self._refresh("method"), names="value")
        self.map_dropdown.observe(lambda ch: self._refresh("map"), names="value")
        self.village_dropdown.observe(lambda ch: self._refresh("village"), names="value")
        self.save_button.on_click(lambda b: self._on_save())

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------- state
    @property
    def town_id(self) -> str:
        return self.town_dropdown.value

    @property
    def year(self) -> int | None:
        return self.year_dropdown.value

    @property
    def weights(self) -> dict[str, float]:
        return {p: float(s.value) for p, s in self.weight_sliders.items()}

    @property
    def standards(self) -> dict[str, float | None]:
        out = {}
        for key, box in self.standard_inputs.items():
            v = float(box.value)
            out[key] = None if key == "office_area_standard_m2" and v <= 0 else v
        return out

    @property
    def normalise(self) -> str:
        return self.normalise_dropdown.value

    @property
    def aggregate(self) -> str:
        return self.aggregate_dropdown.value

    @property
    def map_indicator(self) -> str:
        return self.map_dropdown.value

    @property
    def village_id(self) -> str | None:
        return self.village_dropdown.value

    @property
    def settings(self) -> Settings:
        """The study's settings with the standards in force."""
        return self.study.settings.replace(**self.standards)

    @property
    def parameters(self) -> dict:
        """The scenario parameters (as saved; as read by ``villagestudy reports --params``)."""
        return scenario_parameters(self.weights, self.standards, self.normalise, self.aggregate)

    @property
    def active_pillars(self) -> tuple[str, ...]:
        return self._active.get((self.town_id, self.year), PILLARS)

    @property
    def shares(self) -> dict[str, int]:
        """The pillar weights as shown: whole percentages summing to 100 (pillars in the index)."""
        return weight_shares(self.weights, self.active_pillars)

    # ----------------------------------------------------------- compute
    def _town_study(self, town_id: str) -> Study:
        if town_id not in self._towns:
            self._towns[town_id] = self.study.for_towns(town_id)
        return self._towns[town_id]

    def _base(self) -> pd.DataFrame:
        """The indicator table of the town and year (computed once per pair) with office_area_m2."""
        key = (self.town_id, self.year)
        if key not in self._bases:
            from ..metrics import compute_indicators
            from ..ranking import village_structure

            town = self._town_study(self.town_id)
            table = compute_indicators(town, self.year)
            year = table.attrs.get("year")
            if town.governance is not None and len(town.governance) and "office_area_m2" in town.governance:
                from ..metrics.governance import office_area_m2

                area = office_area_m2(town.governance, year, town.villages["village_id"])
                table[OFFICE_AREA] = pd.to_numeric(area, errors="coerce").reindex(table.index).astype("float64")
            else:
                table[OFFICE_AREA] = np.nan
            table.attrs = {"year": year}  # the notes frame in attrs would be deep-copied by every pandas step
            structure, _ = village_structure(table)
            self._active[key] = tuple(p for p in PILLARS if (structure["id"] == p).any())
            self._bases[key] = table
        return self._bases[key]

    def _rank(self):
        from ..ranking import rank_villages

        weights = self.weights
        key = (self.town_id, self.year, tuple(weights.values()), self.normalise, self.aggregate)
        if key in self._ranks:
            self._ranks.move_to_end(key)
            return self._ranks[key]
        ranking = rank_villages(self.table, weights=weights, normalise=self.normalise, aggregate=self.aggregate,
                                uncertainty={"n": self.mc_runs, "seed": self.seed} if self.mc_runs else False,
                                options=self._index_options)
        self._ranks[key] = ranking
        while len(self._ranks) > _RANK_CACHE:
            self._ranks.popitem(last=False)
        return ranking

    def _map_depends_on(self, what: str) -> bool:
        ind = self.map_indicator
        if what == "score":
            return ind in SCORE_COLUMNS
        if ind in STANDARD_FLAGS:
            return True
        try:
            return catalog.get(ind).standard is not None
        except KeyError:
            return False

    _STEPS = {
        "town": ("data", "flags", "rank", "missed", "villages", "map", "profile"),
        "year": ("data", "flags", "rank", "missed", "villages", "map", "profile"),
        "weights": ("shares", "rank", "map?score", "profile"),
        "method": ("rank", "map?score", "profile"),
        "standards": ("flags", "missed", "map?standard", "profile"),
        "map": ("map",),
        "village": ("profile",),
    }

    def _refresh(self, kind: str) -> None:
        """Recompute what a change of ``kind`` touches and update the outputs (synchronously)."""
        if self._suspended:
            return
        start = perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                for step in self._STEPS[kind]:
                    if step.startswith("map?"):
                        if self._map_depends_on(step[4:]):
                            self._render_map()
                        continue
                    getattr(self, f"_step_{step}")()
        except Exception as e:  # shown in the panel: a meeting must not face a traceback
            self.last_error = e
            self.status_html.value = (f'<div class="vs-status vs-error">'
                                      f'{_esc(t("consult_error", self.lang, error=f"{type(e).__name__}: {e}"))}</div>')
            if self.raise_errors:
                raise
            return
        seconds = perf_counter() - start
        self.timings.append((kind, seconds))
        self.last_error = None
        notes = []
        left_out = [catalog.PILLAR_LABELS[p][self.lang] for p in PILLARS if p not in self.active_pillars]
        if left_out:
            notes.append(t("consult_pillars_left_out", self.lang, pillars="、".join(left_out)))
        town = self.study.town_name(self.town_id)
        head = f"{town}{t('separator', self.lang)}{t('year_n', self.lang, year=self.year) if self.year else ''}"
        self.status_html.value = (f'<div class="vs-status">{_esc(head)}{_esc(t("separator", self.lang))}'
                                  f'{_esc(t("consult_updated", self.lang, seconds=f"{seconds:.2f}"))}'
                                  + "".join(f'<br><span class="vs-warn">{_esc(n)}</span>' for n in notes)
                                  + "</div>")

    def _step_data(self) -> None:
        self._base()
        self._step_shares()

    def _step_flags(self) -> None:
        self.table = apply_standards(self._base(), self.settings)

    def _step_shares(self) -> None:
        lang = self.lang
        weights = self.weights
        active = self.active_pillars
        if active and sum(weights[p] for p in active) <= 0:
            self.shares_html.value = f'<div class="vs-shares vs-warn">{_esc(t("consult_weights_zero", lang))}</div>'
            return
        shares = self.shares
        parts = [f'<span data-pillar="{p}" data-share="{shares[p]}">{_esc(catalog.PILLAR_LABELS[p][lang])} '
                 f'{f"{shares[p]}%" if p in active else "—"}</span>' for p in PILLARS]
        self.shares_html.value = (f'<div class="vs-shares">{_esc(t("consult_shares", lang))}'
                                  f'{_esc(t("colon", lang))}{" · ".join(parts)}</div>')

    def _step_rank(self) -> None:
        # all-zero weights give no score (NaN ranks, shown as no data) and the shares label says why
        self.ranking = self._rank()
        self.ranking_html.value = self._ranking_html()

    def _step_missed(self) -> None:
        from ..metrics.standards import missed_standards

        self.missed = missed_standards(self.table, self.settings)
        self.missed_html.value = self._missed_html()

    def _step_villages(self) -> None:
        villages = self._town_study(self.town_id).villages
        options = [(str(n), str(i)) for i, n in zip(villages["village_id"], villages["village_name"])]
        best = None
        if self.ranking is not None and len(self.ranking.table):
            r = self.ranking.table["rank"]
            if r.notna().any():
                best = str(r.astype("float64").idxmin())
        self._suspended += 1
        try:
            self.village_dropdown.options = options
            ids = [i for _, i in options]
            self.village_dropdown.value = best if best in ids else (ids[0] if ids else None)
        finally:
            self._suspended -= 1

    def _step_map(self) -> None:
        self._render_map()

    def _step_profile(self) -> None:
        self.profile_html.value = self._profile_html()

    # ---------------------------------------------------------- outputs
    def _labels(self, ids) -> dict[str, str]:
        names = self.table["village_name"] if self.table is not None else pd.Series(dtype="str")
        raw = {i: (str(names.get(i)) if i in names.index and not pd.isna(names.get(i)) else str(i)) for i in ids}
        counts = pd.Series(list(raw.values())).value_counts()
        return {i: _esc(n) + (f" ({_esc(i)})" if counts[n] > 1 else "") for i, n in raw.items()}

    def _ranking_html(self) -> str:
        lang = self.lang
        tab = self.ranking.table
        order = tab.sort_values(["rank", "score"], ascending=[True, False], na_position="last", kind="mergesort")
        n = len(order)
        labels = self._labels(order.index)
        head = [t("rank", lang), t("village", lang), catalog.label("score", lang),
                *[catalog.PILLAR_LABELS[p][lang] for p in PILLARS], t("rank_interval", lang)]
        rows = []
        span = max(n - 1, 1)
        for vid, row in order.iterrows():
            lo, hi, med = row.get("rank_p05"), row.get("rank_p95"), row.get("rank_median")
            if lo is not None and not pd.isna(lo) and not pd.isna(hi):
                left = (float(lo) - 1) / span * 100
                width = max((float(hi) - float(lo)) / span * 100, 1.5)
                dot = (float(row["rank"]) - 1) / span * 100 if not pd.isna(row["rank"]) else None
                bar = (f'<span class="vs-ci"><span style="left:{left:.1f}%;width:{width:.1f}%"></span>'
                       + (f'<i style="left:calc({dot:.1f}% - 1px)"></i>' if dot is not None else "") + "</span>")
                interval = f'{bar}<span class="vs-ci-text">{_fmt_rank(lo)}–{_fmt_rank(hi)}</span>'
                title = f' title="{_esc(t("rank_median", lang))}{_esc(t("colon", lang))}{_fmt_rank(med)}"'
            else:
                interval, title = "", ""
            cells = [f'<td class="num vs-rank">{_fmt_rank(row["rank"]) or _esc(t("no_data", lang))}</td>',
                     f'<td class="vs-name">{labels[vid]}</td>',
                     f'<td class="num vs-score">{_fmt_score(row["score"])}</td>',
                     *[f'<td class="num">{_fmt_score(row[p])}</td>' for p in PILLARS],
                     f'<td class="num vs-interval"{title}>{interval}</td>']
            rows.append(f'<tr data-village-id="{_esc(vid)}" data-rank="{_fmt_rank(row["rank"])}">{"".join(cells)}</tr>')
        note = t("consult_ranking_note", lang, n=self.mc_runs, seed=self.seed) if self.mc_runs else ""
        return (f'<div class="vs-scroll"><table class="vs-t vs-consult-ranking"><thead><tr>'
                + "".join(f"<th>{_esc(h)}</th>" for h in head)
                + f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
                + (f'<div class="vs-note">{_esc(note)}</div>' if note else ""))

    def _std_value(self, value, key: str) -> str:
        if value is None or pd.isna(value):
            return t("no_data", self.lang)
        unit = STANDARDS[key].unit
        if unit == "share":
            return _fmt_number(value, share=True)
        u = self._std_units.get(key, "")
        return f"{_fmt_number(value)}{u}" if self.lang == "zh" else f"{_fmt_number(value)} {u}"

    def _missed_html(self) -> str:
        from ..viz.charts import standard_label

        lang = self.lang
        m = self.missed
        if m is None or not len(m):
            return f'<div class="vs-consult-missed vs-note">{_esc(t("consult_no_standards", lang))}</div>'
        labels = self._labels(list(dict.fromkeys(m["village_id"])))
        blocks = []
        for key in dict.fromkeys(m["standard_key"]):
            rows = m[m["standard_key"] == key]
            threshold = float(rows["standard"].iloc[0])
            comparison = rows["comparison"].iloc[0]
            missed = rows[rows["status"] == "missed"]
            missed = missed.sort_values("value", ascending=comparison != "<=", kind="mergesort", na_position="last")
            nodata = rows[rows["status"] == "no data"]
            items = "".join(
                f'<li data-village-id="{_esc(r.village_id)}">{labels[r.village_id]}'
                + ("" if pd.isna(r.value) else f'<span class="vs-val">（{_esc(self._std_value(r.value, key))}）</span>'
                   if lang == "zh" else f' <span class="vs-val">({_esc(self._std_value(r.value, key))})</span>')
                + "</li>" for r in missed.itertuples())
            count = (f'<span class="vs-missed-n">{_esc(t("consult_missed_n", lang, n=len(missed)))}</span>'
                     if len(missed) else f'<span class="vs-ok">{_esc(t("consult_missed_none", lang))}</span>')
            extra = ""
            if len(nodata):
                names = "、".join(labels[v] for v in nodata["village_id"]) if lang == "zh" else \
                    ", ".join(labels[v] for v in nodata["village_id"])
                extra = f'<div class="vs-note">{t("consult_no_data_n", lang, n=len(nodata), names=names)}</div>'
            blocks.append(f'<div class="vs-std" data-standard="{_esc(key)}" data-missed="{len(missed)}">'
                          f'<div class="vs-std-head">{_esc(standard_label(key, threshold, lang))}</div>'
                          f'<div>{count}</div>'
                          + (f'<ul class="vs-missed-villages">{items}</ul>' if items else "")
                          + f"{extra}</div>")
        return f'<div class="vs-consult-missed">{"".join(blocks)}</div>'

    def _render_map(self) -> None:
        from ..viz.maps import village_map

        town = self._town_study(self.town_id)
        if not town.has_geometry("boundaries"):
            self.figure = None
            self.map_output.outputs = (_html_output(f'<div class="vs-note">{_esc(t("consult_no_map", self.lang))}'
                                                    f"</div>"),)
            return
        mt = self.table.copy(deep=False)
        mt.attrs = {"year": self.year}
        rt = self.ranking.table if self.ranking is not None else None
        for c in SCORE_COLUMNS:
            mt[c] = rt[c].reindex(mt.index) if rt is not None and c in rt else np.nan
        self.map_table = mt
        self.figure = village_map(town, mt, self.map_indicator, town_id=self.town_id, settings=self.settings,
                                  lang=self.lang, height=420)
        self.map_output.outputs = (_plotly_output(self.figure),)

    def _profile_html(self) -> str:
        from ..viz._geom import Meta, fmt_value

        lang = self.lang
        vid = self.village_id
        table = self.table
        if vid is None or table is None or vid not in table.index:
            return f'<div class="vs-note">{_esc(t("consult_no_villages", lang))}</div>'
        row = table.loc[vid]
        name = self._labels([vid])[vid]
        head = [f'<b style="font-size:15px">{name}</b>']
        if self.ranking is not None and vid in self.ranking.table.index:
            r = self.ranking.table.loc[vid]
            if not pd.isna(r["rank"]):
                text = t("consult_rank_of", lang, rank=_fmt_rank(r["rank"]), n=len(self.ranking.table))
                if "rank_p05" in r and not pd.isna(r["rank_p05"]):
                    text += (f"{t('separator', lang)}{t('rank_interval', lang)}{t('colon', lang)}"
                             f"{_fmt_rank(r['rank_p05'])}–{_fmt_rank(r['rank_p95'])}")
                head.append(_esc(text))
            scores = [f"{catalog.label(c, lang)} {_fmt_score(r[c])}" for c in SCORE_COLUMNS if not pd.isna(r[c])]
            if scores:
                head.append(_esc(t("separator", lang).join(scores)))
        status = {}
        thresholds = {}
        if self.missed is not None and len(self.missed):
            mine = self.missed[self.missed["village_id"] == vid]
            status = dict(zip(mine["indicator"], mine["status"]))
            thresholds = {i: (c, s) for i, c, s in zip(mine["indicator"], mine["comparison"], mine["standard"])}
        cols = [t("consult_indicator", lang), t("consult_this_village", lang), t("consult_town_median", lang),
                t("standard", lang), t("status", lang)]
        body = []
        status_text = {"met": ("vs-ok", t("met", lang)), "missed": ("vs-bad", t("missed", lang)),
                       "no data": ("vs-nodata", t("no_data", lang))}
        for p in PILLARS:
            ids = [i for i in catalog.ids(p) if i in table and table[i].notna().any()]
            if not ids:
                continue
            body.append(f'<tr class="vs-pillar"><td colspan="5">{_esc(catalog.PILLAR_LABELS[p][lang])}</td></tr>')
            for ind in ids:
                meta = Meta(ind, lang)
                col = table[ind]
                value = row[ind]
                if meta.is_flag:
                    flags = col.dropna().astype(bool)
                    median = t("consult_flag_count", lang, k=int(flags.sum()), n=len(col))
                    shown = fmt_value(value, meta, lang)
                    if ind == "office_area_ok" and OFFICE_AREA in table and not pd.isna(row[OFFICE_AREA]):
                        shown += f"（{_fmt_number(row[OFFICE_AREA])}）" if lang == "zh" else \
                            f" ({_fmt_number(row[OFFICE_AREA])})"
                else:
                    num = pd.to_numeric(col, errors="coerce")
                    median = fmt_value(num.median(), meta, lang) if num.notna().any() else t("no_data", lang)
                    shown = fmt_value(value, meta, lang)
                std_cell, st_cell = "", ""
                if ind in thresholds:
                    comparison, thr = thresholds[ind]
                    shown_thr = _fmt_number(thr, share=meta.is_share and not meta.is_flag)
                    std_cell = f"{'≤' if comparison == '<=' else '≥'} {shown_thr}"
                    cls, text = status_text.get(status.get(ind), ("", ""))
                    st_cell = f'<span class="{cls}">{_esc(text)}</span>'
                body.append(f'<tr data-indicator="{_esc(ind)}"><td>{_esc(meta.label)}</td>'
                            f'<td class="num">{_esc(shown)}</td><td class="num">{_esc(median)}</td>'
                            f'<td class="num">{_esc(std_cell)}</td><td>{st_cell}</td></tr>')
        return (f'<div class="vs-consult-profile vs-scroll" data-village-id="{_esc(vid)}">'
                f'<div style="margin-bottom:4px">{"<br>".join(head)}</div>'
                f'<table class="vs-t"><thead><tr>{"".join(f"<th>{_esc(c)}</th>" for c in cols)}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table></div>')

    # ------------------------------------------------------------ saving
    def scenario_table(self) -> pd.DataFrame:
        """The ranking table as saved: one row per village, by rank, with the standards each misses."""
        tab = self.ranking.table.copy(deep=False)
        tab.attrs = {}
        out = tab.reset_index()
        out.insert(3, "town_name", self.study.town_name(self.town_id))
        if self.missed is not None and len(self.missed):
            m = self.missed[self.missed["status"] == "missed"]
            lists = m.groupby("village_id")["standard_key"].agg(lambda s: ";".join(s))
            out["missed_standards"] = out["village_id"].map(lists).fillna("")
        else:
            out["missed_standards"] = ""
        return out.sort_values(["rank", "score"], ascending=[True, False], na_position="last", kind="mergesort")

    def save(self, folder: str | os.PathLike | None = None, fmt: str | None = None,
             note: str | None = None) -> SavedScenario:
        """Save the current scenario (table + JSON) into ``folder`` (default ``out_dir``)."""
        study = self.study
        saved = save_scenario(
            Path(folder) if folder is not None else self.out_dir, self.scenario_table(), self.parameters,
            town_id=self.town_id, year=self.year, data_fingerprint=study.fingerprint,
            fmt=fmt or self.format_toggle.value, town_name=self.study.town_name(self.town_id),
            study_name=study.settings.name, study_path=str(study.path) if study.path else None,
            uncertainty={"n": self.mc_runs, "seed": self.seed}, note=self.note_text.value if note is None else note)
        self.last_saved = saved
        return saved

    def _on_save(self) -> None:
        lang = self.lang
        try:
            saved = self.save()
        except Exception as e:
            self.saved_html.value = (f'<div class="vs-warn">'
                                     f'{_esc(t("consult_save_failed", lang, error=f"{type(e).__name__}: {e}"))}</div>')
            if self.raise_errors:
                raise
            return
        folder = f"<code>{_esc(saved.json_path.resolve().parent)}</code>"
        names = "".join(f"<br><code>{_esc(p.name)}</code>" for p in (saved.json_path, saved.table_path))
        self.saved_html.value = (f'<div class="vs-note vs-saved-path">{t("consult_saved", lang, path=folder)}'
                                 f"{names}</div>")

    def apply_scenario(self, scenario: str | os.PathLike | Mapping[str, Any]) -> None:
        """Set the widgets to a saved scenario (a JSON path or its record), then update once."""
        record = load_scenario(scenario) if not isinstance(scenario, Mapping) else dict(scenario)
        params = record.get("parameters", record)
        self._suspended += 1
        try:
            town = record.get("town_id")
            if town is not None and str(town) in [v for _, v in self.town_dropdown.options]:
                self.town_dropdown.value = str(town)
            year = record.get("year")
            if year is not None and int(year) in [v for _, v in self.year_dropdown.options]:
                self.year_dropdown.value = int(year)
            for p, v in (params.get("weights") or {}).items():
                if p in self.weight_sliders:
                    s = self.weight_sliders[p]
                    s.max = max(s.max, float(v))
                    s.value = float(v)
            for k, v in (params.get("standards") or {}).items():
                if k in self.standard_inputs:
                    self.standard_inputs[k].value = 0.0 if v is None else float(v)
            if params.get("normalise") in NORMALISATIONS:
                self.normalise_dropdown.value = params["normalise"]
            if params.get("aggregate") in AGGREGATIONS:
                self.aggregate_dropdown.value = params["aggregate"]
        finally:
            self._suspended -= 1
        self._refresh("town")


def panel(study_or_path: Study | str | os.PathLike | None = None, lang: str = "zh", **kwargs) -> ConsultationPanel:
    """The consultation panel of a study (default the bundled sample study); display its ``.widget``.

    See :class:`ConsultationPanel` for the keyword arguments.
    """
    if study_or_path is None:
        from .._paths import SAMPLE_STUDY

        study_or_path = SAMPLE_STUDY
    return ConsultationPanel(study_or_path, lang=lang, **kwargs)
