"""Saving a consultation's scenario on record: the scenario JSON and the ranking it gave.

A saved scenario is two files written side by side (each atomically):

* ``<stem>.json`` - the :class:`~villagestudy.Scenario` record (versioned, with
  the data fingerprint, the time it was saved, the meeting's note and the town's
  name). ``villagestudy reports --params <stem>.json`` and
  ``villagestudy rank STUDY --params <stem>.json`` read it with
  :meth:`Scenario.from_json`, the one scenario reader, and give the same ranking.
* ``<stem>.csv`` (UTF-8 with BOM, so that Excel shows Chinese) or
  ``<stem>.xlsx`` - the ranking shown, with the standards each village misses.

File names are made by the package (``scenario_town_<safe id>_<year>_<time>``),
never taken from data; an existing file is never overwritten.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from .._atomic import write_table
from ..scenario import Comparison, Scenario
from ..safe_text import safe_file_name

__all__ = ["SavedScenario", "TABLE_FORMATS", "save_scenario", "load_scenario", "scenario_stem", "scenario_table"]

TABLE_FORMATS = ("csv", "xlsx")


@dataclass
class SavedScenario:
    """Where a scenario was written, and what."""

    json_path: Path
    table_path: Path
    record: dict


def scenario_stem(town_id: str, year: int | None, when: datetime) -> str:
    """A safe file stem: ``scenario_town_<id>_<year>_<YYYYmmdd-HHMMSS>`` (no path from data)."""
    stem = f"scenario_{safe_file_name(str(town_id))}_{'all' if year is None else int(year)}_{when:%Y%m%d-%H%M%S}"
    return re.sub(r"[^0-9A-Za-z_-]", "_", stem)  # no dots either: never '..', never hidden


def _free_stem(folder: Path, stem: str, suffixes: tuple[str, ...]) -> str:
    candidate, k = stem, 1
    while any((folder / f"{candidate}{s}").exists() for s in suffixes):
        k += 1
        candidate = f"{stem}-{k}"
    return candidate


def scenario_table(comparison: Comparison) -> pd.DataFrame:
    """The ranking as saved: one row per village, by rank, with the standards each misses (``;``-separated)."""
    out = comparison.ranked().reset_index()
    missed = comparison.missed_by_village
    out["missed_standards"] = out["village_id"].map(lambda v: ";".join(missed.get(v, [])))
    return out


def save_scenario(folder: str | Path, comparison: Comparison, *, fmt: str = "csv", note: str = "",
                  when: datetime | None = None) -> SavedScenario:
    """Write the scenario of ``comparison`` and its ranking table into ``folder`` (created when missing).

    Parameters
    ----------
    folder : path
        Output folder, e.g. ``outputs/scenarios``.
    comparison : Comparison
        What the app shows (its scenario names the town).
    fmt : {"csv", "xlsx"}
        Format of the table (CSV is UTF-8 with BOM).
    note : str
        The meeting's conclusion or note, saved in the JSON.

    Returns
    -------
    SavedScenario
        The two paths and the JSON record.
    """
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"table format must be one of {', '.join(TABLE_FORMATS)}, not {fmt!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    when = when or datetime.now().astimezone()
    scenario = comparison.scenario
    stem = _free_stem(folder, scenario_stem(scenario.town, scenario.year, when), (".json", ".csv", ".xlsx"))
    table_path = folder / f"{stem}.{fmt}"
    json_path = folder / f"{stem}.json"
    town_names = comparison.ranking.loc[comparison.ranking["town_id"] == scenario.town, "town_name"]
    meta = {"saved": when.isoformat(timespec="seconds"), "note": note or "", "table": table_path.name,
            "town_name": str(town_names.iloc[0]) if len(town_names) else None,
            "study_name": comparison.provenance.get("study_name")}
    write_table(scenario_table(comparison), table_path, index=False)
    scenario.to_json(json_path, **meta)
    return SavedScenario(json_path=json_path, table_path=table_path, record=scenario.record(**meta))


def load_scenario(path: str | Path) -> Scenario:
    """Read a saved scenario (see :meth:`villagestudy.Scenario.from_json`)."""
    return Scenario.from_json(Path(path))
