"""Read one study file into a raw frame of strings with canonical headers.

Handles what office exports look like: several encodings, title rows above the
header, a unit note (``单位：万元``), two-row (merged) headers, and total rows
(``合计``) at the bottom, which are dropped and mentioned. Every raw frame keeps
the row number the user sees in the file in the column ``_row``.
"""
from __future__ import annotations

import csv
import io as _io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._map_unique import map_unique
from ..errors import ProblemList
from .aliases import is_total_marker, resolve_header, unit_note

ROW = "_row"
ENCODINGS = ("utf-8-sig", "gb18030")
_MAX_HEADER_SEARCH = 15


@dataclass
class RawTable:
    """A table as read: strings (or numbers from spreadsheets), canonical headers."""

    frame: pd.DataFrame
    file: str
    units: dict[str, str] = field(default_factory=dict)  # canonical column -> unit from header
    sheet_unit: str | None = None  # unit from a note such as 单位：万元
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)


def decode_text(path: Path, problems: ProblemList) -> tuple[str | None, str | None]:
    """Decode a text file as UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    errors = []
    for enc in ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as e:
            errors.append(f"{enc}: byte {data[e.start:e.start + 1]!r} at position {e.start}")
    problems.error(path.name, "cannot decode the file", expected="text in UTF-8 (with or without BOM) or "
                   "GB18030/GBK; save it again as 'CSV UTF-8' (" + "; ".join(errors) + ")")
    return None, None


def _delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _grid_from_csv(text: str) -> list[list[str]]:
    return [row for row in csv.reader(_io.StringIO(text), delimiter=_delimiter(text))]


def _grid_from_xlsx(path: Path) -> list[list[object]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
    ws = wb.worksheets[0]
    # fill merged cells with their top-left value so merged headers are read whole
    fills = []
    for rng in ws.merged_cells.ranges:
        value = ws.cell(rng.min_row, rng.min_col).value
        fills.append((rng.min_row, rng.max_row, rng.min_col, rng.max_col, value))
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    for r0, r1, c0, c1, value in fills:
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if r - 1 < len(grid) and c - 1 < len(grid[r - 1]):
                    grid[r - 1][c - 1] = value
    wb.close()
    return grid


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
        return repr(value)
    text = str(value).strip()
    return text or None


def _is_number(value: object) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == value
    text = _cell_text(value)
    if text is None:
        return False
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def _find_header(grid: list[list[object]], expected: set[str]) -> int | None:
    best, best_score = None, 0
    for i, row in enumerate(grid[:_MAX_HEADER_SEARCH]):
        names = {resolve_header(c)[0] for c in row if c is not None}
        score = len(names & expected)
        if score > best_score:
            best, best_score = i, score
    return best if best_score >= 1 else None


def read_grid_table(path: Path, grid: list[list[object]], expected: set[str], problems: ProblemList,
                    encoding: str | None = None, body=None) -> RawTable | None:
    """Turn a grid of cells (rows of a CSV or a sheet) into a :class:`RawTable`.

    ``body``, when given, reads the data rows itself: ``body(data_start, keep)``
    returns a frame of the kept columns (by position) and the file row numbers;
    ``grid`` then needs to hold only the first rows (title, header).
    """
    grid = [list(r) for r in grid]
    width = max((len(r) for r in grid), default=0)
    grid = [r + [None] * (width - len(r)) for r in grid]
    h = _find_header(grid, expected)
    if h is None:
        problems.error(path.name, "no header row with known column names found in the first "
                       f"{_MAX_HEADER_SEARCH} rows", expected="columns such as " + ", ".join(sorted(expected)[:6]))
        return None
    sheet_unit = None
    for row in grid[:h]:
        for cell in row:
            sheet_unit = sheet_unit or unit_note(cell)
    header = [_cell_text(c) for c in grid[h]]
    resolved = [resolve_header(c) for c in header]
    data_start = h + 1
    # a second header row (merged group headers above sub-headers)
    if data_start < len(grid):
        below = [resolve_header(c) for c in grid[data_start]]
        gains = [i for i, (b, a) in enumerate(zip(below, resolved)) if b[0] and b[0] != a[0]]
        # data rows carry numbers (years, amounts, counts); a sub-header row carries none
        if gains and not any(_is_number(c) for c in grid[data_start]):
            for i in gains:
                resolved[i] = below[i]
            for i, c in enumerate(grid[data_start]):
                sheet_unit = sheet_unit or unit_note(c)
            data_start += 1
    for cell in header:
        sheet_unit = sheet_unit or unit_note(cell)
    columns, units, ignored, seen = [], {}, [], set()
    for i, ((name, unit), text) in enumerate(zip(resolved, header)):
        if name is None or name in seen:
            label = text or f"column {i + 1}"
            if name in seen:
                problems.warning(path.name, f"column '{label}' repeats '{name}' and was ignored", row=h + 1)
            elif text:
                ignored.append(label)
            columns.append(None)
            continue
        seen.add(name)
        columns.append(name)
        if unit:
            units[name] = unit
    keep = [i for i, c in enumerate(columns) if c is not None]
    if body is not None:
        frame, numbers = body(data_start, keep)
        frame.columns = [columns[i] for i in keep]
        frame[ROW] = numbers
        frame = _drop_total_rows(frame, path.name, problems)
        return RawTable(frame, path.name, units, sheet_unit, encoding, ignored)
    rows, numbers = [], []
    for r in range(data_start, len(grid)):
        values = [grid[r][i] for i in keep]
        if all(_cell_text(v) is None for v in values):
            continue
        rows.append(values)
        numbers.append(r + 1)
    frame = pd.DataFrame(rows, columns=[columns[i] for i in keep], dtype=object)
    frame[ROW] = numbers
    frame = _drop_total_rows(frame, path.name, problems)
    return RawTable(frame, path.name, units, sheet_unit, encoding, ignored)


def _drop_total_rows(frame: pd.DataFrame, file: str, problems: ProblemList) -> pd.DataFrame:
    if frame.empty:
        return frame
    text_cols = [c for c in frame.columns if c != ROW][:4]
    is_total = pd.Series(False, index=frame.index)
    for c in text_cols:
        is_total |= map_unique(frame[c], is_total_marker).fillna(False).astype(bool)
    for r in frame.loc[is_total, ROW]:
        problems.warning(file, "total row (合计/总计) dropped: it is not a village", row=int(r))
    return frame.loc[~is_total].reset_index(drop=True)


_FAST_CSV_LINES = 5000  # past this, data rows are parsed by pandas' C reader


def read_text_table(path: Path, expected: set[str], problems: ProblemList) -> RawTable | None:
    text, enc = decode_text(path, problems)
    if text is None:
        return None
    if text.count("\n") < _FAST_CSV_LINES:
        return read_grid_table(path, _grid_from_csv(text), expected, problems, encoding=enc)
    head = "\n".join(text.split("\n", _MAX_HEADER_SEARCH + 2)[: _MAX_HEADER_SEARCH + 2])
    grid = _grid_from_csv(head)
    delimiter = _delimiter(head)
    width = max(len(r) for r in grid)

    def body(data_start: int, keep: list[int]):
        frame = pd.read_csv(_io.StringIO(text), header=None, skiprows=data_start, names=list(range(width)),
                            usecols=keep, dtype=str, keep_default_na=False, na_values=[""], sep=delimiter,
                            skip_blank_lines=False, engine="c")
        numbers = pd.RangeIndex(data_start + 1, data_start + 1 + len(frame))
        blank = frame.isna().all(axis=1).to_numpy()
        frame = frame.loc[~blank].reset_index(drop=True)
        frame = frame.astype(object).where(frame.notna(), None)
        return frame, numbers[~blank]

    try:
        return read_grid_table(path, grid, expected, problems, encoding=enc, body=body)
    except (pd.errors.ParserError, ValueError):  # ragged rows: the slower reader copes
        return read_grid_table(path, _grid_from_csv(text), expected, problems, encoding=enc)


def read_xlsx_table(path: Path, expected: set[str], problems: ProblemList) -> RawTable | None:
    try:
        grid = _grid_from_xlsx(path)
    except Exception as e:  # a corrupt or password-protected workbook
        problems.error(path.name, f"cannot open the workbook ({type(e).__name__}: {e})",
                       expected="an .xlsx file saved by Excel or WPS")
        return None
    return read_grid_table(path, grid, expected, problems)


def read_geo_table(path: Path, layer: str | None, problems: ProblemList):
    """Read a GeoPackage layer or a GeoParquet file; headers are resolved like any table."""
    import geopandas as gpd

    try:
        if path.suffix.lower() == ".parquet":
            try:
                frame = gpd.read_parquet(path)
            except ValueError:  # a plain parquet table without geometry
                frame = pd.read_parquet(path)
        else:
            import pyogrio

            layers = [l[0] for l in pyogrio.list_layers(path)]
            use = layer if layer in layers else layers[0]
            if layer and layer not in layers:
                problems.warning(path.name, f"no layer '{layer}'; read layer '{use}' instead")
            frame = pyogrio.read_dataframe(path, layer=use, use_arrow=True)
    except Exception as e:
        problems.error(path.name, f"cannot read the file ({type(e).__name__}: {e})",
                       expected="a GeoPackage or GeoParquet file")
        return None
    units, columns, seen = {}, {}, set()
    geom_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    for c in frame.columns:
        if c == geom_name:
            continue
        name, unit = resolve_header(c)
        if name and name not in seen:
            columns[c] = name
            seen.add(name)
            if unit:
                units[name] = unit
    keep = list(columns) + ([geom_name] if geom_name else [])
    frame = frame[keep].rename(columns=columns)
    if geom_name and geom_name != "geometry":
        frame = frame.rename_geometry("geometry")
    frame[ROW] = pd.RangeIndex(1, len(frame) + 1)  # feature number
    return RawTable(frame, path.name, units)
