"""The content of a town report, section by section.

The report notebook is presentation only: it builds a :class:`TownReport` from
its parameters and calls one method per section. Each section method builds a
:class:`~villagestudy.reports.display.Section` (text, figures, tables) and
shows it; the HTML comes from Jinja2 templates. Each section says plainly
what is missing when the study lacks the data for it, instead of failing, and
no sentence claims more than the data show (standards that could not be
checked are named). The tables of every section are kept in
:attr:`TownReport.tables` for the spreadsheet beside the report.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import catalog
from .._version import __version__
from ..formatting import fmt_number, fmt_value
from ..i18n import t
from .display import Section, Table, render, report_mode, show
from .provenance import now_in, provenance_html
from ..viz import compliance_heatmap, contribution_chart, grids_map, income_composition, income_trend, lisa_map, parcels_map, parks_map, rank_intervals, ranked_bar, village_map
from ..spatial import MIN_UNITS, global_moran, local_moran
from .context import LISA_INDICATOR, SPATIAL_INDICATORS, spatial_values
from ..index.methods_text import methods_text

TABLE_NAMES = {"parcels": {"zh": "地块", "en": "parcels"}, "parks": {"zh": "村级工业园", "en": "industrial parks"},
               "income": {"zh": "集体经济收入", "en": "income"}, "governance": {"zh": "基层治理", "en": "governance"},
               "grids": {"zh": "网格", "en": "grids"}, "boundaries": {"zh": "村界", "en": "village boundaries"}}
RANK_COLUMNS = ("land", "income", "governance", "score", "rank", "rank_in_town", "rank_median", "rank_p05",
                "rank_p95")
INCOME_COLUMNS = ("income_total_yuan", "operating_income_yuan", "share_subsidy", "income_hhi",
                  "income_per_resident_yuan", "income_growth")


def column_label(column: str, lang: str = "zh") -> str:
    """The header of a column: catalog label (with unit) for indicators and pillars, else the UI string."""
    if column in catalog.PILLAR_LABELS or column in catalog.ids():
        return catalog.label(column, lang)
    return t(column, lang, default=column)


def formula_text(ind, settings, lang: str = "zh") -> str:
    """The definition of an indicator with the study's settings written in (``block_min_mu`` -> ``50``)."""
    import dataclasses
    import re

    text = ind.formula_zh if lang == "zh" else ind.formula
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}

    def value(m):
        v = values[m.group(0)]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return m.group(0)
        return str(int(v)) if m.group(0).endswith("year") else fmt_value(v, "weight", lang)

    names = "|".join(sorted((k for k, v in values.items() if isinstance(v, (int, float))), key=len, reverse=True))
    return re.sub(rf"(?<![A-Za-z_])(?:{names})(?![A-Za-z_])", value, text)


