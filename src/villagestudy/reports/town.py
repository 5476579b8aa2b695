"""The content of a town report, section by section.

The report notebook is presentation only: it builds a :class:`TownReport` from
its parameters and calls one method per section. Each section says plainly what
is missing when the study lacks the data for it, instead of failing.
"""
from __future__ import annotations

import datetime as _dt
import html
import json

import numpy as np
import pandas as pd

from .. import catalog
from .._version import __version__
from ..i18n import register, t
from .display import HTMLText, heading, note, report_mode, show, table_html

register({
    "rep_title": {"zh": "{town}村（社区）比较报告", "en": "{town}: comparing villages and communities"},
    "rep_year": {"zh": "数据年份：{year}", "en": "Data year: {year}"},
    "rep_overview": {"zh": "一、概况", "en": "1. At a glance"},
    "rep_land": {"zh": "二、土地碎片化与村级工业园", "en": "2. Land fragmentation and village industrial parks"},
    "rep_income": {"zh": "三、村集体经济收入构成", "en": "3. Income of the village collective economy"},
    "rep_governance": {"zh": "四、基层治理", "en": "4. Governance"},
    "rep_ranking": {"zh": "五、综合排名及其不确定性", "en": "5. Composite ranking and its uncertainty"},
    "rep_stats": {"zh": "六、统计分析", "en": "6. Statistical analysis"},
    "rep_methods": {"zh": "附录：指标定义与方法", "en": "Appendix: definitions and methods"},
    "rep_glance": {"zh": "本镇（街道）共有 {n} 个村（社区），户籍人口 {reg}，常住人口 {res}，{hh} 户。",
                   "en": "{n} villages and communities; registered population {reg}, residents {res}, {hh} households."},
    "rep_missing_list": {"zh": "未达标情况", "en": "Who misses which standard"},
    "rep_none_missing": {"zh": "所有村（社区）均达到现行标准（无数据者除外）。",
                         "en": "Every village meets the standards in force (where data exist)."},
    "rep_no_table": {"zh": "本研究没有“{table}”数据，本节从略。", "en": "The study has no {table} data: section left out."},
    "rep_no_geometry": {"zh": "地块没有空间数据，无法绘制地块与连片图，相关指标为空。",
                        "en": "Parcels have no geometry: no parcel or block maps, and the geometric indicators are missing."},
    "rep_no_boundaries": {"zh": "没有村界数据，无法绘制村域地图。", "en": "No village boundaries: no village maps."},
    "rep_most_fragmented": {"zh": "地块最破碎的村：{name}（按承包户着色，再按连片区着色）",
                            "en": "Most fragmented village: {name} (coloured by household, then by block)"},
    "rep_weak_named": {"zh": "按消薄标准（总收入不低于 {total} 元且经营性收入不低于 {op} 元），薄弱村：{names}",
                       "en": "Weak villages by the 消薄 standard (total at least {total} yuan and operating income at least {op} yuan): {names}"},
    "rep_no_weak": {"zh": "按消薄标准（总收入不低于 {total} 元且经营性收入不低于 {op} 元），本镇没有薄弱村。",
                    "en": "No weak village by the 消薄 standard (total at least {total} yuan and operating income at least {op} yuan)."},
    "rep_grid_of": {"zh": "网格与微网格：{name}", "en": "Grids and micro-grids: {name}"},
    "rep_rank_note": {"zh": "得分按全研究区（{n} 个村社区）统一标准化计算；区间为蒙特卡洛（{runs} 次）下名次的 5%–95% 分位。",
                      "en": "Scores are normalised over the whole study ({n} villages); intervals are the 5th-95th percentile ranks over {runs} Monte Carlo runs."},
    "rep_rank_note_town": {"zh": "得分仅在本镇（街道）{n} 个村社区之间标准化计算，不能与其他镇（街道）的得分比较；区间为蒙特卡洛（{runs} 次）下名次的 5%–95% 分位。",
                           "en": "Scores are normalised over this town only ({n} villages) and cannot be compared with other towns; intervals are the 5th-95th percentile ranks over {runs} Monte Carlo runs."},
    "rep_index_notes": {"zh": "指数说明", "en": "Notes on the index"},
    "rep_stats_intro": {"zh": "以全研究区村（社区）为样本，在镇（街道）内部比较（镇固定效应）；推断方法按镇的个数选择，见表下说明。",
                        "en": "All villages of the study, compared within their towns (town fixed effects); the inference method depends on the number of towns, as stated under the table."},
    "rep_stats_refused": {"zh": "数据不足，未拟合：{reason}", "en": "Not fitted, too little data: {reason}"},
    "rep_provenance": {"zh": "生成信息", "en": "Provenance"},
    "rep_synthetic": {"zh": "注意：本研究数据为虚构的合成数据，仅用于演示。",
                      "en": "Note: the data of this study are synthetic (fictional), for demonstration only."},
    "rep_col_indicator": {"zh": "指标", "en": "Indicator"},
    "rep_col_unit": {"zh": "单位", "en": "Unit"},
    "rep_col_formula": {"zh": "定义", "en": "Definition"},
    "rep_col_standard": {"zh": "标准（现行值）", "en": "Standard (in force)"},
    "rep_col_source": {"zh": "来源", "en": "Source"},
    "rep_col_village": {"zh": "村（社区）", "en": "Village"},
    "rep_col_missed": {"zh": "未达到的标准", "en": "Standards missed"},
    "rep_land_ranked": {"zh": "土地指标排名", "en": "Land indicators ranked"},
})

