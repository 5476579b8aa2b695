"""Write files so that a failed run never leaves a half-written output."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import UsageError
from .safe_text import neutralise_frame


@contextmanager
def atomic_path(target: str | Path, suffix: str | None = None, *, tmp_dir: str | Path | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only on success.

    ``tmp_dir`` puts the temporary file in another folder of the same disk
    instead (e.g. a run's working folder, so a killed run leaves its partial
    files there and nowhere else).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("done")
    >>> out.read_text()
    'done'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix, dir=tmp_dir or target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes files private (0600); outputs are meant to be shared like any other file
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(frame, target: str | Path, index: bool = True) -> Path:
    """Write a DataFrame as CSV (UTF-8 with BOM, so Excel shows Chinese), XLSX or Parquet, by suffix.

    Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) is
    written as text: with a leading apostrophe in CSV, as a string cell in XLSX.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = write_table(pd.DataFrame({"name": ["=1+1"]}), out, index=False)
    >>> out.read_text(encoding="utf-8-sig").splitlines()
    ['name', "'=1+1"]
    """
    target = Path(target)
    suffix = target.suffix.lower()
    with atomic_path(target) as tmp:
        if suffix == ".parquet":
            plain = frame.copy(deep=False)
            plain.attrs = {}  # notes and settings in attrs are not parquet metadata
            plain.to_parquet(tmp, index=index)
        elif suffix == ".xlsx":
            write_xlsx(frame, tmp, index=index)
        elif suffix in (".csv", ".txt", ""):
            neutralise_frame(frame).to_csv(tmp, index=index, encoding="utf-8-sig")
        else:
            raise UsageError(f"cannot write '{target.name}': use a .csv, .parquet or .xlsx file name")
    return target


def write_xlsx(frame, path: str | Path, index: bool = True) -> None:
    """Write ``frame`` to one sheet; every text cell is a string cell, never a formula.

    openpyxl turns any string beginning with ``=`` into a live formula; here the
    cell type is set to string after the value, so Excel, WPS and LibreOffice show
    the text as typed. Numbers stay numbers.
    """
    import math

    import openpyxl
    import pandas as pd
    from openpyxl.cell import WriteOnlyCell

    data = frame.reset_index() if index else frame
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("table")

    def cell(value):
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
            return None
        if hasattr(value, "item") and not isinstance(value, str):
            value = value.item()  # numpy scalars
        if isinstance(value, (int, float, bool)):
            return value
        c = WriteOnlyCell(ws, value=str(value))
        c.data_type = "s"
        return c

    ws.append([cell(str(c)) for c in data.columns])
    for row in data.itertuples(index=False, name=None):
        ws.append([cell(v) for v in row])
    wb.save(path)
