"""The tables of a town report as an XLSX workbook, for officials who rework figures in WPS or Excel.

One sheet per table, headers in the report's language, numbers as numbers
with the number format of their column (:func:`villagestudy.formatting.excel_format`),
names and ids as text cells, never formulas (text is neutralised: a cell
beginning with ``=``, ``+``, ``-`` or ``@`` gets a leading apostrophe).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from ..formatting import excel_format, is_missing, is_numeric_column
from ..safe_text import neutralise_formula

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(title: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("_", title).strip("'")[:28] or "Sheet"
    name, k = base, 2
    while name in used:
        name, k = f"{base[:25]}_{k}", k + 1
    used.add(name)
    return name


def _cell_value(v, numeric: bool):
    if is_missing(v):
        return None
    if numeric:
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        return float(v) if isinstance(v, (float, np.floating)) else int(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    return neutralise_formula(str(v))


def write_tables(tables, path: str | Path, *, lang: str = "zh") -> Path:
    """Write ``[(title, Table), ...]`` (see :class:`~villagestudy.reports.display.Table`) to ``path``."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for title, table in tables:
        ws = wb.create_sheet(_sheet_title(title, used))
        ws.append([neutralise_formula(str(h)) for h in table.header()])
        frame: pd.DataFrame = table.frame
        numeric = [is_numeric_column(frame[c]) for c in frame.columns]
        formats = [excel_format(c) for c in frame.columns]
        for idx, row in zip(frame.index, frame.itertuples(index=False, name=None)):
            ws.append([neutralise_formula(str(idx)), *(_cell_value(v, n) for v, n in zip(row, numeric))])
        for row in ws.iter_rows(min_row=2):
            row[0].data_type = "s"
            for k, cell in enumerate(row[1:]):
                if numeric[k] and cell.value is not None and not isinstance(cell.value, bool):
                    cell.number_format = formats[k]
                elif isinstance(cell.value, str):
                    cell.data_type = "s"
                    cell.number_format = "@"
        ws.freeze_panes = "B2"
        for k, header in enumerate(table.header(), start=1):
            ws.column_dimensions[get_column_letter(k)].width = min(48, max(10, 2 * len(str(header)) + 2))
    if not wb.sheetnames:
        wb.create_sheet("—")
    target = Path(path)
    with atomic_path(target, suffix=".xlsx") as tmp:
        wb.save(tmp)
    return target
