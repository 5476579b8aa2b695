"""HTML of a :class:`~villagestudy.scenario.Comparison` for notebooks (a Jinja2 template, autoescaped)."""
from __future__ import annotations

import jinja2
import pandas as pd

from .. import catalog
from ..formatting import fmt_number

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("villagestudy.scenario", "templates"), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True)
SHOWN_ROWS = 12


def _cell(v, rank: bool = False) -> str:
    if v is None or pd.isna(v):
        return "—"
    return fmt_number(v, count=rank)


def comparison_html(comparison, lang: str = "en", rows: int = SHOWN_ROWS) -> str:
    """A short table of the best-ranked villages, the scenario in one line, and the index notes."""
    s = comparison.scenario
    ranked = comparison.ranked()
    pillars = [p for p in catalog.PILLARS if p in ranked]
    head = ["village", "town", "rank", "rank in town", "score", *pillars, "rank p05–p95"]
    body = []
    for vid, r in ranked.head(rows).iterrows():
        interval = "—" if pd.isna(r["rank_p05"]) else f"{_cell(r['rank_p05'], True)}–{_cell(r['rank_p95'], True)}"
        body.append({"id": vid, "cells": [r["village_name"], r["town_name"], _cell(r["rank"], True),
                                          _cell(r["rank_in_town"], True), _cell(r["score"]),
                                          *[_cell(r[p]) for p in pillars], interval]})
    scope = "normalised and ranked over the whole study" if s.scope == "study" else f"ranked within town {s.town}"
    return _ENV.get_template("comparison.html.j2").render(
        title=f"Comparison of {len(ranked)} villages, year {s.year}", scope_text=scope,
        method_text=f"{s.normalise} / {s.aggregate}, {s.runs} Monte Carlo runs (seed {s.seed})",
        head=head, rows=body, more=max(len(ranked) - rows, 0), notes=comparison.index_notes)