class TownReport:
    """Everything a town report shows, computed once from the notebook's parameters.

    Parameters
    ----------
    study_path : str
        The study folder.
    town_id : str
        The town; empty for the study's first town.
    year : int
        Report year; 0 or None for the study's default year.
    lang : {"zh", "en"}
    weights, standards : dict
        Index weights (pillars or indicators) and overrides of standards
        (settings keys such as ``weak_total_yuan``).
    normalise, aggregate : str, optional
        Index methods (see :func:`villagestudy.ranking.rank_villages`); empty for the study's choice.
    uncertainty_runs : int, optional
        Monte Carlo runs for rank intervals (0 for none; None or negative for the study's choice).
    report_mode : bool
        True in batch reports (sections rendered as offline HTML blocks).
    context_path : str
        Study-wide results precomputed by the batch (empty: compute here).
    scenario : dict, optional
        A :class:`villagestudy.Scenario` as a dict; replaces the index parameters above.
    comparison_path : str, optional
        Where to write the Comparison the report shows (JSON), for the audit trail.
    """

    def __init__(self, study_path: str, town_id: str = "", year: int | None = 0, lang: str = "zh",
                 weights: dict | None = None, standards: dict | None = None, normalise: str | None = None,
                 aggregate: str | None = None, uncertainty_runs: int | None = None, report_mode: bool = False,
                 context_path: str = "", scenario: dict | None = None, comparison_path: str = ""):
        from .context import build_context, context_parameters, load_context, report_scenario

        report_mode_set(report_mode)
        self.lang = "en" if str(lang).startswith("en") else "zh"
        scen = report_scenario(scenario, year=year, weights=weights, standards=standards, normalise=normalise,
                               aggregate=aggregate, uncertainty_runs=uncertainty_runs)
        ctx = load_context(context_path, context_parameters(scen)) if context_path else None
        if ctx is None:
            ctx = build_context(study_path, scen)
        study = ctx.study
        self.town_id = str(town_id) if town_id else study.town_ids()[0]
        if self.town_id not in study.town_ids():
            raise ValueError(f"unknown town {self.town_id!r}; the study has {', '.join(study.town_ids())}")
        # every number below comes from this one Comparison (villagestudy.evaluate), written beside the report
        self.comparison = ctx.comparison_for(self.town_id)
        self.scope_comparison = ctx.comparisons.get(self.town_id, ctx.comparison)
        self.study, self.year = study, self.comparison.scenario.year
        self.table = self.scope_comparison.indicators
        self.scope_ranking = self.scope_comparison.ranking.set_index("village_id")
        self.models = ctx.models
        self._context = ctx
        self.parameters = {"town_id": self.town_id, "lang": self.lang, "scenario": self.comparison.scenario.to_dict()}
        self.town = study.for_towns(self.town_id)
        self.town_name = study.town_name(self.town_id)
        self.town_table = self.comparison.indicators
        self.made = now_in(study.settings.timezone)
        #: (section title, Table) of every table shown, in order: the spreadsheet's sheets
        self.tables: list[tuple[str, Table]] = []
        if comparison_path:
            self.comparison.to_json(comparison_path)

    # ---------------------------------------------------------------- helpers
    def _t(self, key: str, **fields) -> str:
        return t(key, self.lang, **fields)

    def _sep(self) -> str:
        return t("list_sep", self.lang)

    def _missing(self, section: Section, table: str) -> None:
        section.note(self._t("rep_no_table", table=TABLE_NAMES[table][self.lang]))

    def _name(self, village_id: str) -> str:
        return str(self.table.loc[village_id, "village_name"])

    def _table(self, frame: pd.DataFrame, title: str) -> Table:
        """A report table of village rows (``frame`` indexed by village name, columns are ids)."""
        table = Table(frame, {c: column_label(c, self.lang) for c in frame.columns}, self._t("rep_col_village"),
                      title=title, lang=self.lang)
        self.tables.append((title, table))
        return table

    def _text_table(self, frame: pd.DataFrame, title: str) -> Table:
        """A table whose cells are already text for people (labels as headers, index label from its name)."""
        table = Table(frame, {c: str(c) for c in frame.columns}, str(frame.index.name or ""), title=title,
                      lang=self.lang)
        self.tables.append((title, table))
        return table

    def _indicator_table(self, ids: list[str], title: str) -> Table:
        return self._table(self.town_table.set_index("village_name")[list(ids)], title)

    def _section(self, key: str, title_key: str, open: bool = False) -> Section:
        return Section(key, self._t(title_key), open=open)

    def _standards_status(self) -> tuple[pd.DataFrame, list[str], list[str]]:
        """Missed rows, and the names of the standards checked / not checkable for this town."""
        status = self.comparison.missed
        checked, unchecked = [], []
        for ind in catalog.indicators_with_standard():
            if getattr(self.study.settings, ind.standard, None) is None:
                continue
            rows = status[status["indicator"] == ind.id]
            (checked if (rows["status"] != "no data").any() else unchecked).append(ind.name(self.lang))
        missed = status[status["missed"].fillna(False).astype(bool)]
        return missed, checked, unchecked

    # --------------------------------------------------------------- sections
    def title(self) -> None:
        year = self._t("rep_year", year=self.year) if self.year else ""
        show(render("title.html.j2", title=self._t("rep_title", town=self.town_name), year=year,
                    provenance_title=self._t("rep_provenance"), provenance=self.provenance_markup()))

    def provenance_markup(self):
        prov = {"study": self.study.settings.name, "data_fingerprint": self.comparison.provenance["data_fingerprint"],
                "package_version": __version__, "parameters": self.parameters, "made": self.made,
                "synthetic": self.study.settings.synthetic, "town_name": self.town_name,
                "timezone": self.study.settings.timezone}
        return provenance_html(prov, self.lang)

    def provenance(self) -> None:
        show(self.provenance_markup())

    def summary(self) -> None:
        """Key findings first: what an official needs before the sections."""
        sec = self._section("summary", "rep_summary", open=True)
        sep = self._sep()
        items = [self._t("rep_sum_villages", n=len(self.town.villages), m=len(self.table))]
        weak = self.town_table["weak_village"]
        if weak.isna().all():
            items.append(self._t("rep_sum_weak_unknown"))
        elif weak.fillna(False).astype(bool).any():
            names = self.town_table.loc[weak.fillna(False).astype(bool), "village_name"]
            items.append(self._t("rep_sum_weak", k=len(names), names=sep.join(names)))
        else:
            items.append(self._t("rep_sum_no_weak"))
        missed, checked, unchecked = self._standards_status()
        if len(missed):
            items.append(self._t("rep_sum_missed", k=missed["village_id"].nunique()))
        elif checked:
            items.append(self._t("rep_none_missing", names=sep.join(checked)))
        if unchecked:
            items.append(self._t("rep_sum_unchecked", names=sep.join(unchecked)))
        town_ranks = self.comparison.ranking.dropna(subset=["score"]) if self.comparison.has_index else pd.DataFrame()
        if len(town_ranks):
            order = town_ranks.sort_values("rank")
            k = min(3, max(1, len(order) // 2))
            items.append(self._t("rep_sum_best", names=sep.join(order["village_name"].head(k)),
                                 worst=sep.join(order["village_name"].tail(k)[::-1])))
        else:
            items.append(self._t("rep_sum_no_rank"))
        sec.items(items).note(self._t("rep_sum_how"))
        show(sec)

    def overview(self) -> None:
        sec = self._section("overview", "rep_overview")
        v = self.town.villages

        def total(col):
            return fmt_value(v[col].sum(min_count=1), "n", self.lang, missing="—")

        sec.text(self._t("rep_glance", n=len(v), reg=total("registered_pop"), res=total("resident_pop"),
                         hh=total("households")))
        if self.study.has("boundaries") and self.comparison.has_index:
            sec.figure(village_map(self.study, self.scope_ranking, "score", town_id=self.town_id,
                                   settings=self.study.settings, lang=self.lang))
        missed, checked, unchecked = self._standards_status()
        sec.heading(self._t("rep_missing_list"))
        if missed.empty:
            sec.note(self._t("rep_none_missing", names=self._sep().join(checked)) if checked
                     else self._t("rep_none_checkable"))
        else:
            joiner = "；" if self.lang == "zh" else "; "
            listing = (missed.assign(label=[catalog.name(i, self.lang) for i in missed["indicator"]])
                       .groupby("village_name", sort=False)["label"].agg(joiner.join))
            frame = listing.rename("rep_col_missed").to_frame()
            table = self._table(frame, self._t("rep_missing_list"))
            table.labels["rep_col_missed"] = self._t("rep_col_missed")
            sec.table(table)
        if unchecked:
            sec.note(self._t("rep_sum_unchecked", names=self._sep().join(unchecked)))
        show(sec)

    def land(self) -> None:
        sec = self._section("land", "rep_land")
        if not self.study.has("parcels"):
            self._missing(sec, "parcels")
        else:
            for ind in ("simpson_index", "contiguous_share", "effective_mesh_size_mu"):
                if self.town_table[ind].notna().any():
                    if self.study.has("boundaries"):
                        sec.figure(village_map(self.study, self.table, ind, town_id=self.town_id,
                                               settings=self.study.settings, lang=self.lang))
                    else:
                        sec.figure(ranked_bar(self.table, ind, town_id=self.town_id, settings=self.study.settings,
                                              study=self.study, lang=self.lang))
            if not self.town.has_geometry("parcels"):
                sec.note(self._t("rep_no_geometry"))
            else:
                simpson = self.town_table["simpson_index"].dropna()
                if len(simpson):
                    worst = simpson.idxmax()
                    sec.text(self._t("rep_most_fragmented", name=self._name(worst)))
                    for by in ("household", "block"):
                        sec.figure(parcels_map(self.town, worst, by=by, settings=self.study.settings,
                                               lang=self.lang))
            land_ids = [i for i in catalog.ids("land") if not i.startswith("park_")
                        and self.town_table[i].notna().any()]
            sec.heading(self._t("rep_land_ranked"))
            sec.table(self._indicator_table(land_ids, self._t("rep_land_ranked")))
        if not self.study.has("parks"):
            self._missing(sec, "parks")
        else:
            if self.study.has("boundaries"):
                sec.figure(parks_map(self.town, town_id=self.town_id, settings=self.study.settings, lang=self.lang))
            park_ids = [i for i in catalog.ids("land") if i.startswith("park_")]
            sec.heading(self._t("rep_park_table"))
            sec.table(self._indicator_table(park_ids, self._t("rep_park_table")))
        show(sec)

    def income(self) -> None:
        sec = self._section("income", "rep_income")
        if not self.study.has("income") or not self.town.has("income"):
            self._missing(sec, "income")
            show(sec)
            return
        s = self.study.settings
        sec.figure(income_composition(self.town, year=self.year, town_id=self.town_id, settings=s, lang=self.lang))
        sec.figure(income_trend(self.town, town_id=self.town_id, settings=s, lang=self.lang))
        weak = self.town_table[self.town_table["weak_village"].fillna(False).astype(bool)]
        fmt = {"total": fmt_value(s.weak_total_yuan, "n", self.lang), "op": fmt_value(s.weak_operating_yuan, "n",
                                                                                       self.lang)}
        if len(weak):
            sec.note(self._t("rep_weak_named", names=self._sep().join(weak["village_name"]), **fmt))
        else:
            sec.note(self._t("rep_no_weak", **fmt))
        sec.heading(self._t("rep_income_table"))
        sec.table(self._indicator_table(list(INCOME_COLUMNS), self._t("rep_income_table")))
        show(sec)

    def governance(self) -> None:
        sec = self._section("governance", "rep_governance")
        if not self.town.has("governance"):
            self._missing(sec, "governance")
        else:
            sec.figure(compliance_heatmap(self.town_table, self.study.settings, study=self.study,
                                          town_id=self.town_id, lang=self.lang))
            sec.figure(ranked_bar(self.table, "social_workers_per_10k", town_id=self.town_id, study=self.study,
                                  settings=self.study.settings, lang=self.lang))
            ids = [i for i in catalog.ids("governance") if self.town_table[i].notna().any()
                   and catalog.get(i).kind != "flag"]
            sec.heading(self._t("rep_governance_table"))
            sec.table(self._indicator_table(ids, self._t("rep_governance_table")))
        if not self.town.has("grids"):
            self._missing(sec, "grids")
        elif self.town.has_geometry("grids"):
            counts = self.town.grids.groupby("village_id").size().sort_values(ascending=False)
            village = counts.index[0]
            sec.heading(self._t("rep_grid_of", name=self._name(village)))
            sec.figure(grids_map(self.town, village, lang=self.lang))
        show(sec)

    def ranking(self) -> None:
        sec = self._section("ranking", "rep_ranking")
        town_ranks = self.comparison.ranking.set_index("village_id")
        runs = self.comparison.scenario.runs
        note_key = "rep_rank_note" if self.comparison.scenario.scope == "study" else "rep_rank_note_town"
        sec.note(self._t(note_key, n=len(self.scope_ranking), runs=runs))
        if not self.comparison.has_index:
            sec.items(self.comparison.index_notes)
            show(sec)
            return
        if runs and town_ranks["rank_median"].notna().any():
            sec.figure(rank_intervals(town_ranks, study=self.study, lang=self.lang))
        cols = [c for c in RANK_COLUMNS if c in town_ranks]
        frame = town_ranks.sort_values("rank").set_index("village_name")[cols]
        sec.heading(self._t("rep_ranking_table")).table(self._table(frame, self._t("rep_ranking_table")))
        self._why_this_rank(sec)
        if self.comparison.index_notes:
            sec.heading(self._t("rep_index_notes"))
            sec.items(self.comparison.index_notes)
        show(sec)

    def statistics(self) -> None:
        sec = self._section("statistics", "rep_stats")
        sec.note(self._t("rep_stats_intro"))
        model = self.models
        if model is None or model.fit is None:
            code = getattr(model, "refused_code", None)
            if code and code[0] == "few_towns":
                sec.note(self._t("rep_stats_descriptive", **code[1]))
                sec.table(self._text_table(self.descriptive_table(), self._t("rep_stats_table")))
            else:
                sec.note(self._t("rep_stats_refused", reason=getattr(model, "refused", "")))
            show(sec)
            return
        sec.text(self._t("rep_stats_model", outcome=catalog.label(model.outcome, self.lang),
                         predictors=self._sep().join(catalog.name(p, self.lang) for p in model.predictors)))
        sec.heading(self._t("rep_stats_table")).table(self._text_table(self.stats_table(), self._t("rep_stats_table")))
        for line in self.stats_notes():
            sec.note(line)
        show(sec)

    def methods(self) -> None:
        sec = self._section("methods", "rep_methods")
        s = self.study.settings
        rows, refs = {}, []
        for ind_id in catalog.ids():
            ind = catalog.get(ind_id)
            std = ""
            if ind.standard:
                value = getattr(s, ind.standard)
                std = "—" if value is None else f"{ind.comparison} {fmt_value(value, ind_id, self.lang)}"
            refs += [r for r in ind.sources if r not in refs]
            cited = "".join(f"[{refs.index(r) + 1}]" for r in ind.sources)
            rows[ind.name(self.lang)] = {"unit": ind.unit(self.lang),
                                         "formula": formula_text(ind, s, self.lang),
                                         "standard": std, "source": " ".join(x for x in (cited, ind.source) if x)}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        labels = {"unit": self._t("rep_col_unit"), "formula": self._t("rep_col_formula"),
                  "standard": self._t("rep_col_standard"), "source": self._t("rep_col_source")}
        table = Table(frame, labels, self._t("rep_col_indicator"), title=self._t("rep_methods_table"), lang=self.lang)
        self.tables.append((table.title, table))
        sec.heading(self._t("rep_methods_table")).table(table)
        if self.comparison.has_index:
            from .methods import method_sentences, weights_frame

            steps = self.comparison.method["steps"]
            sec.heading(self._t("rep_index_method"))
            sec.items(method_sentences(steps, self.lang))
            weights = weights_frame(steps, self.lang)
            if weights is not None:
                wt = Table(weights, {"pillar": self._t("rep_col_pillar"), "weight": self._t("rep_col_weight")},
                           self._t("rep_col_indicator"), title=self._t("rep_weights_table"), lang=self.lang)
                self.tables.append((wt.title, wt))
                sec.heading(self._t("rep_weights_table")).table(wt)
            refs.append(catalog.reference("composite2008"))
            self._index_diagnostics(sec)
        self._data_quality(sec)
        sec.heading(self._t("rep_references"))
        sec.items([f"[{k}] {r}" for k, r in enumerate(refs, start=1)])
        sec.note(self._t("rep_missing_legend"))
        show(sec)

    def data_quality(self) -> pd.DataFrame:
        """What loading dropped, corrected or warned about for this town: counts per file and kind."""
        q = self.study.quality_for_town(self.town_id) if self.study.quality is not None else None
        if q is None or q.empty:
            return pd.DataFrame(columns=["file", "action", "count"])
        counts = q.assign(count=q["count"].fillna(1)).groupby(["file", "action"], sort=True)["count"].sum()
        return counts.astype(int).reset_index()

    def _data_quality(self, sec: Section) -> None:
        sec.heading(self._t("rep_quality"))
        q = self.data_quality()
        if q.empty:
            sec.note(self._t("rep_quality_none"))
            return
        frame = pd.DataFrame({self._t("rep_quality_action"): [self._t(f"rep_quality_{a}") for a in q["action"]],
                              self._t("rep_quality_count"): q["count"].to_numpy()},
                             index=pd.Index(q["file"], name=self._t("rep_quality_file")))
        sec.table(self._text_table(frame, self._t("rep_quality")))
        sec.note(self._t("rep_quality_how"))

    def save_tables(self, path: str) -> None:
        """Write every table of the report to an XLSX workbook at ``path`` (nothing when empty)."""
        if not path:
            return
        from .spreadsheet import write_tables

        write_tables(self.tables, path, lang=self.lang)

    # ------------------------------------- methods a referee accepts (separate parts, thin renderers)
    def stats_table(self) -> pd.DataFrame:
        """The within-town comparison as shown: numbers for people, labels in the report language."""
        fit = self.models.fit

        def num(v):
            if pd.isna(v):
                return "—"
            if np.isinf(v):
                return self._t("rep_unbounded_low" if v < 0 else "rep_unbounded_high")
            return fmt_number(v)

        frame = pd.DataFrame({
            self._t("rep_col_term"): [catalog.name(x, self.lang) if x in catalog.ids() else x for x in fit["term"]],
            self._t("rep_col_estimate"): [num(v) for v in fit["estimate"]],
            self._t("rep_col_ci"): [f"{num(a)} ~ {num(b)}" for a, b in zip(fit["ci_low"], fit["ci_high"])],
            self._t("rep_col_p"): [f"{v:.3f}" for v in fit["p_value"]],
            self._t("rep_col_n_villages"): fit["n_villages"].astype(int).map("{:,}".format),
            self._t("rep_col_n_towns"): fit["n_clusters"].astype(int).map("{:,}".format),
        })
        return frame.set_index(self._t("rep_col_term"))

    def descriptive_table(self) -> pd.DataFrame:
        """Towns x (villages, medians of the outcome and predictors): what is shown instead of inference."""
        cols = [self.models.outcome, *self.models.predictors]
        data = self.table.dropna(subset=cols)
        grouped = data.groupby("town_id")
        frame = grouped[cols].median().map(lambda v: "—" if pd.isna(v) else fmt_number(v))
        frame.columns = [f"{catalog.name(c, self.lang)}（{self._t('rep_median')}）" if self.lang == "zh"
                         else f"{catalog.name(c, self.lang)} ({self._t('rep_median')})" for c in cols]
        frame.insert(0, self._t("rep_col_n_villages"), grouped.size().astype(int))
        frame.index = [self.study.town_name(i) for i in frame.index]
        frame.index.name = self._t("rep_col_town")
        return frame

    def stats_notes(self) -> list[str]:
        """Method, numbers of villages and towns, and every warning of the comparison, in words."""
        a = self.models.fit.attrs
        if a.get("inference") == "CR1":
            method = self._t("rep_method_cr1", df=a["n_clusters"] - 1)
        else:
            how = (self._t("rep_draws_all", n=f"{a['draws']:,}") if a.get("enumerated")
                   else self._t("rep_draws_random", n=f"{a['draws']:,}", seed=a.get("seed", 0)))
            weights = self._t("rep_weights_webb" if a.get("weights") == "webb" else "rep_weights_rademacher")
            method = self._t("rep_method_wild", weights=weights, how=how, level=int(round(a.get("level", 0.95) * 100)))
        lines = [self._t("rep_stats_method", method=method, n=a["n_villages"], g=a["n_clusters"])]
        sep = "；" if self.lang == "zh" else "; "
        words = []
        for code, fields in a.get("warning_codes", []):
            if code == "unbounded":
                fields = {"terms": "、".join(catalog.name(x, self.lang) for x in fields["terms"])}
            words.append(self._t(f"rep_warn_{code}", **fields))
        if words:
            lines.append(self._t("rep_stats_warnings", text=sep.join(words)))
        return lines

    SPATIAL_INDICATORS = SPATIAL_INDICATORS
    LISA_INDICATOR = LISA_INDICATOR

    def spatial_table(self) -> pd.DataFrame:
        """Global Moran's I of the key indicators over the whole study (one row each, or why not).

        Computed once for the batch (:func:`~villagestudy.reports.context.spatial_results`).
        """
        results = self._context.spatial_for(self.town_id)
        rows = []
        for ind in self.SPATIAL_INDICATORS:
            label = catalog.name(ind, self.lang)
            moran = results.moran[ind]
            if isinstance(moran, str):  # the reason no pattern can be tested
                why = (self._t("rep_spatial_constant") if "same for every village" in moran
                       else self._t("rep_spatial_too_few", n=MIN_UNITS))
                rows.append({self._t("rep_col_indicator"): label, "Moran's I": "—", self._t("rep_col_p"): "—",
                             self._t("rep_col_n_villages"): "—", self._t("rep_col_remark"): why})
                continue
            m = moran.iloc[0]
            rows.append({self._t("rep_col_indicator"): label, "Moran's I": f"{m['moran_i']:.3f}",
                         self._t("rep_col_p"): f"{m['p_value']:.3f}",
                         self._t("rep_col_n_villages"): f"{int(m['n_villages']):,}", self._t("rep_col_remark"): ""})
        return pd.DataFrame(rows).set_index(self._t("rep_col_indicator"))

    def lisa_figure(self, indicator: str | None = None):
        """LISA clusters of ``indicator`` (default operating income per resident) over the study, this town drawn.

        Raises :class:`ValueError` when no pattern can be tested (too few villages, a constant indicator).
        """
        indicator = indicator or self.LISA_INDICATOR
        if indicator == self.LISA_INDICATOR:  # the report's own: computed once for the batch
            results = self._context.spatial_for(self.town_id)
            if results.lisa is None:
                raise ValueError(results.lisa_refused)
            lisa, moran = results.lisa, results.moran[indicator]
            if isinstance(moran, str):
                raise ValueError(moran)
        else:
            values = spatial_values(self.scope_comparison, indicator)
            lisa, moran = local_moran(self.study.boundaries, values), global_moran(self.study.boundaries, values)
        return lisa_map(self.study, lisa, indicator, town_id=self.town_id, moran=moran, lang=self.lang)

    def spatial(self) -> None:
        sec = self._section("spatial", "rep_spatial")
        if not self.study.has_geometry("boundaries"):
            sec.note(self._t("rep_no_boundaries"))
            show(sec)
            return
        sec.note(self._t("rep_spatial_intro"))
        sec.table(self._text_table(self.spatial_table(), "Moran's I"))
        try:
            sec.figure(self.lisa_figure())
        except ValueError:  # the reason is in the Moran table above, in the report's language
            pass
        show(sec)

    def contributions(self) -> pd.DataFrame:
        """Tidy contributions of every indicator and pillar for this town's villages (vs the town median)."""
        c = self.scope_comparison.extra.get("contributions")
        if c is None:
            return pd.DataFrame(columns=["unit", "group", "kind", "id", "contribution", "score"])
        return c[c["group"] == self.town_id]

    def contributions_table(self) -> pd.DataFrame:
        """Villages x pillars: each pillar's part of the village's gap to the town's median score."""
        c = self.contributions()
        wide = c[c["kind"] == "pillar"].pivot(index="unit", columns="id", values="contribution")
        wide = wide[[p for p in catalog.PILLARS if p in wide]]
        score = c.groupby("unit")["score"].first()
        wide["gap"] = wide.sum(axis=1)
        wide = wide.loc[score.sort_values(ascending=False).index]
        shown = wide.map(lambda v: "—" if pd.isna(v) else (f"+{fmt_number(v)}" if v > 0 else fmt_number(v)))
        shown.columns = [catalog.name(col, self.lang) if col != "gap" else self._t("rep_col_gap")
                         for col in wide.columns]
        shown.index = [self._name(u) for u in wide.index]
        shown.index.name = self._t("rep_col_village")
        return shown

    def contributions_figure(self, village_id: str | None = None):
        """The contribution chart of one village (default: the town's lowest score)."""
        c = self.contributions()
        if village_id is None:
            village_id = c.groupby("unit")["score"].first().idxmin()
        return contribution_chart(c, village_id, name=self._name(village_id), lang=self.lang)

    def _why_this_rank(self, sec: Section) -> None:
        sec.heading(self._t("rep_why_rank"))
        if self.contributions().empty:
            sec.note(self._t("rep_why_rank_none"))
            return
        sec.note(self._t("rep_why_rank_intro"))
        sec.table(self._text_table(self.contributions_table(), self._t("rep_why_rank")))
        sec.figure(self.contributions_figure())

    def index_audit(self) -> dict[str, pd.DataFrame]:
        """Redundancy (scored indicators and all candidates), Cronbach's alpha, indicator-pillar correlation."""
        return self.scope_comparison.extra

    def _index_diagnostics(self, sec: Section) -> None:
        for title, text in methods_text(self.lang):
            sec.heading(title).text(text)
        audit = self.index_audit()
        name = lambda i: catalog.name(i, self.lang)  # noqa: E731
        for key in ("redundant_scored", "redundant_candidates"):
            sec.heading(self._t(f"rep_{key}"))
            pairs = audit.get(key)
            if pairs is None or pairs.empty:
                sec.note(self._t("rep_no_redundant"))
                continue
            sec.table(self._text_table(pd.DataFrame({self._t("rep_col_indicator"): [name(i) for i in pairs["id"]],
                               self._t("rep_col_other"): [name(i) for i in pairs["other"]],
                               "ρ": [f"{r:.2f}" for r in pairs["rho"]],
                               self._t("rep_col_n_villages"): pairs["n_units"].astype(int)}).set_index(
                                   self._t("rep_col_indicator")), self._t(f"rep_{key}")))
        if "alpha" in audit:
            sec.heading(self._t("rep_alpha"))
            a = audit["alpha"]
            sec.table(self._text_table(pd.DataFrame({self._t("rep_col_pillar"): [name(x) for x in a["aggregate"]],
                               "α": ["—" if pd.isna(v) else f"{v:.2f}" for v in a["alpha"]],
                               self._t("rep_col_n_indicators"): a["n_children"].astype(int),
                               self._t("rep_col_n_villages"): a["n_units"].astype(int)}).set_index(
                                   self._t("rep_col_pillar")), self._t("rep_alpha")))
            ip = audit["indicator_pillar"]
            sec.table(self._text_table(pd.DataFrame({self._t("rep_col_indicator"): [name(i) for i in ip["id"]],
                               self._t("rep_col_pillar"): [name(p) for p in ip["pillar"]],
                               "r": ["—" if pd.isna(v) else f"{v:.2f}" for v in ip["r"]],
                               self._t("rep_col_remark"): [self._t(f"rep_flag_{f}") if f else "" for f in ip["flag"]]}
                              ).set_index(self._t("rep_col_indicator")), self._t("rep_alpha")))


def prepare_kernel() -> None:
    """Do once, in a kernel that will make reports, what its first report would otherwise pay for.

    Imports what a report imports only when it first needs it (openpyxl for its
    tables, plotly's figure classes) and compiles the report's HTML templates.
    The batch's warm kernels run it as they start (``reports.workers.PRELOAD``),
    while the command is still computing the study-wide results. It changes no
    setting: a report made after it is the same as one made without it.
    """
    import openpyxl  # noqa: F401  (the report's tables, reports.spreadsheet)
    import plotly.graph_objects as go  # noqa: F401

    from .display import environment

    templates = environment()
    for name in templates.list_templates():
        templates.get_template(name)  # compiled now and cached by the environment


def report_mode_set(enabled: bool) -> None:
    report_mode(bool(enabled))
