"""Collective income indicators per village (村集体经济收入), money in yuan.

The income table is long: ``village_id``, ``year`` (int), ``category`` (one of
business 经营收入, contracting 发包及上交收入, investment 投资收益, subsidy
补助收入, other 其他收入) and ``amount_yuan`` (float; only investment income
may be negative, a loss). "Operating income" (经营性收入) of the 消薄
standard is business + contracting + investment.

Indicators for a chosen year: ``income_total_yuan``,
``operating_income_yuan``, ``share_business`` ... ``share_other``,
``income_hhi``, ``weak_village``, ``income_per_resident_yuan``,
``operating_income_per_resident_yuan``, ``income_growth``, ``income_cagr``;
and :func:`income_panel`, the whole village x year x category panel for trend
charts.

Rules for awkward data (the same in every function)
---------------------------------------------------
* Every pure function returns a Series indexed by ``village_id`` and named by
  the indicator id: the villages given (``villages``: ids or the villages
  table), else every village of the income table, sorted.
* **Missing categories.** A village with at least one income row in the year
  counts the categories it has no row for as 0 (the collective accounts leave
  empty categories out), with a note naming them. A village with no row in
  the year gets NaN (NA for ``weak_village``), with a note.
* Rows with a missing amount are left out (note), so the category counts as
  missing; rows of an unknown category or without ``village_id``/``year`` are
  left out (note); duplicate rows of one village, year and category are
  summed (note).
* Shares divide by the total; when the total is 0 or negative (losses larger
  than all other income) shares are NaN (note): a share of a non-positive
  total has no meaning. Never inf.
* ``income_hhi`` counts losses as 0 (the catalog's rule):
  ``s_k = max(x_k, 0) / sum_j max(x_j, 0)``.
* ``weak_village`` compares with :func:`villagestudy.metrics.standards.meets`
  (exactly at a threshold is not weak).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._map_unique import found_in
from ..schema import INCOME_CATEGORIES, OPERATING_CATEGORIES
from ..settings import Settings
from ._common import Notes, note as _note, village_index
from .standards import meets

__all__ = [
    "INCOME_INDICATORS", "SHARE_INDICATORS", "DEFAULT_WEAK_TOTAL_YUAN", "DEFAULT_WEAK_OPERATING_YUAN",
    "category_amounts", "income_total_yuan", "operating_income_yuan", "income_share", "share_business",
    "share_contracting", "share_investment", "share_subsidy", "share_other", "income_hhi", "weak_village",
    "income_per_resident_yuan", "operating_income_per_resident_yuan", "income_growth", "income_cagr",
    "income_by_year", "income_indicators", "income_panel",
]

SHARE_INDICATORS = {f"share_{c}": c for c in INCOME_CATEGORIES}
INCOME_INDICATORS = ("income_total_yuan", "operating_income_yuan", *SHARE_INDICATORS, "income_hhi", "weak_village",
                     "income_per_resident_yuan", "operating_income_per_resident_yuan", "income_growth",
                     "income_cagr")
FLAG_INDICATORS = ("weak_village",)
DEFAULT_WEAK_TOTAL_YUAN = float(Settings.weak_total_yuan)
DEFAULT_WEAK_OPERATING_YUAN = float(Settings.weak_operating_yuan)


# ---------------------------------------------------------------- helpers
def _clean(income: pd.DataFrame, notes: Notes | None, name: str) -> pd.DataFrame:
    """village_id (str), year (int), category, amount (float) of usable rows."""
    missing = [c for c in ("village_id", "year", "category", "amount_yuan") if c not in income]
    if missing:
        raise ValueError(f"the income table lacks column(s) {', '.join(missing)}")
    frame = pd.DataFrame({
        "village_id": income["village_id"],
        "year": pd.to_numeric(income["year"], errors="coerce"),
        "category": _normalise_category(income["category"]),
        "amount": pd.to_numeric(income["amount_yuan"], errors="coerce").astype("float64"),
    })
    bad_key = frame["village_id"].isna() | frame["year"].isna()
    if bad_key.any():
        _note(notes, name, f"{int(bad_key.sum())} income row(s) without village_id or year left out")
    frame = frame[~bad_key]
    unknown = ~frame["category"].isin(INCOME_CATEGORIES)
    if unknown.any():
        cats = sorted({str(c) for c in frame.loc[unknown, "category"]})
        _note(notes, name, f"{int(unknown.sum())} income row(s) of unknown category ({', '.join(cats)}) left out")
    frame = frame[~unknown]
    frame = frame.assign(village_id=frame["village_id"].astype("str"), year=frame["year"].astype("int64"))
    no_amount = frame["amount"].isna()
    if no_amount.any() and notes is not None:
        for (v, y), n in frame[no_amount].groupby(["village_id", "year"]).size().items():
            notes.add(name, f"{int(n)} income row(s) of {y} without amount left out", village_id=str(v))
    frame = frame[~no_amount]
    dup = frame.duplicated(["village_id", "year", "category"], keep=False)
    if dup.any() and notes is not None:
        for v in sorted(pd.unique(frame.loc[dup, "village_id"])):
            notes.add(name, "duplicate income rows of one year and category summed", village_id=str(v))
    return frame.reset_index(drop=True)


def _normalise_category(values: pd.Series) -> np.ndarray:
    """Categories stripped and lower-cased (done once per distinct value)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    norm = np.array([u.strip().lower() if isinstance(u, str) else u for u in uniques] + [None], dtype=object)
    return norm[codes]


