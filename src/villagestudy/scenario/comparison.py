"""The :class:`Comparison`: everything a view shows about villages under one scenario.

Made only by :func:`villagestudy.evaluate`; reports, the consultation app,
``villagestudy rank`` and the notebooks render it and compute nothing of their
own. It is written beside every report as JSON (:meth:`Comparison.to_json`) and
reads back exactly (:meth:`Comparison.from_json`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .frames import frame_from_json, frame_to_json
from .model import PILLARS, Scenario
from .._atomic import atomic_path

__all__ = ["Comparison", "COMPARISON_VERSION", "RANKING_COLUMNS", "NOTE_COLUMNS"]

COMPARISON_VERSION = 1
RANKING_COLUMNS = ("village_id", "town_id", "town_name", "village_name", *PILLARS, "score", "rank", "rank_in_town",
                   "rank_median", "rank_p05", "rank_p95", "data_availability")
NOTE_COLUMNS = ("topic", "indicator", "village_id", "note")
_FRAMES = ("indicators", "ranking", "missed", "notes", "structure")
#: the village column of a per-village table in ``Comparison.extra`` (contributions): a town's view keeps its rows
EXTRA_VILLAGE_COLUMN = "unit"


@dataclass
class Comparison:
    """Villages compared under one :class:`~villagestudy.Scenario`.

    Attributes
    ----------
    scenario : Scenario
        The scenario, every choice explicit (:meth:`Scenario.resolved`).
    indicators : DataFrame
        Indexed by ``village_id``: the indicator table of the villages in scope
        for the scenario's year, the flags for the standards in force, and
        ``office_area_m2`` (the raw value behind ``office_area_ok``).
    ranking : DataFrame
        One row per village in scope: ``village_id``, ``town_id``,
        ``town_name``, ``village_name``, the pillar scores (``land``,
        ``income``, ``governance``; 0-100 with min-max), ``score``, ``rank``
        (1 = best, within the scope), ``rank_in_town``, ``rank_median``,
        ``rank_p05``, ``rank_p95`` (Monte Carlo rank interval) and
        ``data_availability``; more columns may follow.
    missed : DataFrame
        Every standard in force per village
        (:func:`villagestudy.metrics.standards.missed_standards`): ``status``
        is ``met``, ``missed`` or ``no data``.
    notes : DataFrame
        ``topic`` (``value``: why a value is missing; ``index``: what was left
        out of the index and why; ``data``: warnings about the data), ``indicator``,
        ``village_id``, ``note``.
    structure : DataFrame
        The index structure used (``id``, ``parent``, ``weight``, ``direction``).
    method : dict
        The index steps as recorded by the engine (JSON-ready); empty when no
        index could be made.
    provenance : dict
        ``data_fingerprint``, ``package_version``, ``study_name``, ``study_path``.
    extra : dict of DataFrame
        Further tables keyed by name (e.g. contributions to the score),
        serialised like the others.
    """

    scenario: Scenario
    indicators: pd.DataFrame
    ranking: pd.DataFrame
    missed: pd.DataFrame
    notes: pd.DataFrame
    structure: pd.DataFrame
    method: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    # ------------------------------------------------------------ views
    @property
    def has_index(self) -> bool:
        """Whether a composite score could be made (some indicator varies between villages)."""
        return bool(self.method)

    @property
    def index_notes(self) -> list[str]:
        """What was left out of the index and why, one sentence each."""
        return self.notes.loc[self.notes["topic"] == "index", "note"].tolist()

    @property
    def missed_by_village(self) -> pd.Series:
        """Per village (index ``village_id``), the standard keys it misses (list, empty when none)."""
        m = self.missed[self.missed["status"] == "missed"]
        lists = m.groupby("village_id", sort=False)["standard_key"].agg(list)
        ids = self.ranking["village_id"]
        return pd.Series([lists.get(v, []) for v in ids], index=pd.Index(ids, name="village_id"),
                         name="missed_standards")

    def ranked(self) -> pd.DataFrame:
        """The ranking sorted by rank (villages without a score last), indexed by ``village_id``."""
        return (self.ranking.set_index("village_id")
                .sort_values(["rank", "score"], ascending=[True, False], na_position="last", kind="mergesort"))

    def for_town(self, town_id: str) -> "Comparison":
        """The same comparison seen from one town: its villages only, ranks unchanged (those of the scope).

        Tables of ``extra`` with a :data:`EXTRA_VILLAGE_COLUMN` keep the town's
        villages' rows; the others (audits of the whole index) are kept whole.
        """
        town_id = str(town_id)
        towns = set(self.ranking["town_id"])
        if town_id not in towns:
            raise KeyError(f"no town {town_id!r} in this comparison; towns: {', '.join(sorted(towns))}")
        ids = set(self.ranking.loc[self.ranking["town_id"] == town_id, "village_id"])
        notes = self.notes[self.notes["village_id"].isna() | self.notes["village_id"].isin(ids)]
        extra = {name: frame[frame[EXTRA_VILLAGE_COLUMN].isin(ids)].reset_index(drop=True)
                 if EXTRA_VILLAGE_COLUMN in frame.columns else frame for name, frame in self.extra.items()}
        return replace(
            self, scenario=replace(self.scenario, town=town_id),
            indicators=self.indicators[self.indicators["town_id"] == town_id],
            ranking=self.ranking[self.ranking["town_id"] == town_id].reset_index(drop=True),
            missed=self.missed[self.missed["village_id"].isin(ids)].reset_index(drop=True),
            notes=notes.reset_index(drop=True), extra=extra,
        )

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        return {
            "kind": "villagestudy.comparison", "version": COMPARISON_VERSION,
            "scenario": self.scenario.to_dict(), "provenance": dict(self.provenance), "method": self.method,
            "frames": {name: frame_to_json(getattr(self, name)) for name in _FRAMES},
            "extra": {name: frame_to_json(frame) for name, frame in self.extra.items()},
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """JSON text of the whole comparison; written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False) + "\n"
        if path is not None:
            with atomic_path(Path(path)) as tmp:
                tmp.write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "Comparison":
        """The comparison written by :meth:`to_json` (JSON text or a file path)."""
        text = text_or_path
        if isinstance(text_or_path, Path) or not str(text_or_path).lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        data = json.loads(text)
        if data.get("kind") != "villagestudy.comparison" or data.get("version") != COMPARISON_VERSION:
            raise ValueError(f"not a villagestudy comparison of version {COMPARISON_VERSION}")
        frames = {name: frame_from_json(data["frames"][name]) for name in _FRAMES}
        return cls(scenario=Scenario.from_dict(data["scenario"]), method=data.get("method") or {},
                   provenance=data.get("provenance") or {},
                   extra={k: frame_from_json(v) for k, v in (data.get("extra") or {}).items()}, **frames)

    # ------------------------------------------------------------ display
    def _repr_html_(self) -> str:
        from .render import comparison_html

        return comparison_html(self)

    def __repr__(self) -> str:
        s = self.scenario
        return (f"<Comparison {len(self.ranking)} villages, year {s.year}, scope {s.scope}"
                f"{' ' + s.town if s.town else ''}, {s.normalise}/{s.aggregate}, {s.runs} runs>")

    def summary(self) -> dict[str, Any]:
        """A few figures for a log line."""
        return {"villages": len(self.ranking), "year": self.scenario.year, "scope": self.scenario.scope,
                "missed": int((self.missed["status"] == "missed").sum())}