TABLE_NAMES = {"parcels": {"zh": "地块", "en": "parcels"}, "parks": {"zh": "村级工业园", "en": "industrial parks"},
               "income": {"zh": "集体经济收入", "en": "income"}, "governance": {"zh": "基层治理", "en": "governance"},
               "grids": {"zh": "网格", "en": "grids"}, "boundaries": {"zh": "村界", "en": "village boundaries"}}


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
    scenario : dict, optional
        A :class:`villagestudy.Scenario` as a dict; replaces the four index parameters above.
    comparison_path : str, optional
        Where to write the Comparison the report shows (JSON), for the audit trail.
    report_mode : bool
        True in batch reports (figures rendered for offline HTML).
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
        self.parameters = {"town_id": self.town_id, "lang": self.lang, "scenario": self.comparison.scenario.to_dict()}
        self.town = study.for_towns(self.town_id)
        self.town_table = self.comparison.indicators
        self.made = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        if comparison_path:
            self.comparison.to_json(comparison_path)

    # ---------------------------------------------------------------- helpers
    def _t(self, key: str, **fields) -> str:
        return t(key, self.lang, **fields)

    def _missing(self, table: str) -> None:
        show(note(self._t("rep_no_table", table=TABLE_NAMES[table][self.lang])))

    def _name(self, village_id: str) -> str:
        return str(self.table.loc[village_id, "village_name"])

    # --------------------------------------------------------------- sections
    def title(self) -> None:
        show(heading(self._t("rep_title", town=self.study.town_name(self.town_id)), 1))
        if self.year:
            show(HTMLText(f"<p>{html.escape(self._t('rep_year', year=self.year))}</p>"))
        self.provenance()

    def provenance(self) -> None:
        rows = {
            "study": self.study.settings.name, "data fingerprint": self.comparison.provenance["data_fingerprint"],
            "package version": __version__, "parameters": json.dumps(self.parameters, ensure_ascii=False,
                                                                     sort_keys=True),
            "made": self.made,
        }
        body = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(str(v))}</code></td></tr>"
                       for k, v in rows.items())
        synthetic = (f'<p class="vs-note">{html.escape(self._t("rep_synthetic"))}</p>'
                     if self.study.settings.synthetic else "")
        show(HTMLText(f'<details class="vs-provenance" open><summary>{html.escape(self._t("rep_provenance"))}'
                      f'</summary>{synthetic}<table class="vs-table">{body}</table></details>'))

    def overview(self) -> None:
        from ..viz import village_map

        show(heading(self._t("rep_overview")))
        v = self.town.villages

        def total(col):
            s = v[col].sum(min_count=1)
            return "—" if pd.isna(s) else f"{int(s):,}"

        show(HTMLText("<p>" + html.escape(self._t("rep_glance", n=len(v), reg=total("registered_pop"),
                                                  res=total("resident_pop"), hh=total("households"))) + "</p>"))
        if self.study.has("boundaries") and self.comparison.has_index:
            show(village_map(self.study, self.scope_ranking, "score", town_id=self.town_id,
                             settings=self.study.settings, lang=self.lang))
        missed = self.comparison.missed
        missed = missed[missed["missed"].fillna(False).astype(bool)]
        show(heading(self._t("rep_missing_list"), 3))
        if missed.empty:
            show(note(self._t("rep_none_missing")))
            return
        listing = (missed.assign(label=[catalog.name(i, self.lang) for i in missed["indicator"]])
                   .groupby("village_name", sort=False)["label"].agg("；".join if self.lang == "zh" else "; ".join))
        frame = listing.rename(self._t("rep_col_missed")).rename_axis(self._t("rep_col_village")).to_frame()
        show(frame)

    def land(self) -> None:
        from ..viz import parcels_map, parks_map, ranked_bar, village_map

        show(heading(self._t("rep_land")))
        if not self.study.has("parcels"):
            self._missing("parcels")
        else:
            for ind in ("simpson_index", "contiguous_share", "effective_mesh_size_mu"):
                if self.town_table[ind].notna().any():
                    if self.study.has("boundaries"):
                        show(village_map(self.study, self.table, ind, town_id=self.town_id,
                                         settings=self.study.settings, lang=self.lang))
                    else:
                        show(ranked_bar(self.table, ind, town_id=self.town_id, settings=self.study.settings,
                                        lang=self.lang))
            if not self.town.has_geometry("parcels"):
                show(note(self._t("rep_no_geometry")))
            else:
                simpson = self.town_table["simpson_index"].dropna()
                if len(simpson):
                    worst = simpson.idxmax()
                    show(HTMLText(f"<p>{html.escape(self._t('rep_most_fragmented', name=self._name(worst)))}</p>"))
                    show(parcels_map(self.town, worst, by="household", settings=self.study.settings, lang=self.lang))
                    show(parcels_map(self.town, worst, by="block", settings=self.study.settings, lang=self.lang))
            land_ids = [i for i in catalog.ids("land") if not i.startswith("park_")
                        and self.town_table[i].notna().any()]
            show(heading(self._t("rep_land_ranked"), 3))
            show(self._indicator_frame(land_ids))
        if not self.study.has("parks"):
            self._missing("parks")
        else:
            if self.study.has("boundaries"):
                show(parks_map(self.town, town_id=self.town_id, settings=self.study.settings, lang=self.lang))
            park_ids = [i for i in catalog.ids("land") if i.startswith("park_")]
            show(self._indicator_frame(park_ids))

    def _indicator_frame(self, ids: list[str]) -> pd.DataFrame:
        frame = self.town_table.set_index("village_name")[ids].copy()
        frame.columns = [catalog.label(i, self.lang) for i in ids]
        frame.index.name = self._t("rep_col_village")
        return frame

    def income(self) -> None:
        from ..viz import income_composition, income_trend

        show(heading(self._t("rep_income")))
        if not self.study.has("income") or not self.town.has("income"):
            self._missing("income")
            return
        s = self.study.settings
        show(income_composition(self.town, year=self.year, settings=s, lang=self.lang))
        show(income_trend(self.town, settings=s, lang=self.lang))
        weak = self.town_table[self.town_table["weak_village"].fillna(False).astype(bool)]
        fmt = {"total": f"{s.weak_total_yuan:,.0f}", "op": f"{s.weak_operating_yuan:,.0f}"}
        if len(weak):
            sep = "、" if self.lang == "zh" else ", "
            show(note(self._t("rep_weak_named", names=sep.join(weak["village_name"]), **fmt)))
        else:
            show(note(self._t("rep_no_weak", **fmt)))
        ids = ["income_total_yuan", "operating_income_yuan", "share_subsidy", "income_hhi",
               "income_per_resident_yuan", "income_growth"]
        show(self._indicator_frame(ids))

    def governance(self) -> None:
        from ..viz import compliance_heatmap, grids_map, ranked_bar

        show(heading(self._t("rep_governance")))
        if not self.town.has("governance"):
            self._missing("governance")
        else:
            show(compliance_heatmap(self.town_table, self.study.settings, town_id=self.town_id, lang=self.lang))
            show(ranked_bar(self.table, "social_workers_per_10k", town_id=self.town_id,
                            settings=self.study.settings, lang=self.lang))
            ids = [i for i in catalog.ids("governance") if self.town_table[i].notna().any()
                   and catalog.get(i).kind != "flag"]
            show(self._indicator_frame(ids))
        if not self.town.has("grids"):
            self._missing("grids")
        elif self.town.has_geometry("grids"):
            counts = self.town.grids.groupby("village_id").size().sort_values(ascending=False)
            village = counts.index[0]
            show(heading(self._t("rep_grid_of", name=self._name(village)), 3))
            show(grids_map(self.town, village, lang=self.lang))

    def ranking(self) -> None:
        from ..viz import rank_intervals

        show(heading(self._t("rep_ranking")))
        town_ranks = self.comparison.ranking.set_index("village_id")
        runs = self.comparison.scenario.runs
        note_key = "rep_rank_note" if self.comparison.scenario.scope == "study" else "rep_rank_note_town"
        show(note(self._t(note_key, n=len(self.scope_ranking), runs=runs)))
        if not self.comparison.has_index:
            show(HTMLText("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.comparison.index_notes)
                          + "</ul>"))
            return
        if runs and "rank_median" in town_ranks:
            show(rank_intervals(town_ranks, study=self.study, lang=self.lang))
        cols = [c for c in ("land", "income", "governance", "score", "rank", "rank_in_town", "rank_median",
                            "rank_p05", "rank_p95") if c in town_ranks]
        frame = town_ranks.sort_values("rank").set_index("village_name")[cols]
        frame.columns = [catalog.label(c, self.lang) if c in catalog.PILLAR_LABELS else t(c, self.lang, default=c)
                         for c in cols]
        frame.index.name = self._t("rep_col_village")
        show(frame)
        if self.comparison.index_notes:
            show(heading(self._t("rep_index_notes"), 3))
            show(HTMLText("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.comparison.index_notes)
                          + "</ul>"))

    def statistics(self) -> None:
        show(heading(self._t("rep_stats")))
        show(note(self._t("rep_stats_intro")))
        model = self.models
        if model.fit is None:
            code = getattr(model, "refused_code", None)
            if code and code[0] == "few_towns":
                show(note(self._t("rep_stats_descriptive", **code[1])))
                show(self.descriptive_table())
            else:
                show(note(self._t("rep_stats_refused", reason=model.refused)))
            return
        show(HTMLText(f"<p>{html.escape(catalog.label(model.outcome, self.lang))} ~ "
                      f"{html.escape(' + '.join(catalog.name(p, self.lang) for p in model.predictors))}</p>"))
        show(self.stats_table())
        for line in self.stats_notes():
            show(note(line))

    def methods(self) -> None:
        show(heading(self._t("rep_methods")))
        s = self.study.settings
        rows = []
        for ind_id in catalog.ids():
            ind = catalog.get(ind_id)
            std = ""
            if ind.standard:
                value = getattr(s, ind.standard)
                std = "—" if value is None else f"{ind.comparison} {value:,}"
            rows.append({self._t("rep_col_indicator"): ind.name(self.lang), self._t("rep_col_unit"): ind.unit(self.lang),
                         self._t("rep_col_formula"): ind.formula_zh if self.lang == "zh" else ind.formula,
                         self._t("rep_col_standard"): std, self._t("rep_col_source"): ind.source})
        show(pd.DataFrame(rows).set_index(self._t("rep_col_indicator")))
        if not self.comparison.has_index:
            return
        steps = self.comparison.method["steps"]
        show(HTMLText("<pre>" + html.escape(json.dumps(steps, ensure_ascii=False, indent=1, default=str)) + "</pre>"))


    # ------------------------------------- methods a referee accepts (separate parts, thin renderers)
    def stats_table(self) -> pd.DataFrame:
        """The within-town comparison as shown: numbers for people, labels in the report language."""
        from ..viz._geom import fmt_number

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
        from ..viz._geom import fmt_number

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

    SPATIAL_INDICATORS = ("weak_village", "operating_income_per_resident_yuan", "simpson_index", "score")
    LISA_INDICATOR = "operating_income_per_resident_yuan"

    def _spatial_values(self, indicator: str) -> pd.Series:
        return self.ranks.table["score"] if indicator == "score" else self.table[indicator]

    def spatial_table(self) -> pd.DataFrame:
        """Global Moran's I of the key indicators over the whole study (one row each, or why not)."""
        from ..spatial import global_moran

        rows = []
        for ind in self.SPATIAL_INDICATORS:
            label = catalog.name(ind, self.lang)
            try:
                m = global_moran(self.study.boundaries, self._spatial_values(ind)).iloc[0]
            except ValueError as e:
                from ..spatial import MIN_UNITS

                why = (self._t("rep_spatial_constant") if "same for every village" in str(e)
                       else self._t("rep_spatial_too_few", n=MIN_UNITS))
                rows.append({self._t("rep_col_indicator"): label, "Moran's I": "—", self._t("rep_col_p"): "—",
                             self._t("rep_col_n_villages"): "—", self._t("rep_col_remark"): why})
                continue
            rows.append({self._t("rep_col_indicator"): label, "Moran's I": f"{m['moran_i']:.3f}",
                         self._t("rep_col_p"): f"{m['p_value']:.3f}",
                         self._t("rep_col_n_villages"): f"{int(m['n_villages']):,}", self._t("rep_col_remark"): ""})
        return pd.DataFrame(rows).set_index(self._t("rep_col_indicator"))

    def lisa_figure(self, indicator: str | None = None):
        """LISA clusters of ``indicator`` (default operating income per resident) over the study, this town drawn."""
        from ..spatial import global_moran, local_moran
        from ..viz import lisa_map

        indicator = indicator or self.LISA_INDICATOR
        values = self._spatial_values(indicator)
        lisa = local_moran(self.study.boundaries, values)
        return lisa_map(self.study, lisa, indicator, town_id=self.town_id,
                        moran=global_moran(self.study.boundaries, values), lang=self.lang)

    def spatial(self) -> None:
        show(heading(self._t("rep_spatial")))
        if not self.study.has_geometry("boundaries"):
            show(note(self._t("rep_no_boundaries")))
            return
        show(note(self._t("rep_spatial_intro")))
        show(self.spatial_table())
        try:
            show(self.lisa_figure())
        except ValueError:  # the reason is in the Moran table above, in the report's language
            pass

    def contributions(self) -> pd.DataFrame:
        """Tidy contributions of every indicator and pillar for this town's villages (vs the town median)."""
        from ..index import contributions

        c = contributions(self.ranks.result, groups=self.ranks.table["town_id"])
        return c[c["group"] == self.town_id]

    def contributions_table(self) -> pd.DataFrame:
        """Villages x pillars: each pillar's part of the village's gap to the town's median score."""
        from ..viz._geom import fmt_number

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
        from ..viz import contribution_chart

        c = self.contributions()
        if village_id is None:
            village_id = c.groupby("unit")["score"].first().idxmin()
        return contribution_chart(c, village_id, name=self._name(village_id), lang=self.lang)

    def why_this_rank(self) -> None:
        show(heading(self._t("rep_why_rank"), 3))
        if self.ranks.result is None or self.ranks.result.steps["aggregation"]["method"] == "harmonic":
            show(note(self._t("rep_why_rank_none")))
            return
        show(note(self._t("rep_why_rank_intro")))
        show(self.contributions_table())
        show(self.contributions_figure())

    def index_audit(self) -> dict[str, pd.DataFrame]:
        """Redundancy (scored indicators and all candidates), Cronbach's alpha, indicator-pillar correlation."""
        from ..index import alpha_table, indicator_pillar_table, redundant_pairs

        pillar_of = {i: catalog.get(i).pillar for i in catalog.ids()}
        scored = [i for i in self.ranks.structure["id"] if i in pillar_of]
        candidates = [i for i in catalog.ids() if catalog.get(i).direction != 0 and catalog.get(i).kind != "flag"
                      and self.table[i].notna().sum() >= 5]
        out = {"redundant_scored": redundant_pairs(self.table[scored], pillar_of=pillar_of),
               "redundant_candidates": redundant_pairs(self.table[candidates], pillar_of=pillar_of)}
        if self.ranks.result is not None:
            out["alpha"] = alpha_table(self.ranks.result.diagnostics)
            out["indicator_pillar"] = indicator_pillar_table(self.ranks.result.diagnostics, scored)
        return out

    def index_diagnostics(self) -> None:
        from ..index.methods_text import methods_text

        for title, text in methods_text(self.lang):
            show(heading(title, 3))
            show(HTMLText(f"<p>{html.escape(text)}</p>"))
        audit = self.index_audit()
        name = lambda i: catalog.name(i, self.lang)  # noqa: E731
        for key in ("redundant_scored", "redundant_candidates"):
            show(heading(self._t(f"rep_{key}"), 3))
            pairs = audit[key]
            if pairs.empty:
                show(note(self._t("rep_no_redundant")))
                continue
            show(pd.DataFrame({self._t("rep_col_indicator"): [name(i) for i in pairs["id"]],
                               self._t("rep_col_other"): [name(i) for i in pairs["other"]],
                               "ρ": [f"{r:.2f}" for r in pairs["rho"]],
                               self._t("rep_col_n_villages"): pairs["n_units"].astype(int)}).set_index(
                                   self._t("rep_col_indicator")))
        if "alpha" in audit:
            show(heading(self._t("rep_alpha"), 3))
            a = audit["alpha"]
            show(pd.DataFrame({self._t("rep_col_pillar"): [name(x) for x in a["aggregate"]],
                               "α": ["—" if pd.isna(v) else f"{v:.2f}" for v in a["alpha"]],
                               self._t("rep_col_n_indicators"): a["n_children"].astype(int),
                               self._t("rep_col_n_villages"): a["n_units"].astype(int)}).set_index(
                                   self._t("rep_col_pillar")))
            ip = audit["indicator_pillar"]
            show(pd.DataFrame({self._t("rep_col_indicator"): [name(i) for i in ip["id"]],
                               self._t("rep_col_pillar"): [name(p) for p in ip["pillar"]],
                               "r": ["—" if pd.isna(v) else f"{v:.2f}" for v in ip["r"]],
                               self._t("rep_col_remark"): [self._t(f"rep_flag_{f}") if f else "" for f in ip["flag"]]}
                              ).set_index(self._t("rep_col_indicator")))


