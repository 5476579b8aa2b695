"""Problems found in a study, collected and reported together.

Loading and validating never stop at the first problem: every check appends a
:class:`Problem` to a :class:`ProblemList`, and the caller raises one
:class:`StudyError` holding all of them, so a user fixes everything in one pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    """One problem in a study file.

    ``row`` is the row number as the user sees it in the file (header = row 1,
    first data row = row 2); ``None`` when the problem concerns a whole file or
    column.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: object = None
    expected: str | None = None
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.value is not None and not _is_missing(self.value):
            text += f" (found {self.value!r})"
        elif self.value is not None:
            text += " (found an empty cell)"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


def _is_missing(value: object) -> bool:
    try:
        return bool(value != value)  # NaN, pd.NA-safe enough for display
    except Exception:
        return False


@dataclass
class ProblemList:
    """A growing list of problems; errors fail a load, warnings do not."""

    items: list[Problem] = field(default_factory=list)

    def error(self, file: str, message: str, **kw) -> None:
        self.items.append(Problem(file, message, severity="error", **kw))

    def warning(self, file: str, message: str, **kw) -> None:
        self.items.append(Problem(file, message, severity="warning", **kw))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise StudyError(self.errors, self.warnings)


class StudyError(Exception):
    """A study could not be loaded; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None):
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        super().__init__(self.format())

    def format(self) -> str:
        n = len(self.problems)
        lines = [f"{n} problem{'s' if n != 1 else ''} found:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class UsageError(Exception):
    """A bad argument or option given by the user (reported without traceback)."""
