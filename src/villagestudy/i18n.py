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
    # ---------------------------------------------------- consultation app
    "consult_title": {"zh": "议事会 · 村（社区）比较", "en": "Consultation: comparing villages"},
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
                                   "normalisation, aggregation and winsorisation varied; seed {seed})"},
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
