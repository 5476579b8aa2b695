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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from .._map_unique import found_in, map_unique
from ..errors import ProblemList
from ..schema import INCOME_CATEGORIES, TABLES, Table
from ..settings import AREA_UNITS, M2_PER_MU, MONEY_UNITS, Settings
from .aliases import FALSE_WORDS, TRUE_WORDS, VALUE_ALIASES
from .readers import ROW, RawTable

if TYPE_CHECKING:
    import pandera.pandas as pa

MIN_YEAR = 1949
MAX_YEAR = _dt.date.today().year + 1
_MAX_LISTED = 50  # problems of one kind listed per column before summarising

# file column name -> canonical column name once converted to canonical units
UNIT_COLUMNS = {"area": "area_mu", "land_area": "land_area_mu", "amount": "amount_yuan"}


def _pandera_schema(table: Table) -> pa.DataFrameSchema:
    import pandera.pandas as pa  # imported when a file is checked, not with the package (0.4 s)

    columns = {}
    for col in table.columns:
        checks = []
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
    import pandera.pandas as pa

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
    # converted once per distinct value: a province's income table has half a million cells of five years
    codes, distinct = pd.factorize(s, use_na_sentinel=True)
    text = _number_text(pd.Series(distinct, dtype=object))
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    not_number = (text.notna() & np.isnan(values)).to_numpy()
    num = pd.Series(np.append(values, np.nan)[codes], index=s.index, name=column)  # code -1 (missing): the last
    bad = pd.Series(np.append(not_number, False)[codes], index=s.index)
    for idx in bad[bad].index[:_MAX_LISTED]:
        problems.error(file, "not a number", row=int(frame.at[idx, ROW]), column=column,
                       value=s.at[idx], expected="a number")
    if bad.sum() > _MAX_LISTED:
        problems.error(file, f"... and {int(bad.sum()) - _MAX_LISTED} more cells that are not numbers", column=column)
    return num.astype("float64")


#: the full-width forms of ASCII (U+FF01-FF5E) and the ideographic space, as Chinese input methods type them;
#: not all of NFKC, which would also read a superscript 10⁴ as 104
_FULLWIDTH_ASCII = {**{0xFF01 + k: 0x21 + k for k in range(94)}, 0x3000: 0x20}


def _number_text(values: pd.Series) -> pd.Series:
    """Each value as text: full-width digits and signs as ASCII (１，２３４．５ -> 1,234.5), without
    thousands separators or surrounding spaces; empty -> missing."""
    text = values.astype("str").str.translate(_FULLWIDTH_ASCII).str.replace(",", "", regex=False).str.strip()
    return text.where(text != "")


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
    empty = pd.Series(True, index=frame.index)
    for c in cats:
        unit = raw.units.get(c) or raw.sheet_unit or settings.money_unit
        factor = _unit_factor(unit, "money", raw.file, c, problems)
        amount = _to_number(frame, c, raw.file, problems) * factor
        part = pd.DataFrame({"village_id": frame.get("village_id"), "year": frame.get("year"),
                             "category": c, "amount_yuan": amount, ROW: frame[ROW]})
        parts.append(part[amount.notna()])
        empty &= amount.isna()
    for r in frame.loc[empty, ROW]:
        problems.warning(raw.file, "row with no amount in any income category not loaded", row=int(r),
                         expected="an amount (0 when there was none)")
        raw.dropped.append((int(r), "no amount in any category"))
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
            _check_range(frame, col, file, problems)
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
    if table.name == "villages":  # optional counts present as empty, as Study.from_frames makes them
        for col in table.columns:
            if col.kind == "count" and col.nullable and col.name not in frame.columns:
                frame[col.name] = np.nan
    return frame


def _check_range(frame: pd.DataFrame, col, file: str, problems: ProblemList) -> None:
    """Numbers must be finite and plausible (``Column.limits``, in canonical units); a bad value is
    an error, so that ``inf`` or ``1e308`` never reaches a sum, a rank or a report."""
    limits = col.limits
    values = frame[col.name]
    finite = np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))
    bad = values.notna().to_numpy() & ~finite
    if limits is not None:
        lo, hi = limits
        bad |= finite & ((values < lo) | (values > hi)).to_numpy()
    idx = np.flatnonzero(bad)
    unit = {"area": " mu", "money": " yuan", "m2": " m2"}.get(col.kind, "")
    expected = (f"a number from {_fmt(limits[0])} to {_fmt(limits[1])}{unit}" if limits is not None
                else "a finite number")
    for i in idx[:_MAX_LISTED]:
        v = float(values.iloc[i])
        what = ("not a finite number" if not np.isfinite(v) else
                "must not be negative" if limits is not None and v < 0 <= limits[0] else "implausible value")
        problems.error(file, what, row=int(frame[ROW].iloc[i]), column=col.name, value=v, expected=expected)
    if len(idx) > _MAX_LISTED:
        problems.error(file, f"... and {len(idx) - _MAX_LISTED} more values out of range", column=col.name)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) < 1e9 else f"{x:.0e}"


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
    bad = frame[column].notna() & ~found_in(frame[column], list(known))
    for idx in bad[bad].index[:_MAX_LISTED]:
        problems.error(file, "unknown id", row=int(frame.at[idx, ROW]), column=column, value=frame.at[idx, column],
                       expected=expected)
    if bad.sum() > _MAX_LISTED:
        problems.error(file, f"... and {int(bad.sum()) - _MAX_LISTED} more unknown ids", column=column)


