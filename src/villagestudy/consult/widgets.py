"""The consultation app's widgets: ipywidgets wired to a :class:`ConsultationState`.

For consultation meetings (议事会, 乡村夜话) where the group changes weights,
standards, methods and the scope, and everyone sees the effect at once. The
same panel runs in JupyterLab (display ``app.widget``) and in Voilà
(``villagestudy consult``). A change of a widget becomes a change of the
scenario (:meth:`ConsultationState.update`: only the steps of
:func:`villagestudy.evaluate` it touches run again), then the views it touches
are rendered again (:mod:`villagestudy.consult.views`). What the app shows is
``app.comparison``: equal to ``evaluate(study, app.scenario).for_town(town)``.

Figures go to a ``widgets.Output`` as plotly's own mimetype, which the
jupyterlab-plotly extension draws with its local copy of plotly.js (JupyterLab),
and as HTML holding the figure as data, which the app's Voilà page draws with
the package's offline plotly.js (:func:`~villagestudy.consult.views.plotly_output`):
nothing is fetched from a CDN. :meth:`ConsultationPanel.first_view` copies what
the panel shows for the Voilà page to draw before the widgets connect.

Examples
--------
>>> from villagestudy.consult import panel
>>> app = panel("data/sample", lang="zh")
>>> box = app.widget                               # display it in JupyterLab or Voila
>>> app.weight_sliders["governance"].value = 2      # the ranking and the map update at once
>>> int(app.comparison.ranking["rank_in_town"].min())
1
"""
from __future__ import annotations

import os
from pathlib import Path
from time import perf_counter
from typing import Any, Mapping

import pandas as pd

from .. import catalog
from ..i18n import normalise_lang, t
from ..scenario import Comparison, Scenario
from ..scenario.evaluate import STANDARD_FLAGS
from ..scenario.model import AGGREGATIONS, NORMALISATIONS, SCOPES
from ..settings import STANDARDS, Settings
from ..study import Study
from . import views
from .scenario import TABLE_FORMATS, SavedScenario, save_scenario
from .first_view import FirstView, first_view_html
from .state import ConsultationState
from ..io import load_study
from ..metrics.standards import standards_table
from ..viz.maps import village_map
from ..datasets import get_path

#: the map's height: with the missed list under it, both fit the first screen of a 1280 x 720 projector
MAP_HEIGHT_PX = 300

__all__ = ["ConsultationPanel", "panel", "DEFAULT_OUT_DIR"]

PILLARS = catalog.PILLARS
SCORE_COLUMNS = ("score", *PILLARS)
DEFAULT_OUT_DIR = Path("outputs") / "scenarios"
_WEIGHT_MAX = 5.0
_WEIGHT_STEP = 0.5

#: views to render again after each kind of change ("map?x": only when the map shows x)
STEPS = {
    "town": ("villages", "shares", "ranking", "missed", "map", "profile"),
    "year": ("villages", "shares", "ranking", "missed", "map", "profile"),
    "scope": ("shares", "ranking", "map?score", "profile"),
    "weights": ("shares", "ranking", "map?score", "profile"),
    "method": ("ranking", "map?score", "profile"),
    "standards": ("missed", "map?standard", "profile"),
    "map": ("map",),
    "village": ("profile",),
    "all": ("villages", "shares", "ranking", "missed", "map", "profile"),
}


