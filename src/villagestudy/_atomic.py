"""Write files so that a failed run never leaves a half-written output."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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
    """Write a DataFrame as CSV (UTF-8 with BOM, so Excel shows Chinese) or Parquet, by suffix."""
    target = Path(target)
    suffix = target.suffix.lower()
    with atomic_path(target) as tmp:
        if suffix == ".parquet":
            plain = frame.copy(deep=False)
            plain.attrs = {}  # notes and settings in attrs are not parquet metadata
            plain.to_parquet(tmp, index=index)
        elif suffix == ".xlsx":
            frame.to_excel(tmp, index=index)
        elif suffix in (".csv", ".txt", ""):
            frame.to_csv(tmp, index=index, encoding="utf-8-sig")
        else:
            from .errors import UsageError

            raise UsageError(f"cannot write '{target.name}': use a .csv, .parquet or .xlsx file name")
    return target