register({
    "rep_col_term": {"zh": "变量", "en": "Term"},
    "rep_col_estimate": {"zh": "估计值", "en": "Estimate"},
    "rep_col_ci": {"zh": "95% 置信集", "en": "95% confidence set"},
    "rep_col_p": {"zh": "p 值", "en": "p-value"},
    "rep_col_n_villages": {"zh": "村数", "en": "Villages"},
    "rep_col_n_towns": {"zh": "镇数", "en": "Towns"},
    "rep_col_remark": {"zh": "说明", "en": "Remark"},
    "rep_col_gap": {"zh": "与本镇中位数之差", "en": "Gap to the town median"},
    "rep_col_other": {"zh": "与之重复的指标", "en": "Repeats"},
    "rep_col_pillar": {"zh": "分项", "en": "Pillar"},
    "rep_col_n_indicators": {"zh": "指标数", "en": "Indicators"},
    "rep_unbounded_low": {"zh": "负无穷", "en": "-inf"},
    "rep_unbounded_high": {"zh": "正无穷", "en": "+inf"},
    "rep_method_cr1": {"zh": "镇聚类稳健标准误（CR1），t 分布自由度 {df}",
                       "en": "town-clustered robust errors (CR1), t with {df} df"},
    "rep_method_wild": {"zh": "按镇的限制性野聚类自助法（{weights}，{how}），{level}% 置信集由检验反演得到",
                        "en": "restricted wild cluster bootstrap by town ({weights}, {how}), {level}% confidence set by test inversion"},
    "rep_weights_webb": {"zh": "Webb 六点权重", "en": "Webb six-point weights"},
    "rep_weights_rademacher": {"zh": "Rademacher 权重", "en": "Rademacher weights"},
    "rep_draws_all": {"zh": "穷举全部 {n} 种抽样", "en": "all {n} draws enumerated"},
    "rep_draws_random": {"zh": "随机抽样 {n} 次，种子 {seed}", "en": "{n} random draws, seed {seed}"},
    "rep_stats_method": {"zh": "方法：镇固定效应最小二乘；{method}。样本：{n} 个村（社区），{g} 个镇（街道）。",
                         "en": "Method: OLS with town fixed effects; {method}. Sample: {n} villages in {g} towns."},
    "rep_stats_descriptive": {"zh": "只有 {g} 个镇（街道）有完整数据（{n} 个村），镇内比较的统计推断至少需要 {min} 个镇：本节仅作描述，不报告显著性。",
                              "en": "Only {g} towns have complete data ({n} villages); inference on differences within towns needs at least {min}: this section is descriptive only, no significance is reported."},
    "rep_median": {"zh": "中位数", "en": "median"},
    "rep_col_town": {"zh": "镇（街道）", "en": "Town"},
    "rep_stats_warnings": {"zh": "警示：{text}", "en": "Warning: {text}"},
    "rep_warn_few_towns": {"zh": "仅 {g} 个镇（街道），常规聚类标准误不可靠，p 值与置信集来自野聚类自助法",
                           "en": "only {g} towns: conventional clustered standard errors are unreliable, p-values and confidence sets come from the wild cluster bootstrap"},
    "rep_warn_p_floor": {"zh": "{g} 个镇时 Rademacher 权重给出的 p 值不可能低于 {p}",
                         "en": "with {g} towns Rademacher weights cannot give a p-value below {p}"},
    "rep_warn_unbounded": {"zh": "{terms} 的置信集无界：镇太少，无法排除任何取值",
                           "en": "the confidence set of {terms} is unbounded: too few towns to exclude any value"},
    "rep_spatial": {"zh": "七、空间集聚", "en": "7. Spatial clustering"},
    "rep_spatial_intro": {"zh": "全研究区村界相邻关系（Queen 邻接）上的全局 Moran's I 与局部集聚（LISA），置换检验 999 次；地图只画本镇，集聚按全研究区计算。",
                          "en": "Global Moran's I and local clusters (LISA) over the whole study's village boundaries (Queen contiguity), 999 permutations; the map shows this town, the clusters are computed over the study."},
    "rep_spatial_constant": {"zh": "各村取值相同，无从检验", "en": "the same for every village: nothing to test"},
    "rep_spatial_too_few": {"zh": "有数值、村界且有相邻村的村少于 {n} 个，无从检验",
                            "en": "fewer than {n} villages with a value, a boundary and a neighbour: nothing to test"},
    "rep_why_rank": {"zh": "名次由何而来", "en": "Why this rank"},
    "rep_why_rank_intro": {"zh": "各分项对本村得分与本镇（街道）中位得分之差的贡献（分），相加等于总差；图为本镇得分最低的村的各指标贡献。",
                           "en": "Each pillar's part (points) of a village's gap to the town's median score; they add up to the gap. The chart breaks down the town's lowest-scoring village by indicator."},
    "rep_why_rank_none": {"zh": "没有可分解的综合得分。", "en": "No composite score to break down."},
    "rep_redundant_scored": {"zh": "计分指标中的重复（|ρ| > 0.9）", "en": "Redundancy among scored indicators (|rho| > 0.9)"},
    "rep_redundant_candidates": {"zh": "全部候选指标中的重复（|ρ| > 0.9）", "en": "Redundancy among all candidate indicators (|rho| > 0.9)"},
    "rep_no_redundant": {"zh": "没有相关系数绝对值超过 0.9 的指标对。", "en": "No pair of indicators correlates above 0.9 in absolute value."},
    "rep_alpha": {"zh": "各分项的内部一致性与指标-分项相关", "en": "Internal consistency of the pillars and indicator-pillar correlations"},
    "rep_flag_negative": {"zh": "与分项负相关", "en": "pulls against its pillar"},
    "rep_flag_weak": {"zh": "与分项相关很弱", "en": "contributes little to its pillar"},
})


def report_mode_set(enabled: bool) -> None:
    report_mode(bool(enabled))
