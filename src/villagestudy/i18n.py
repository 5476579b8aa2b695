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