def check_geometry(frame, id_column: str, file: str, problems: ProblemList) -> None:
    """Null, empty, invalid and non-polygon geometries, each reported with its id (never dropped)."""
    null = frame.geometry.isna().to_numpy()
    arr = np.asarray(frame.geometry.array)
    empty = ~null & shapely.is_empty(arr)
    types = shapely.get_type_id(arr)
    wrong = ~null & ~empty & ~np.isin(types, POLYGON_TYPES)
    invalid = ~null & ~empty & ~wrong & ~shapely.is_valid(arr)
    for mask, what, expected in ((null, "missing geometry", "a polygon"), (empty, "empty geometry", "a polygon"),
                                 (wrong, "not a polygon", "a polygon or multipolygon (an area, not a point, "
                                  "line or collection)"),
                                 (invalid, "invalid geometry", "a valid polygon (no self-intersections)")):
        idx = np.flatnonzero(mask)
        for i in idx[:_MAX_LISTED]:
            reason = ""
            if what == "invalid geometry":
                reason = " (" + shapely.is_valid_reason(arr[i]) + ")"
            ident = frame[id_column].iloc[i] if id_column in frame else "?"
            problems.error(file, f"{what} for {id_column} {ident}{reason}", row=int(frame[ROW].iloc[i]),
                           column="geometry", value=arr[i].geom_type if what == "not a polygon" else None,
                           expected=expected)
        if len(idx) > _MAX_LISTED:
            problems.error(file, f"... and {len(idx) - _MAX_LISTED} more with {what}", column="geometry")


POLYGON_TYPES = (3, 6)  # shapely type ids of Polygon and MultiPolygon
_WORST = 5  # ids named in a layout warning


