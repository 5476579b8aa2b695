"""File names of town reports: readable, safe on every file system, never shared by two towns.

Every path of a town's output (the HTML report, the executed notebook, the
sidecar JSON, logs, a comparison file) is built by :func:`report_path` from the
name :func:`report_names` gives the town, so the batch, the index page and the
sidecars cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import UsageError
from ..safe_text import safe_file_name, short_hash, terminal_safe

__all__ = ["report_names", "report_path", "TownResult"]



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
                names[t] = f"{names[t]}_{short_hash(t)}"
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


@dataclass
class TownResult:
    """What a batch did with one town (and the file name stem of its report)."""

    town_id: str
    town_name: str
    safe_name: str
    status: str  # ok | reused | failed
    seconds: float = 0.0
    error: str | None = None
    log: str | None = None
    attempts: int = 0
    key_figures: dict = field(default_factory=dict)
    fatal: bool = False  # the output folder itself failed (full, read-only): the batch stops
    has_report: bool = False  # a report of this town is in the folder (a failed town may keep an earlier one)

    @property
    def html(self) -> str:
        return report_path("", self.safe_name, ".html").name

    @classmethod
    def worker_failed(cls, job, reason: str) -> "TownResult":
        """A town whose worker (process, thread or cluster task) failed outside the town's own error handling."""
        return cls(job.town_id, job.town_name, job.safe_name, "failed", error=f"worker failed: {reason}")
