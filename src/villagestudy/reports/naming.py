"""File names of town reports: readable, safe on every file system, never shared by two towns.

Every path of a town's output (the HTML report, the executed notebook, the
sidecar JSON, logs, a comparison file) is built by :func:`report_path` from the
name :func:`report_names` gives the town, so the batch, the index page and the
sidecars cannot disagree.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterable

from ..errors import UsageError
from ..safe_text import terminal_safe

__all__ = ["safe_file_name", "report_names", "report_path"]

_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")
_MAX_STEM = 60


def _short_hash(town_id: str) -> str:
    return hashlib.sha1(str(town_id).encode("utf-8")).hexdigest()[:8]


def safe_file_name(town_id: str) -> str:
    """A file name made safe from a town id: only [A-Za-z0-9._-], never hidden or empty.

    A short hash of the exact id is appended whenever characters had to be
    replaced or cut. Two ids can still meet (``a/b`` and ``a_b_<its hash>``, or
    ``A`` and ``a`` on a case-insensitive disk): :func:`report_names` settles
    that across all the towns of a study.

    Examples
    --------
    >>> safe_file_name("440100001")
    'town_440100001'
    >>> safe_file_name("../etc/passwd")[:15]
    'town_.._etc_pas'
    """
    cleaned = _UNSAFE.sub("_", str(town_id))[:_MAX_STEM]
    name = f"town_{cleaned}"
    if cleaned != str(town_id) or not cleaned:
        name += "_" + _short_hash(town_id)
    return name


def report_names(town_ids: Iterable[str]) -> dict[str, str]:
    """The report file name (without suffix) of every town of a study, all different.

    Names are compared ignoring case (Windows and macOS disks ignore it). Towns
    whose safe names meet get the hash of their exact id appended, so each keeps
    a readable name that no other town of the study shares.

    Parameters
    ----------
    town_ids : iterable of str
        Every town id of the study (not only the towns of one run: a name must
        not depend on which towns a run makes).

    Returns
    -------
    dict
        Town id -> file stem.

    Raises
    ------
    UsageError
        When names still meet after hashing (practically never: it would need
        equal 8-digit hashes) or an id is repeated.

    Examples
    --------
    >>> names = report_names(["a/b", "a_b_" + safe_file_name("a/b")[-8:], "440100001"])
    >>> len(set(names.values())) == 3, names["440100001"]
    (True, 'town_440100001')
    """
    ids = [str(t) for t in town_ids]
    repeated = sorted({t for t in ids if ids.count(t) > 1})
    if repeated:
        raise UsageError(terminal_safe(f"town id(s) listed more than once: {', '.join(repeated)}"))
    names = {t: safe_file_name(t) for t in ids}
    groups: dict[str, list[str]] = {}
    for t, name in names.items():
        groups.setdefault(name.lower(), []).append(t)
    for members in groups.values():
        if len(members) > 1:
            for t in members:
                names[t] = f"{names[t]}_{_short_hash(t)}"
    taken: dict[str, str] = {}
    for t, name in names.items():
        other = taken.setdefault(name.lower(), t)
        if other != t:
            raise UsageError(terminal_safe(f"town ids {other!r} and {t!r} give the same report file name "
                                           f"{name!r}; rename one of them in towns.csv"))
    return names


def report_path(out_dir: str | Path, name: str, suffix: str = ".html") -> Path:
    """The path of one of a town's output files: ``out_dir / (name + suffix)``.

    Examples
    --------
    >>> report_path("out", "town_1", ".json").as_posix()
    'out/town_1.json'
    """
    return Path(out_dir) / f"{name}{suffix}"