def check_parcel_layout(parcels, settings: Settings, file: str, problems: ProblemList, *,
                        boundaries=None, registered_mu: pd.Series | None = None,
                        town_of_village: pd.Series | None = None) -> pd.DataFrame:
    """Overlaps, slivers, parcels outside their village and registered vs drawn area: warnings.

    Vectorised (an STRtree query, then shapely on the candidate pairs only).
    Each finding is one warning with its count and the worst ids; the
    per-town counts are returned for the data-quality summary.

    Parameters
    ----------
    parcels : GeoDataFrame
        Canonical parcels (``parcel_id``, ``village_id``, geometry) in a projected CRS (m).
    settings : Settings
        ``overlap_tolerance_m2``, ``sliver_m2``, ``outside_boundary_share``, ``area_mismatch_share``.
    boundaries : GeoDataFrame, optional
        Village polygons (``village_id``); parcels outside their own village are counted.
    registered_mu : Series, optional
        The registered area (mu) from the file, aligned with ``parcels``.
    town_of_village : Series, optional
        ``town_id`` by ``village_id``, to count findings per town.

    Returns
    -------
    DataFrame
        ``check``, ``town_id``, ``count``: one row per check and town with findings.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from villagestudy.errors import ProblemList
    >>> p = gpd.GeoDataFrame({"parcel_id": ["a", "b"], "village_id": ["v1", "v1"], "_row": [1, 2]},
    ...                      geometry=[shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)], crs="EPSG:4547")
    >>> pl = ProblemList()
    >>> check_parcel_layout(p, Settings(), "parcels.gpkg", pl)[["check", "count"]].values.tolist()
    [['overlap', 1]]
    >>> print(pl.warnings[0].message)  # doctest: +ELLIPSIS
    1 pair(s) of parcels overlap by more than 1 m2 (50 m2 in all); largest: a/b (50 m2)...
    """


    geoms = np.asarray(parcels.geometry.array)
    ok = ~pd.isna(geoms)
    ok[ok] = ~shapely.is_empty(geoms[ok]) & np.isin(shapely.get_type_id(geoms[ok]), POLYGON_TYPES) \
        & shapely.is_valid(geoms[ok])
    ids = parcels["parcel_id"].astype(str).to_numpy()
    villages = parcels["village_id"].to_numpy()
    towns = (pd.Series(villages).map(town_of_village).to_numpy() if town_of_village is not None
             else np.full(len(parcels), None))
    area = np.full(len(parcels), np.nan)
    area[ok] = shapely.area(geoms[ok])
    found: list[pd.DataFrame] = []

    def record(check: str, rows: np.ndarray) -> None:
        if len(rows):
            t = pd.Series(towns[rows]).fillna("")
            found.append(t.value_counts().rename_axis("town_id").reset_index(name="count").assign(check=check))

    # slivers
    sliver = np.flatnonzero(ok & (area < settings.sliver_m2))
    if len(sliver):
        worst = sliver[np.argsort(area[sliver])[:_WORST]]
        problems.warning(file, f"{len(sliver)} sliver parcel(s) smaller than {settings.sliver_m2:g} m2; smallest: "
                         + ", ".join(f"{ids[k]} ({area[k]:.2f} m2)" for k in worst), column="geometry",
                         expected="parcels drawn whole (slivers are often digitising errors)")
        record("sliver", sliver)
    # overlaps between parcels (touching edges are not overlaps)
    rows_ok = np.flatnonzero(ok)
    if len(rows_ok) > 1:
        g = geoms[rows_ok]
        tree = shapely.STRtree(g)
        i, j = tree.query(g, predicate="intersects")
        keep = i < j
        i, j = i[keep], j[keep]
        if len(i):  # two boxes that overlap by no more than the tolerance cannot hold a larger overlap
            bb = shapely.bounds(g)
            w = np.minimum(bb[i, 2], bb[j, 2]) - np.maximum(bb[i, 0], bb[j, 0])
            h = np.minimum(bb[i, 3], bb[j, 3]) - np.maximum(bb[i, 1], bb[j, 1])
            keep = w * h > settings.overlap_tolerance_m2
            i, j = i[keep], j[keep]
        if len(i):
            inner = ~shapely.touches(g[i], g[j])
            i, j = i[inner], j[inner]
        if len(i):
            inter = shapely.area(shapely.intersection(g[i], g[j]))
            big = inter > settings.overlap_tolerance_m2
            i, j, inter = rows_ok[i[big]], rows_ok[j[big]], inter[big]
            if len(i):
                order = np.argsort(-inter)[:_WORST]
                problems.warning(file, f"{len(i)} pair(s) of parcels overlap by more than "
                                 f"{settings.overlap_tolerance_m2:g} m2 ({_m2(inter.sum())} m2 in all); largest: "
                                 + ", ".join(f"{ids[i[k]]}/{ids[j[k]]} ({_m2(inter[k])} m2)" for k in order)
                                 + "; the overlapping area counts twice in land totals", column="geometry",
                                 expected="parcels that do not overlap (overlap_tolerance_m2 in study.toml)")
                record("overlap", i)
    # parcels outside their village's boundary
    if boundaries is not None and len(boundaries) and "village_id" in boundaries:
        bmap = pd.Series(np.asarray(boundaries.geometry.array), index=boundaries["village_id"].to_numpy())
        bmap = bmap[~bmap.index.duplicated()]
        bgeom = pd.Series(villages).map(bmap).to_numpy()
        has = ok & ~pd.isna(bgeom)
        rows = np.flatnonzero(has)
        if len(rows):
            bg = bgeom[rows].astype(object)
            valid_b = shapely.is_valid(bg)
            rows, bg = rows[valid_b], bg[valid_b]
            shapely.prepare(bg)
            out_rows = rows[~shapely.covers(bg, geoms[rows])]
            if len(out_rows):
                bo = bgeom[out_rows].astype(object)
                share = shapely.area(shapely.difference(geoms[out_rows], bo)) / area[out_rows]
                far = share > settings.outside_boundary_share
                out_rows, share = out_rows[far], share[far]
                if len(out_rows):
                    order = np.argsort(-share)[:_WORST]
                    problems.warning(file, f"{len(out_rows)} parcel(s) lie more than "
                                     f"{settings.outside_boundary_share:.0%} outside their village's boundary; "
                                     "most: " + ", ".join(f"{ids[out_rows[k]]} ({share[k]:.0%} outside)"
                                                          for k in order), column="geometry",
                                     expected="each parcel inside the boundary of its village_id")
                    record("outside_boundary", out_rows)
    # registered vs drawn area
    if registered_mu is not None:
        reg = pd.to_numeric(registered_mu, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        drawn = area / M2_PER_MU
        both = ok & np.isfinite(reg) & (drawn > 0)
        diff = np.full(len(parcels), np.nan)
        diff[both] = np.abs(reg[both] - drawn[both]) / drawn[both]
        bad = np.flatnonzero(both & (diff > settings.area_mismatch_share))
        if len(bad):
            order = bad[np.argsort(-diff[bad])[:_WORST]]
            problems.warning(file, f"{len(bad)} of {int(both.sum())} parcel(s) have a registered area that "
                             f"differs from the drawn area by more than {settings.area_mismatch_share:.0%}; "
                             "largest: " + ", ".join(f"{ids[k]} ({reg[k]:,.2f} mu registered, "
                                                     f"{drawn[k]:,.2f} mu drawn)" for k in order)
                             + f"; land indicators use the {_AREA_SOURCE_TEXT[settings.area_source]}",
                             column="area", expected="registered and drawn areas that agree (area_source and "
                                                     "area_mismatch_share in study.toml)")
            record("area_mismatch", bad)
    if not found:
        return pd.DataFrame({"check": pd.Series(dtype="str"), "town_id": pd.Series(dtype="str"),
                             "count": pd.Series(dtype="int64")})
    return pd.concat(found, ignore_index=True)[["check", "town_id", "count"]]


def _m2(x: float) -> str:
    return f"{x:,.2f}" if x < 10 else f"{x:,.0f}"


_AREA_SOURCE_TEXT = {"register": "registered area (area_source = \"register\")",
                     "geometry": "drawn area (area_source = \"geometry\")"}


QUALITY_COLUMNS = ("file", "town_id", "row", "column", "value", "action", "count", "message")
_CORRECTED_WORDS = ("restored", "taken from", "use the drawn area", "read as")
_DROPPED_WORDS = ("dropped", "ignored", "not read")


def quality_table(warnings, stats: dict, tables: dict, layout: pd.DataFrame | None = None) -> pd.DataFrame:
    """The data-quality summary of a load: what was read, loaded, dropped, corrected or warned about.

    One row per observation, columns :data:`QUALITY_COLUMNS`: ``action`` is
    ``read`` / ``loaded`` (``count`` rows of a file), ``dropped``, ``corrected``
    or ``warning`` (one problem each; layout checks give a ``count`` per town).
    ``town_id`` is filled where the row (or the parcel) belongs to a town.

    Examples
    --------
    >>> from villagestudy.errors import Problem
    >>> q = quality_table([Problem("parks.csv", "total row (合计/总计) dropped: it is not a village", row=9)], {}, {})
    >>> q[["file", "row", "action"]].values.tolist()
    [['parks.csv', 9, 'dropped']]
    """
    villages = tables.get("villages")
    town_of = (villages.drop_duplicates("village_id").set_index("village_id")["town_id"]
               if villages is not None and {"village_id", "town_id"} <= set(villages) else pd.Series(dtype="str"))
    by_file: dict[str, pd.Series] = {}
    records: list[dict] = []
    for name, raw in stats.items():
        frame = tables.get(name)
        if frame is not None and ROW in frame:
            town = frame["town_id"] if "town_id" in frame else (
                frame["village_id"].map(town_of) if "village_id" in frame else None)
            if town is not None:
                by_file[raw.file] = pd.Series(town.to_numpy(), index=frame[ROW].to_numpy()).groupby(level=0).first()
        loaded = int(frame[ROW].nunique()) if frame is not None and ROW in frame else 0
        records.append({"file": raw.file, "action": "read", "count": int(raw.rows_read),
                        "message": f"{raw.rows_read} data row(s) read"})
        records.append({"file": raw.file, "action": "loaded", "count": loaded,
                        "message": f"{loaded} row(s) loaded, {len(raw.dropped)} dropped"})
    for w in warnings:
        text = w.message
        action = ("corrected" if any(k in text for k in _CORRECTED_WORDS)
                  else "dropped" if any(k in text for k in _DROPPED_WORDS) else "warning")
        town = None
        if w.row is not None and w.file in by_file:
            town = by_file[w.file].get(w.row)
        records.append({"file": w.file, "town_id": town, "row": w.row, "column": w.column,
                        "value": None if w.value is None else str(w.value), "action": action, "count": 1,
                        "message": str(w)})
    if layout is not None and len(layout):
        pfile = next((raw.file for n, raw in stats.items() if n == "parcels"), "parcels")
        for rec in layout.itertuples(index=False):
            records.append({"file": pfile, "town_id": rec.town_id or None, "column": "geometry", "action": "warning",
                            "count": int(rec.count), "message": _LAYOUT_TEXT.get(rec.check, rec.check)})
    out = pd.DataFrame.from_records(records, columns=list(QUALITY_COLUMNS))
    out["row"] = out["row"].astype("Int64")
    out["count"] = out["count"].fillna(1).astype("int64")
    return out


_LAYOUT_TEXT = {"overlap": "parcels overlapping another parcel", "sliver": "sliver parcels",
                "outside_boundary": "parcels outside their village's boundary",
                "area_mismatch": "parcels whose registered and drawn areas differ"}