def _default_year(clean: pd.DataFrame, year) -> int | None:
    if year is not None:
        return int(year)
    return int(clean["year"].max()) if len(clean) else None


def _amounts(clean: pd.DataFrame) -> pd.DataFrame:
    """(village_id, year) x five categories, NaN where a category has no row."""
    wide = clean.pivot_table(index=["village_id", "year"], columns="category", values="amount", aggfunc="sum")
    return wide.reindex(columns=list(INCOME_CATEGORIES)).astype("float64")


def _year_amounts(clean: pd.DataFrame, year: int | None, index: pd.Index, notes: Notes | None,
                  name: str) -> pd.DataFrame:
    """Village x categories for ``year``: missing categories 0 when the village has rows (note)."""
    cols = list(INCOME_CATEGORIES)
    if year is None:
        _note(notes, name, "the income table has no rows")
        return pd.DataFrame(np.nan, index=index, columns=cols, dtype="float64")
    rows = clean[clean["year"] == year]
    wide = _amounts(rows).droplevel("year") if len(rows) else pd.DataFrame(columns=cols, dtype="float64")
    wide.index = wide.index.astype("str")
    has = wide.index
    if notes is not None:
        gaps = wide.isna()
        for v in wide.index[gaps.any(axis=1)]:
            if v in index:
                lacking = [c for c in cols if gaps.at[v, c]]
                notes.add(name, f"no {', '.join(lacking)} income row in {year}: counted as 0", village_id=str(v))
    wide = wide.fillna(0.0).reindex(index)
    _note(notes, name, f"no income rows in {year}", index[~found_in(index, has)])
    wide.index.name = "village_id"
    return wide


class _Recorder:
    """Collects notes as (village_id, message) to replay under any indicator id."""

    def __init__(self) -> None:
        self.items: list[tuple[str | None, str]] = []

    def add(self, indicator: str, message: str, village_id: str | None = None) -> None:
        self.items.append((village_id, message))


def _replay(notes: Notes | None, name: str, items) -> None:
    if notes is not None:
        for village_id, message in items:
            notes.add(name, message, village_id=village_id)


@dataclass
class _Prepared:
    """An income table cleaned once (with its notes), and its per-year amounts.

    :func:`income_indicators` passes one to every pure function so that a
    large table is cleaned once, not once per indicator; the notes are
    replayed under each indicator's id as if each function had cleaned it.
    """

    clean: pd.DataFrame
    items: list
    amounts: dict = field(default_factory=dict)


def _prepared(income) -> _Prepared:
    if isinstance(income, _Prepared):
        return income
    rec = _Recorder()
    clean = _clean(income, rec, "")
    return _Prepared(clean, rec.items)


def _prepare(income, year, villages, notes, name):
    prep = _prepared(income)
    _replay(notes, name, prep.items)
    index = village_index(villages, prep.clean["village_id"])
    year = _default_year(prep.clean, year)
    return prep, index, year


