"""Read one study file into a raw frame of strings with canonical headers.

Handles what office exports look like: several encodings, title rows above the
header, a unit note (``单位：万元``), two-row (merged) headers, and total rows
(``合计``) at the bottom, which are dropped and mentioned. Every raw frame keeps
the row number the user sees in the file in the column ``_row``.
"""
from __future__ import annotations

import bisect
import csv
import io as _io
import itertools
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._map_unique import map_unique
from ..errors import ProblemList
from ..schema import INCOME_CATEGORIES, NUMERIC_KINDS, Column, Table
from .aliases import FALSE_WORDS, TRUE_WORDS, VALUE_ALIASES, is_total_marker, resolve_header, unit_note

ROW = "_row"
ENCODINGS = ("utf-8-sig", "gb18030")
_MAX_HEADER_SEARCH = 15
_MAX_LISTED = 50


@dataclass
class RawTable:
    """A table as read: strings (or numbers from spreadsheets), canonical headers."""

    frame: pd.DataFrame
    file: str
    units: dict[str, str] = field(default_factory=dict)  # canonical column -> unit from header
    sheet_unit: str | None = None  # unit from a note such as 单位：万元
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    rows_read: int = 0  # data rows read under the header (blank rows not counted)
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (file row, reason) of rows not loaded


def decode_text(path: Path, problems: ProblemList) -> tuple[str | None, str | None]:
    """Decode a text file in one encoding: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030.

    A file is never decoded by guessing: when some lines are UTF-8 and others are
    not (a file pasted together from two exports), the file is refused with the
    first line that does not match, instead of turning the UTF-8 lines into mojibake.
    """
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            problems.error(path.name, "cannot decode the file as UTF-16", row=_line_of(data, e.start),
                           expected="text in one encoding; save it again as 'CSV UTF-8'")
            return None, None
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    lines = data.splitlines()
    utf8_lines, other_lines = [], []
    for n, line in enumerate(lines, start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError:
            other_lines.append(n)
            continue
        if _looks_like_utf8_text(text):  # GB18030 bytes that happen to be valid UTF-8 give odd letters
            utf8_lines.append(n)
        else:
            other_lines.append(n)
    if utf8_lines and other_lines:
        bad = other_lines[0] if len(utf8_lines) >= len(other_lines) else utf8_lines[0]
        good = utf8_lines[0] if bad == other_lines[0] else other_lines[0]
        problems.error(path.name, f"the file mixes two encodings: line {good} is "
                       f"{'UTF-8' if good in utf8_lines else 'GB18030/GBK'}, line {bad} is not", row=bad,
                       value=lines[bad - 1][:60].decode("utf-8", "replace"),
                       expected="every line in one encoding; open the file, fix the line and save it again as "
                                "'CSV UTF-8'")
        return None, None
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as e:
        problems.error(path.name, "cannot decode the file", row=_line_of(data, e.start),
                       value=data[e.start:e.start + 4],
                       expected="text in UTF-8 (with or without BOM) or GB18030/GBK; save it again as 'CSV UTF-8'")
        return None, None


def _line_of(data: bytes, offset: int) -> int:
    head = data[:offset]
    return max(head.count(b"\n"), head.count(b"\r")) + 1


def _looks_like_utf8_text(text: str) -> bool:
    """True when the non-ASCII letters of ``text`` are mostly CJK or CJK punctuation."""
    wide = [c for c in text if ord(c) > 127]
    cjk = sum(1 for c in wide if "\u2e80" <= c <= "\u9fff" or "\uf900" <= c <= "\uffef"
              or "\u3000" <= c <= "\u303f" or c in "·—“”‘’…" or "\U00020000" <= c <= "\U0003134f")
    return cjk >= 0.8 * len(wide)


def _allow_long_fields() -> None:
    # csv's default limit (131,072 characters) makes one long note cell crash the reader
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def _delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _grid_from_csv(text: str, limit: int | None = None) -> list[list[str]]:
    _allow_long_fields()
    # newline="": records may end in \n, \r\n or a lone \r (Excel for Mac's "CSV (Macintosh)")
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=_delimiter(text))
    return [row for row in (reader if limit is None else itertools.islice(reader, limit))]


