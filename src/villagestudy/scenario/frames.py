"""DataFrames as JSON that read back exactly: values, dtypes, column order and index.

Floats are written with Python's shortest round-trip representation (JSON
numbers), missing values as ``null``; the dtype of each column is recorded and
restored, so ``frame_from_json(frame_to_json(f))`` equals ``f``
(``pandas.testing.assert_frame_equal``) for the frames a
:class:`~villagestudy.scenario.Comparison` holds (numbers, nullable integers and
booleans, strings).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["frame_to_json", "frame_from_json"]


def _plain(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


def _column(series: pd.Series) -> list:
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":  # numpy numbers: tolist() gives Python's own
        values = series.to_numpy().tolist()
        return [None if v != v else v for v in values] if dtype.kind == "f" else values  # NaN -> null
    return [_plain(v) for v in series.tolist()]


def frame_to_json(frame: pd.DataFrame) -> dict:
    """A JSON-ready dict of ``frame`` (see the module docstring).

    >>> f = pd.DataFrame({"a": [0.1, None]}, index=pd.Index(["x", "y"], name="id"))
    >>> pd.testing.assert_frame_equal(frame_from_json(frame_to_json(f)), f)
    """
    index = frame.index
    named = index.name is not None or not isinstance(index, pd.RangeIndex)
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(frame[c].dtype) for c in frame.columns],
        "data": [_column(frame[c]) for c in frame.columns],
        "index": {"name": index.name, "dtype": str(index.dtype), "values": _column(index.to_series())}
        if named else {"range": [int(index.start), int(index.stop), int(index.step)]},
    }


def _restore(values: list, dtype: str) -> pd.Series:
    if dtype == "float64":
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if dtype == "bool":
        return pd.Series(values, dtype="bool")
    if dtype == "object":
        return pd.Series(values, dtype="object")
    return pd.Series(values, dtype=dtype if values else dtype).astype(dtype)


def frame_from_json(data: dict) -> pd.DataFrame:
    """The DataFrame written by :func:`frame_to_json`."""
    cols = {c: _restore(v, d) for c, v, d in zip(data["columns"], data["data"], data["dtypes"])}
    idx = data["index"]
    if "range" in idx:
        index = pd.RangeIndex(*idx["range"])
    else:
        index = pd.Index(_restore(idx["values"], idx["dtype"]), name=idx["name"])
    frame = pd.DataFrame({c: s.to_numpy() if s.dtype == "float64" else s.array for c, s in cols.items()},
                         index=index, columns=data["columns"])
    for c, d in zip(data["columns"], data["dtypes"]):
        if str(frame[c].dtype) != d:
            frame[c] = frame[c].astype(d)
    return frame
