"""Numbers for people: THE formatter of reports, maps, charts, the app and spreadsheets.

How a value is shown depends on its *format*, which the indicator catalog
(``data/indicators.toml``, field ``format``) sets per indicator:

``money``
    yuan with thousands separators; from the catalog's ``wan_from_yuan``
    (default 100,000) in 万 (zh, "1,690.5万") or millions (en, "16.91 million").
``percent``
    shares and rates, ``0.536`` -> ``53.6%``.
``count``
    whole numbers with separators, ``12,345``.
``index``
    bounded indices (Simpson, HHI...) with fixed decimals, ``0.734``.
``number``
    other magnitudes: 1,234 / 56.7 / 0.89.
``stat``
    regression estimates: three significant digits, positional.
``pvalue``
    ``0.034`` or ``<0.001``.
``flag``
    是/否, Yes/No.

Missing values (None, NaN, NA, +-inf) are shown as "—". Scientific notation
is never produced: every path formats positionally.

Examples
--------
>>> fmt_number(16905432, kind="money")
'1,690.5万'
>>> fmt_number(16905432, kind="money", lang="en")
'16.91 million'
>>> fmt_number(0.00571, kind="percent")
'0.6%'
>>> fmt_value(float("nan"))
'无数据'
>>> fmt_value(3060.4, "income_per_resident_yuan")
'3,060'
>>> fmt_number(1.3e-9, kind="stat")
'0.0000000013'
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import catalog
from .i18n import normalise_lang, t

MISSING = "—"
FORMATS = ("money", "percent", "count", "index", "number", "stat", "pvalue", "flag", "text")

#: formats of columns that are not indicators (ranks, scores, regression tables)
COLUMN_FORMATS = {
    "score": "score", "land": "score", "income": "score", "governance": "score",
    "rank": "count", "rank_in_town": "count", "rank_median": "count", "rank_p05": "count", "rank_p95": "count",
    "data_availability": "percent", "estimate": "stat", "std_error": "stat", "statistic": "stat",
    "t_value": "stat", "ci_low": "stat", "ci_high": "stat", "conf_low": "stat", "conf_high": "stat",
    "p_value": "pvalue", "n": "count", "n_clusters": "count", "weight": "number",
}

#: Excel/WPS number formats of each format (openpyxl ``cell.number_format``)
EXCEL_FORMATS = {
    "money": "#,##0", "percent": "0.0%", "count": "#,##0", "index": "0.000", "number": "#,##0.00",
    "stat": "0.000", "pvalue": "0.000", "score": "0.0", "flag": "General", "text": "@",
}


@dataclass(frozen=True)
class NumberFormat:
    """How one column is shown: format name and decimals (``None``: by magnitude)."""

    kind: str = "number"
    decimals: int | None = None


def is_missing(v) -> bool:
    """True for None, NaN, NA, NaT and infinities (never for 0 or '').

    >>> is_missing(None), is_missing(float("inf")), is_missing(0)
    (True, True, False)
    """
    if v is None:
        return True
    try:
        if bool(pd.isna(v)):
            return True
    except (TypeError, ValueError):
        return False
    if isinstance(v, (float, np.floating)):
        return not math.isfinite(float(v))
    return False


def esc(value) -> str:
    """HTML-escape a value taken from data (names, ids) for plotly text; missing gives ''.

    >>> esc("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def wan_from_yuan() -> float:
    """The amount (yuan) from which money is shown in 万 (catalog setting ``wan_from_yuan``)."""
    return float(catalog.display_setting("wan_from_yuan", 100_000))


def _positional(v: float, decimals: int) -> str:
    text = f"{v:,.{decimals}f}"
    if text.startswith("-") and not text.strip("-0.,"):  # -0.4 rounds to "-0": show "0"
        return text[1:]
    return text


def _significant(v: float, digits: int = 3) -> str:
    if v == 0:
        return "0"
    text = np.format_float_positional(v, precision=digits, unique=False, fractional=False, trim="-")
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = body.partition(".")
    return f"{sign}{int(whole):,}" + (f".{frac}" if frac else "")


def _magnitude(v: float) -> str:
    a = abs(v)
    if a >= 1000 or float(v).is_integer():
        return _positional(v, 0)
    if a >= 10:
        return _positional(v, 1)
    return _positional(v, 2)


def fmt_number(v, *, kind: str | None = None, decimals: int | None = None, lang: str = "zh",
               share: bool = False, count: bool = False) -> str:
    """A number for people in the given format (see the module doc); missing -> "—".

    ``share=True`` and ``count=True`` are short for ``kind="percent"`` and ``kind="count"``.

    >>> fmt_number(12345.678), fmt_number(0.5, share=True), fmt_number(7.0, count=True)
    ('12,346', '50.0%', '7')
    """
    if is_missing(v):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return t("yes" if v else "no", lang)
    v = float(v)
    kind = kind or ("percent" if share else "count" if count else "number")
    lang = normalise_lang(lang)
    if v == 0:
        v = 0.0  # no "-0"
    if kind == "money":
        a = abs(v)
        if a >= wan_from_yuan():
            if lang == "en":
                return (f"{_positional(v / 1e6, 2)} million" if a >= 1e6
                        else f"{_positional(v / 1e3, 1)} thousand")
            return f"{_positional(v / 1e4, 1)}万"
        return _positional(v, 0 if decimals is None else decimals)
    if kind == "percent":
        return f"{_positional(v * 100, 1 if decimals is None else decimals)}%"
    if kind == "count":
        return _positional(round(v), 0)
    if kind == "index":
        return _positional(v, 3 if decimals is None else decimals)
    if kind == "score":
        return _positional(v, 1 if decimals is None else decimals)
    if kind == "stat":
        return _significant(v, 3)
    if kind == "pvalue":
        return "<0.001" if v < 0.001 else _positional(v, 3)
    if kind == "flag":
        return t("yes" if v else "no", lang)
    if decimals is not None:
        return _positional(v, decimals)
    return _magnitude(v)


def number_format(meta=None) -> NumberFormat:
    """The :class:`NumberFormat` of an indicator id, a column name, a catalog entry or a viz ``Meta``."""
    if meta is None:
        return NumberFormat()
    if isinstance(meta, NumberFormat):
        return meta
    if isinstance(meta, str):
        if meta in COLUMN_FORMATS:
            return NumberFormat(COLUMN_FORMATS[meta])
        try:
            ind = catalog.get(meta)
        except KeyError:
            return NumberFormat()
        return NumberFormat(ind.fmt, ind.decimals)
    ident = getattr(meta, "id", None)
    if isinstance(ident, str) and (ident in COLUMN_FORMATS or ident in catalog.ids()):
        return number_format(ident)
    if getattr(meta, "kind", None) == "flag":
        return NumberFormat("flag")
    if getattr(meta, "is_share", False):
        return NumberFormat("percent")
    if getattr(meta, "kind", None) == "count":
        return NumberFormat("count")
    return NumberFormat()


def fmt_value(v, meta=None, lang: str = "zh", *, missing: str | None = None) -> str:
    """A value as people read it, in the format of ``meta`` (indicator id, column name or Meta).

    Missing values give ``missing`` (default the words 无数据 / No data; tables
    pass :data:`MISSING`, "—"); flags 是/否 (Yes/No); text is returned as it is.

    >>> fmt_value(0.536, "party_volunteer_rate"), fmt_value(True, "weak_village", "en")
    ('53.6%', 'Yes')
    >>> fmt_value(None, lang="en"), fmt_value(None, missing=MISSING)
    ('No data', '—')
    """
    if is_missing(v):
        return t("no_data", lang) if missing is None else missing
    nf = number_format(meta)
    if nf.kind == "flag" or isinstance(v, (bool, np.bool_)):
        return t("yes" if bool(v) else "no", lang)
    if isinstance(v, str):
        return v
    try:
        float(v)
    except (TypeError, ValueError):
        return str(v)
    return fmt_number(v, kind=nf.kind, decimals=nf.decimals, lang=lang)


def excel_format(meta=None) -> str:
    """The spreadsheet number format of a column (see :data:`EXCEL_FORMATS`)."""
    return EXCEL_FORMATS.get(number_format(meta).kind, "General")


def is_numeric_column(series: pd.Series) -> bool:
    """True for numeric, non-boolean columns (shown right-aligned)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