# Spreadsheets are read cell by cell from the sheet's XML, keeping only the cells that exist:
# a stray cell at XFD1048576 or a merged range to it costs nothing. These caps refuse workbooks
# that would take gigabytes or minutes (a zip bomb), with a clear message.
MAX_XLSX_UNCOMPRESSED = 300 * 1024 * 1024
MAX_SHEET_CELLS = 5_000_000
MAX_SHEET_SECONDS = 120.0


@dataclass
class Sheet:
    """The cells of a sheet that hold a value, as a dense grid over the rows and columns that have any."""

    grid: list[list[object]]
    rows: list[int]  # file row number of each grid row
    cols: list[int]  # sheet column number (1 = A) of each grid column
    uncached: list[str] = field(default_factory=list)  # formula cells without a cached value


def _xlsx_guard(path: Path, problems: ProblemList) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as e:
        problems.error(path.name, f"cannot open the workbook ({e})", expected="an .xlsx file saved by Excel or WPS")
        return False
    if total > MAX_XLSX_UNCOMPRESSED:
        problems.error(path.name, f"the workbook inflates to {total / 2**20:,.0f} MB when unpacked",
                       value=f"{path.stat().st_size / 1024:,.0f} KB on disk",
                       expected=f"at most {MAX_XLSX_UNCOMPRESSED / 2**20:,.0f} MB unpacked; save large tables as "
                                "CSV or GeoPackage")
        return False
    return True


def read_xlsx_sheet(path: Path, problems: ProblemList) -> Sheet | None:
    """The first sheet of an .xlsx workbook, read from the cells that exist.

    Formula cells without a cached value (a file saved by a program that does
    not calculate) are listed in ``uncached``.
    """
    import time

    import openpyxl
    from openpyxl.utils.cell import get_column_letter, range_boundaries
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    if not _xlsx_guard(path, problems):
        return None

    class _Parser(WorkSheetParser):
        uncached: list[str] = []

        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if element.find(FORMULA_TAG) is not None and _no_cached_value(element, VALUE_TAG):
                self.uncached.append(f"{get_column_letter(cell['column'])}{cell['row']}")
            return cell

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        cells: dict[int, dict[int, object]] = {}
        n, started = 0, time.monotonic()
        with ws._get_source() as src:
            parser = _Parser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                             date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
            parser.uncached = []
            for r, row in parser.parse():
                for c in row:
                    v = c["value"]
                    if v is None or (isinstance(v, str) and not v.strip()):
                        continue
                    cells.setdefault(r, {})[c["column"]] = v
                    n += 1
                if n > MAX_SHEET_CELLS or time.monotonic() - started > MAX_SHEET_SECONDS:
                    problems.error(path.name, f"the sheet is too large to read (over {n:,} cells by row {r})",
                                   expected=f"at most {MAX_SHEET_CELLS:,} cells; save large tables as CSV or "
                                            "GeoPackage")
                    return None
            merged = [range_boundaries(str(m.ref)) for m in getattr(parser.merged_cells, "mergeCell", [])]
            uncached = list(parser.uncached)
    finally:
        wb.close()
    rows = sorted(cells)
    cols = sorted({c for row in cells.values() for c in row})
    if len(rows) * max(len(cols), 1) > 4 * MAX_SHEET_CELLS:
        problems.error(path.name, f"the sheet's cells are spread over {len(rows):,} rows and {len(cols):,} columns",
                       expected="one table starting near A1")
        return None
    col_pos = {c: i for i, c in enumerate(cols)}
    grid = [[None] * len(cols) for _ in rows]
    for i, r in enumerate(rows):
        for c, v in cells[r].items():
            grid[i][col_pos[c]] = v
    # a merged cell's value fills the cells of its range that are in the grid (merged headers read whole)
    for c0, r0, c1, r1 in merged:
        value = cells.get(r0, {}).get(c0)
        if value is None:
            continue
        ri = range(bisect.bisect_left(rows, r0), bisect.bisect_right(rows, r1))
        ci = range(bisect.bisect_left(cols, c0), bisect.bisect_right(cols, c1))
        for i in ri:
            for j in ci:
                if grid[i][j] is None:
                    grid[i][j] = value
    return Sheet(grid, rows, cols, uncached)


