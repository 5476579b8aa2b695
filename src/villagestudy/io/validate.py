"""Turn raw tables into canonical ones, and check them.

Column-level rules (types, ranges, choices, unique keys) are a pandera schema
built from :mod:`villagestudy.schema`; rules across columns and tables
(sub-counts, unknown ids, geometry) are vectorised checks here. Every problem
is appended to a :class:`~villagestudy.errors.ProblemList` with the file, the
row the user sees and the column; nothing raises until all are collected.
"""
from __future__ import annotations

import datetime as _dt
import warnings

import numpy as np
import pandas as pd
import pandera.pandas as pa

import shapely

from .._map_unique import map_unique
from ..errors import ProblemList
from ..schema import INCOME_CATEGORIES, TABLES, Table
from ..settings import AREA_UNITS, M2_PER_MU, MONEY_UNITS, Settings
from .aliases import FALSE_WORDS, TRUE_WORDS, VALUE_ALIASES
from .readers import ROW, RawTable

MIN_YEAR = 1949
MAX_YEAR = _dt.date.today().year + 1
_MAX_LISTED = 50  # problems of one kind listed per column before summarising

# file column name -> canonical column name once converted to canonical units
UNIT_COLUMNS = {"area": "area_mu", "land_area": "land_area_mu", "amount": "amount_yuan"}


def _pandera_schema(table: Table) -> pa.DataFrameSchema:
    columns = {}
    for col in table.columns:
        checks = []
        if col.kind in ("count", "area", "m2"):
            checks.append(pa.Check.ge(0, error="must not be negative"))
        if col.kind == "money" and col.name != "amount_yuan":
            checks.append(pa.Check.ge(0, error="must not be negative"))
        if col.kind == "year":
            checks.append(pa.Check.in_range(MIN_YEAR, MAX_YEAR, error=f"a year from {MIN_YEAR} to {MAX_YEAR}"))
        if col.choices:
            checks.append(pa.Check.isin(col.choices, error="one of " + ", ".join(col.choices)))
        columns[col.name] = pa.Column(checks=checks, nullable=col.nullable or not col.required,
                                      required=False, coerce=False)
    return pa.DataFrameSchema(columns, strict=False)


def _report_pandera(frame: pd.DataFrame, schema: pa.DataFrameSchema, file: str, problems: ProblemList) -> None:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
            for _, case in group.head(_MAX_LISTED).iterrows():
                idx = case["index"]
                row = int(frame.at[idx, ROW]) if idx is not None and not pd.isna(idx) and idx in frame.index else None
                if check == "not_nullable":
                    problems.error(file, "empty cell in a required column", row=row, column=column,
                                   expected="a value")
                else:
                    problems.error(file, "bad value", row=row, column=column, value=case["failure_case"],
                                   expected=str(check))
            if len(group) > _MAX_LISTED:
                problems.error(file, f"... and {len(group) - _MAX_LISTED} more rows with the same problem",
                               column=str(column))


def _to_number(frame: pd.DataFrame, column: str, file: str, problems: ProblemList) -> pd.Series:
    s = frame[column]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    text = map_unique(s, lambda v: str(v).replace(",", "").replace("，", "").strip() or None)
    num = pd.to_numeric(text, errors="coerce")
    bad = text.notna() & num.isna()
    for idx in bad[bad].index[:_MAX_LISTED]:
        problems.error(file, "not a number", row=int(frame.at[idx, ROW]), column=column,
                       value=s.at[idx], expected="a number")
    if bad.sum() > _MAX_LISTED:
        problems.error(file, f"... and {int(bad.sum()) - _MAX_LISTED} more cells that are not numbers", column=column)
    return num.astype("float64")


def _to_id(s: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s):
        return s.str.strip()
    def conv(v):
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip() or None
    return map_unique(s, conv, "str")


def _to_bool(frame: pd.DataFrame, column: str, file: str, problems: ProblemList) -> pd.Series:
    s = frame[column]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean")
    text = map_unique(s, lambda v: str(v).strip().lower())
    out = map_unique(text, lambda t: True if t in TRUE_WORDS else False if t in FALSE_WORDS else None)
    bad = text.notna() & out.isna()
    for idx in bad[bad].index[:_MAX_LISTED]:
        problems.error(file, "not a yes/no value", row=int(frame.at[idx, ROW]), column=column,
                       value=s.at[idx], expected="true/false, yes/no, 1/0 or 是/否")
    return out.astype("boolean")


