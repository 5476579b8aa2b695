"""Header and value aliases: the one place that maps office exports to canonical names.

Headers are normalised (full-width brackets and colons to ASCII, spaces and
line breaks removed, lower case) before look-up, and a unit in brackets, such
as ``面积(亩)`` or ``金额（万元）``, is split off and returned with the name.
"""
from __future__ import annotations

import re
import unicodedata

# canonical column name -> accepted spellings (Chinese and English)
HEADER_ALIASES: dict[str, list[str]] = {
    "town_id": ["镇街编码", "镇(街道)编码", "镇街道编码", "镇编码", "街道编码", "乡镇编码", "镇街代码", "乡镇代码", "town_code"],
    "town_name": ["镇街", "镇(街道)", "镇街道", "镇街名称", "镇(街道)名称", "乡镇", "乡镇名称", "镇名", "所属镇街", "town"],
    "county": ["县区", "县(区)", "区县", "县(市、区)", "所属县区", "county_name", "district"],
    "village_id": ["村编码", "村代码", "村(社区)编码", "村(社区)代码", "村居编码", "行政村编码", "village_code"],
    "village_name": ["村名", "村(社区)名称", "村(社区)", "村居名称", "村名称", "行政村", "行政村名称", "村社区名称", "village"],
    "kind": ["类型", "村居类型", "村(社区)类型", "type"],
    "registered_pop": ["户籍人口", "户籍人口数", "registered_population"],
    "resident_pop": ["常住人口", "常住人口数", "resident_population"],
    "households": ["户数", "总户数", "household_count"],
    "parcel_id": ["地块编码", "地块代码", "地块号"],
    "land_use": ["土地用途", "地类", "用途"],
    "household_id": ["承包方编码", "承包方代码", "农户编码", "户编码"],
    "owner_id": ["经济社", "经济社编码", "发包方编码", "村民小组", "经济合作社"],
    "area": ["面积", "地块面积", "承包面积"],
    "park_id": ["园区编码", "工业园编码", "园区代码"],
    "park_name": ["园区名称", "工业园名称", "产业园名称"],
    "built_year": ["建成年份", "建设年份", "建成年代"],
    "land_area": ["用地面积", "占地面积", "园区用地面积"],
    "floor_area_m2": ["建筑面积", "厂房建筑面积", "floor_area"],
    "occupied_floor_area_m2": ["已出租建筑面积", "出租面积", "已使用建筑面积", "occupied_floor_area"],
    "annual_rent_yuan": ["年租金", "年租金收入", "annual_rent"],
    "annual_tax_yuan": ["年税收", "税收", "annual_tax"],
    "grid_id": ["网格编码", "网格代码"],
    "level": ["网格层级", "层级", "网格类型"],
    "parent_grid_id": ["上级网格编码", "所属网格编码", "上级网格"],
    "full_time_staff": ["专职网格员", "专职网格员数"],
    "part_time_staff": ["兼职网格员", "兼职网格员数"],
    "has_party_group": ["是否建有党小组", "党小组", "建有党小组"],
    "year": ["年份", "年度"],
    "category": ["收入类别", "类别", "收入类型"],
    "amount": ["金额", "收入金额", "收入"],
    "business": ["经营收入"],
    "contracting": ["发包及上交收入", "发包收入"],
    "investment": ["投资收益"],
    "subsidy": ["补助收入"],
    "other": ["其他收入"],
    "social_workers": ["专职社工数", "专职社工", "社工数"],
    "social_workers_certified": ["持证社工数", "持证社工"],
    "social_workers_experienced": ["三年以上经验社工数", "3年以上经验社工数", "从业3年以上社工数"],
    "former_cadres_on_staff": ["原村干部人数", "原村干部数", "原村干部"],
    "grid_posts": ["网格员岗位数", "网格员数", "网格员岗位"],
    "grid_posts_part_time": ["兼职网格员岗位数", "兼职网格员岗位"],
    "party_members_registered": ["报到党员数", "在职党员报到数", "报到党员"],
    "party_members_volunteering": ["志愿服务党员数", "参与志愿服务党员数"],
    "volunteer_events": ["志愿活动数", "志愿服务活动数"],
    "volunteer_events_with_social_orgs": ["社会组织参与活动数", "社会组织参与志愿活动数"],
    "office_area_m2": ["办公用房面积", "办公面积", "office_area"],
    "budget_yuan": ["工作经费", "可支配经费", "budget"],
    "disputes_reported": ["受理纠纷数", "矛盾纠纷数", "纠纷数"],
    "disputes_resolved": ["化解纠纷数", "调处纠纷数", "已化解纠纷数"],
}

