"""Scenarios of a consultation: the choices made in a meeting, saved on record.

A scenario is two files written side by side (each atomically):

* ``<stem>.json`` - the parameters and where they apply::

      {"parameters": {"weights": {...}, "standards": {...}, "normalise": ..., "aggregate": ...},
       "town_id": ..., "town_name": ..., "year": ..., "data_fingerprint": ..., "package_version": ...,
       "saved": "2024-05-01T20:15:03+08:00", "table": "<stem>.csv", "note": ..., ...}

  The ``parameters`` object is what ``villagestudy reports --params FILE``
  reads, so the town reports can be remade with the meeting's choices.
* ``<stem>.csv`` (UTF-8 with BOM, so that Excel shows Chinese) or
  ``<stem>.xlsx`` - the resulting ranking table.

File names are made by the package (``scenario_town_<safe id>_<year>_<time>``),
never taken from data; an existing file is never overwritten.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping

import pandas as pd

from .._atomic import atomic_path, write_table
from .._version import __version__
from ..settings import STANDARDS

__all__ = ["SavedScenario", "TABLE_FORMATS", "scenario_parameters", "scenario_record", "save_scenario",
           "load_scenario", "scenario_stem"]

TABLE_FORMATS = ("csv", "xlsx")
PILLARS = ("land", "income", "governance")


@dataclass
class SavedScenario:
    """Where a scenario was written, and what."""

    json_path: Path
    table_path: Path
    record: dict


def _number(value) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"not a number: {value!r}") from None
    return None if math.isnan(x) else x


def scenario_parameters(weights: Mapping[str, float], standards: Mapping[str, float | None], normalise: str,
                        aggregate: str) -> dict:
    """The ``parameters`` object of a scenario (JSON-ready: plain floats, ``None`` for unset standards).

    Examples
    --------
    >>> scenario_parameters({"land": 2, "income": 1, "governance": 1}, {"weak_total_yuan": 200000},
    ...                     "minmax", "arithmetic")["weights"]
    {'land': 2.0, 'income': 1.0, 'governance': 1.0}
    """
    unknown = sorted(set(standards) - set(STANDARDS))
    if unknown:
        raise KeyError(f"unknown standard(s): {', '.join(unknown)}; known: {', '.join(STANDARDS)}")
    return {
        "weights": {str(k): float(v) for k, v in weights.items()},
        "standards": {k: _number(v) for k, v in standards.items()},
        "normalise": str(normalise),
        "aggregate": str(aggregate),
    }


def scenario_record(parameters: dict, *, town_id: str, year: int | None, data_fingerprint: str,
                    town_name: str | None = None, study_name: str | None = None, study_path: str | None = None,
                    uncertainty: dict | None = None, note: str = "", table: str | None = None,
                    saved: datetime | None = None) -> dict:
    """The whole JSON record of a scenario (see the module docstring)."""
    saved = saved or datetime.now().astimezone()
    return {
        "parameters": parameters,
        "town_id": str(town_id),
        "town_name": town_name,
        "year": None if year is None else int(year),
        "data_fingerprint": data_fingerprint,
        "package_version": __version__,
        "saved": saved.isoformat(timespec="seconds"),
        "study": study_name,
        "study_path": study_path,
        "uncertainty": uncertainty,
        "note": note or "",
        "table": table,
    }


def scenario_stem(town_id: str, year: int | None, when: datetime) -> str:
    """A safe file stem: ``scenario_town_<id>_<year>_<YYYYmmdd-HHMMSS>`` (no path from data)."""
    from ..safe_text import safe_file_name

    stem = f"scenario_{safe_file_name(str(town_id))}_{'all' if year is None else int(year)}_{when:%Y%m%d-%H%M%S}"
    stem = re.sub(r"[^0-9A-Za-z_-]", "_", stem)  # no dots either: never '..', never hidden
    return stem


def _free_stem(folder: Path, stem: str, suffixes: tuple[str, ...]) -> str:
    candidate, k = stem, 1
    while any((folder / f"{candidate}{s}").exists() for s in suffixes):
        k += 1
        candidate = f"{stem}-{k}"
    return candidate


def save_scenario(folder: str | Path, table: pd.DataFrame, parameters: dict, *, town_id: str, year: int | None,
                  data_fingerprint: str, fmt: str = "csv", town_name: str | None = None,
                  study_name: str | None = None, study_path: str | None = None, uncertainty: dict | None = None,
                  note: str = "", when: datetime | None = None) -> SavedScenario:
    """Write a scenario's table and JSON into ``folder`` (created when missing).

    Parameters
    ----------
    folder : path
        Output folder, e.g. ``outputs/scenarios``.
    table : DataFrame
        The ranking table to record (written without its index: put
        ``village_id`` in a column).
    parameters : dict
        From :func:`scenario_parameters`.
    fmt : {"csv", "xlsx"}
        Format of the table (CSV is UTF-8 with BOM).

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
    stem = _free_stem(folder, scenario_stem(town_id, year, when), (".json", ".csv", ".xlsx"))
    table_path = folder / f"{stem}.{fmt}"
    json_path = folder / f"{stem}.json"
    record = scenario_record(parameters, town_id=town_id, year=year, data_fingerprint=data_fingerprint,
                             town_name=town_name, study_name=study_name, study_path=study_path,
                             uncertainty=uncertainty, note=note, table=table_path.name, saved=when)
    write_table(table, table_path, index=False)
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return SavedScenario(json_path=json_path, table_path=table_path, record=record)


def load_scenario(path: str | Path) -> dict:
    """Read a scenario JSON; the record with its ``parameters`` checked.

    Raises ``ValueError`` when the file is not a scenario (no ``parameters``
    object, unknown standards, weights that are not numbers).
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read scenario {path}: {e}") from None
    return check_scenario(record, path)


def check_scenario(record: object, source: str | Path = "scenario") -> dict:
    """A scenario record with its ``parameters`` checked (see :func:`load_scenario`)."""
    path = source
    params = record.get("parameters") if isinstance(record, dict) else None
    if not isinstance(params, dict):
        raise ValueError(f"{path} is not a scenario: it has no 'parameters' object")
    try:
        record["parameters"] = scenario_parameters(params.get("weights", {}), params.get("standards", {}),
                                                   params.get("normalise", "minmax"),
                                                   params.get("aggregate", "arithmetic"))
    except (KeyError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from None
    return record