def _to_category(frame: pd.DataFrame, column: str) -> pd.Series:
    aliases = VALUE_ALIASES.get(column, {})
    def canon(v):
        text = str(v).strip()
        return aliases.get(text, aliases.get(text.lower(), text.lower()))
    return map_unique(frame[column], canon, "str")


def _unit_factor(unit: str | None, kind: str, file: str, column: str, problems: ProblemList) -> float:
    table = AREA_UNITS if kind == "area" else MONEY_UNITS if kind == "money" else {"m2": 1.0, "mu": M2_PER_MU}
    if unit is None:
        return 1.0
    if unit not in table:
        problems.error(file, f"unit '{unit}' cannot be used here", column=column,
                       expected="one of " + ", ".join(table))
        return 1.0
    return table[unit]


def melt_wide_income(raw: RawTable, settings: Settings, problems: ProblemList) -> pd.DataFrame:
    """A wide income table (one column per category) to the long canonical form."""
    frame = raw.frame
    cats = [c for c in INCOME_CATEGORIES if c in frame.columns]
    missing = [c for c in INCOME_CATEGORIES if c not in frame.columns]
    if missing:
        problems.warning(raw.file, "wide income table lacks categories " + ", ".join(missing) +
                         "; they count as missing")
    parts = []
    for c in cats:
        unit = raw.units.get(c) or raw.sheet_unit or settings.money_unit
        factor = _unit_factor(unit, "money", raw.file, c, problems)
        amount = _to_number(frame, c, raw.file, problems) * factor
        part = pd.DataFrame({"village_id": frame.get("village_id"), "year": frame.get("year"),
                             "category": c, "amount_yuan": amount, ROW: frame[ROW]})
        parts.append(part[amount.notna()])
    if not parts:
        return pd.DataFrame(columns=["village_id", "year", "category", "amount_yuan", ROW])
    return pd.concat(parts, ignore_index=True)