def _no_cached_value(element, value_tag: str) -> bool:
    # <v/> (or no <v>) under a formula: never calculated; an empty text result has t="str"
    v = element.find(value_tag)
    return v is None or (not (v.text or "").strip() and element.get("t", "n") not in ("str", "s", "inlineStr"))


def read_xls_sheet(path: Path, problems: ProblemList) -> Sheet | None:
    """The first sheet of an old-format .xls workbook (BIFF), read with python-calamine."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    sheet = wb.get_sheet_by_index(0)
    r0 = sheet.start[0] if sheet.start else 0
    c0 = sheet.start[1] if sheet.start else 0
    grid, rows = [], []
    for i, row in enumerate(sheet.iter_rows()):
        values = [None if (v == "" or v is None) else v for v in row]
        if any(v is not None for v in values):
            grid.append(values)
            rows.append(r0 + i + 1)
    width = max((len(r) for r in grid), default=0)
    for r in grid:
        r.extend([None] * (width - len(r)))
    for m in sheet.merged_cell_ranges or []:
        (ra, ca), (rb, cb) = m
        top = next((grid[k][ca - c0] for k, rr in enumerate(rows) if rr == ra + 1), None)
        if top is None:
            continue
        for k, rr in enumerate(rows):
            if ra + 1 <= rr <= rb + 1:
                for j in range(ca - c0, min(cb - c0 + 1, width)):
                    if grid[k][j] is None:
                        grid[k][j] = top
    return Sheet(grid, rows, [c0 + j + 1 for j in range(width)])


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer() and abs(value) < 1e15:
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


def _kinds(table: Table | None) -> dict[str, Column]:
    """Column specs by file header name (area, land_area and amount before unit conversion)."""
    if table is None:
        return {}
    out = {c.name: c for c in table.columns}
    for src, dst in (("area", "area_mu"), ("land_area", "land_area_mu"), ("amount", "amount_yuan")):
        if dst in out:
            out[src] = out[dst]
    if table.name == "income":
        for cat in INCOME_CATEGORIES:
            out[cat] = Column(cat, "money", required=False)
    return out


def _value_fits(cell: object, column: Column | None) -> bool:
    """Could ``cell`` be a value of ``column``? (Empty cells always could.)"""
    text = _cell_text(cell)
    if text is None or column is None:
        return True
    if column.kind in NUMERIC_KINDS:
        return _is_number(cell)
    if column.kind == "bool":
        return text.lower() in TRUE_WORDS | FALSE_WORDS
    if column.choices:
        aliases = VALUE_ALIASES.get(column.name, {})
        return text.lower() in column.choices or text in aliases or text.lower() in aliases
    return True


def _is_data_row(row: list[object], names: list[str | None], header: list[str | None],
                 kinds: dict[str, Column]) -> bool:
    """A row is data unless a cell cannot be a value of its column (text in a number column,
    an unknown category) or repeats the column's own header (a merged header filled down)."""
    filled = False
    for cell, name, head in zip(row, names, header):
        if name is None:
            continue
        text = _cell_text(cell)
        if text is None:
            continue
        filled = True
        if head is not None and text == head:
            return False
        if not _value_fits(cell, kinds.get(name)):
            return False
    return filled


def _is_sub_header(row: list[object], gains: list[int], names: list[str | None], kinds: dict[str, Column]) -> bool:
    """The row under the header is a second header row only if none of its new header words could be a
    value of the column found above it, and it carries no number under a numeric column (data rows do)."""
    for i in gains:
        if names[i] is not None and _value_fits(row[i], kinds.get(names[i])) and \
                (kinds.get(names[i]) is not None or not kinds):
            return False
    for cell, name in zip(row, names):
        col = kinds.get(name) if name else None
        if col is not None and col.kind in NUMERIC_KINDS and _is_number(cell):
            return False
    return True


