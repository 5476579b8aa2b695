"""Index structure (the indicator tree) and table readers.

A *structure table* has one row per indicator and per aggregate:

========== ==========================================================
column     meaning
========== ==========================================================
id         indicator id (a column of the indicator table) or aggregate id
parent     id of the aggregate it feeds; empty/NaN for the single top
weight     weight among its siblings (default 1 = equal weights)
direction  +1 (higher is better) or -1, for indicators; NaN for aggregates
========== ==========================================================

Indicators are the leaves of the tree; every other id is an aggregate. The
*level* of a node is 1 for indicators and 1 + the highest level of its
children for aggregates, so trees of any (even ragged) depth work and are
aggregated bottom-up.

Example
-------
>>> import pandas as pd
>>> s = validate_structure(pd.DataFrame({
...     "id": ["top", "a", "b"], "parent": [None, "top", "top"],
...     "direction": [None, 1, -1]}))
>>> s.root, s.indicators, s.level["top"]
('top', ('a', 'b'), 2)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Structure", "StructureError", "validate_structure", "read_structure", "read_table"]


class StructureError(ValueError):
    """The structure table (or its fit with the indicator table) is invalid."""


@dataclass(frozen=True)
class Structure:
    """A validated index tree.

    Attributes
    ----------
    frame : DataFrame
        Clean structure table (``id``, ``parent``, ``weight``, ``direction``,
        ``level``), in input order.
    indicators : tuple of str
        Leaves, in structure order.
    aggregates : tuple of str
        Aggregates in bottom-up order (by level, then structure order); the
        last one is the root.
    root : str
        The top aggregate.
    nodes : tuple of str
        ``indicators + aggregates``: the column order of every node array.
    """

    frame: pd.DataFrame
    indicators: tuple[str, ...]
    aggregates: tuple[str, ...]
    root: str
    parent: dict[str, str | None]
    children: dict[str, tuple[str, ...]]
    weight: dict[str, float]
    direction: dict[str, float]
    level: dict[str, int]

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.indicators + self.aggregates

    @property
    def levels(self) -> list[int]:
        """Aggregate levels present, ascending (2 = first level above indicators)."""
        return sorted({self.level[a] for a in self.aggregates})

    def aggregates_top_down(self) -> list[str]:
        """Aggregates from the root down, structure order within a level."""
        order = {a: i for i, a in enumerate(self.frame["id"])}
        return sorted(self.aggregates, key=lambda a: (-self.level[a], order[a]))


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    if value is pd.NA:
        return True
    return isinstance(value, str) and value.strip() == ""


def validate_structure(structure: pd.DataFrame, table: pd.DataFrame | None = None) -> Structure:
    """Check a structure table (and optionally its indicator table) and build the tree.

    Parameters
    ----------
    structure : DataFrame
        Columns ``id``, ``parent`` (required); ``weight``, ``direction`` (optional:
        weight defaults to 1, direction to +1).
    table : DataFrame, optional
        Indicator table (units as rows). When given, every indicator must be a
        numeric column of it.

    Returns
    -------
    Structure

    Raises
    ------
    StructureError
        (a ``ValueError``) on missing columns, duplicate ids, an unknown parent,
        a cycle, no or several tops, a direction other than +-1, a negative or
        non-numeric weight, an indicator missing from the table or not numeric.
    """
    if not isinstance(structure, pd.DataFrame):
        raise StructureError("structure must be a DataFrame with columns id, parent, weight, direction")
    cols = {str(c).strip().lower(): c for c in structure.columns}
    missing = [c for c in ("id", "parent") if c not in cols]
    if missing:
        raise StructureError(f"structure table lacks column(s) {', '.join(missing)}; "
                             f"found {', '.join(map(str, structure.columns))}")
    ids = [str(v).strip() if not _blank(v) else "" for v in structure[cols["id"]]]
    if any(i == "" for i in ids):
        rows = [k + 2 for k, i in enumerate(ids) if i == ""]
        raise StructureError(f"structure table has an empty id in row(s) {rows} (header = row 1)")
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise StructureError(f"structure table has duplicate id(s): {', '.join(dup)}")
    parents = [None if _blank(v) else str(v).strip() for v in structure[cols["parent"]]]
    idset = set(ids)
    unknown = sorted({f"{i} -> {p}" for i, p in zip(ids, parents) if p is not None and p not in idset})
    if unknown:
        raise StructureError(f"unknown parent(s) (not an id of the structure): {', '.join(unknown)}")
    selfp = [i for i, p in zip(ids, parents) if p == i]
    if selfp:
        raise StructureError(f"cycle in structure: {', '.join(selfp)} is its own parent")
    parent = dict(zip(ids, parents))
    # A cycle is a chain of parents that never reaches a top.
    for start in ids:
        seen, node = [start], parent[start]
        while node is not None:
            if node in seen:
                cyc = seen[seen.index(node):] + [node]
                raise StructureError(f"cycle in structure: {' -> '.join(cyc)}")
            seen.append(node)
            node = parent[node]
    roots = [i for i in ids if parent[i] is None]
    if len(roots) != 1:
        raise StructureError(f"structure must have exactly one top (a row with an empty parent); "
                             f"found {len(roots)}: {', '.join(roots) or 'none'}")
    root = roots[0]

    children: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        if parent[i] is not None:
            children[parent[i]].append(i)
    indicators = tuple(i for i in ids if not children[i])
    if root in indicators:
        raise StructureError(f"the top '{root}' has no children: a structure needs at least one indicator under it")

    weight = _weights(structure, cols, ids)
    direction = _directions(structure, cols, ids, set(indicators))

    level: dict[str, int] = {}

    def lev(node: str) -> int:
        if node not in level:
            level[node] = 1 if not children[node] else 1 + max(lev(c) for c in children[node])
        return level[node]

    for i in ids:
        lev(i)
    order = {i: k for k, i in enumerate(ids)}
    aggregates = tuple(sorted((i for i in ids if children[i]), key=lambda a: (level[a], order[a])))

    if table is not None:
        _check_table(table, indicators)

    frame = pd.DataFrame({
        "id": ids,
        "parent": [p if p is not None else "" for p in parents],
        "weight": [weight[i] for i in ids],
        "direction": [direction.get(i, np.nan) for i in ids],
        "level": [level[i] for i in ids],
    })
    return Structure(frame=frame, indicators=indicators, aggregates=aggregates, root=root,
                     parent=parent, children={k: tuple(v) for k, v in children.items()},
                     weight=weight, direction=direction, level=level)


def _weights(structure: pd.DataFrame, cols: dict, ids: list[str]) -> dict[str, float]:
    if "weight" not in cols:
        return {i: 1.0 for i in ids}
    raw = structure[cols["weight"]]
    num = pd.to_numeric(raw, errors="coerce")
    bad = [f"{i} ({v!r})" for i, v, n in zip(ids, raw, num) if not _blank(v) and pd.isna(n)]
    if bad:
        raise StructureError(f"non-numeric weight(s): {', '.join(bad)}")
    neg = [f"{i} ({n})" for i, n in zip(ids, num) if not pd.isna(n) and (n < 0 or not np.isfinite(n))]
    if neg:
        raise StructureError(f"weights must be finite and >= 0: {', '.join(neg)}")
    return {i: (1.0 if pd.isna(n) else float(n)) for i, n in zip(ids, num)}


def _directions(structure: pd.DataFrame, cols: dict, ids: list[str], leaves: set[str]) -> dict[str, float]:
    if "direction" not in cols:
        return {i: 1.0 for i in ids if i in leaves}
    raw = structure[cols["direction"]]
    num = pd.to_numeric(raw, errors="coerce")
    out: dict[str, float] = {}
    bad = []
    for i, v, n in zip(ids, raw, num):
        if i not in leaves:
            continue  # directions of aggregates are ignored, as in COINr
        if pd.isna(n) or n not in (1, -1):
            bad.append(f"{i} ({'empty' if _blank(v) else repr(v)})")
        else:
            out[i] = float(n)
    if bad:
        raise StructureError(f"direction must be +1 or -1 for every indicator; bad: {', '.join(bad)}")
    return out


def _check_table(table: pd.DataFrame, indicators: tuple[str, ...]) -> None:
    if not isinstance(table, pd.DataFrame):
        raise StructureError("the indicator table must be a DataFrame (units as rows, indicators as columns)")
    missing = [i for i in indicators if i not in table.columns]
    if missing:
        raise StructureError(f"indicator(s) missing from the table: {', '.join(missing)}")
    nonnum = [i for i in indicators
              if not (pd.api.types.is_numeric_dtype(table[i]) and not pd.api.types.is_complex_dtype(table[i]))]
    if nonnum:
        raise StructureError(f"indicator column(s) are not numeric: {', '.join(nonnum)} "
                             f"(convert text such as '12%' or '1,200' to numbers first)")
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()].unique()[:5]
        raise StructureError(f"unit ids (the table index) are duplicated: {', '.join(map(str, dup))}")


def _read_any(path: str | Path, **kw) -> pd.DataFrame:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        # named: pandas 4 changes the default engine, and the study files are read with openpyxl too
        return pd.read_excel(path, engine="openpyxl", **kw)
    if suffix == ".xls":
        return pd.read_excel(path, **kw)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".csv", ".txt", ""):
        return pd.read_csv(path, encoding="utf-8-sig", **kw)
    raise ValueError(f"cannot read '{path.name}': use a .csv, .xlsx or .parquet file")


def read_structure(path: str | Path) -> pd.DataFrame:
    """Read a structure table from CSV, XLSX or Parquet (ids kept as text).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("id,parent,weight,direction\\ntop,,1,\\na,top,1,1\\n")
    >>> read_structure(p)["id"].tolist()
    ['top', 'a']
    """
    path = Path(path)
    kw = {} if path.suffix.lower() == ".parquet" else {"dtype": {"id": str, "parent": str}}
    return _read_any(path, **kw)


def read_table(path: str | Path, id_column: str | None = None) -> pd.DataFrame:
    """Read an indicator table from CSV, XLSX or Parquet, indexed by unit id.

    Parameters
    ----------
    path : str or Path
    id_column : str, optional
        Column holding the unit id; default the first column. Ids are read as
        text so codes such as ``"007"`` keep their leading zeros.
    """
    path = Path(path)
    head = _read_any(path, nrows=0) if path.suffix.lower() != ".parquet" else None
    if head is not None:
        idc = id_column if id_column is not None else head.columns[0]
        if idc not in head.columns:
            raise ValueError(f"id column '{idc}' not found in {path.name}; columns: {', '.join(map(str, head.columns))}")
        frame = _read_any(path, dtype={idc: str})
    else:
        frame = _read_any(path)
        idc = id_column if id_column is not None else frame.columns[0]
        frame[idc] = frame[idc].astype(str)
    return frame.set_index(idc)
