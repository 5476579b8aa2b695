"""The indicator catalog: id -> names, unit, pillar, direction, formula, standard.

The catalog lives in ``data/indicators.toml``; this module reads it once and
answers questions about it. Everything that shows an indicator (reports, maps,
widgets, the composite index) asks here for its label, unit and direction.

Examples
--------
>>> from villagestudy import catalog
>>> catalog.get("simpson_index").direction
-1
>>> catalog.label("weak_village", lang="en")
'Weak village (消薄 standard)'
"""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources

import pandas as pd

from .settings import STANDARDS

PILLARS = ("land", "income", "governance")
PILLAR_LABELS = {
    "land": {"zh": "土地", "en": "Land"},
    "income": {"zh": "集体收入", "en": "Collective income"},
    "governance": {"zh": "基层治理", "en": "Governance"},
    "score": {"zh": "综合得分", "en": "Overall score"},
}


@dataclass(frozen=True)
class Indicator:
    id: str
    pillar: str
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str
    kind: str
    direction: int
    in_index: bool
    formula: str
    formula_zh: str
    #: a note on the source beside the references (optional)
    source: str = ""
    needs: tuple[str, ...] = field(default=())
    standard: str | None = None
    comparison: str | None = None
    #: how values are shown (see :mod:`villagestudy.formatting`); derived from kind and unit when absent
    fmt: str = ""
    decimals: int | None = None
    #: the published sources behind the indicator (full citations)
    sources: tuple[str, ...] = field(default=())

    def name(self, lang: str = "zh") -> str:
        return self.name_en if lang == "en" else self.name_zh

    def unit(self, lang: str = "zh") -> str:
        return self.unit_en if lang == "en" else self.unit_zh

    def label(self, lang: str = "zh") -> str:
        """Name with unit, e.g. ``'平均地块面积（亩）'``."""
        if self.kind == "flag":
            return self.name(lang)
        return f"{self.name(lang)}（{self.unit(lang)}）" if lang != "en" else f"{self.name(lang)} ({self.unit(lang)})"

    def citation(self, sep: str = "；") -> str:
        """The published sources of the indicator as one text (empty when it has none)."""
        return sep.join([*self.sources, *([self.source] if self.source else [])])


FORMATS = ("money", "percent", "count", "index", "number", "flag")


def _default_format(raw: dict) -> str:
    """The display format an entry without ``format`` gets from its kind and unit."""
    kind, unit = raw.get("kind"), str(raw.get("unit_en", ""))
    if kind in ("flag", "count"):
        return kind
    if "yuan" in unit:
        return "money"
    if kind == "share" and unit == "0-1":
        return "index"
    if kind == "share" or unit.startswith("share"):
        return "percent"
    return "number"


@lru_cache(maxsize=1)
def _document() -> dict:
    text = resources.files("villagestudy").joinpath("data/indicators.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def display_setting(key: str, default=None):
    """A display setting of the catalog's ``[display]`` table (e.g. ``wan_from_yuan``)."""
    return _document().get("display", {}).get(key, default)


def reference(key: str) -> str:
    """The full citation of a reference key of the catalog's ``[references]`` table."""
    refs = _document().get("references", {})
    if key not in refs:
        raise KeyError(f"unknown reference {key!r}; known: {', '.join(sorted(refs))}")
    return refs[key]


@lru_cache(maxsize=1)
def _load() -> dict[str, Indicator]:
    items = _document()["indicator"]
    out: dict[str, Indicator] = {}
    for raw in items:
        raw = dict(raw)
        raw["needs"] = tuple(raw.get("needs", ()))
        raw["fmt"] = raw.pop("format", "") or _default_format(raw)
        if raw["fmt"] not in FORMATS:
            raise ValueError(f"indicator {raw.get('id')!r}: unknown format {raw['fmt']!r}; known: {', '.join(FORMATS)}")
        refs = raw.pop("references", ())
        raw["sources"] = tuple(reference(r) for r in refs)
        ind = Indicator(**raw)
        if ind.id in out:
            raise ValueError(f"indicator {ind.id!r} appears twice in the catalog")
        if ind.pillar not in PILLARS:
            raise ValueError(f"indicator {ind.id!r}: unknown pillar {ind.pillar!r}")
        if ind.standard is not None and ind.standard not in STANDARDS:
            raise ValueError(f"indicator {ind.id!r}: unknown standard {ind.standard!r}")
        out[ind.id] = ind
    return out


def ids(pillar: str | None = None) -> list[str]:
    """Indicator ids in catalog order (optionally of one pillar)."""
    return [i.id for i in _load().values() if pillar is None or i.pillar == pillar]


def get(indicator_id: str) -> Indicator:
    try:
        return _load()[indicator_id]
    except KeyError:
        raise KeyError(f"unknown indicator {indicator_id!r}; see `villagestudy indicators`") from None


def label(indicator_id: str, lang: str = "zh") -> str:
    """Display label with unit; pillar ids and 'score' are labelled too."""
    if indicator_id in PILLAR_LABELS:
        return PILLAR_LABELS[indicator_id]["en" if lang == "en" else "zh"]
    return get(indicator_id).label(lang)


def name(indicator_id: str, lang: str = "zh") -> str:
    if indicator_id in PILLAR_LABELS:
        return PILLAR_LABELS[indicator_id]["en" if lang == "en" else "zh"]
    return get(indicator_id).name(lang)


def as_frame(lang: str | None = None) -> pd.DataFrame:
    """The catalog as a table, one row per indicator."""
    rows = []
    for ind in _load().values():
        d = asdict(ind)
        d["needs"] = ", ".join(ind.needs)
        d["source"] = ind.citation()
        d.pop("sources")
        rows.append(d)
    df = pd.DataFrame(rows)
    if lang:
        keep = ["id", "pillar", f"name_{lang}", f"unit_{lang}", "direction", "standard",
                "formula_zh" if lang == "zh" else "formula", "source"]
        df = df[keep]
    return df


def indicators_with_standard() -> list[Indicator]:
    return [i for i in _load().values() if i.standard]


def default_structure(weights: dict[str, float] | None = None) -> pd.DataFrame:
    """The default composite-index structure: indicators -> pillars -> ``score``.

    Returns the generic structure table of :func:`villagestudy.index.build_index`
    (``id``, ``parent``, ``weight``, ``direction``). Only indicators flagged
    ``in_index`` enter; pillar weights default to equal and may be given in
    ``weights`` (keys ``land``, ``income``, ``governance``, or indicator ids).
    """
    weights = weights or {}
    rows = [{"id": "score", "parent": None, "weight": 1.0, "direction": float("nan")}]
    for p in PILLARS:
        rows.append({"id": p, "parent": "score", "weight": float(weights.get(p, 1.0)), "direction": float("nan")})
    for ind in _load().values():
        if ind.in_index and ind.direction != 0:
            rows.append({"id": ind.id, "parent": ind.pillar, "weight": float(weights.get(ind.id, 1.0)),
                         "direction": float(ind.direction)})
    return pd.DataFrame(rows)