def read_grid_table(path: Path, grid: list[list[object]], expected: set[str], problems: ProblemList,
                    encoding: str | None = None, body=None, *, numbers: list[int] | None = None,
                    table: Table | None = None, col_labels: list[str] | None = None) -> RawTable | None:
    """Turn a grid of cells (rows of a CSV or a sheet) into a :class:`RawTable`.

    ``numbers`` gives the file row number of each grid row (default: position + 1).
    ``table`` (the schema) decides whether a row under the header is a second
    header row: only when it cannot be read as data of the columns found.
    ``body``, when given, reads the data rows itself: ``body(data_start, keep)``
    returns a frame of the kept columns (by position) and the file row numbers;
    ``grid`` then needs to hold only the first rows (title, header).
    """
    grid = [list(r) for r in grid]
    numbers = list(numbers) if numbers is not None else list(range(1, len(grid) + 1))
    width = max((len(r) for r in grid), default=0)
    grid = [r + [None] * (width - len(r)) for r in grid]
    kinds = _kinds(table)
    h = _find_header(grid, expected)
    if h is None:
        problems.error(path.name, "no header row with known column names found in the first "
                       f"{_MAX_HEADER_SEARCH} rows", expected="columns such as " + ", ".join(sorted(expected)[:6]))
        return None
    sheet_unit = None
    header = [_cell_text(c) for c in grid[h]]
    resolved = [resolve_header(c) for c in header]
    names0 = [n for n, _ in resolved]
    for r, row in enumerate(grid[:h]):
        for cell in row:
            sheet_unit = sheet_unit or unit_note(cell)
        values = {t for t in map(_cell_text, row) if t}
        if len(values) > 1 and _is_data_row(row, names0, header, kinds) and \
                sum(_cell_text(c) is not None for c, n in zip(row, names0) if n) >= 2:
            # a warning, not an error: report headers (填报单位, 日期) look like this too
            problems.warning(path.name, "a row above the header row looks like data and was ignored",
                             row=numbers[r], value=" | ".join(sorted(values))[:80],
                             expected="the header row first (title rows above it hold one title or a unit note)")
    data_start = h + 1
    # a second header row (merged group headers above sub-headers), only if it cannot be data
    if data_start < len(grid):
        below = [resolve_header(c) for c in grid[data_start]]
        gains = [i for i, (b, a) in enumerate(zip(below, resolved)) if b[0] and b[0] != a[0]]
        if gains and _is_sub_header(grid[data_start], gains, names0, kinds):
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
            label = text or f"column {col_labels[i] if col_labels else i + 1}"
            if name in seen:
                problems.warning(path.name, f"column '{label}' repeats '{name}' and was ignored",
                                 row=numbers[h])
            elif text:
                ignored.append(label)
            columns.append(None)
            continue
        seen.add(name)
        columns.append(name)
        if unit:
            units[name] = unit
    keep = [i for i, c in enumerate(columns) if c is not None]
    key = table.key[0] if table is not None else None
    if body is not None:
        frame, rows_ = body(data_start, keep)
        frame.columns = [columns[i] for i in keep]
        frame[ROW] = rows_
        raw = RawTable(frame, path.name, units, sheet_unit, encoding, ignored, rows_read=len(frame))
        raw.frame = _drop_total_rows(frame, raw, key, problems)
        return raw
    rows, kept_numbers, stray = [], [], []
    for r in range(data_start, len(grid)):
        values = [grid[r][i] for i in keep]
        if all(_cell_text(v) is None for v in values):
            if any(_cell_text(v) is not None for v in grid[r]):
                stray.append(numbers[r])
            continue
        rows.append(values)
        kept_numbers.append(numbers[r])
    if stray:
        problems.warning(path.name, f"{len(stray)} row(s) hold values only in columns without a known header "
                         f"and were not read (rows {', '.join(map(str, stray[:10]))})", row=stray[0])
    frame = pd.DataFrame(rows, columns=[columns[i] for i in keep], dtype=object)
    frame[ROW] = kept_numbers
    raw = RawTable(frame, path.name, units, sheet_unit, encoding, ignored, rows_read=len(frame))
    raw.frame = _drop_total_rows(frame, raw, key, problems)
    return raw