def _divide(num: pd.Series, den: pd.Series, valid: pd.Series, notes: Notes | None, name: str,
            why: str) -> pd.Series:
    """num / den where ``valid`` (den > 0 etc.), NaN elsewhere with a note for known numerators."""
    bad = ~valid.fillna(False) & num.notna()
    _note(notes, name, why, num.index[bad])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den.where(valid.fillna(False))
    return out.where(np.isfinite(out)).astype("float64").rename(name)


_PARAMS = """
    Parameters
    ----------
    income : DataFrame
        Canonical long income table (``village_id``, ``year``, ``category``,
        ``amount_yuan``).
    year : int, optional
        The year; default the latest year of the table.
    villages : DataFrame or iterable of str, optional
        The villages to report (the villages table or ids); default every
        village of the income table, sorted.
    notes : Notes, optional
        Receives why values are missing and which categories counted as 0.
"""


# ------------------------------------------------------------- indicators
def category_amounts(income: pd.DataFrame, year: int | None = None, villages=None,
                     notes: Notes | None = None, indicator: str = "income_total_yuan") -> pd.DataFrame:
    """Income of each of the five categories for one year, yuan.

    Formula: the sum of ``amount_yuan`` per village and category in ``year``;
    a category without a row counts as 0 when the village has any row that
    year (note), the whole row is NaN when it has none (note).
    {params}    indicator : str
        The indicator id the notes are filed under.

    Returns
    -------
    DataFrame
        Indexed by ``village_id``; columns business, contracting, investment,
        subsidy, other.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({{"village_id": ["v1", "v1"], "year": [2023, 2023],
    ...                     "category": ["business", "subsidy"], "amount_yuan": [80_000.0, 30_000.0]}})
    >>> category_amounts(inc).loc["v1"].tolist()
    [80000.0, 0.0, 0.0, 30000.0, 0.0]
    """
    prep, index, year = _prepare(income, year, villages, notes, indicator)
    key = (year, tuple(index))
    if key not in prep.amounts:
        rec = _Recorder()
        prep.amounts[key] = (_year_amounts(prep.clean, year, index, rec, ""), rec.items)
    wide, items = prep.amounts[key]
    _replay(notes, indicator, items)
    return wide.copy()


def income_total_yuan(income: pd.DataFrame, year: int | None = None, villages=None,
                      notes: Notes | None = None) -> pd.Series:
    """Collective income of the year (村集体经济总收入), yuan.

    Formula: business + contracting + investment + subsidy + other (a loss in
    investment income lowers the total).
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({{"village_id": ["v1"] * 3, "year": [2023] * 3,
    ...                     "category": ["business", "investment", "subsidy"],
    ...                     "amount_yuan": [80_000.0, -10_000.0, 40_000.0]}})
    >>> income_total_yuan(inc).tolist()
    [110000.0]
    """
    name = "income_total_yuan"
    amounts = category_amounts(income, year, villages, notes, name)
    return amounts.sum(axis=1, min_count=1).astype("float64").rename(name)


def operating_income_yuan(income: pd.DataFrame, year: int | None = None, villages=None,
                          notes: Notes | None = None) -> pd.Series:
    """Operating income of the year (经营性收入), yuan.

    Formula: business + contracting + investment (subsidy and other income
    left out), the "own-earned" part of the 消薄 standard.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({{"village_id": ["v1"] * 3, "year": [2023] * 3,
    ...                     "category": ["business", "contracting", "subsidy"],
    ...                     "amount_yuan": [30_000.0, 20_000.0, 60_000.0]}})
    >>> operating_income_yuan(inc).tolist()
    [50000.0]
    """
    name = "operating_income_yuan"
    amounts = category_amounts(income, year, villages, notes, name)
    return amounts[list(OPERATING_CATEGORIES)].sum(axis=1, min_count=1).astype("float64").rename(name)


def _shares(amounts: pd.DataFrame, notes: Notes | None, name: str) -> pd.DataFrame:
    total = amounts.sum(axis=1, min_count=1)
    valid = total > 0
    bad = total.notna() & ~valid
    _note(notes, name, "total income is zero or negative: no shares", total.index[bad])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = amounts.div(total.where(valid), axis=0)
    return out.where(np.isfinite(out))


