"""UI strings in Chinese and English: one dict, one lookup function.

Maps, charts, reports and the consultation app ask here for every word they
show that is not an indicator name (indicator names and units live in the
catalog, :mod:`villagestudy.catalog`). Chinese is the default language.

Add strings from another module with :func:`register`; a key that is already
present with different text raises, so two modules cannot silently fight over
one key.

Examples
--------
>>> from villagestudy.i18n import t
>>> t("no_data")
'无数据'
>>> t("no_data", "en")
'No data'
>>> t("old_parks", "en", year=2000)
'Old parks (built before 2000)'
"""
from __future__ import annotations

from typing import Mapping

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

#: key -> {"zh": ..., "en": ...}; texts may hold ``str.format`` fields.
STRINGS: dict[str, dict[str, str]] = {
    # ---------------------------------------------------------------- common
    "no_data": {"zh": "无数据", "en": "No data"},
    "yes": {"zh": "是", "en": "Yes"},
    "no": {"zh": "否", "en": "No"},
    "village": {"zh": "村（社区）", "en": "Village"},
    "villages": {"zh": "村（社区）", "en": "Villages"},
    "town": {"zh": "镇（街道）", "en": "Town"},
    "value": {"zh": "数值", "en": "Value"},
    "year": {"zh": "年份", "en": "Year"},
    "year_n": {"zh": "{year}年", "en": "{year}"},
    "all_towns": {"zh": "全部镇街", "en": "All towns"},
    "total": {"zh": "合计", "en": "Total"},
    "separator": {"zh": " · ", "en": " · "},
    "colon": {"zh": "：", "en": ": "},
    # ------------------------------------------------------------- standards
    "standard": {"zh": "标准", "en": "Standard"},
    "threshold": {"zh": "标准值", "en": "Threshold"},
    "standard_ge": {"zh": "标准：≥ {value}", "en": "Standard: ≥ {value}"},
    "standard_le": {"zh": "标准：≤ {value}", "en": "Standard: ≤ {value}"},
    "met": {"zh": "达标", "en": "Met"},
    "missed": {"zh": "未达标", "en": "Missed"},
    "missed_standard": {"zh": "未达标准", "en": "Misses the standard"},
    "status": {"zh": "状态", "en": "Status"},
    # ------------------------------------------------------------------ maps
    "map_no_boundaries": {"zh": "本研究没有村界数据", "en": "The study has no village boundaries"},
    "villages_without_boundary": {"zh": "{n} 个村（社区）无村界，未绘出",
                                  "en": "{n} villages have no boundary and are not drawn"},
    "boundary": {"zh": "村界", "en": "Village boundary"},
    # parks
    "parks_map_title": {"zh": "村级工业园", "en": "Village industrial parks"},
    "park": {"zh": "工业园", "en": "Park"},
    "old_parks": {"zh": "老旧园区（{year}年前建成）", "en": "Old parks (built before {year})"},
    "other_parks": {"zh": "其他园区", "en": "Other parks"},
    "built_year": {"zh": "建成年份", "en": "Built"},
    "land_area_mu": {"zh": "用地面积（亩）", "en": "Land (mu)"},
    "floor_area_m2": {"zh": "建筑面积（平方米）", "en": "Floor area (m2)"},
    "occupied_floor_area_m2": {"zh": "已出租面积（平方米）", "en": "Occupied floor area (m2)"},
    "annual_rent_yuan": {"zh": "年租金（元）", "en": "Annual rent (yuan)"},
    "annual_tax_yuan": {"zh": "年税收（元）", "en": "Annual tax (yuan)"},
    "marker_size_floor_area": {"zh": "圆点大小：建筑面积", "en": "Marker size: floor area"},
    "label_floor_area": {"zh": "标注：建筑面积", "en": "Labels: floor area"},
    "wan_m2": {"zh": "{value}万㎡", "en": "{value}k m²"},
    "no_parks": {"zh": "无工业园数据", "en": "No park data"},
    # grids
    "grids_map_title": {"zh": "网格与微网格", "en": "Grids and micro-grids"},
    "grid": {"zh": "网格", "en": "Grid"},
    "micro_grid": {"zh": "微网格", "en": "Micro-grid"},
    "parent_grid": {"zh": "所属网格", "en": "Parent grid"},
    "micro_with_party": {"zh": "微网格（有党小组）", "en": "Micro-grid with a party group"},
    "micro_without_party": {"zh": "微网格（无党小组）", "en": "Micro-grid without a party group"},
    "micro_party_unknown": {"zh": "微网格（党小组情况无数据）", "en": "Micro-grid (party group: no data)"},
    "grid_boundary": {"zh": "网格边界", "en": "Grid boundary"},
    "party_group": {"zh": "党小组", "en": "Party group"},
    "has": {"zh": "有", "en": "Yes"},
    "has_not": {"zh": "无", "en": "No"},
    "households": {"zh": "户数", "en": "Households"},
    "full_time_staff": {"zh": "专职网格员", "en": "Full-time staff"},
    "part_time_staff": {"zh": "兼职网格员", "en": "Part-time staff"},
    "micro_grids_n": {"zh": "微网格数", "en": "Micro-grids"},
    "no_grid_geometry": {"zh": "无网格边界数据", "en": "No grid boundaries"},
    # parcels
    "parcels_map_title": {"zh": "{village} 地块（按{by}着色）", "en": "{village}: parcels by {by}"},
    "parcel": {"zh": "地块", "en": "Parcel"},
    "household": {"zh": "承包户", "en": "Household"},
    "owner": {"zh": "权属经济社", "en": "Owner"},
    "block": {"zh": "连片区", "en": "Block"},
    "no_block": {"zh": "不在连片区（非耕地等）", "en": "In no block (not farmland, etc.)"},
    "by_household": {"zh": "承包户", "en": "household"},
    "by_owner": {"zh": "权属经济社", "en": "owner"},
    "by_block": {"zh": "连片区", "en": "block"},
    "groups_n": {"zh": "共 {n} 个{by}", "en": "{n} groups ({by})"},
    "land_use": {"zh": "土地用途", "en": "Land use"},
    "area_mu": {"zh": "面积（亩）", "en": "Area (mu)"},
    "land_use_arable": {"zh": "耕地", "en": "Arable"},
    "land_use_garden": {"zh": "园地", "en": "Garden"},
    "land_use_forest": {"zh": "林地", "en": "Forest"},
    "land_use_construction": {"zh": "建设用地", "en": "Construction"},
    "land_use_other": {"zh": "其他", "en": "Other"},
    # ---------------------------------------------------------------- income
    "income_business": {"zh": "经营收入", "en": "Business income"},
    "income_contracting": {"zh": "发包及上交收入", "en": "Contracting and remitted income"},
    "income_investment": {"zh": "投资收益", "en": "Investment income"},
    "income_subsidy": {"zh": "补助收入", "en": "Subsidy income"},
    "income_other": {"zh": "其他收入", "en": "Other income"},
    "income_total": {"zh": "总收入", "en": "Total income"},
    "income_operating": {"zh": "经营性收入", "en": "Operating income"},
    "amount_yuan": {"zh": "金额（元）", "en": "Amount (yuan)"},
    "income_composition_title": {"zh": "村集体经济收入构成", "en": "Composition of collective income"},
    "income_trend_title": {"zh": "村集体经济收入趋势", "en": "Collective income over time"},
    "no_income": {"zh": "无收入数据", "en": "No income data"},
    # ---------------------------------------------------------------- charts
    "compliance_title": {"zh": "各项标准达标情况", "en": "Standards met and missed"},
    "rank": {"zh": "名次", "en": "Rank"},
    "rank_median": {"zh": "名次中位数", "en": "Median rank"},
    "rank_interval": {"zh": "90% 区间", "en": "90% interval"},
    "rank_title": {"zh": "综合排名及其不确定性", "en": "Ranks and their uncertainty"},
    "small_multiples_title": {"zh": "村（社区）指标对比", "en": "Villages compared"},
    "ranked_title": {"zh": "{label}排名", "en": "{label}: villages ranked"},
    # ------------------------------------------------------------- reports
    "rep_title": {"zh": "{town}村（社区）比较报告", "en": "{town}: comparing villages and communities"},
    "rep_year": {"zh": "数据年份：{year}年", "en": "Data year: {year}"},
    "rep_summary": {"zh": "要点", "en": "Key findings"},
    "rep_overview": {"zh": "一、概况", "en": "1. At a glance"},
    "rep_land": {"zh": "二、土地碎片化与村级工业园", "en": "2. Land fragmentation and village industrial parks"},
    "rep_income": {"zh": "三、村集体经济收入构成", "en": "3. Income of the village collective economy"},
    "rep_governance": {"zh": "四、基层治理", "en": "4. Governance"},
    "rep_ranking": {"zh": "五、综合排名及其不确定性", "en": "5. Composite ranking and its uncertainty"},
    "rep_stats": {"zh": "六、统计分析", "en": "6. Statistical analysis"},
    "rep_methods": {"zh": "附录：指标定义与方法", "en": "Appendix: definitions and methods"},
    "rep_glance": {"zh": "本镇（街道）共有 {n} 个村（社区），户籍人口 {reg}，常住人口 {res}，{hh} 户。",
                   "en": "{n} villages and communities; registered population {reg}, residents {res}, {hh} households."},
    "rep_sum_villages": {"zh": "本镇（街道）共 {n} 个村（社区），在全研究区 {m} 个村（社区）中比较。",
                         "en": "{n} villages and communities, compared with all {m} of the study."},
    "rep_sum_weak": {"zh": "按消薄标准，薄弱村 {k} 个：{names}。", "en": "{k} weak villages by the 消薄 standard: {names}."},
    "rep_sum_no_weak": {"zh": "按消薄标准，本镇（街道）没有薄弱村。", "en": "No weak village by the 消薄 standard."},
    "rep_sum_weak_unknown": {"zh": "没有收入数据，无法判断薄弱村。", "en": "No income data: weak villages cannot be identified."},
    "rep_sum_missed": {"zh": "{k} 个村（社区）至少有一项标准未达到（见“概况”）。",
                       "en": "{k} villages miss at least one standard (see “At a glance”)."},
    "rep_sum_best": {"zh": "综合得分最高：{names}；最低：{worst}。", "en": "Highest overall score: {names}; lowest: {worst}."},
    "rep_sum_no_rank": {"zh": "无法计算综合排名。", "en": "No overall ranking could be computed."},
    "rep_sum_unchecked": {"zh": "以下标准因缺少数据无法检查：{names}。",
                          "en": "These standards could not be checked for lack of data: {names}."},
    "rep_sum_how": {"zh": "以下各节可点击标题展开；打印或导出 PDF 时全部展开。",
                    "en": "Click a section title to open it; printing opens every section."},
    "rep_missing_list": {"zh": "未达标情况", "en": "Who misses which standard"},
    "rep_none_missing": {"zh": "有数据的村（社区）均达到以下标准：{names}。",
                         "en": "Every village with data meets these standards: {names}."},
    "rep_none_checkable": {"zh": "缺少相关数据，无法检查任何标准是否达到。",
                           "en": "No standard could be checked: the data they need are missing."},
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
    "rep_index_notes": {"zh": "指数说明", "en": "Notes on the index"},
    "rep_stats_intro": {"zh": "以全研究区村（社区）为样本，在镇（街道）内部比较（镇固定效应）；推断方法按镇的个数选择，见表下说明。",
                        "en": "All villages of the study, compared within their towns (town fixed effects); the inference method depends on the number of towns, as stated under the table."},
    "rep_stats_model": {"zh": "因变量：{outcome}；自变量：{predictors}。", "en": "Outcome: {outcome}; predictors: {predictors}."},
    "rep_stats_refused": {"zh": "数据不足，未拟合：{reason}", "en": "Not fitted, too little data: {reason}"},
    "rep_rank_note_town": {"zh": "得分仅在本镇（街道）{n} 个村社区之间标准化计算，不能与其他镇（街道）的得分比较；区间为蒙特卡洛（{runs} 次）下名次的 5%–95% 分位。",
                           "en": "Scores are normalised over this town only ({n} villages) and cannot be compared with other towns; intervals are the 5th-95th percentile ranks over {runs} Monte Carlo runs."},
    "rep_col_term": {"zh": "变量", "en": "Term"},
    "rep_col_estimate": {"zh": "估计值", "en": "Estimate"},
    "rep_col_ci": {"zh": "95% 置信集", "en": "95% confidence set"},
    "rep_col_p": {"zh": "p 值", "en": "p-value"},
    "rep_col_n_villages": {"zh": "村数", "en": "Villages"},
    "rep_col_n_towns": {"zh": "镇数", "en": "Towns"},
    "rep_col_remark": {"zh": "说明", "en": "Remark"},
    "rep_col_gap": {"zh": "与本镇中位数之差", "en": "Gap to the town median"},
    "rep_col_other": {"zh": "与之重复的指标", "en": "Repeats"},
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
    "rep_draws_random": {"zh": "随机抽样 {n} 次，种子 {seed}", "en": "{n} random draws, random number stream {seed}"},
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
    "rep_spatial_intro": {"zh": "全研究区村界相邻关系（共边或共点即相邻）上的全局 Moran's I 与局部集聚（LISA），置换检验 999 次；地图只画本镇，集聚按全研究区计算。",
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
    "rep_quality": {"zh": "数据质量", "en": "Data quality"},
    "rep_quality_none": {"zh": "载入本镇（街道）数据时没有删除、更正或警告。",
                         "en": "Loading this town's data dropped, corrected and warned about nothing."},
    "rep_quality_file": {"zh": "文件", "en": "File"},
    "rep_quality_action": {"zh": "处理", "en": "What happened"},
    "rep_quality_count": {"zh": "条数", "en": "Rows"},
    "rep_quality_dropped": {"zh": "已删除", "en": "dropped"},
    "rep_quality_corrected": {"zh": "已更正", "en": "corrected"},
    "rep_quality_warning": {"zh": "警告", "en": "warning"},
    "rep_quality_how": {"zh": "逐条说明（文件、行、列、取值）可由本软件的数据检查功能列出。",
                        "en": "Each case (file, row, column, value) is listed by villagestudy validate."},
    "rep_provenance": {"zh": "生成信息", "en": "Provenance"},
    "rep_synthetic": {"zh": "注意：本研究数据为虚构的合成数据，仅用于演示。",
                      "en": "Note: the data of this study are synthetic (fictional), for demonstration only."},
    "rep_missing_legend": {"zh": "表中“—”表示无数据。", "en": "“—” in a table means no data."},
    "rep_land_ranked": {"zh": "土地指标", "en": "Land indicators"},
    "rep_park_table": {"zh": "村级工业园指标", "en": "Industrial park indicators"},
    "rep_income_table": {"zh": "收入指标", "en": "Income indicators"},
    "rep_governance_table": {"zh": "治理指标", "en": "Governance indicators"},
    "rep_ranking_table": {"zh": "综合排名", "en": "Ranking"},
    "rep_stats_table": {"zh": "回归结果", "en": "Regression results"},
    "rep_methods_table": {"zh": "指标定义", "en": "Indicator definitions"},
    "rep_index_method": {"zh": "综合指数的构建方法", "en": "How the composite index is built"},
    "rep_weights_table": {"zh": "指标权重", "en": "Weights"},
    "rep_references": {"zh": "参考文献", "en": "References"},
    # table headers
    "rep_col_indicator": {"zh": "指标", "en": "Indicator"},
    "rep_col_unit": {"zh": "单位", "en": "Unit"},
    "rep_col_formula": {"zh": "定义", "en": "Definition"},
    "rep_col_standard": {"zh": "标准（现行值）", "en": "Standard (in force)"},
    "rep_col_source": {"zh": "来源", "en": "Source"},
    "rep_col_village": {"zh": "村（社区）", "en": "Village"},
    "rep_col_missed": {"zh": "未达到的标准", "en": "Standards missed"},
    "rep_col_pillar": {"zh": "所属支柱", "en": "Pillar"},
    "rep_col_weight": {"zh": "权重", "en": "Weight"},
    "rank_in_town": {"zh": "镇内名次", "en": "Rank in town"},
    "rank_p05": {"zh": "名次 5% 分位", "en": "Rank, 5th percentile"},
    "rank_p95": {"zh": "名次 95% 分位", "en": "Rank, 95th percentile"},
    "data_availability": {"zh": "数据完整度", "en": "Data available"},
    "term": {"zh": "变量", "en": "Term"},
    "estimate": {"zh": "估计系数", "en": "Estimate"},
    "std_error": {"zh": "标准误", "en": "Std. error"},
    "statistic": {"zh": "t 统计量", "en": "t statistic"},
    "t_value": {"zh": "t 值", "en": "t value"},
    "p_value": {"zh": "P 值", "en": "p-value"},
    "ci_low": {"zh": "95% 置信区间下限", "en": "95% CI low"},
    "ci_high": {"zh": "95% 置信区间上限", "en": "95% CI high"},
    "conf_low": {"zh": "95% 置信区间下限", "en": "95% CI low"},
    "conf_high": {"zh": "95% 置信区间上限", "en": "95% CI high"},
    "n": {"zh": "样本量", "en": "N"},
    "n_clusters": {"zh": "聚类数", "en": "Clusters"},
    "df": {"zh": "自由度", "en": "Degrees of freedom"},
    # provenance
    "prov_study": {"zh": "研究", "en": "Study"},
    "prov_fingerprint": {"zh": "数据指纹", "en": "Data fingerprint"},
    "prov_version": {"zh": "软件版本", "en": "Package version"},
    "prov_parameters": {"zh": "参数", "en": "Parameters"},
    "prov_made": {"zh": "生成时间", "en": "Made"},
    "prov_town_id": {"zh": "镇（街道）", "en": "Town"},
    "prov_year": {"zh": "数据年份", "en": "Data year"},
    "prov_lang": {"zh": "语言", "en": "Language"},
    "prov_weights": {"zh": "权重", "en": "Weights"},
    "prov_standards": {"zh": "标准（现行值）", "en": "Standards in force"},
    "prov_normalise": {"zh": "标准化方法", "en": "Normalisation"},
    "prov_aggregate": {"zh": "汇总方法", "en": "Aggregation"},
    "prov_uncertainty_runs": {"zh": "蒙特卡洛次数", "en": "Monte Carlo runs"},
    "prov_scope": {"zh": "比较范围", "en": "Compared over"},
    "prov_scope_study": {"zh": "全研究区统一标准化与排名", "en": "the whole study (normalised and ranked together)"},
    "prov_scope_town": {"zh": "仅本镇（街道）", "en": "this town only"},
    "prov_impute": {"zh": "缺失值插补", "en": "Imputation"},
    "prov_winsorise": {"zh": "异常值缩尾", "en": "Winsorisation"},
    "prov_seed": {"zh": "随机数种子", "en": "Random number stream"},
    "prov_default": {"zh": "默认", "en": "default"},
    "prov_none": {"zh": "无", "en": "none"},
    "lang_zh": {"zh": "中文", "en": "Chinese"},
    "lang_en": {"zh": "英文", "en": "English"},
    # method names
    "method_minmax": {"zh": "最小-最大标准化（0–100）", "en": "min-max (0-100)"},
    "method_zscore": {"zh": "Z 分数标准化", "en": "z-score"},
    "method_rank": {"zh": "名次标准化", "en": "rank"},
    "method_prank": {"zh": "百分位名次标准化", "en": "percentile rank"},
    "method_arithmetic": {"zh": "算术平均", "en": "arithmetic mean"},
    "method_geometric": {"zh": "几何平均", "en": "geometric mean"},
    "method_harmonic": {"zh": "调和平均", "en": "harmonic mean"},
    "method_none": {"zh": "不插补", "en": "none"},
    # methods appendix, one sentence per step of the index
    "step_structure": {"zh": "指标体系：{indicators} 个指标汇总为 {aggregates} 个综合项（共 {levels} 层），最高层为综合得分。",
                       "en": "Structure: {indicators} indicators aggregated into {aggregates} composites over {levels} levels; the top is the overall score."},
    "step_imputation": {"zh": "缺失值：{method}；汇总时权重在有数据的指标间重新分配（插补 {n} 个值）。",
                        "en": "Missing values: {method}; weights are re-normalised over the indicators present ({n} values imputed)."},
    "step_treatment": {"zh": "离群值：偏度绝对值不小于 {skew} 且峰度不小于 {kurt} 的指标逐个缩尾（每个指标最多 {winmax} 个值）；缩尾的指标：{treated}。",
                       "en": "Outliers: indicators with |skewness| of at least {skew} and kurtosis of at least {kurt} are winsorised one value at a time (at most {winmax} per indicator); winsorised: {treated}."},
    "step_normalisation": {"zh": "标准化：{method}，先按指标方向（越高越好或越低越好）调整。{constant}",
                           "en": "Normalisation: {method}, after turning every indicator so that higher is better. {constant}"},
    "step_constant": {"zh": "在村（社区）间没有变化而不参与计分的指标：{names}。", "en": "Left out for not varying between villages: {names}."},
    "step_aggregation": {"zh": "汇总：{method}，逐层由指标到支柱再到综合得分。", "en": "Aggregation: {method}, from indicators to pillars to the overall score."},
    "step_ranking": {"zh": "名次：按综合得分从高到低排列，第 1 名得分最高，并列取最小名次。",
                     "en": "Ranks: by overall score, rank 1 the highest; ties share the smallest rank."},
    "step_uncertainty": {"zh": "不确定性：{n} 次蒙特卡洛模拟，权重在 ±{range}% 内随机变化，标准化方法在{normalise}中、汇总方法在{aggregate}中随机选择，并随机决定是否缩尾；名次区间为模拟名次的 5%–95% 分位。",
                         "en": "Uncertainty: {n} Monte Carlo runs with weights varied within ±{range}%, normalisation drawn from {normalise}, aggregation from {aggregate}, and winsorisation on or off; rank intervals are the 5th-95th percentiles of the simulated ranks."},
    "step_method_ref": {"zh": "方法依据经济合作与发展组织与欧盟联合研究中心《综合指数构建手册》（2008）。",
                        "en": "The method follows the OECD/JRC Handbook on Constructing Composite Indicators (2008)."},
    "list_sep": {"zh": "、", "en": ", "},
    "or_sep": {"zh": "或", "en": " or "},
    # ------------------------------------------------------------ index page
    "idx_title": {"zh": "村（社区）比较研究报告", "en": "Village comparison reports"},
    "idx_town": {"zh": "镇（街道）", "en": "Town"},
    "idx_id": {"zh": "编码", "en": "Code"},
    "idx_status": {"zh": "状态", "en": "Status"},
    "idx_villages": {"zh": "村（社区）数", "en": "Villages"},
    "idx_residents": {"zh": "常住人口", "en": "Residents"},
    "idx_weak": {"zh": "薄弱村", "en": "Weak villages"},
    "idx_missing": {"zh": "未达标村", "en": "Missing a standard"},
    "idx_report": {"zh": "报告", "en": "Report"},
    "idx_ok": {"zh": "已生成", "en": "made"},
    "idx_reused": {"zh": "未变化，沿用", "en": "unchanged, reused"},
    "idx_failed": {"zh": "失败", "en": "failed"},
    "idx_kept": {"zh": "本次未运行，保留此前报告", "en": "not in this run, earlier report kept"},
    "idx_earlier": {"zh": "此前报告", "en": "earlier report"},
    "idx_open": {"zh": "打开", "en": "open"},
    "idx_pdf": {"zh": "PDF", "en": "PDF"},
    "idx_xlsx": {"zh": "表格", "en": "spreadsheet"},
    "idx_error": {"zh": "错误", "en": "Error"},
    "idx_log": {"zh": "日志", "en": "log"},
    "idx_summary": {"zh": "共 {n} 个镇街：{ok} 个已生成，{reused} 个沿用，{kept} 个保留此前报告，{failed} 个失败。",
                    "en": "{n} towns: {ok} made, {reused} reused, {kept} earlier reports kept, {failed} failed."},
    # ---------------------------------------------------- consultation app
    "consult_title": {"zh": "议事会 · 村（社区）比较", "en": "Consultation: comparing villages"},
    "consult_no_redundant": {"zh": "计分指标两两之间的相关系数绝对值均不超过 0.9：没有重复计分的维度。",
                             "en": "No two scored indicators correlate above 0.9 in absolute value: no dimension is counted twice."},
    "consult_redundant": {"zh": "以下计分指标高度相关（|ρ| > 0.9），同一维度被重复计分：{pairs}",
                          "en": "These scored indicators correlate above 0.9 and count one dimension twice: {pairs}"},
    "consult_why_rank": {"zh": "与本镇（街道）中位得分相比：{parts}（合计 {total} 分）",
                         "en": "Against the town's median score: {parts} (in all {total} points)"},
    "consult_synthetic": {"zh": "合成数据（虚构），仅供演示", "en": "Synthetic (fictional) data, for demonstration"},
    "consult_fingerprint": {"zh": "数据指纹", "en": "Data fingerprint"},
    "consult_weights": {"zh": "支柱权重", "en": "Pillar weights"},
    "consult_shares": {"zh": "占比", "en": "Shares"},
    "consult_weights_zero": {"zh": "权重全为 0：无法计算综合得分", "en": "Every weight is 0: no overall score"},
    "consult_standards": {"zh": "标准", "en": "Standards"},
    "consult_office_none": {"zh": "0 表示不设此标准", "en": "0 means no standard"},
    "consult_method": {"zh": "方法", "en": "Method"},
    "consult_normalise": {"zh": "标准化", "en": "Normalisation"},
    "consult_aggregate": {"zh": "汇总", "en": "Aggregation"},
    "consult_norm_minmax": {"zh": "最小-最大（0–100）", "en": "Min-max (0-100)"},
    "consult_norm_zscore": {"zh": "Z 分数", "en": "z-score"},
    "consult_norm_rank": {"zh": "名次", "en": "Rank"},
    "consult_norm_prank": {"zh": "百分位名次", "en": "Percentile rank"},
    "consult_agg_arithmetic": {"zh": "算术平均", "en": "Arithmetic mean"},
    "consult_agg_geometric": {"zh": "几何平均", "en": "Geometric mean"},
    "consult_agg_harmonic": {"zh": "调和平均", "en": "Harmonic mean"},
    "consult_ranking": {"zh": "综合排名", "en": "Ranking"},
    "consult_ranking_note": {"zh": "名次区间：{n} 次蒙特卡洛模拟（权重 ±25%，标准化、汇总方法与缩尾处理随机变化）"
                                   "的 5%–95% 分位（随机种子 {seed}）",
                             "en": "Rank interval: 5th-95th percentile over {n} Monte Carlo runs (weights ±25%, "
                                   "normalisation, aggregation and winsorisation varied; random number stream {seed})"},
    "consult_pillars_left_out": {"zh": "以下支柱没有在村（社区）间变化的指标，未计入综合得分：{pillars}",
                                 "en": "No indicator varies between villages in: {pillars}; left out of the overall score"},
    "consult_map": {"zh": "地图", "en": "Map"},
    "consult_map_by": {"zh": "着色", "en": "Colour by"},
    "consult_no_map": {"zh": "本研究没有村界数据，无法绘制地图", "en": "The study has no village boundaries: no map"},
    "consult_missed": {"zh": "未达标的村（社区）", "en": "Villages missing each standard"},
    "consult_missed_n": {"zh": "{n} 个未达标", "en": "Missed by {n}"},
    "consult_missed_none": {"zh": "有数据的村（社区）全部达标", "en": "Every village with data meets it"},
    "consult_no_data_n": {"zh": "{n} 个无数据：{names}", "en": "{n} without data: {names}"},
    "consult_no_standards": {"zh": "未设置任何标准", "en": "No standard is set"},
    "consult_profile": {"zh": "村（社区）概况", "en": "Village profile"},
    "consult_indicator": {"zh": "指标", "en": "Indicator"},
    "consult_this_village": {"zh": "本村（社区）", "en": "This village"},
    "consult_town_median": {"zh": "镇（街道）中位数", "en": "Town median"},
    "consult_flag_count": {"zh": "是：{k}/{n}", "en": "Yes: {k}/{n}"},
    "consult_rank_of": {"zh": "综合第 {rank} 名（共 {n} 个）", "en": "Overall rank {rank} of {n}"},
    "consult_save": {"zh": "保存此方案", "en": "Save this scenario"},
    "consult_format": {"zh": "表格格式", "en": "Table format"},
    "consult_note": {"zh": "会议结论或备注（随方案保存）", "en": "Conclusion or note (saved with the scenario)"},
    "consult_saved": {"zh": "已保存到 {path}：", "en": "Saved in {path}:"},
    "consult_save_failed": {"zh": "保存失败：{error}", "en": "Could not save: {error}"},
    "consult_updated": {"zh": "已更新（{seconds} 秒）", "en": "Updated in {seconds} s"},
    "consult_error": {"zh": "出错：{error}", "en": "Error: {error}"},
    "consult_no_villages": {"zh": "该镇（街道）没有村（社区）", "en": "This town has no villages"},
    "consult_first_view": {"zh": "正在连接调整控件……页面上是当前方案的排名和地图，与连接后显示的相同；连接后即可调整权重、标准和方法。",
                           "en": "Connecting the controls... The ranking and map shown are those of the current "
                                 "scenario, the same the controls will show; weights, standards and methods can be "
                                 "changed once they are connected."},
}


def normalise_lang(lang: str | None) -> str:
    """``'en'`` for any English tag (``'en'``, ``'en-GB'``), else ``'zh'``.

    >>> normalise_lang("en-US"), normalise_lang(None), normalise_lang("zh-CN")
    ('en', 'zh', 'zh')
    """
    if lang and str(lang).lower().startswith("en"):
        return "en"
    return DEFAULT_LANG


def t(key: str, lang: str | None = DEFAULT_LANG, /, default: str | None = None, **fields) -> str:
    """The text of ``key`` in ``lang`` (``'zh'`` or ``'en'``), formatted with ``fields``.

    An unknown key raises ``KeyError`` unless ``default`` is given (then the
    default, formatted, is returned).
    """
    entry = STRINGS.get(key)
    if entry is None:
        if default is None:
            raise KeyError(f"no UI string {key!r}; add it to villagestudy.i18n.STRINGS or register() it")
        text = default
    else:
        text = entry.get(normalise_lang(lang)) or entry.get(DEFAULT_LANG) or next(iter(entry.values()))
    return text.format(**fields) if fields else text


def has(key: str) -> bool:
    return key in STRINGS


def register(strings: Mapping[str, Mapping[str, str]]) -> None:
    """Add UI strings (``{key: {"zh": ..., "en": ...}}``) from another module.

    Registering the same text again is harmless; a different text for a key
    that exists raises ``ValueError``.
    """
    for key, texts in strings.items():
        texts = dict(texts)
        if not texts:
            raise ValueError(f"UI string {key!r} has no text")
        old = STRINGS.get(key)
        if old is not None and any(old.get(k) not in (None, v) for k, v in texts.items()):
            raise ValueError(f"UI string {key!r} is already registered with other text: {old}")
        STRINGS[key] = {**(old or {}), **texts}