_DIGITS = r"[0-9 .,+\-]*"


def _drop_total_rows(frame: pd.DataFrame, raw: RawTable, key: str | None, problems: ProblemList) -> pd.DataFrame:
    """Drop total rows (合计/总计/小计): a marker in one of the first text columns and no id of its own."""
    if frame.empty:
        return frame
    text_cols = [c for c in frame.columns if c != ROW][:4]
    is_total = pd.Series(False, index=frame.index)
    for c in text_cols:
        # digits and separators are never a marker: ids and amounts skip the per-value check
        words = ~frame[c].astype("str").str.fullmatch(_DIGITS, na=True).to_numpy(dtype=bool)
        if words.any():
            is_total[words] |= map_unique(frame.loc[words, c], is_total_marker).fillna(False).astype(bool)
    if key is not None and key in frame.columns and is_total.any():
        # a row with an id of its own is data (a village named 合计村)
        marked = is_total[is_total].index
        own_id = frame.loc[marked, key].map(lambda v: _cell_text(v) is not None and not is_total_marker(v))
        is_total[marked] = ~own_id.astype(bool)
    for r in frame.loc[is_total, ROW]:
        problems.warning(raw.file, "total row (合计/总计) dropped: it is not a village", row=int(r))
        raw.dropped.append((int(r), "total row (合计/总计)"))
    return frame.loc[~is_total].reset_index(drop=True)


_FAST_CSV_LINES = 5000  # past this, data rows are parsed by pandas' C reader


def read_text_table(path: Path, expected: set[str], problems: ProblemList,
                    table: Table | None = None) -> RawTable | None:
    text, enc = decode_text(path, problems)
    if text is None:
        return None
    try:
        if max(text.count("\n"), text.count("\r")) < _FAST_CSV_LINES:
            return read_grid_table(path, _grid_from_csv(text), expected, problems, encoding=enc, table=table)
        grid = _grid_from_csv(text, limit=_MAX_HEADER_SEARCH + 2)
    except csv.Error as e:
        problems.error(path.name, f"cannot read the CSV ({e})", expected="a comma-, semicolon- or tab-separated file")
        return None
    delimiter = _delimiter(text[:4096])
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
        return read_grid_table(path, grid, expected, problems, encoding=enc, body=body, table=table)
    except (pd.errors.ParserError, ValueError):  # ragged rows: the slower reader copes
        return read_grid_table(path, _grid_from_csv(text), expected, problems, encoding=enc, table=table)


def read_xlsx_table(path: Path, expected: set[str], problems: ProblemList,
                    table: Table | None = None) -> RawTable | None:
    """Read the first sheet of an .xlsx or .xls workbook (cells that exist only)."""
    from openpyxl.utils.cell import get_column_letter

    reader = read_xls_sheet if path.suffix.lower() == ".xls" else read_xlsx_sheet
    try:
        sheet = reader(path, problems)
    except Exception as e:  # a corrupt or password-protected workbook
        problems.error(path.name, f"cannot open the workbook ({type(e).__name__}: {e})",
                       expected="an .xlsx or .xls file saved by Excel or WPS")
        return None
    if sheet is None:
        return None
    for ref in sheet.uncached[:_MAX_LISTED]:
        problems.error(path.name, f"cell {ref} holds a formula without a calculated value", column=ref,
                       expected="values: open the file in Excel or WPS, let it calculate, and save it again "
                                "(or paste the values)")
    if len(sheet.uncached) > _MAX_LISTED:
        problems.error(path.name, f"... and {len(sheet.uncached) - _MAX_LISTED} more formula cells without a value")
    labels = [get_column_letter(c) for c in sheet.cols]
    return read_grid_table(path, sheet.grid, expected, problems, numbers=sheet.rows, table=table,
                           col_labels=labels)


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