def income_share(income: pd.DataFrame, category: str, year: int | None = None, villages=None,
                 notes: Notes | None = None) -> pd.Series:
    """Share of one category in the total income, share (negative for an investment loss).

    Formula: ``amount of the category / total income``; NaN (note) when the
    total is 0 or negative.
    {params}    category : str
        One of business, contracting, investment, subsidy, other.

    Returns
    -------
    Series
        Named ``share_<category>``.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({{"village_id": ["v1"] * 2, "year": [2023] * 2,
    ...                     "category": ["business", "subsidy"], "amount_yuan": [75_000.0, 25_000.0]}})
    >>> income_share(inc, "subsidy").tolist()
    [0.25]
    """
    if category not in INCOME_CATEGORIES:
        raise ValueError(f"unknown income category {category!r}; categories are {', '.join(INCOME_CATEGORIES)}")
    name = f"share_{category}"
    amounts = category_amounts(income, year, villages, notes, name)
    return _shares(amounts, notes, name)[category].astype("float64").rename(name)


def _share_function(category: str, label: str):
    def share(income: pd.DataFrame, year: int | None = None, villages=None, notes: Notes | None = None) -> pd.Series:
        return income_share(income, category, year, villages, notes)

    share.__name__ = share.__qualname__ = f"share_{category}"
    share.__doc__ = f"""Share of {category} income in the total ({label}), share 0-1.

    Formula: ``{category} / total income``; NaN (note) when the total is 0 or
    negative. See :func:`income_share`.
    {{params}}
    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({{{{"village_id": ["v1"] * 2, "year": [2023] * 2,
    ...                     "category": ["{category}", "{'other' if category != 'other' else 'business'}"],
    ...                     "amount_yuan": [60_000.0, 40_000.0]}}}})
    >>> share_{category}(inc).tolist()
    [0.6]
    """
    return share


share_business = _share_function("business", "经营收入占比")
share_contracting = _share_function("contracting", "发包及上交收入占比")
share_investment = _share_function("investment", "投资收益占比; negative for a loss")
share_subsidy = _share_function("subsidy", "补助收入占比, dependence on transfers")
share_other = _share_function("other", "其他收入占比")


def income_hhi(income: pd.DataFrame, year: int | None = None, villages=None, notes: Notes | None = None) -> pd.Series:
    """Concentration of income over the five categories (收入集中度, HHI), 0.2-1.

    Formula: ``sum_k s_k**2`` with ``s_k = max(x_k, 0) / sum_j max(x_j, 0)``:
    losses (negative investment income) count as 0. 0.2 = evenly spread over
    the five categories, 1 = a single source. NaN (note) when no category is
    positive.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({{"village_id": ["v1"] * 3, "year": [2023] * 3,
    ...                     "category": ["business", "investment", "subsidy"],
    ...                     "amount_yuan": [60_000.0, -20_000.0, 40_000.0]}})
    >>> round(float(income_hhi(inc).iloc[0]), 4)   # 0.6**2 + 0.4**2, the loss as 0
    0.52
    """
    name = "income_hhi"
    amounts = category_amounts(income, year, villages, notes, name)
    pos = amounts.clip(lower=0.0)
    psum = pos.sum(axis=1, min_count=1)
    valid = psum > 0
    _note(notes, name, "no income category is positive: no concentration", psum.index[psum.notna() & ~valid])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = pos.div(psum.where(valid), axis=0)
    hhi = (s * s).sum(axis=1, min_count=1).where(valid)
    return hhi.clip(upper=1.0).astype("float64").rename(name)


def weak_village(income: pd.DataFrame, year: int | None = None, weak_total_yuan: float = DEFAULT_WEAK_TOTAL_YUAN,
                 weak_operating_yuan: float = DEFAULT_WEAK_OPERATING_YUAN, villages=None,
                 notes: Notes | None = None) -> pd.Series:
    """Weak village by the 消薄 standard (薄弱村), nullable boolean.

    Formula: ``total < weak_total_yuan or operating < weak_operating_yuan``;
    exactly at a threshold is not weak (Lishui standard: 100,000 and 50,000
    yuan). NA when the village has no income row in the year.
    {params}    weak_total_yuan, weak_operating_yuan : float
        ``settings.weak_total_yuan`` and ``settings.weak_operating_yuan``.

    Returns
    -------
    Series of dtype ``"boolean"``

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({{"village_id": ["v1", "v1", "v2"], "year": [2023] * 3,
    ...                     "category": ["business", "subsidy", "business"],
    ...                     "amount_yuan": [50_000.0, 50_000.0, 99_999.99]}})
    >>> weak_village(inc).tolist()
    [False, True]
    """
    name = "weak_village"
    amounts = category_amounts(income, year, villages, notes, name)
    total = amounts.sum(axis=1, min_count=1)
    operating = amounts[list(OPERATING_CATEGORIES)].sum(axis=1, min_count=1)
    ok = meets(total, weak_total_yuan, ">=") & meets(operating, weak_operating_yuan, ">=")
    weak = (~ok).astype("boolean").where(total.notna() & operating.notna())
    return weak.rename(name)


