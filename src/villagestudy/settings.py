"""Study settings and the standards indicators are compared with: one place.

Every setting has a default, a unit and a source. A study overrides them in
``study.toml`` (top level, or in a ``[standards]`` / ``[indicators]`` table), and
any caller can override them again with :meth:`Settings.replace`, so that a
consultation can ask "what if the weak-village threshold were 200,000 yuan?".
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

AREA_UNITS = {"mu": 1.0, "ha": 15.0, "m2": 1.0 / (10000.0 / 15.0)}
"""Factor that converts one unit of area into mu (1 mu = 10,000/15 m2 = 666.67 m2)."""

M2_PER_MU = 10000.0 / 15.0
MONEY_UNITS = {"yuan": 1.0, "wan_yuan": 10000.0}
"""Factor that converts one unit of money into yuan (1 万元 = 10,000 yuan)."""


@dataclass(frozen=True)
class Standard:
    """A published standard an indicator is compared with."""

    key: str
    default: float | None
    unit: str
    label_zh: str
    label_en: str
    source: str


STANDARDS: dict[str, Standard] = {
    s.key: s
    for s in [
        Standard(
            "weak_total_yuan", 100_000, "yuan",
            "消薄标准：村集体年收入不低于", "Weak-village standard: collective income at least",
            "杨敏、周若毅、吴菁：《党建引领 创新支撑 精准发力——我市全域推进“消薄”工程掠影》（浙江省其后提高到 20 万元）",
        ),
        Standard(
            "weak_operating_yuan", 50_000, "yuan",
            "消薄标准：经营性收入不低于", "Weak-village standard: operating income at least",
            "杨敏、周若毅、吴菁：《党建引领 创新支撑 精准发力——我市全域推进“消薄”工程掠影》（浙江省其后提高到 10 万元）",
        ),
        Standard(
            "social_workers_per_10k_min", 18, "per 10,000 residents",
            "每万城镇常住人口社工数不少于", "Social workers per 10,000 residents at least",
            "龙泉市政协：《关于“做好‘村改居’后半篇文章，促进城乡融合发展”的调研报告》，龙泉市人民政府网站，2023-05-29",
        ),
        Standard(
            "grid_part_time_max", 0.5, "share",
            "网格员兼职比例不超过", "Part-time share of grid posts at most",
            "龙泉市政协：《关于“做好‘村改居’后半篇文章，促进城乡融合发展”的调研报告》，龙泉市人民政府网站，2023-05-29（建议 1/3 至 1/2）",
        ),
        Standard(
            "office_area_standard_m2", None, "m2",
            "办公用房面积不少于", "Office space at least",
            "龙泉市政协：《关于“做好‘村改居’后半篇文章，促进城乡融合发展”的调研报告》，龙泉市人民政府网站，2023-05-29（省定标准，各研究自行设定）",
        ),
    ]
}


@dataclass(frozen=True)
class Settings:
    """The settings of one study (``study.toml``) with their defaults."""

    name: str = "study"
    crs: str | None = None
    area_unit: str = "mu"
    money_unit: str = "yuan"
    year: int | None = None
    synthetic: bool = False
    description: str = ""
    #: time zone of the times written in reports (IANA name)
    timezone: str = "Asia/Shanghai"
    # land
    farmland_uses: tuple[str, ...] = ("arable",)
    block_tolerance_m: float = 1.0
    block_min_mu: float = 50.0
    old_before_year: int = 2000
    # standards (see STANDARDS for sources)
    weak_total_yuan: float = 100_000
    weak_operating_yuan: float = 50_000
    social_workers_per_10k_min: float = 18
    grid_part_time_max: float = 0.5
    office_area_standard_m2: float | None = None
    # data checks (warnings on load) and the area every land indicator uses
    area_source: str = "register"
    overlap_tolerance_m2: float = 1.0
    sliver_m2: float = 5.0
    area_mismatch_share: float = 0.10
    outside_boundary_share: float = 0.05
    # composite index
    weights: dict[str, float] = field(default_factory=dict)
    index_options: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> "Settings":
        """Return a copy with some settings changed (unknown names raise)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise KeyError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if "farmland_uses" in changes and changes["farmland_uses"] is not None:
            uses = changes["farmland_uses"]
            changes["farmland_uses"] = (uses,) if isinstance(uses, str) else tuple(uses)  # never letters
        # values of the setting's type, as a study.toml gives them (200000 -> 200000.0): the same
        # settings then print and hash alike; a value that does not check is kept as given
        coerced, _ = check_settings(changes, base=self)
        return dataclasses.replace(self, **{**changes, **coerced})

    def standards(self) -> dict[str, float | None]:
        """The standards in force, by key."""
        return {k: getattr(self, k) for k in STANDARDS}

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["farmland_uses"] = list(self.farmland_uses)
        return d


# Names accepted in study.toml for settings, beside the canonical ones.
SETTING_ALIASES: dict[str, str] = {
    "default_year": "year",
    "weak_total_threshold_yuan": "weak_total_yuan",
    "weak_income_total_yuan": "weak_total_yuan",
    "weak_village_total_yuan": "weak_total_yuan",
    "xiaobo_total_yuan": "weak_total_yuan",
    "weak_operating_threshold_yuan": "weak_operating_yuan",
    "weak_income_operating_yuan": "weak_operating_yuan",
    "weak_village_operating_yuan": "weak_operating_yuan",
    "xiaobo_operating_yuan": "weak_operating_yuan",
    "social_workers_per_10k": "social_workers_per_10k_min",
    "social_workers_standard": "social_workers_per_10k_min",
    "grid_part_time_share_max": "grid_part_time_max",
    "office_area_standard": "office_area_standard_m2",
    "office_area_min_m2": "office_area_standard_m2",
}