TOTAL_MARKERS = ("合计", "总计", "小计", "总合计", "total", "sum")

UNIT_WORDS: dict[str, str] = {
    "亩": "mu", "mu": "mu",
    "公顷": "ha", "ha": "ha", "hm2": "ha", "hm²": "ha",
    "平方米": "m2", "m2": "m2", "㎡": "m2", "m²": "m2", "平米": "m2",
    "元": "yuan", "yuan": "yuan",
    "万元": "wan_yuan", "wan_yuan": "wan_yuan", "万": "wan_yuan",
}

# value aliases for category-like columns
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "land_use": {"耕地": "arable", "水田": "arable", "旱地": "arable", "水浇地": "arable", "园地": "garden",
                 "林地": "forest", "建设用地": "construction", "集体建设用地": "construction", "其他": "other",
                 "其他用地": "other"},
    "category": {"经营收入": "business", "发包及上交收入": "contracting", "发包收入": "contracting",
                 "投资收益": "investment", "补助收入": "subsidy", "其他收入": "other"},
    "kind": {"村": "village", "行政村": "village", "社区": "community", "居委会": "community"},
    "level": {"网格": "grid", "微网格": "micro", "micro_grid": "micro", "micro-grid": "micro"},
}
TRUE_WORDS = {"true", "t", "yes", "y", "1", "是", "有", "√", "1.0"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "否", "无", "×", "0.0"}

_FULLWIDTH = str.maketrans({"（": "(", "）": ")", "：": ":", "，": ",", "　": " "})
_UNIT_IN_BRACKETS = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<unit>[^()\[\]]*)[\)\]]\s*$")
_UNIT_SUFFIX = re.compile(r"^(?P<name>.+?)_(?P<unit>mu|ha|m2|yuan|wan_yuan)$")
_UNIT_NOTE = re.compile(r"单位\s*[:：]?\s*(?P<unit>万元|元|亩|公顷|平方米|㎡)")


_WHITESPACE = re.compile(r"\s+")


def normalise_header(text: object) -> str:
    s = unicodedata.normalize("NFKC", str(text)).translate(_FULLWIDTH)
    return _WHITESPACE.sub("", s).strip().lower()


_LOOKUP: dict[str, str] = {}
for _canon, _names in HEADER_ALIASES.items():
    _LOOKUP[normalise_header(_canon)] = _canon
    for _n in _names:
        _LOOKUP[normalise_header(_n)] = _canon


def resolve_header(text: object) -> tuple[str | None, str | None]:
    """Map one header cell to ``(canonical name, unit)``.

    Returns ``(None, None)`` when the header is not known.

    Examples
    --------
    >>> resolve_header("面积（亩）")
    ('area', 'mu')
    >>> resolve_header("经营收入(万元)")
    ('business', 'wan_yuan')
    >>> resolve_header("村编码")
    ('village_id', None)
    """
    if text is None:
        return None, None
    key = normalise_header(text)
    if not key or key in ("nan", "none"):
        return None, None
    if key in _LOOKUP:
        return _LOOKUP[key], None
    m = _UNIT_IN_BRACKETS.match(key)
    if m and m.group("name") in _LOOKUP:
        unit = UNIT_WORDS.get(m.group("unit"))
        return _LOOKUP[m.group("name")], unit
    # a bracketed part that is not a unit, e.g. 村(社区)名称, was handled by the lookup above
    m = _UNIT_SUFFIX.match(key)
    if m and m.group("name") in _LOOKUP:
        return _LOOKUP[m.group("name")], m.group("unit")
    return None, None


def unit_note(text: object) -> str | None:
    """The unit of a note such as ``单位：万元`` (``'wan_yuan'``), else None."""
    if text is None:
        return None
    m = _UNIT_NOTE.search(unicodedata.normalize("NFKC", str(text)))
    return UNIT_WORDS[m.group("unit")] if m else None


def is_total_marker(text: object) -> bool:
    if text is None:
        return False
    s = normalise_header(text)
    return s in TOTAL_MARKERS or s.startswith(("合计", "总计", "小计"))
