"""Text from data made safe for the places it ends up: spreadsheets, terminals and file names.

HTML escaping is Jinja2's autoescape (templates) and ``markupsafe.escape``; this module covers
the other sinks. Every CSV/XLSX writer and every line printed to a terminal goes through it.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralise_formula", "neutralise_frame", "terminal_safe", "safe_file_name"]

#: A cell that begins with one of these is run as a formula by Excel, WPS or LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def neutralise_formula(value):
    """Return ``value`` so that a spreadsheet shows it as text, never runs it.

    Strings beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a leading
    apostrophe (the convention Excel, WPS and LibreOffice read as "this is text"). Numbers,
    missing values and other strings are returned unchanged.

    Examples
    --------
    >>> neutralise_formula('=HYPERLINK("http://x","click")')
    '\\'=HYPERLINK("http://x","click")'
    >>> neutralise_formula("兰溪村"), neutralise_formula(-3.5)
    ('兰溪村', -3.5)
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and index labels are neutralised.

    Numeric columns are untouched, so numbers stay numbers in the spreadsheet.

    Examples
    --------
    >>> df = pd.DataFrame({"name": ["=1+1", "ok"], "n": [1, -2]})
    >>> neutralise_frame(df)["name"].tolist(), neutralise_frame(df)["n"].tolist()
    (["'=1+1", 'ok'], [1, -2])
    """
    out = frame.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])
                or pd.api.types.is_datetime64_any_dtype(out[col])):
            out[col] = out[col].map(neutralise_formula)
    out.columns = [neutralise_formula(c) for c in out.columns]
    if not pd.api.types.is_numeric_dtype(out.index):
        out.index = out.index.map(neutralise_formula)
    return out


def terminal_safe(text) -> str:
    """``text`` with control characters (terminal escape codes among them) shown, not run.

    Examples
    --------
    >>> terminal_safe("乐坊社区\\x1b[2J")
    '乐坊社区\\\\x1b[2J'
    """
    text = str(text)
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"),
                        unicodedata.normalize("NFC", text))


def short_hash(text: str) -> str:
    """Eight hex digits that tell apart two texts whose safe names meet.

    >>> short_hash("a/b")
    '3ec69c85'
    """
    return hashlib.sha1(str(text).encode("utf-8")).hexdigest()[:8]


def safe_file_name(town_id: str) -> str:
    """A file name made safe from a town id: only [A-Za-z0-9._-], never hidden or empty.

    A short hash is appended whenever characters had to be replaced, so that two
    different ids never share a file.

    Examples
    --------
    >>> safe_file_name("440100001")
    'town_440100001'
    >>> safe_file_name("../etc/passwd")[:15]
    'town_.._etc_pas'
    """
    cleaned = re.sub(r"[^0-9A-Za-z._-]", "_", str(town_id))[:60]
    name = f"town_{cleaned}"
    if cleaned != str(town_id) or not cleaned:
        name += "_" + short_hash(town_id)
    return name