# ----------------------------------------------------------------- checking
AREA_SOURCES = ("register", "geometry")
"""``area_source``: the registered area (the ``area`` column, filled from the drawn
area where empty) or the drawn area of each polygon, for every land indicator."""


def _settings_model():
    """The pydantic model that types and range-checks every setting (built once, on first use)."""
    global _MODEL
    if _MODEL is not None:
        return _MODEL
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, field_validator

    from .schema import LAND_USES

    Year = Field(ge=1949, le=2100)
    Money = Field(ge=0, le=1e13, allow_inf_nan=False)

    class SettingsModel(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str
        crs: str | None
        area_unit: Literal["mu", "ha", "m2"]
        money_unit: Literal["yuan", "wan_yuan"]
        year: int | None = Year
        synthetic: bool
        description: str
        farmland_uses: tuple[Literal[LAND_USES], ...] = Field(min_length=1)  # type: ignore[valid-type]
        block_tolerance_m: float = Field(ge=0, le=1000, allow_inf_nan=False)
        block_min_mu: float = Field(ge=0, le=1e6, allow_inf_nan=False)
        old_before_year: int = Year
        weak_total_yuan: float = Money
        weak_operating_yuan: float = Money
        social_workers_per_10k_min: float = Field(ge=0, le=10_000, allow_inf_nan=False)
        grid_part_time_max: float = Field(ge=0, le=1, allow_inf_nan=False)
        office_area_standard_m2: float | None = Field(ge=0, le=1e6, allow_inf_nan=False)
        area_source: Literal[AREA_SOURCES]  # type: ignore[valid-type]
        overlap_tolerance_m2: float = Field(ge=0, le=1e6, allow_inf_nan=False)
        sliver_m2: float = Field(ge=0, le=1e6, allow_inf_nan=False)
        area_mismatch_share: float = Field(gt=0, le=100, allow_inf_nan=False)
        outside_boundary_share: float = Field(ge=0, le=1, allow_inf_nan=False)
        weights: dict[str, float]
        index_options: dict[str, Any]
        extra: dict[str, Any]
        timezone: str

        @field_validator("timezone")
        @classmethod
        def _known_zone(cls, value: str) -> str:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("not a time zone name such as Asia/Shanghai") from None
            return value

    _MODEL = SettingsModel
    return _MODEL


_MODEL = None


def check_settings(changes: dict[str, Any], base: "Settings | None" = None
                   ) -> tuple[dict[str, Any], list[tuple[str, str, Any]]]:
    """Type and range-check settings; return the valid ones (coerced) and the problems.

    Parameters
    ----------
    changes : dict
        Canonical setting names to values (from ``study.toml``, ``--set`` or code).
    base : Settings, optional
        The settings the changes apply to (default: the defaults).

    Returns
    -------
    (dict, list)
        The changes that passed, with their values coerced to the setting's type,
        and one ``(setting, message, value)`` per problem, unknown names included.

    Examples
    --------
    >>> ok, bad = check_settings({"year": "2022", "block_tolerance_m": float("inf"), "wieghts": 1})
    >>> ok
    {'year': 2022}
    >>> sorted((k, v) for k, _, v in bad)
    [('block_tolerance_m', inf), ('wieghts', 1)]
    """
    from pydantic import ValidationError

    model = _settings_model()
    known = set(model.model_fields)
    problems = [(k, "unknown setting; known: " + ", ".join(sorted(known - {"extra"})), v)
                for k, v in changes.items() if k not in known]
    values = (base or Settings()).as_dict()
    values.update({k: v for k, v in changes.items() if k in known})
    bad: set[str] = set()
    try:
        checked = model.model_validate(values)
    except ValidationError as err:
        for e in err.errors():
            key = str(e["loc"][0]) if e["loc"] else "?"
            if key in bad:
                continue
            bad.add(key)
            problems.append((key, e["msg"], changes.get(key, e.get("input"))))
        good = {k: v for k, v in values.items() if k not in bad}
        checked = model.model_validate({**(base or Settings()).as_dict(), **good})
    ok = {k: getattr(checked, k) for k in changes if k in known and k not in bad}
    return ok, problems


def parse_setting_text(key: str, text: str) -> Any:
    """A value given as text (``--set KEY=VALUE``) in the type of the setting.

    Lists are comma-separated, mappings are JSON, ``none`` is None; numbers and
    yes/no are converted when the setting is checked.

    Examples
    --------
    >>> parse_setting_text("farmland_uses", "arable")
    ['arable']
    >>> parse_setting_text("farmland_uses", "arable, garden")
    ['arable', 'garden']
    >>> parse_setting_text("weak_total_yuan", "200000")
    200000
    """
    import json

    text = text.strip()
    field_type = {f.name: f.type for f in dataclasses.fields(Settings)}.get(SETTING_ALIASES.get(key, key), "")
    if "tuple" in str(field_type):
        return [t.strip() for t in text.replace("，", ",").split(",") if t.strip()]
    if "dict" in str(field_type):
        try:
            return json.loads(text)
        except ValueError:
            return text  # reported by check_settings as not a mapping
    if text.lower() in ("none", "null", ""):
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text