def _residents(villages, index: pd.Index, notes: Notes | None, name: str) -> pd.Series:
    if not isinstance(villages, pd.DataFrame) or "resident_pop" not in villages:
        _note(notes, name, "the villages table has no resident_pop column")
        return pd.Series(np.nan, index=index, dtype="float64")
    pop = pd.to_numeric(villages["resident_pop"], errors="coerce").astype("float64")
    pop.index = villages["village_id"].astype("str")
    return pop[~pop.index.duplicated()].reindex(index)


def _per_resident(income, villages, year, notes, name, categories) -> pd.Series:
    if not isinstance(villages, pd.DataFrame):
        raise TypeError(f"{name} needs the villages table (with resident_pop), not {type(villages).__name__}")
    amounts = category_amounts(income, year, villages, notes, name)
    num = amounts[list(categories)].sum(axis=1, min_count=1)
    pop = _residents(villages, amounts.index, notes, name)
    return _divide(num, pop, pop > 0, notes, name, "resident population missing or zero")


def income_per_resident_yuan(income: pd.DataFrame, villages: pd.DataFrame, year: int | None = None,
                             notes: Notes | None = None) -> pd.Series:
    """Collective income per resident (人均集体收入), yuan per resident.

    Formula: ``income_total_yuan / resident_pop``; NaN (note) when the
    resident population is missing or 0.

    Parameters
    ----------
    income : DataFrame
        Canonical long income table.
    villages : DataFrame
        The villages table (``village_id``, ``resident_pop``); one row per village.
    year : int, optional
        Default the latest year of the income table.
    notes : Notes, optional

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"village_id": ["v1"], "year": [2023], "category": ["business"],
    ...                     "amount_yuan": [200_000.0]})
    >>> vil = pd.DataFrame({"village_id": ["v1", "v2"], "resident_pop": [1000, 0]})
    >>> income_per_resident_yuan(inc, vil).tolist()
    [200.0, nan]
    """
    return _per_resident(income, villages, year, notes, "income_per_resident_yuan", INCOME_CATEGORIES)


def operating_income_per_resident_yuan(income: pd.DataFrame, villages: pd.DataFrame, year: int | None = None,
                                       notes: Notes | None = None) -> pd.Series:
    """Operating income per resident (人均经营性收入), yuan per resident.

    Formula: ``operating_income_yuan / resident_pop``; NaN (note) when the
    resident population is missing or 0.

    Parameters
    ----------
    income : DataFrame
        Canonical long income table.
    villages : DataFrame
        The villages table (``village_id``, ``resident_pop``).
    year : int, optional
    notes : Notes, optional

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"village_id": ["v1", "v1"], "year": [2023, 2023],
    ...                     "category": ["business", "subsidy"], "amount_yuan": [50_000.0, 50_000.0]})
    >>> vil = pd.DataFrame({"village_id": ["v1"], "resident_pop": [500]})
    >>> operating_income_per_resident_yuan(inc, vil).tolist()
    [100.0]
    """
    return _per_resident(income, villages, year, notes, "operating_income_per_resident_yuan", OPERATING_CATEGORIES)


def _totals(clean: pd.DataFrame) -> pd.DataFrame:
    """village x year totals (NaN where a village has no row that year)."""
    if not len(clean):
        return pd.DataFrame(dtype="float64")
    totals = clean.groupby(["village_id", "year"])["amount"].sum().unstack("year")
    totals.index = totals.index.astype("str")
    return totals.astype("float64")


