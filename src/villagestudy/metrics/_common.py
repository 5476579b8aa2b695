"""Small shared helpers of the metric modules."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd


def safe_divide(numerator, denominator, name: str | None = None) -> pd.Series:
    """``numerator / denominator`` with NaN (never inf) where the denominator is 0 or missing.

    Examples
    --------
    >>> safe_divide(pd.Series([1.0, 2.0]), pd.Series([2.0, 0.0])).tolist()
    [0.5, nan]
    """
    num = pd.Series(numerator, dtype="float64") if not isinstance(numerator, pd.Series) else numerator.astype("float64")
    den = pd.Series(denominator, dtype="float64") if not isinstance(denominator, pd.Series) else denominator.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den.where(den != 0)
    out = out.where(np.isfinite(out))
    if name is not None:
        out = out.rename(name)
    return out


def note(notes: "Notes | None", indicator: str, message: str, villages: Iterable | None = None) -> None:
    """Add ``message`` for ``indicator`` to ``notes`` (if any), once per village when villages are given."""
    if notes is None:
        return
    if villages is None:
        notes.add(indicator, message)
    else:
        for v in villages:
            notes.add(indicator, message, village_id=str(v))


@dataclass
class Notes:
    """Why indicators are missing: (indicator id or '*', village id or None, message)."""

    items: list[tuple[str, str | None, str]] = field(default_factory=list)

    def add(self, indicator: str, message: str, village_id: str | None = None) -> None:
        self.items.append((indicator, village_id, message))

    def for_indicator(self, indicator: str) -> list[str]:
        return [m for i, _, m in self.items if i == indicator]

    def as_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.items, columns=["indicator", "village_id", "note"])

    def __len__(self) -> int:
        return len(self.items)


def village_index(villages, fallback: Iterable = ()) -> pd.Index:
    """The ``village_id`` index of an indicator Series: the villages asked for, in their order.

    Parameters
    ----------
    villages : DataFrame, iterable of str or None
        A villages table (its ``village_id`` column), or village ids. None: the
        distinct non-missing ids of ``fallback``, sorted.
    fallback : iterable
        The ids present in the data (e.g. ``parcels["village_id"]``).

    Examples
    --------
    >>> village_index(pd.DataFrame({"village_id": ["v2", "v1"]})).tolist()
    ['v2', 'v1']
    >>> village_index(None, ["v2", None, "v1", "v2"]).tolist()
    ['v1', 'v2']
    """
    if villages is None:
        ids = sorted({str(v) for v in fallback if not pd.isna(v)})
    elif isinstance(villages, pd.DataFrame):
        ids = [str(v) for v in villages["village_id"]]
    else:
        ids = [str(v) for v in villages]
    return pd.Index(ids, name="village_id", dtype="str")
