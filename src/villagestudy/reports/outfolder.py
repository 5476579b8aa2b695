"""The output folder of a batch: one run at a time, one study, its own working folder.

* :func:`folder_lock` - a lock file per output folder; a second run stops at
  once (or waits) with a message naming the run that holds it (pid, host,
  start time). The lock is the operating system's: a run killed with
  ``kill -9`` frees it.
* :func:`claim_folder` - the manifest ``villagestudy-reports.json`` records
  the study the folder belongs to (name, path, data fingerprint); a run of
  another study into it stops with a clear message.
* :func:`run_workdir` - working files live in a folder the run creates
  (``.work-XXXXXXXX`` with a marker file); the run removes only that folder,
  and the next run removes the folders of runs that were killed (they carry the
  marker and no run holds the lock). A user's own ``.work`` is never touched.
* :func:`folder_rows` - every town report present in the folder from this
  study, from the sidecar JSON written beside each report, merged with the
  results of this run: the rows of the index page.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Iterator

from .._atomic import atomic_path
from ..errors import UsageError
from .naming import TownResult

__all__ = ["LOCK_FILE", "MANIFEST", "OutputFolderError", "folder_lock", "claim_folder", "run_workdir",
           "folder_rows", "check_writable", "is_disk_error", "disk_error_message"]

LOCK_FILE = ".villagestudy-reports.lock"
_LOCK_INFO = ".villagestudy-reports.lock-owner"
MANIFEST = "villagestudy-reports.json"
_RUN_PREFIX = ".work-"
_RUN_MARKER = ".villagestudy-run"
#: errors of the output folder itself, not of a town: stop the batch, say what to do
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


class OutputFolderError(UsageError):
    """The output folder cannot be used (busy, another study's, read-only, full)."""


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


@contextlib.contextmanager
def folder_lock(out_dir: Path, *, wait: float = 0.0) -> Iterator[dict]:
    """Hold the output folder's lock for a run; stop with a clear message when another run holds it.

    Parameters
    ----------
    out_dir : Path
        The output folder (must exist).
    wait : float
        Seconds to wait for the other run to finish (0: stop at once).

    Yields
    ------
    dict
        This run's pid, host and start time (also written beside the lock).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with folder_lock(d) as me:
    ...     me["pid"] == os.getpid()
    True
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(out_dir / LOCK_FILE), timeout=max(float(wait), 0.0), thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise OutputFolderError(_busy_message(out_dir, wait)) from None
    except OSError as e:
        raise OutputFolderError(disk_error_message(out_dir, e)) from None
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": _now()}
    try:
        try:
            with atomic_path(out_dir / _LOCK_INFO) as tmp:
                tmp.write_text(json.dumps(me), encoding="utf-8")
        except OSError as e:
            raise OutputFolderError(disk_error_message(out_dir, e)) from None
        yield me
    finally:
        with contextlib.suppress(OSError):
            (out_dir / _LOCK_INFO).unlink()
        lock.release()


def _busy_message(out_dir: Path, wait: float) -> str:
    try:
        other = json.loads((out_dir / _LOCK_INFO).read_text(encoding="utf-8"))
        who = f"process {other.get('pid')} on host {other.get('host')}, started {other.get('started')}"
    except (OSError, ValueError):
        who = "another process (it has not said which yet)"
    waited = f" (waited {wait:g} s)" if wait else ""
    return (f"another reports run is writing to {out_dir}: {who}{waited}. Wait for it to finish "
            "(or use --wait SECONDS), or choose another --out.")


def check_writable(out_dir: Path) -> None:
    """Stop with a clear message when ``out_dir`` cannot be created or written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".villagestudy-probe-", dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputFolderError(disk_error_message(out_dir, e)) from None


def is_disk_error(exc: BaseException | None) -> OSError | None:
    """The OSError of a full, read-only or forbidden disk behind ``exc`` (its causes included), else None."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def disk_error_message(out_dir: Path, exc: OSError) -> str:
    """What went wrong with the output folder, in words, and what to do."""
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        what = "is full (no space left on the disk)"
        todo = "free some space or choose another --out, then run again: finished reports are kept and reused"
    elif code == errno.EROFS:
        what = "is on a read-only disk"
        todo = "choose a writable --out"
    elif code in (errno.EACCES, errno.EPERM):
        what = "cannot be written (permission denied)"
        todo = "choose a folder you may write to with --out"
    else:
        what = f"cannot be used ({exc.strerror or exc})"
        todo = "choose another --out"
    where = getattr(exc, "filename", None)
    at = f" [{where}]" if where and str(where) != str(out_dir) else ""
    return f"output folder {out_dir} {what}{at}: {todo}."


def claim_folder(out_dir: Path, *, study: str, study_path: str, fingerprint: str) -> dict:
    """Check that ``out_dir`` holds this study's reports (or none), then record the study in its manifest.

    A folder belongs to the study named in its manifest. A folder without a
    manifest but with town reports made by an earlier version is checked
    against the study path those reports' sidecars name.

    Raises
    ------
    OutputFolderError
        When the folder holds another study's reports.
    """
    path = out_dir / MANIFEST
    manifest = None
    if path.exists():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise OutputFolderError(f"cannot read {path}: {e}; remove it if the folder holds no reports "
                                    "you need, or choose another --out") from None
    if manifest is not None:
        if manifest.get("study") != study:
            raise OutputFolderError(
                f"output folder {out_dir} holds the reports of study {manifest.get('study')!r} "
                f"({manifest.get('study_path')}), not of {study!r} ({study_path}): choose another --out "
                f"(by default each study gets its own folder under outputs/reports)")
    else:
        others = sorted({side["parameters"].get("study_path") for side in _sidecars(out_dir)
                         if isinstance(side.get("parameters"), dict)} - {study_path, None})
        if others:
            raise OutputFolderError(f"output folder {out_dir} holds reports of the study at {others[0]}, not of "
                                    f"{study_path}: choose another --out")
    record = {"study": study, "study_path": study_path, "data_fingerprint": fingerprint,
              "first_made": (manifest or {}).get("first_made") or _now(), "last_run": _now()}
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as e:
        raise OutputFolderError(disk_error_message(out_dir, e)) from None
    return record


@contextlib.contextmanager
def run_workdir(out_dir: Path) -> Iterator[Path]:
    """A working folder of this run's own inside ``out_dir``, removed at the end (call under the lock).

    Working folders of earlier runs that were killed (they carry the run
    marker) are removed first; any other folder, ``.work`` among them, is left
    alone.
    """
    for old in out_dir.glob(_RUN_PREFIX + "*"):
        if old.is_dir() and (old / _RUN_MARKER).is_file():
            shutil.rmtree(old, ignore_errors=True)
    try:
        work = Path(tempfile.mkdtemp(prefix=_RUN_PREFIX, dir=out_dir))
        (work / _RUN_MARKER).write_text(f"{os.getpid()} {socket.gethostname()} {_now()}\n", encoding="utf-8")
    except OSError as e:
        raise OutputFolderError(disk_error_message(out_dir, e)) from None
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sidecars(out_dir: Path) -> Iterator[dict]:
    """Sidecar JSON of the town reports present in ``out_dir`` (a sidecar whose report is gone is skipped)."""
    for side in sorted(out_dir.glob("*.json")):
        html = side.with_suffix(".html")
        if not html.is_file():
            continue
        try:
            data = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "key" in data and "town_id" in data:
            data["_name"] = side.stem
            yield data


def folder_rows(out_dir: Path, results: list, *, study: str, order: list[str] | None = None) -> list:
    """The rows of the index page: every town report of ``study`` present in ``out_dir``, and this run's results.

    A town of this run keeps its status (``ok``, ``reused``, ``failed``); a town
    that was not part of this run but whose report is in the folder is listed as
    ``kept`` with the key figures and time recorded when it was made. A report
    whose HTML file is gone is not listed.

    Parameters
    ----------
    out_dir : Path
    results : list of TownResult
        This run's results.
    study : str
        The study name; sidecars of other studies (there should be none) are left out.
    order : list of str, optional
        Town ids in the order of the study's towns table; unknown ids go last.

    Returns
    -------
    list of TownResult
    """

    rows = {r.town_id: r for r in results}
    for side in _sidecars(out_dir):
        town = str(side["town_id"])
        if town in rows or side.get("study", study) != study:
            continue
        rows[town] = TownResult(town, str(side.get("town_name", town)), side["_name"], "kept",
                                seconds=float(side.get("seconds") or 0.0),
                                key_figures=dict(side.get("key_figures") or {}))
    position = {t: i for i, t in enumerate(order or [])}
    ordered = sorted(rows.values(), key=lambda r: (position.get(r.town_id, len(position)), r.town_id))
    for r in ordered:  # a failed town whose earlier report is still there links to it
        r.has_report = (out_dir / f"{r.safe_name}.html").is_file()
    return ordered
