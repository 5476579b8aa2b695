"""The provenance table of every report page (town reports and the index page): one place.

Provenance says which data (fingerprint), which version and which parameters
made a page, and when, in the study's time zone; every label and every
parameter in the page's language (no JSON).
"""
from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

from markupsafe import Markup

from .. import catalog
from ..formatting import fmt_number, fmt_value
from ..i18n import t
from ..settings import STANDARDS
from .display import render

PARAMETER_ORDER = ("town_id", "year", "lang", "scope", "weights", "standards", "normalise", "aggregate", "impute",
                   "winsorise", "uncertainty_runs", "seed")
#: what a scenario records that the rows above already say (the town, the data fingerprint) or that is a path
_SCENARIO_SHOWN_ELSEWHERE = ("study", "fingerprint", "town", "version", "kind")


def now_in(timezone: str = "Asia/Shanghai") -> str:
    """The time now in ``timezone`` as ISO 8601 with its offset, e.g. ``2026-12-03T04:51:02+08:00``."""
    return _dt.datetime.now(ZoneInfo(timezone)).isoformat(timespec="seconds")


def format_time(iso: str | None, timezone: str = "Asia/Shanghai") -> str:
    """An ISO time shown in ``timezone``: ``2026-12-03 04:51 (UTC+08:00)``.

    >>> format_time("2026-12-02T20:51:02+00:00")
    '2026-12-03 04:51 (UTC+08:00)'
    """
    if not iso:
        return "—"
    when = _dt.datetime.fromisoformat(str(iso))
    if when.tzinfo is None:
        when = when.astimezone()
    local = when.astimezone(ZoneInfo(timezone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def _parameter_value(key: str, value, lang: str, town_name: str | None) -> str:
    sep = t("list_sep", lang)
    if key == "town_id":
        return f"{town_name} ({value})" if town_name else str(value)
    if key == "year":
        return str(value) if value else t("prov_default", lang)
    if key == "lang":
        return t(f"lang_{value}", lang, default=str(value))
    if key in ("normalise", "aggregate"):
        return t(f"method_{value}", lang, default=str(value)) if value else t("prov_default", lang)
    if key == "weights":
        if not value:
            return t("prov_default", lang)
        return sep.join(f"{catalog.name(k, lang) if k in catalog.PILLAR_LABELS or k in catalog.ids() else k} "
                        f"{fmt_value(v, 'weight', lang)}" for k, v in value.items())
    if key == "standards":
        if not value:
            return t("prov_none", lang)
        out = []
        for k, v in value.items():
            std = STANDARDS.get(k)
            label = (std.label_en if lang == "en" else std.label_zh) if std else k
            out.append(f"{label} {_standard_value(v, std.unit if std else '', lang)}")
        return sep.join(out)
    if key == "uncertainty_runs":
        return fmt_value(value, "n", lang)
    if key == "scope":
        return t(f"prov_scope_{value}", lang, default=str(value))
    if key == "impute":
        return t(f"method_{value}", lang, default=str(value))
    if key == "winsorise":
        return t("yes" if value else "no", lang)
    return str(value)


def _standard_value(value, unit: str, lang: str) -> str:
    """A standard with its unit, formatted as the report writes such numbers (10万元, 50.0%, 300 m²)."""
    if value is None:
        return t("prov_none", lang)
    if unit == "yuan":
        return fmt_number(value, kind="money", lang=lang) + ("元" if lang == "zh" else " yuan")
    if unit == "share":
        return fmt_number(value, share=True)
    if unit == "m2":
        return f"{fmt_number(value)} m²"
    return fmt_number(value)


def _flat_parameters(params: dict) -> dict:
    """Parameters with a scenario (a dict) spread into rows of their own."""
    params = dict(params)
    scenario = params.pop("scenario", None)
    if isinstance(scenario, dict):
        for key, value in scenario.items():
            if key in _SCENARIO_SHOWN_ELSEWHERE:
                continue
            params.setdefault("uncertainty_runs" if key == "runs" else key, value)
    return params


def provenance_rows(provenance: dict, lang: str = "zh") -> list[tuple[str, str]]:
    """(label, value) rows of a provenance dict (keys study, data_fingerprint, package_version,
    parameters, made, optional timezone and town_name)."""
    tz = provenance.get("timezone") or "Asia/Shanghai"
    rows = [(t("prov_study", lang), str(provenance.get("study", ""))),
            (t("prov_fingerprint", lang), str(provenance.get("data_fingerprint", ""))),
            (t("prov_version", lang), str(provenance.get("package_version", "")))]
    params = _flat_parameters(provenance.get("parameters") or {})
    for key in PARAMETER_ORDER:
        if key in params:
            rows.append((t(f"prov_{key}", lang), _parameter_value(key, params.pop(key), lang,
                                                                   provenance.get("town_name"))))
    for key, value in params.items():  # parameters without a label of their own are still shown
        rows.append((t(f"prov_{key}", lang, default=key), str(value)))
    rows.append((t("prov_made", lang), format_time(provenance.get("made"), tz)))
    return rows


def provenance_html(provenance: dict, lang: str = "zh") -> Markup:
    """The provenance table (escaped) with the synthetic-data warning when it applies."""
    synthetic = t("rep_synthetic", lang) if provenance.get("synthetic") else ""
    return render("provenance.html.j2", rows=provenance_rows(provenance, lang), synthetic=synthetic)