class ConsultationPanel:
    """Widgets that compare the villages of a town live; display ``.widget``.

    Parameters
    ----------
    study : Study or path
        A loaded study or a study folder.
    lang : {"zh", "en"}
    scenario : Scenario, optional
        The starting scenario (default: the study's own choices, scope
        ``study``, its first town); ``town_id``, ``year``, ``mc_runs`` and
        ``seed`` change it.
    out_dir : path, optional
        Folder of saved scenarios; default ``$VILLAGESTUDY_SCENARIOS`` or
        ``outputs/scenarios``.
    map_indicator : str
        Initial map colouring: ``score``, a pillar or a catalog indicator id.
    raise_errors : bool
        Re-raise errors of an update (tests) instead of only showing them.

    Attributes
    ----------
    widget : ipywidgets.Widget
        The whole panel.
    state : ConsultationState
        The scenario and the Comparison shown.
    figure : plotly Figure or None
        The map shown.
    timings : list of (str, float)
        Seconds taken by each update, by kind of change.
    """

    def __init__(self, study: Study | str | os.PathLike, *, lang: str = "zh", scenario: Scenario | None = None,
                 town_id: str | None = None, year: int | None = None, out_dir: str | os.PathLike | None = None,
                 mc_runs: int | None = None, seed: int | None = None, map_indicator: str = "score",
                 raise_errors: bool = False):
        import ipywidgets as widgets

        self._w = widgets
        if not isinstance(study, Study):
            study = load_study(study)
        if not len(study.towns):
            raise ValueError("the study has no towns")
        self.study = study
        self.lang = normalise_lang(lang)
        self.out_dir = Path(out_dir or os.environ.get("VILLAGESTUDY_SCENARIOS") or DEFAULT_OUT_DIR)
        self.raise_errors = raise_errors
        self.timings: list[tuple[str, float]] = []
        self.last_error: BaseException | None = None
        self.last_saved: SavedScenario | None = None
        self.figure = None
        self.map_table: pd.DataFrame | None = None
        self._towns: dict[str, Study] = {}
        self._suspended = 0
        scenario = scenario or Scenario(study=str(study.path) if study.path else None)
        changes = {k: v for k, v in (("town", town_id), ("year", year), ("runs", mc_runs), ("seed", seed))
                   if v is not None}
        self.state = ConsultationState(study, scenario.replace(**changes))
        self._build(map_indicator)
        self._refresh("all")
        self._observe()

    # ------------------------------------------------------------ widgets
    def _build(self, map_indicator: str) -> None:
        w, lang, study, s = self._w, self.lang, self.study, self.state.scenario
        towns = [(str(n), str(i)) for i, n in zip(study.towns["town_id"],
                                                    study.towns.get("town_name", study.towns["town_id"]))]
        narrow = dict(description_width="80px")
        full = w.Layout(width="98%")
        self.town_dropdown = w.Dropdown(options=towns, value=s.town, description=t("town", lang), style=narrow,
                                        layout=full)
        self.town_dropdown.add_class("vs-town")
        years = study.years
        self.year_dropdown = w.Dropdown(options=[(t("year_n", lang, year=y), y) for y in years] or [("—", None)],
                                        value=s.year if years else None, description=t("year", lang), style=narrow,
                                        layout=full)
        self.year_dropdown.add_class("vs-year")
        self.scope_toggle = w.ToggleButtons(options=[(t(f"consult_scope_{k}", lang), k) for k in SCOPES],
                                            value=s.scope, description=t("consult_scope", lang),
                                            style=dict(description_width="80px", button_width="96px"))
        self.scope_toggle.add_class("vs-scope")
        self.weight_sliders = {}
        for p in PILLARS:
            value = float(s.weights.get(p, 1.0))
            slider = w.FloatSlider(value=value, min=0.0, max=max(_WEIGHT_MAX, value), step=_WEIGHT_STEP,
                                   description=catalog.PILLAR_LABELS[p][lang], continuous_update=False,
                                   readout_format=".1f", style=narrow, layout=full)
            slider.add_class(f"vs-w-{p}")
            self.weight_sliders[p] = slider
        self.shares_html = w.HTML()
        self.shares_html.add_class("vs-shares-box")
        st = standards_table(study.settings, lang=lang).set_index("key")
        self._std_units = {k: st.at[k, "unit"] for k in st.index}
        self.standard_inputs = {}
        std_rows = []
        for key, std in STANDARDS.items():
            value = s.standards.get(key)
            share = std.unit == "share"
            box = w.BoundedFloatText(value=0.0 if value is None else float(value), min=0.0,
                                     max=1.0 if share else 1e12,
                                     step=0.05 if share else (1000.0 if std.unit == "yuan" else 1.0),
                                     layout=w.Layout(width="150px"))
            box.add_class(f"vs-std-{key}")
            self.standard_inputs[key] = box
            note = t("consult_office_none", lang) if key == "office_area_standard_m2" else ""
            label = w.HTML(views.standard_label_html(st.at[key, "label"], st.at[key, "unit"], lang, note))
            # the value as reports and the result list write it (10万元, 50.0%), beside the raw input
            shown = w.HTML(views.standard_value_html(box.value, key, self._std_units, lang))
            shown.add_class(f"vs-std-shown-{key}")
            box.observe(lambda ch, k=key, h=shown: setattr(h, "value", views.standard_value_html(
                ch["new"], k, self._std_units, self.lang)), names="value")
            std_rows.append(w.VBox([label, w.HBox([box, shown])], layout=w.Layout(margin="0 0 4px 0")))
        self.normalise_dropdown = w.Dropdown(
            options=[(t(f"consult_norm_{m}", lang), m) for m in NORMALISATIONS], value=s.normalise,
            description=t("consult_normalise", lang), style=narrow, layout=full)
        self.normalise_dropdown.add_class("vs-normalise")
        self.aggregate_dropdown = w.Dropdown(
            options=[(t(f"consult_agg_{m}", lang), m) for m in AGGREGATIONS], value=s.aggregate,
            description=t("consult_aggregate", lang), style=narrow, layout=full)
        self.aggregate_dropdown.add_class("vs-aggregate")
        self.format_toggle = w.ToggleButtons(options=[(f.upper(), f) for f in TABLE_FORMATS], value="csv",
                                             description=t("consult_format", lang),
                                             style=dict(description_width="80px", button_width="56px"))
        self.note_text = w.Textarea(placeholder=t("consult_note", lang), layout=w.Layout(width="98%", height="56px"))
        self.save_button = w.Button(description=t("consult_save", lang), icon="save", button_style="primary",
                                    layout=full)
        self.save_button.add_class("vs-save")
        self.saved_html = w.HTML()
        self.saved_html.add_class("vs-saved")
        self.status_html = w.HTML()
        self.status_html.add_class("vs-status-box")
        self.ranking_html = w.HTML()
        self.ranking_html.add_class("vs-ranking-box")
        self.redundancy_html = w.HTML()  # which scored indicators measure the same thing (|rho| > 0.9)
        self.redundancy_html.add_class("vs-redundancy")
        self.missed_html = w.HTML(layout=w.Layout(max_height="200px", overflow="auto"))
        self.missed_html.add_class("vs-missed-box")
        map_options = [(catalog.label(c, lang), c) for c in SCORE_COLUMNS]
        for p in PILLARS:
            prefix = catalog.PILLAR_LABELS[p][lang]
            map_options += [(f"{prefix} · {catalog.label(i, lang)}", i) for i in catalog.ids(p)]
        ids = [v for _, v in map_options]
        self.map_dropdown = w.Dropdown(options=map_options, value=map_indicator if map_indicator in ids else "score",
                                       description=t("consult_map_by", lang), style=narrow,
                                       layout=w.Layout(width="98%"))
        self.map_dropdown.add_class("vs-map-indicator")
        self.map_output = w.Output(layout=w.Layout(width="100%", min_height=f"{MAP_HEIGHT_PX}px"))
        self.map_output.add_class("vs-map")
        self.village_dropdown = w.Dropdown(options=[], description=t("village", lang), style=narrow,
                                           layout=w.Layout(width="min(420px, 98%)"))
        self.village_dropdown.add_class("vs-village")
        self.profile_html = w.HTML()
        self.profile_html.add_class("vs-profile-box")
        self.header_html = w.HTML(views.header_html(study, lang, self.state.warnings))

        def title(key):
            return w.HTML(views.box_title_html(key, lang))

        controls = w.VBox([
            self.town_dropdown, self.year_dropdown, self.scope_toggle,
            title("consult_weights"), *self.weight_sliders.values(), self.shares_html,
            title("consult_standards"), *std_rows,
            title("consult_method"), self.normalise_dropdown, self.aggregate_dropdown, self.redundancy_html,
            title("consult_save"), self.format_toggle, self.note_text, self.save_button, self.saved_html,
        ], layout=w.Layout(width="300px", min_width="280px", padding="0 10px 0 0"))
        box = dict(min_width="0", padding="0 10px 0 0")
        # at 1280 x 720 the ranking, the map and the missed list sit side by side, no horizontal scrolling
        ranking_box = w.VBox([title("consult_ranking"), self.ranking_html], layout=w.Layout(flex="3 1 420px", **box))
        map_box = w.VBox([title("consult_map"), self.map_dropdown, self.map_output,
                          title("consult_missed"), self.missed_html],
                         layout=w.Layout(flex="2 1 300px", min_width="0"))
        profile_box = w.VBox([title("consult_profile"), self.village_dropdown, self.profile_html],
                             layout=w.Layout(flex="1 1 420px", min_width="0"))
        row = dict(flex_flow="row wrap", width="100%", align_items="flex-start")
        results = w.VBox([self.status_html, w.HBox([ranking_box, map_box], layout=w.Layout(**row)),
                          w.HBox([profile_box], layout=w.Layout(**row))],
                         layout=w.Layout(flex="1 1 600px", min_width="0"))
        self.widget = w.VBox([self.header_html, w.HBox([controls, results], layout=w.Layout(width="100%"))],
                             layout=w.Layout(width="100%", overflow="hidden"))
        self.widget.add_class("vs-consult")
        self.widget.add_class(f"vs-{self.lang}")

    def _observe(self) -> None:
        self.town_dropdown.observe(lambda ch: self._refresh("town"), names="value")
        self.year_dropdown.observe(lambda ch: self._refresh("year"), names="value")
        self.scope_toggle.observe(lambda ch: self._refresh("scope"), names="value")
        for slider in self.weight_sliders.values():
            slider.observe(lambda ch: self._refresh("weights"), names="value")
        for box in self.standard_inputs.values():
            box.observe(lambda ch: self._refresh("standards"), names="value")
        self.normalise_dropdown.observe(lambda ch: self._refresh("method"), names="value")
        self.aggregate_dropdown.observe(lambda ch: self._refresh("method"), names="value")
        self.map_dropdown.observe(lambda ch: self._refresh("map"), names="value")
        self.village_dropdown.observe(lambda ch: self._refresh("village"), names="value")
        self.save_button.on_click(lambda b: self._on_save())

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -------------------------------------------------------------- state
    @property
    def scenario(self) -> Scenario:
        """The scenario shown (every choice explicit)."""
        return self.state.scenario

    @property
    def comparison(self) -> Comparison:
        """The Comparison shown: ``evaluate(study, app.scenario).for_town(app.town_id)``."""
        return self.state.comparison

    @property
    def table(self) -> pd.DataFrame:
        """The town's indicator table, flags for the standards in force."""
        return self.comparison.indicators

    @property
    def ranking(self) -> pd.DataFrame:
        """The town's villages by rank (``Comparison.ranked``)."""
        return self.comparison.ranked()

    @property
    def missed(self) -> pd.DataFrame:
        return self.comparison.missed

    @property
    def town_id(self) -> str:
        return self.state.scenario.town

    @property
    def year(self) -> int | None:
        return self.state.scenario.year

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
    def settings(self) -> Settings:
        """The study's settings with the standards in force."""
        return self.state.settings

    @property
    def active_pillars(self) -> tuple[str, ...]:
        return self.state.active_pillars

    @property
    def shares(self) -> dict[str, int]:
        """The pillar weights as shown: whole percentages summing to 100 (pillars in the index)."""
        return views.weight_shares(self.weights, self.active_pillars)

    @property
    def map_indicator(self) -> str:
        return self.map_dropdown.value

    @property
    def village_id(self) -> str | None:
        return self.village_dropdown.value

    def _widget_changes(self) -> dict[str, Any]:
        """The scenario the widgets show (indicator weights and other choices without a widget are kept)."""
        weights = dict(self.state.scenario.weights)
        for p, value in self.weights.items():
            if value != weights.get(p, 1.0):  # a pillar left at 1 stays implicit, as in a scenario file
                weights[p] = value
        return {"town": self.town_dropdown.value, "year": self.year_dropdown.value, "scope": self.scope_toggle.value,
                "weights": weights, "standards": self.standards,
                "normalise": self.normalise_dropdown.value, "aggregate": self.aggregate_dropdown.value}

    # ------------------------------------------------------------ refresh
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

    def _refresh(self, kind: str) -> None:
        """Apply the widgets to the scenario, recompute what a change of ``kind`` touches, render its views."""
        if self._suspended:
            return
        start = perf_counter()
        try:
            if kind not in ("map", "village"):
                self.state.update(**self._widget_changes())
            for step in STEPS[kind]:
                if step.startswith("map?"):
                    if self._map_depends_on(step[4:]):
                        self._render_map()
                    continue
                getattr(self, f"_render_{step}")()
        except Exception as e:  # shown in the panel: a meeting must not face a traceback
            self.last_error = e
            if kind == "weights":  # e.g. every weight at 0: the shares say so beside the sliders
                self._render_shares()
            self.status_html.value = views.status_html(
                t("consult_error", self.lang, error=f"{type(e).__name__}: {e}"), error=True)
            if self.raise_errors:
                raise
            return
        seconds = perf_counter() - start
        self.timings.append((kind, seconds))
        self.last_error = None
        self._render_status(seconds)

    def _render_status(self, seconds: float) -> None:
        lang = self.lang
        notes = list(self.state.warnings)
        left_out = [catalog.PILLAR_LABELS[p][lang] for p in PILLARS if p not in self.active_pillars]
        if left_out:
            notes.append(t("consult_pillars_left_out", lang, pillars="、".join(left_out)))
        sep = t("separator", lang)
        parts = [self.study.town_name(self.town_id)]
        if self.year:
            parts.append(t("year_n", lang, year=self.year))
        parts += [f'{t("consult_scope", lang)}{t("colon", lang)}{t(f"consult_scope_{self.scenario.scope}", lang)}',
                  t("consult_updated", lang, seconds=f"{seconds:.2f}")]
        self.status_html.value = views.status_html(sep.join(parts), notes)

    def _render_shares(self) -> None:
        self.shares_html.value = views.shares_html(self.weights, self.shares, self.active_pillars, self.lang)

    def _render_ranking(self) -> None:
        self.ranking_html.value = views.ranking_html(self.comparison, len(self.state.scope_comparison.ranking),
                                                     self.lang)
        self.redundancy_html.value = views.redundancy_html(self.comparison, self.lang)

    def _render_missed(self) -> None:
        self.missed_html.value = views.missed_html(self.comparison, self._std_units, self.lang)

    def _render_profile(self) -> None:
        self.profile_html.value = views.profile_html(self.comparison, self.village_id, self.lang)

    def _render_villages(self) -> None:
        ranking = self.comparison.ranking
        options = [(str(n), str(i)) for i, n in zip(ranking["village_id"], ranking["village_name"])]
        ranked = self.comparison.ranked()
        best = str(ranked.index[0]) if len(ranked) and ranked["rank"].notna().any() else None
        self._suspended += 1
        try:
            self.village_dropdown.options = options
            ids = [i for _, i in options]
            self.village_dropdown.value = best if best in ids else (ids[0] if ids else None)
        finally:
            self._suspended -= 1

    def _town_study(self, town_id: str) -> Study:
        if town_id not in self._towns:
            self._towns[town_id] = self.study.for_towns(town_id)
        return self._towns[town_id]

    def _render_map(self) -> None:
        town = self._town_study(self.town_id)
        if not town.has_geometry("boundaries"):
            self.figure = None
            self.map_output.outputs = (views.html_output(views.note_html(t("consult_no_map", self.lang))),)
            return
        mt = self.table.copy(deep=False)
        mt.attrs = {"year": self.year}
        scores = self.comparison.ranking.set_index("village_id")
        for c in SCORE_COLUMNS:
            mt[c] = scores[c].reindex(mt.index)
        self.map_table = mt
        self.figure = village_map(town, mt, self.map_indicator, town_id=self.town_id, settings=self.settings,
                                  lang=self.lang, height=MAP_HEIGHT_PX)
        self.map_output.outputs = (views.plotly_output(self.figure),)

    # --------------------------------------------------------- first view
    def first_view(self) -> FirstView:
        """What the panel shows now, as a first view for the Voilà page (display it before ``.widget``).

        A copy of the HTML the widgets hold and of the map widget's output (see
        :mod:`villagestudy.consult.first_view`): the page draws it at once, before
        the widgets connect, and removes it when the live panel has drawn its map.
        """
        return FirstView(first_view_html(
            lang=self.lang, header=self.header_html.value, status=self.status_html.value,
            shares=self.shares_html.value, ranking=self.ranking_html.value, missed=self.missed_html.value,
            map_output=self.map_output.outputs[0] if self.map_output.outputs else None))

    # ------------------------------------------------------------- saving
    def save(self, folder: str | os.PathLike | None = None, fmt: str | None = None,
             note: str | None = None) -> SavedScenario:
        """Save the scenario shown and its ranking (JSON + table) into ``folder`` (default ``out_dir``)."""
        saved = save_scenario(Path(folder) if folder is not None else self.out_dir, self.comparison,
                              fmt=fmt or self.format_toggle.value,
                              note=self.note_text.value if note is None else note)
        self.last_saved = saved
        return saved

    def _on_save(self) -> None:
        try:
            saved = self.save()
        except Exception as e:
            self.saved_html.value = views.saved_html(None, None, self.lang, error=f"{type(e).__name__}: {e}")
            if self.raise_errors:
                raise
            return
        self.saved_html.value = views.saved_html(saved.json_path, saved.table_path, self.lang)

    def apply_scenario(self, scenario: Scenario | str | os.PathLike | Mapping[str, Any]) -> None:
        """Show a saved scenario (a Scenario, a JSON path or its record): widgets set, then one update."""
        if isinstance(scenario, Mapping):
            scenario = Scenario.from_dict(scenario)
        elif not isinstance(scenario, Scenario):
            scenario = Scenario.from_json(Path(scenario))
        if scenario.town is None:
            scenario = scenario.replace(town=self.town_id)
        scenario = scenario.validate(self.study).resolved(self.study)
        self._suspended += 1
        try:
            self.state.update(**{k: getattr(scenario, k) for k in Scenario.fields()})
            s = self.state.scenario
            self.town_dropdown.value = s.town
            if s.year in [v for _, v in self.year_dropdown.options]:
                self.year_dropdown.value = s.year
            self.scope_toggle.value = s.scope
            for p, slider in self.weight_sliders.items():
                value = float(s.weights.get(p, 1.0))
                slider.max = max(slider.max, value)
                slider.value = value
            for k, box in self.standard_inputs.items():
                v = s.standards.get(k)
                box.value = 0.0 if v is None else float(v)
            self.normalise_dropdown.value = s.normalise
            self.aggregate_dropdown.value = s.aggregate
        finally:
            self._suspended -= 1
        self._refresh("all")


def panel(study_or_path: Study | str | os.PathLike | None = None, lang: str = "zh", **kwargs) -> ConsultationPanel:
    """The consultation panel of a study (default the bundled sample study); display its ``.widget``.

    See :class:`ConsultationPanel` for the keyword arguments.
    """
    if study_or_path is None:
        study_or_path = get_path("sample")
    return ConsultationPanel(study_or_path, lang=lang, **kwargs)