def income_by_year(income: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.DataFrame:
    """Total income per village and year, yuan (the panel :func:`income_growth` and :func:`income_cagr` use).

    Formula: sum of the five categories per village and year (missing
    categories count as 0); NaN where the village has no row that year.

    Parameters
    ----------
    income : DataFrame
        Canonical long income table.
    villages : DataFrame or iterable of str, optional
    notes : Notes, optional

    Returns
    -------
    DataFrame
        Indexed by ``village_id``, one column per year (int), sorted.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"village_id": ["v1", "v1"], "year": [2022, 2023],
    ...                     "category": ["business", "business"], "amount_yuan": [1.0, 2.0]})
    >>> income_by_year(inc).loc["v1"].tolist()
    [1.0, 2.0]
    """
    prep = _prepared(income)
    _replay(notes, "income_total_yuan", prep.items)
    index = village_index(villages, prep.clean["village_id"])
    totals = _totals(prep.clean)
    years = sorted(totals.columns) if len(totals.columns) else []
    return totals.reindex(index=index, columns=years)


def income_growth(income: pd.DataFrame, year: int | None = None, villages=None,
                  notes: Notes | None = None) -> pd.Series:
    """Growth of total income over the year before (总收入增长率), share.

    Formula: ``total(year) / total(year - 1) - 1``; NaN (note) when the
    village has no income row in either year or the total of the year before
    is 0 or negative.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({{"village_id": ["v1", "v1"], "year": [2022, 2023],
    ...                     "category": ["business", "business"], "amount_yuan": [100_000.0, 125_000.0]}})
    >>> income_growth(inc, year=2023).tolist()
    [0.25]
    """
    name = "income_growth"
    prep, index, year = _prepare(income, year, villages, notes, name)
    clean = prep.clean
    if year is None:
        _note(notes, name, "the income table has no rows")
        return pd.Series(np.nan, index=index, dtype="float64", name=name)
    totals = _totals(clean).reindex(index)
    now = totals[year] if year in totals else pd.Series(np.nan, index=index)
    before = totals[year - 1] if (year - 1) in totals else pd.Series(np.nan, index=index)
    _note(notes, name, f"no income rows in {year}", index[now.isna()])
    _note(notes, name, f"no income rows in {year - 1} (the year before)", index[now.notna() & before.isna()])
    _note(notes, name, f"total income of {year - 1} is zero or negative", index[now.notna() & (before <= 0)])
    valid = before > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = now / before.where(valid) - 1.0
    return out.where(np.isfinite(out)).astype("float64").rename(name)


def income_cagr(income: pd.DataFrame, year: int | None = None, villages=None,
                notes: Notes | None = None) -> pd.Series:
    """Compound annual growth of total income (总收入年均增长率), share per year.

    Formula: ``(T_last / T_first) ** (1 / (y_last - y_first)) - 1`` over the
    years the village has income rows, up to and including ``year`` (years
    after it are ignored; gaps in between are allowed). NaN (note) with fewer
    than two years, a first total of 0 or less, or a negative last total; a
    last total of 0 gives -1.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({{"village_id": ["v1", "v1"], "year": [2020, 2022],
    ...                     "category": ["business", "business"], "amount_yuan": [100.0, 121.0]}})
    >>> round(float(income_cagr(inc).iloc[0]), 6)
    0.1
    """
    name = "income_cagr"
    prep, index, year = _prepare(income, year, villages, notes, name)
    clean = prep.clean
    if year is None:
        _note(notes, name, "the income table has no rows")
        return pd.Series(np.nan, index=index, dtype="float64", name=name)
    clean = clean[clean["year"] <= year]
    out = pd.Series(np.nan, index=index, dtype="float64", name=name)
    if not len(clean):
        _note(notes, name, f"no income rows up to {year}", index)
        return out
    per_year = clean.groupby(["village_id", "year"], sort=True)["amount"].sum().reset_index()
    g = per_year.groupby("village_id", sort=False)
    span = pd.DataFrame({"n": g.size(), "y0": g["year"].first(), "y1": g["year"].last(),
                         "t0": g["amount"].first(), "t1": g["amount"].last()})
    span.index = span.index.astype("str")
    span = span.reindex(index)
    absent = span["n"].isna()
    few = ~absent & (span["n"] < 2)
    enough = ~absent & ~few
    bad_first = enough & ~(span["t0"] > 0)
    bad_last = enough & ~bad_first & (span["t1"] < 0)
    if notes is not None:
        _note(notes, name, f"no income rows up to {year}", index[absent])
        _note(notes, name, f"income of fewer than two years up to {year}", index[few])
        for v in index[enough & (span["y1"] != year)]:
            notes.add(name, f"last year with income is {int(span.at[v, 'y1'])}, not {year}", village_id=str(v))
        for v in index[bad_first]:
            notes.add(name, f"total income of the first year ({int(span.at[v, 'y0'])}) is zero or negative",
                      village_id=str(v))
        for v in index[bad_last]:
            notes.add(name, f"total income of the last year ({int(span.at[v, 'y1'])}) is negative",
                      village_id=str(v))
    ok = enough & ~bad_first & ~bad_last
    if ok.any():
        sub = span[ok]
        ratio = (sub["t1"] / sub["t0"]).to_numpy(dtype=float)
        years = (sub["y1"] - sub["y0"]).to_numpy(dtype=float)
        out[ok.to_numpy()] = np.power(ratio, 1.0 / years) - 1.0
    return out


for _fn in (category_amounts, income_total_yuan, operating_income_yuan, income_share, share_business,
            share_contracting, share_investment, share_subsidy, share_other, income_hhi, weak_village,
            income_growth, income_cagr):
    _fn.__doc__ = _fn.__doc__.format(params=_PARAMS)
del _fn


# ------------------------------------------------------------------ study
def _empty(index: pd.Index) -> pd.DataFrame:
    table = pd.DataFrame({ind: np.nan for ind in INCOME_INDICATORS if ind not in FLAG_INDICATORS},
                         index=index, dtype="float64")
    for ind in FLAG_INDICATORS:
        table[ind] = pd.Series(pd.NA, index=index, dtype="boolean")
    return table[list(INCOME_INDICATORS)]


def income_indicators(study, year: int | None = None, notes: Notes | None = None) -> pd.DataFrame:
    """All income indicators of a study for one year, one row per village.

    Parameters
    ----------
    study : Study
        Uses ``study.income``, ``study.villages`` (``resident_pop``) and the
        settings ``weak_total_yuan`` and ``weak_operating_yuan``.
    year : int, optional
        Default ``study.default_year`` (the study's year, else its latest).
    notes : Notes, optional

    Returns
    -------
    DataFrame
        Indexed by ``village_id`` (every village of the study), one column per
        income indicator id; ``weak_village`` is nullable boolean. Without an
        income table every value is NaN/NA (note).

    Examples
    --------
    >>> import pandas as pd
    >>> from villagestudy import Study
    >>> v = pd.DataFrame({"village_id": ["v1", "v2"], "village_name": ["甲", "乙"], "town_id": ["t1", "t1"]})
    >>> i = pd.DataFrame({"village_id": ["v1"], "year": [2023], "category": ["business"], "amount_yuan": [1e5]})
    >>> income_indicators(Study.from_frames(villages=v, income=i))["weak_village"].tolist()
    [False, <NA>]
    """
    notes = notes if notes is not None else Notes()
    villages = study.villages
    index = village_index(villages, []) if villages is not None else pd.Index([], name="village_id", dtype="str")
    income = study.income
    if income is None or len(income) == 0:
        for ind in INCOME_INDICATORS:
            notes.add(ind, "the study has no income table")
        return _empty(index)
    if year is None:
        year = study.default_year
    try:
        income = _prepared(income)      # cleaned once for every indicator below
    except ValueError as exc:
        for ind in INCOME_INDICATORS:
            notes.add(ind, str(exc))
        return _empty(index)
    s = study.settings
    cols = {
        "income_total_yuan": income_total_yuan(income, year, villages, notes),
        "operating_income_yuan": operating_income_yuan(income, year, villages, notes),
    }
    for ind, cat in SHARE_INDICATORS.items():
        cols[ind] = income_share(income, cat, year, villages, notes)
    cols["income_hhi"] = income_hhi(income, year, villages, notes)
    cols["weak_village"] = weak_village(income, year, s.weak_total_yuan, s.weak_operating_yuan, villages, notes)
    cols["income_per_resident_yuan"] = income_per_resident_yuan(income, villages, year, notes)
    cols["operating_income_per_resident_yuan"] = operating_income_per_resident_yuan(income, villages, year, notes)
    cols["income_growth"] = income_growth(income, year, villages, notes)
    cols["income_cagr"] = income_cagr(income, year, villages, notes)
    table = pd.DataFrame(cols)
    table.index.name = "village_id"
    return table[list(INCOME_INDICATORS)]


def income_panel(study, long: bool = False) -> pd.DataFrame:
    """The whole income panel: every village and year of the income table, for trend charts.

    Missing categories of a village-year that has rows count as 0, as in the
    indicators; village-years without rows are absent.

    Parameters
    ----------
    study : Study
    long : bool, default False
        False: one row per village and year with columns ``village_id``,
        ``town_id``, ``village_name``, ``year``, business, contracting,
        investment, subsidy, other, ``total``, ``operating``. True: one row per
        village, year and category (the five categories plus ``total`` and
        ``operating``) with ``village_id``, ``town_id``, ``village_name``,
        ``year``, ``category``, ``amount_yuan``.

    Returns
    -------
    DataFrame
        Sorted by village (in the villages table's order) and year; empty
        (with the columns) without an income table. Villages of the income
        table unknown to the villages table keep an empty name and town.

    Examples
    --------
    >>> import pandas as pd
    >>> from villagestudy import Study
    >>> v = pd.DataFrame({"village_id": ["v1"], "village_name": ["甲"], "town_id": ["t1"]})
    >>> i = pd.DataFrame({"village_id": ["v1", "v1"], "year": [2022, 2023], "category": ["business", "subsidy"],
    ...                   "amount_yuan": [1.0, 2.0]})
    >>> panel = income_panel(Study.from_frames(villages=v, income=i))
    >>> panel["year"].tolist(), panel[["business", "subsidy", "total"]].values.tolist()
    ([2022, 2023], [[1.0, 0.0, 1.0], [0.0, 2.0, 2.0]])
    """
    cats = list(INCOME_CATEGORIES)
    wide_cols = ["village_id", "town_id", "village_name", "year", *cats, "total", "operating"]
    income = study.income
    if income is None or len(income) == 0:
        wide = pd.DataFrame({c: pd.Series([], dtype="float64") for c in wide_cols})
        wide["year"] = wide["year"].astype("int64")
        for c in ("village_id", "town_id", "village_name"):
            wide[c] = wide[c].astype("str")
    else:
        clean = _clean(income, None, "income_total_yuan")
        wide = _amounts(clean).fillna(0.0) if len(clean) else pd.DataFrame(columns=cats, dtype="float64")
        wide["total"] = wide[cats].sum(axis=1)
        wide["operating"] = wide[list(OPERATING_CATEGORIES)].sum(axis=1)
        wide = wide.reset_index() if len(clean) else wide.assign(village_id=pd.Series([], dtype="str"),
                                                                 year=pd.Series([], dtype="int64"))
        villages = study.villages.drop_duplicates("village_id").set_index("village_id")
        wide["village_id"] = wide["village_id"].astype("str")
        wide["town_id"] = wide["village_id"].map(villages["town_id"]).astype("str")
        wide["village_name"] = wide["village_id"].map(villages["village_name"]).astype("str")
        order = {v: k for k, v in enumerate(villages.index)}
        wide["_k"] = wide["village_id"].map(order).fillna(len(order)).astype("int64")
        wide = wide.sort_values(["_k", "village_id", "year"], kind="mergesort").drop(columns="_k")
        wide = wide[wide_cols].reset_index(drop=True)
        wide.columns.name = None
    if not long:
        return wide
    out = wide.melt(id_vars=["village_id", "town_id", "village_name", "year"],
                    value_vars=[*cats, "total", "operating"], var_name="category", value_name="amount_yuan")
    order = {c: k for k, c in enumerate([*cats, "total", "operating"])}
    out["_c"] = out["category"].map(order)
    out["_r"] = np.tile(np.arange(len(wide)), len(order)) if len(wide) else pd.Series([], dtype="int64")
    out = out.sort_values(["_r", "_c"], kind="mergesort").drop(columns=["_r", "_c"]).reset_index(drop=True)
    return out
