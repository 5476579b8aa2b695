"""Rich HTML of package objects in JupyterLab (``_repr_html_``), from Jinja2 templates.

A :class:`~villagestudy.study.Study` shows its name, towns, villages, tables
(rows each), years, data fingerprint and the warnings found while loading.
Templates live in ``villagestudy/templates``; autoescape is on, so names taken
from data are shown as text.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .formatting import fmt_value
from .i18n import register, t

TEMPLATES = Path(__file__).resolve().parent / "templates"

register({
    "study_towns": {"zh": "镇（街道）", "en": "Towns"},
    "study_villages": {"zh": "村（社区）", "en": "Villages"},
    "study_tables": {"zh": "数据表", "en": "Tables"},
    "study_rows": {"zh": "行数", "en": "Rows"},
    "study_years": {"zh": "年份", "en": "Years"},
    "study_warnings": {"zh": "读取时的提示", "en": "Warnings from loading"},
    "study_no_warnings": {"zh": "无", "en": "none"},
    "study_synthetic": {"zh": "合成数据（虚构）", "en": "synthetic (fictional) data"},
})


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def study_html(study, lang: str = "zh") -> str:
    """The HTML card of a study (what ``Study._repr_html_`` shows)."""
    tables = [(name, fmt_value(len(getattr(study, name)), "n", lang))
              for name in ("towns", "villages", "boundaries", "parcels", "parks", "grids", "income", "governance")
              if getattr(study, name, None) is not None]
    towns = [(tid, study.town_name(tid), int((study.villages["town_id"] == tid).sum())) for tid in study.town_ids()]
    return _environment().get_template("study.html.j2").render(
        name=study.settings.name, synthetic=t("study_synthetic", lang) if study.settings.synthetic else "",
        fingerprint=study.fingerprint, towns=towns, tables=tables,
        years="、".join(str(y) for y in study.years) if lang == "zh" else ", ".join(str(y) for y in study.years),
        warnings=[str(n) for n in study.notes], t=lambda key: t(key, lang))