def canonical_table(raw: RawTable, table: Table, settings: Settings, problems: ProblemList) -> pd.DataFrame | None:
    """Coerce a raw table to the canonical columns, types and units of ``table`` and check it."""
    file = raw.file
    frame = raw.frame
    if table.name == "income" and "category" not in frame.columns and any(c in frame for c in INCOME_CATEGORIES):
        frame = melt_wide_income(raw, settings, problems)
        raw = RawTable(frame, file, {"amount": "yuan"}, None)
    if len(frame) == 0:
        problems.error(file, "the table has no data rows", expected=f"one row per {table.key[0].removesuffix('_id')}")
        return None
    # units: area and amount columns become *_mu / *_yuan
    for src, dst in UNIT_COLUMNS.items():
        if src in frame.columns:
            kind = "money" if src == "amount" else "area"
            default = settings.money_unit if kind == "money" else settings.area_unit
            unit = raw.units.get(src) or raw.sheet_unit or default
            if kind == "area" and raw.sheet_unit in MONEY_UNITS and not raw.units.get(src):
                unit = settings.area_unit  # a money note says nothing about areas
            if kind == "money" and raw.sheet_unit in AREA_UNITS and not raw.units.get(src):
                unit = settings.money_unit
            factor = _unit_factor(unit, kind, file, src, problems)
            frame[dst] = _to_number(frame, src, file, problems) * factor
            frame = frame.drop(columns=[src])
    # every column the table declares
    missing_required = [c.name for c in table.columns if c.required and c.name not in frame.columns
                        and not (c.name == "area_mu")]
    for name in missing_required:
        problems.error(file, "required column is missing", column=name,
                       expected="a column named " + name + " (or its Chinese header)")
    for col in table.columns:
        if col.name not in frame.columns:
            continue
        if col.kind == "id":
            frame[col.name] = _to_id(frame[col.name])
        elif col.kind == "text":
            frame[col.name] = map_unique(frame[col.name], lambda v: str(v).strip(), "str")
        elif col.kind == "category":
            frame[col.name] = _to_category(frame, col.name)
        elif col.kind == "bool":
            frame[col.name] = _to_bool(frame, col.name, file, problems)
        elif col.kind in ("count", "year", "number", "money", "m2", "area"):
            values = _to_number(frame, col.name, file, problems)
            if col.kind in ("money", "m2") and raw.units.get(col.name):
                values = values * _unit_factor(raw.units[col.name], col.kind, file, col.name, problems)
            frame[col.name] = values
            if col.kind in ("count", "year"):
                frac = values.notna() & (values != np.floor(values))
                for idx in frac[frac].index[:_MAX_LISTED]:
                    problems.warning(file, "a count that is not a whole number", row=int(frame.at[idx, ROW]),
                                     column=col.name, value=frame.at[idx, col.name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        present = frame[[c for c in table.names if c in frame.columns] + [ROW]]
        _report_pandera(present.drop(columns=[ROW]).join(present[[ROW]]), _pandera_schema(table), file, problems)
    if all(k in frame.columns for k in table.key):
        _check_unique(frame, list(table.key), file, problems)
    _check_subcounts(frame, table, file, problems)
    if table.name == "income" and "amount_yuan" in frame and "category" in frame:
        neg = (frame["amount_yuan"] < 0) & (frame["category"] != "investment")
        for idx in neg[neg].index[:_MAX_LISTED]:
            problems.error(file, "negative amount outside investment income", row=int(frame.at[idx, ROW]),
                           column="amount", value=frame.at[idx, "amount_yuan"],
                           expected="a non-negative amount (only investment income may be a loss)")
    for c in ("year", "built_year"):
        if c in frame.columns and not frame[c].isna().any():
            frame[c] = frame[c].astype("int64")
    return frame


def _check_unique(frame: pd.DataFrame, key: list[str], file: str, problems: ProblemList) -> None:
    if len(key) == 1 and frame[key[0]].is_unique:  # one hash pass: the usual case is cheap
        return
    dup = frame[key].notna().all(axis=1) & frame.duplicated(key, keep=False)
    if not dup.any():
        return
    what = "id" if len(key) == 1 else "row for the same " + " + ".join(key)
    for value, rows in frame.loc[dup].groupby(key, sort=False)[ROW]:
        rows = list(rows)
        shown = value[0] if isinstance(value, tuple) and len(value) == 1 else value
        problems.error(file, f"duplicate {what} (rows {', '.join(map(str, rows[:10]))})", row=int(rows[1]),
                       column=key[0] if len(key) == 1 else ", ".join(key), value=shown,
                       expected="each " + ("id" if len(key) == 1 else "combination") + " once")


def _check_subcounts(frame: pd.DataFrame, table: Table, file: str, problems: ProblemList) -> None:
    for col in table.columns:
        if col.at_most and col.name in frame.columns and col.at_most in frame.columns:
            over = frame[col.name] > frame[col.at_most]
            for idx in over[over.fillna(False)].index[:_MAX_LISTED]:
                problems.error(file, f"{col.name} is above {col.at_most} ({frame.at[idx, col.at_most]:g})",
                               row=int(frame.at[idx, ROW]), column=col.name, value=frame.at[idx, col.name],
                               expected=f"at most {col.at_most}")


def repair_stripped_zeros(tables: dict[str, pd.DataFrame], files: dict[str, str], problems: ProblemList) -> None:
    """Restore leading zeros that a spreadsheet stripped from numeric codes (with a warning).

    An id that is unknown, all digits, and equal to exactly one known id once
    padded with zeros to that id's length is replaced by the known id.
    """
    refs = [("villages", "town_id", "towns", "town_id")] + [
        (name, "village_id", "villages", "village_id")
        for name in ("boundaries", "parcels", "parks", "grids", "income", "governance")]
    for name, column, ref_name, ref_column in refs:
        t, ref = tables.get(name), tables.get(ref_name)
        if t is None or ref is None or column not in t or ref_column not in ref:
            continue
        known = pd.Index(ref[ref_column].dropna().unique())
        unknown = pd.Index(t[column].dropna().unique()).difference(known)
        if unknown.empty:
            continue
        by_stripped: dict[str, list[str]] = {}
        for k in known:
            if k.isdigit() and k.startswith("0"):
                by_stripped.setdefault(k.lstrip("0"), []).append(k)
        fixes = {u: by_stripped[u][0] for u in unknown
                 if isinstance(u, str) and u.isdigit() and len(by_stripped.get(u, [])) == 1}
        if fixes:
            t[column] = t[column].replace(fixes)
            problems.warning(files[name], f"{len(fixes)} {column} value(s) had lost their leading zeros "
                             f"(e.g. {next(iter(fixes))} -> {next(iter(fixes.values()))}) and were restored; "
                             "store ids as text to avoid this", column=column)


def check_references(tables: dict[str, pd.DataFrame], files: dict[str, str], problems: ProblemList) -> None:
    """Ids that point nowhere: villages' town_id, every table's village_id, grids' parent."""
    towns, villages = tables.get("towns"), tables.get("villages")
    if towns is not None and villages is not None and "town_id" in villages and "town_id" in towns:
        _unknown(villages, "town_id", set(towns["town_id"]), files["villages"], "a town_id listed in " +
                 files["towns"], problems)
    if villages is None or "village_id" not in villages:
        return
    known = set(villages["village_id"])
    for name in ("boundaries", "parcels", "parks", "grids", "income", "governance"):
        t = tables.get(name)
        if t is not None and "village_id" in t:
            check_village_ids(t, known, files[name], files["villages"], problems)
    if tables.get("grids") is not None:
        check_grid_parents(tables["grids"], files["grids"], problems)


def check_village_ids(frame: pd.DataFrame, known, file: str, villages_file: str, problems: ProblemList) -> None:
    """Rows whose ``village_id`` is not one of ``known`` (the ids of ``villages_file``)."""
    _unknown(frame, "village_id", known, file, "a village_id listed in " + villages_file, problems)


def check_grid_parents(grids: pd.DataFrame, file: str, problems: ProblemList, *, within: str = "") -> None:
    """Micro-grids whose ``parent_grid_id`` is not the ``grid_id`` of a grid (level = grid) of ``grids``.

    ``within`` is added to the expectation, e.g. ``" in the same partition"``.
    """
    if not {"parent_grid_id", "level", "grid_id"} <= set(grids.columns):
        return
    parents = set(grids.loc[grids["level"] == "grid", "grid_id"])
    micro = grids[(grids["level"] == "micro") & grids["parent_grid_id"].notna()]
    _unknown(micro, "parent_grid_id", parents, file, "the grid_id of a grid (level = grid)" + within, problems)


def _unknown(frame: pd.DataFrame, column: str, known: set, file: str, expected: str, problems: ProblemList) -> None:
    bad = frame[column].notna() & ~frame[column].isin(known)
    for idx in bad[bad].index[:_MAX_LISTED]:
        problems.error(file, "unknown id", row=int(frame.at[idx, ROW]), column=column, value=frame.at[idx, column],
                       expected=expected)
    if bad.sum() > _MAX_LISTED:
        problems.error(file, f"... and {int(bad.sum()) - _MAX_LISTED} more unknown ids", column=column)


def check_geometry(frame, id_column: str, file: str, problems: ProblemList) -> None:
    """Null, empty and invalid geometries, each reported with its id (never dropped)."""
    null = frame.geometry.isna().to_numpy()
    arr = np.asarray(frame.geometry.array)
    empty = ~null & shapely.is_empty(arr)
    invalid = ~null & ~empty & ~shapely.is_valid(arr)
    for mask, what, expected in ((null, "missing geometry", "a polygon"), (empty, "empty geometry", "a polygon"),
                                 (invalid, "invalid geometry", "a valid polygon (no self-intersections)")):
        idx = np.flatnonzero(mask)
        for i in idx[:_MAX_LISTED]:
            reason = ""
            if what == "invalid geometry":
                reason = " (" + shapely.is_valid_reason(arr[i]) + ")"
            ident = frame[id_column].iloc[i] if id_column in frame else "?"
            problems.error(file, f"{what} for {id_column} {ident}{reason}", row=int(frame[ROW].iloc[i]),
                           column="geometry", expected=expected)
        if len(idx) > _MAX_LISTED:
            problems.error(file, f"... and {len(idx) - _MAX_LISTED} more with {what}", column="geometry")
