"""Governance indicators per village or community (基层治理).

Three sources:

* the governance table (one row per village and year, raw counts):
  ``social_workers_per_10k``, ``social_workers_ok``, ``certified_share``,
  ``experienced_share``, ``former_cadre_present``, ``grid_part_time_share``,
  ``grid_part_time_ok``, ``party_volunteer_rate``, ``social_org_event_share``,
  ``office_area_ok``, ``dispute_resolution_rate``, ``budget_per_resident_yuan``
  (the last and the first also need ``villages.resident_pop``);
* the villages table (no year): ``registration_separation_rate``;
* the grid table (no year): ``grid_count``, ``micro_grid_count``,
  ``households_per_grid``, ``micro_grid_party_coverage``.

Rules for awkward data (the same in every function)
---------------------------------------------------
* Every pure function returns a Series indexed by ``village_id`` and named by
  the indicator id: the villages given (``villages``: the villages table or
  ids), else every village of the input table, sorted.
* Ratios are NaN (note) when the denominator is 0 or missing, or the
  numerator missing; never inf.
* Flags (``*_ok``, ``former_cadre_present``) are nullable ``"boolean"``: NA
  when the value or the standard is missing (``office_area_ok`` is NA with a
  note when the study sets no ``office_area_standard_m2``). Comparisons use
  :func:`villagestudy.metrics.standards.meets` (exactly at the standard meets it).
* Governance rows for another year are ignored; a village without a row in
  the year gets NaN (note). Duplicate rows of one village and year: the first
  is used (note). Without a ``year`` column every row counts as the year's.
* Grid-table indicators: a village without grids gets 0 for the counts and
  NaN (note) for the ratios; grids of an unknown ``level`` are left out (note).
"""
from __future__ import annotations


import numpy as np
import pandas as pd

from .._map_unique import found_in, map_unique
from ..settings import Settings
from ._common import Notes, note as _note, village_index
from .standards import meets

__all__ = [
    "GOVERNANCE_INDICATORS", "TABLE_INDICATORS", "GRID_INDICATORS", "DEFAULT_SOCIAL_WORKERS_PER_10K_MIN",
    "DEFAULT_GRID_PART_TIME_MAX", "governance_rows", "social_workers_per_10k", "social_workers_ok",
    "certified_share", "experienced_share", "former_cadre_present", "grid_part_time_share", "grid_part_time_ok",
    "party_volunteer_rate", "social_org_event_share", "office_area_m2", "office_area_ok",
    "dispute_resolution_rate", "budget_per_resident_yuan", "registration_separation_rate", "grid_count",
    "micro_grid_count", "households_per_grid", "micro_grid_party_coverage", "governance_indicators",
]

TABLE_INDICATORS = ("social_workers_per_10k", "social_workers_ok", "certified_share", "experienced_share",
                    "former_cadre_present", "grid_part_time_share", "grid_part_time_ok", "party_volunteer_rate",
                    "social_org_event_share", "office_area_ok", "dispute_resolution_rate",
                    "budget_per_resident_yuan")
GRID_INDICATORS = ("grid_count", "micro_grid_count", "households_per_grid", "micro_grid_party_coverage")
GOVERNANCE_INDICATORS = (*TABLE_INDICATORS, "registration_separation_rate", *GRID_INDICATORS)
FLAG_INDICATORS = ("social_workers_ok", "former_cadre_present", "grid_part_time_ok", "office_area_ok")
DEFAULT_SOCIAL_WORKERS_PER_10K_MIN = float(Settings.social_workers_per_10k_min)
DEFAULT_GRID_PART_TIME_MAX = float(Settings.grid_part_time_max)


# ---------------------------------------------------------------- helpers
def _nan(index: pd.Index, name: str) -> pd.Series:
    return pd.Series(np.nan, index=index, dtype="float64", name=name)


def _na_flag(index: pd.Index, name: str) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="boolean", name=name)


def governance_rows(governance: pd.DataFrame, year: int | None = None, villages=None,
                    notes: Notes | None = None, indicator: str = "governance") -> pd.DataFrame:
    """The governance rows of one year, one per village, indexed by ``village_id``.

    Parameters
    ----------
    governance : DataFrame
        Canonical governance table (``village_id``, ``year``, raw counts).
    year : int, optional
        Default the latest year of the table.
    villages : DataFrame or iterable of str, optional
        The villages to report; default every village of the table, sorted.
    notes : Notes, optional
    indicator : str
        The indicator id notes are filed under.

    Returns
    -------
    DataFrame
        Reindexed to the villages (all-NaN rows, with a note, for villages
        without a row in the year); the first of duplicate rows is kept (note).

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"village_id": ["v1", "v1"], "year": [2022, 2023], "social_workers": [3, 4]})
    >>> governance_rows(g)["social_workers"].tolist()
    [4]
    """
    if "village_id" not in governance:
        raise ValueError("the governance table lacks a village_id column")
    frame = governance[governance["village_id"].notna()]
    if len(frame) < len(governance):
        _note(notes, indicator, f"{len(governance) - len(frame)} governance row(s) without village_id left out")
    frame = frame.assign(village_id=frame["village_id"].astype("str"))
    index = village_index(villages, frame["village_id"])
    if "year" in frame:
        years = pd.to_numeric(frame["year"], errors="coerce")
        if year is None:
            year = int(years.max()) if years.notna().any() else None
        frame = frame[years == year] if year is not None else frame.iloc[:0]
    else:
        _note(notes, indicator, "the governance table has no year column: every row used")
    dup = frame["village_id"].duplicated(keep="first")
    _note(notes, indicator, "several governance rows for the year: the first used",
          sorted(set(frame.loc[dup, "village_id"])))
    frame = frame[~dup].set_index("village_id")
    absent = index[~found_in(index, frame.index)]
    _note(notes, indicator, f"no governance row in {year}" if year is not None else "no governance rows", absent)
    out = frame.reindex(index)
    out.index.name = "village_id"
    return out


def _column(rows: pd.DataFrame, column: str, notes: Notes | None, name: str) -> pd.Series | None:
    if column not in rows:
        _note(notes, name, f"the governance table has no {column} column")
        return None
    return pd.to_numeric(rows[column], errors="coerce").astype("float64")


def _divide(num: pd.Series, den: pd.Series, notes: Notes | None, name: str, num_label: str,
            den_label: str, scale: float = 1.0, present: pd.Series | None = None) -> pd.Series:
    """num / den * scale; NaN with a note where either is missing or den is 0 (or negative)."""
    present = present if present is not None else pd.Series(True, index=num.index)
    _note(notes, name, f"{num_label} missing", num.index[present & num.isna() & den.notna()])
    _note(notes, name, f"{den_label} missing", num.index[present & den.isna()])
    _note(notes, name, f"{den_label} is zero: no rate", num.index[present & (den == 0)])
    _note(notes, name, f"{den_label} is negative: no rate", num.index[present & (den < 0)])
    valid = den > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den.where(valid) * scale
    return out.where(np.isfinite(out)).astype("float64").rename(name)


def _table_ratio(governance, year, villages, notes, name, num_col, den_col, scale=1.0) -> pd.Series:
    rows = governance_rows(governance, year, villages, notes, name)
    num, den = _column(rows, num_col, notes, name), _column(rows, den_col, notes, name)
    if num is None or den is None:
        return _nan(rows.index, name)
    return _divide(num, den, notes, name, num_col, den_col, scale, present=_present(rows))


def _present(rows: pd.DataFrame) -> pd.Series:
    """Villages that have a governance row (reindexed rows are all-NaN otherwise)."""
    if "year" in rows:
        return rows["year"].notna()
    return rows.notna().any(axis=1)


def _residents(villages, index: pd.Index, notes: Notes | None, name: str) -> pd.Series:
    if not isinstance(villages, pd.DataFrame):
        raise TypeError(f"{name} needs the villages table (with resident_pop), not {type(villages).__name__}")
    if "resident_pop" not in villages:
        _note(notes, name, "the villages table has no resident_pop column")
        return pd.Series(np.nan, index=index, dtype="float64")
    pop = pd.to_numeric(villages["resident_pop"], errors="coerce").astype("float64")
    pop.index = villages["village_id"].astype("str")
    return pop[~pop.index.duplicated()].reindex(index)


def _per_resident(governance, villages, year, notes, name, num_col, scale) -> pd.Series:
    rows = governance_rows(governance, year, villages, notes, name)
    num = _column(rows, num_col, notes, name)
    if num is None:
        return _nan(rows.index, name)
    pop = _residents(villages, rows.index, notes, name)
    return _divide(num, pop, notes, name, num_col, "resident population", scale, present=_present(rows))


_PARAMS = """
    Parameters
    ----------
    governance : DataFrame
        Canonical governance table (``village_id``, ``year``, raw counts).
    year : int, optional
        The year; default the latest year of the table.
    villages : DataFrame or iterable of str, optional
        The villages to report (the villages table or ids); default every
        village of the governance table, sorted.
    notes : Notes, optional
        Receives why values are missing.
"""

_PARAMS_POP = """
    Parameters
    ----------
    governance : DataFrame
        Canonical governance table (``village_id``, ``year``, raw counts).
    villages : DataFrame
        The villages table (``village_id``, ``resident_pop``).
    year : int, optional
        The year; default the latest year of the table.
    notes : Notes, optional
        Receives why values are missing.
"""


# ------------------------------------------------- governance-table rates
def social_workers_per_10k(governance: pd.DataFrame, villages: pd.DataFrame, year: int | None = None,
                           notes: Notes | None = None) -> pd.Series:
    """Social workers per 10,000 residents (每万常住人口社工数), per 10,000 residents.

    Formula: ``social_workers / resident_pop * 10,000`` (standard: at least 18).
    {params_pop}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1"], "year": [2023], "social_workers": [9]}})
    >>> v = pd.DataFrame({{"village_id": ["v1"], "resident_pop": [5000]}})
    >>> social_workers_per_10k(g, v).round(6).tolist()
    [18.0]
    """
    return _per_resident(governance, villages, year, notes, "social_workers_per_10k", "social_workers", 10_000.0)


def social_workers_ok(governance: pd.DataFrame, villages: pd.DataFrame, year: int | None = None,
                      minimum: float = DEFAULT_SOCIAL_WORKERS_PER_10K_MIN, notes: Notes | None = None) -> pd.Series:
    """Social-worker standard met (社工配备达标), nullable boolean.

    Formula: ``social_workers_per_10k >= minimum`` (``settings.social_workers_per_10k_min``,
    default 18); NA when the rate is missing.
    {params_pop}    minimum : float
        The standard, per 10,000 residents.

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1", "v2"], "year": [2023] * 2, "social_workers": [9, 8]}})
    >>> v = pd.DataFrame({{"village_id": ["v1", "v2"], "resident_pop": [5000, 5000]}})
    >>> social_workers_ok(g, v).tolist()
    [True, False]
    """
    name = "social_workers_ok"
    rate = _per_resident(governance, villages, year, notes, name, "social_workers", 10_000.0)
    return meets(rate, minimum, ">=").rename(name)


def certified_share(governance: pd.DataFrame, year: int | None = None, villages=None,
                    notes: Notes | None = None) -> pd.Series:
    """Share of certified social workers (持证社工占比), share 0-1.

    Formula: ``social_workers_certified / social_workers``.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1"], "year": [2023], "social_workers": [10],
    ...                   "social_workers_certified": [3]}})
    >>> certified_share(g).tolist()
    [0.3]
    """
    return _table_ratio(governance, year, villages, notes, "certified_share", "social_workers_certified",
                        "social_workers")


def experienced_share(governance: pd.DataFrame, year: int | None = None, villages=None,
                      notes: Notes | None = None) -> pd.Series:
    """Share of social workers with 3+ years of community or rural work (三年以上经验社工占比), share 0-1.

    Formula: ``social_workers_experienced / social_workers``.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1"], "year": [2023], "social_workers": [4],
    ...                   "social_workers_experienced": [2]}})
    >>> experienced_share(g).tolist()
    [0.5]
    """
    return _table_ratio(governance, year, villages, notes, "experienced_share", "social_workers_experienced",
                        "social_workers")


def former_cadre_present(governance: pd.DataFrame, year: int | None = None, villages=None,
                         notes: Notes | None = None) -> pd.Series:
    """At least one former village cadre on staff (配备原村干部), nullable boolean.

    Formula: ``former_cadres_on_staff >= 1``; NA when the count is missing.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1", "v2"], "year": [2023] * 2, "former_cadres_on_staff": [0, 2]}})
    >>> former_cadre_present(g).tolist()
    [False, True]
    """
    name = "former_cadre_present"
    rows = governance_rows(governance, year, villages, notes, name)
    count = _column(rows, "former_cadres_on_staff", notes, name)
    if count is None:
        return _na_flag(rows.index, name)
    _note(notes, name, "former_cadres_on_staff missing", rows.index[_present(rows) & count.isna()])
    return meets(count, 1, ">=").rename(name)


def grid_part_time_share(governance: pd.DataFrame, year: int | None = None, villages=None,
                         notes: Notes | None = None) -> pd.Series:
    """Part-time share of grid posts (网格员兼职比例), share 0-1.

    Formula: ``grid_posts_part_time / grid_posts`` (Longquan survey, 2023: 78.6% observed;
    recommended 1/3 to 1/2).
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1"], "year": [2023], "grid_posts": [10], "grid_posts_part_time": [4]}})
    >>> grid_part_time_share(g).tolist()
    [0.4]
    """
    return _table_ratio(governance, year, villages, notes, "grid_part_time_share", "grid_posts_part_time",
                        "grid_posts")


def grid_part_time_ok(governance: pd.DataFrame, year: int | None = None, villages=None,
                      maximum: float = DEFAULT_GRID_PART_TIME_MAX, notes: Notes | None = None) -> pd.Series:
    """Part-time share of grid posts within the recommendation (网格员兼职比例达标), nullable boolean.

    Formula: ``grid_part_time_share <= maximum`` (``settings.grid_part_time_max``,
    default 0.5); NA when the share is missing.
    {params}    maximum : float
        The recommended maximum share.

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1", "v2"], "year": [2023] * 2, "grid_posts": [10, 1000],
    ...                   "grid_posts_part_time": [5, 786]}})
    >>> grid_part_time_ok(g).tolist()
    [True, False]
    """
    name = "grid_part_time_ok"
    share = _table_ratio(governance, year, villages, notes, name, "grid_posts_part_time", "grid_posts")
    return meets(share, maximum, "<=").rename(name)


def party_volunteer_rate(governance: pd.DataFrame, year: int | None = None, villages=None,
                         notes: Notes | None = None) -> pd.Series:
    """Party members volunteering (党员志愿服务参与率), share 0-1.

    Formula: ``party_members_volunteering / party_members_registered``.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1"], "year": [2023], "party_members_registered": [4569],
    ...                   "party_members_volunteering": [2479]}})
    >>> party_volunteer_rate(g).round(4).tolist()   # Longquan: 54.3%
    [0.5426]
    """
    return _table_ratio(governance, year, villages, notes, "party_volunteer_rate", "party_members_volunteering",
                        "party_members_registered")


def social_org_event_share(governance: pd.DataFrame, year: int | None = None, villages=None,
                           notes: Notes | None = None) -> pd.Series:
    """Volunteer events with a social organisation taking part (社会组织参与志愿活动占比), share 0-1.

    Formula: ``volunteer_events_with_social_orgs / volunteer_events``.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1"], "year": [2023], "volunteer_events": [8],
    ...                   "volunteer_events_with_social_orgs": [1]}})
    >>> social_org_event_share(g).tolist()   # Qingciyuan: 1 of 8
    [0.125]
    """
    return _table_ratio(governance, year, villages, notes, "social_org_event_share",
                        "volunteer_events_with_social_orgs", "volunteer_events")


def office_area_m2(governance: pd.DataFrame, year: int | None = None, villages=None,
                   notes: Notes | None = None) -> pd.Series:
    """Office space of the year (办公用房面积), m2: the raw value behind ``office_area_ok``.

    Not a catalog indicator; join it to an indicator table to let
    :func:`villagestudy.metrics.standards.missed_standards` report the area.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1"], "year": [2023], "office_area_m2": [250.0]}})
    >>> office_area_m2(g).tolist()
    [250.0]
    """
    name = "office_area_m2"
    rows = governance_rows(governance, year, villages, notes, name)
    area = _column(rows, "office_area_m2", notes, name)
    return _nan(rows.index, name) if area is None else area.rename(name)


def office_area_ok(governance: pd.DataFrame, year: int | None = None, villages=None,
                   standard_m2: float | None = None, notes: Notes | None = None) -> pd.Series:
    """Office space meets the standard (办公用房达标), nullable boolean.

    Formula: ``office_area_m2 >= standard_m2`` (``settings.office_area_standard_m2``);
    NA everywhere (note) when no standard is set, NA where the area is missing.
    {params}    standard_m2 : float or None
        The standard in m2; None (the default: the province's figure is set
        per study) gives NA.

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1", "v2"], "year": [2023] * 2, "office_area_m2": [350.0, 200.0]}})
    >>> office_area_ok(g, standard_m2=300).tolist()
    [True, False]
    >>> office_area_ok(g).tolist()
    [<NA>, <NA>]
    """
    name = "office_area_ok"
    rows = governance_rows(governance, year, villages, notes, name)
    if standard_m2 is None:
        _note(notes, name, "the study sets no office_area_standard_m2")
        return _na_flag(rows.index, name)
    area = _column(rows, "office_area_m2", notes, name)
    if area is None:
        return _na_flag(rows.index, name)
    _note(notes, name, "office_area_m2 missing", rows.index[_present(rows) & area.isna()])
    return meets(area, standard_m2, ">=").rename(name)


def dispute_resolution_rate(governance: pd.DataFrame, year: int | None = None, villages=None,
                            notes: Notes | None = None) -> pd.Series:
    """Disputes resolved over disputes reported (矛盾纠纷化解率), share 0-1.

    Formula: ``disputes_resolved / disputes_reported``; NaN (note) with no
    dispute reported.
    {params}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1", "v2"], "year": [2023] * 2, "disputes_reported": [10, 0],
    ...                   "disputes_resolved": [9, 0]}})
    >>> dispute_resolution_rate(g).tolist()
    [0.9, nan]
    """
    return _table_ratio(governance, year, villages, notes, "dispute_resolution_rate", "disputes_resolved",
                        "disputes_reported")


def budget_per_resident_yuan(governance: pd.DataFrame, villages: pd.DataFrame, year: int | None = None,
                             notes: Notes | None = None) -> pd.Series:
    """Spendable budget per resident (人均可支配工作经费), yuan per resident.

    Formula: ``budget_yuan / resident_pop``.
    {params_pop}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"village_id": ["v1"], "year": [2023], "budget_yuan": [200_000.0]}})
    >>> v = pd.DataFrame({{"village_id": ["v1"], "resident_pop": [4000]}})
    >>> budget_per_resident_yuan(g, v).tolist()
    [50.0]
    """
    return _per_resident(governance, villages, year, notes, "budget_per_resident_yuan", "budget_yuan", 1.0)


# ------------------------------------------------------------ villages table
def registration_separation_rate(villages: pd.DataFrame, notes: Notes | None = None) -> pd.Series:
    """Household-registration separation (人户分离率), share.

    Formula: ``|registered_pop - resident_pop| / registered_pop`` (people
    registered but living elsewhere, or living here but registered
    elsewhere); NaN (note) when either is missing or registered is 0. Not
    year-dependent. It exceeds 1 where residents outnumber the registered
    population more than twice (urban communities with many incomers).

    Parameters
    ----------
    villages : DataFrame
        The villages table (``village_id``, ``registered_pop``, ``resident_pop``).
    notes : Notes, optional

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"village_id": ["shuinan"], "registered_pop": [4597], "resident_pop": [4597 - 2463]})
    >>> registration_separation_rate(v).round(3).tolist()   # 53.6%
    [0.536]
    """
    name = "registration_separation_rate"
    index = village_index(villages, [])
    cols = {}
    for c in ("registered_pop", "resident_pop"):
        if c not in villages:
            _note(notes, name, f"the villages table has no {c} column")
            return _nan(index, name)
        cols[c] = pd.Series(pd.to_numeric(villages[c], errors="coerce").astype("float64").to_numpy(), index=index)
    reg, res = cols["registered_pop"], cols["resident_pop"]
    out = _divide((reg - res).abs(), reg, notes, name, "resident population", "registered population")
    return out.loc[~out.index.duplicated()] if out.index.has_duplicates else out


# ----------------------------------------------------------------- grids
def _grid_frame(grids: pd.DataFrame, villages, notes: Notes | None, name: str) -> tuple[pd.DataFrame, pd.Index]:
    for c in ("village_id", "level"):
        if c not in grids:
            raise ValueError(f"the grid table lacks a {c} column")
    frame = grids[grids["village_id"].notna()]
    if len(frame) < len(grids):
        _note(notes, name, f"{len(grids) - len(frame)} grid(s) without village_id left out")
    level = map_unique(frame["level"], lambda x: x.strip().lower() if isinstance(x, str) else x)
    frame = frame.assign(village_id=frame["village_id"].astype("str"), level=level)
    unknown = ~frame["level"].isin(("grid", "micro"))
    if unknown.any():
        _note(notes, name, f"{int(unknown.sum())} grid(s) of unknown level left out")
    frame = frame[~unknown]
    index = village_index(villages, grids["village_id"])
    return frame, index


def _count(grids, villages, notes, name, level) -> pd.Series:
    frame, index = _grid_frame(grids, villages, notes, name)
    counts = frame.loc[frame["level"] == level, "village_id"].value_counts()
    return counts.reindex(index, fill_value=0).astype("float64").rename(name).rename_axis("village_id")


_PARAMS_GRID = """
    Parameters
    ----------
    grids : DataFrame
        Canonical grid table (``grid_id``, ``village_id``, ``level``
        grid|micro, ``parent_grid_id``, ``households``, ``has_party_group``).
    villages : DataFrame or iterable of str, optional
        The villages to report (villages without grids included); default
        every village of the grid table, sorted.
    notes : Notes, optional
"""


def grid_count(grids: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Number of grids (网格数), grids.

    Formula: rows of the grid table with ``level == "grid"``; 0 for a listed
    village without grids.
    {params_grid}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"grid_id": ["G1", "G1a"], "village_id": ["v1", "v1"], "level": ["grid", "micro"]}})
    >>> grid_count(g, villages=["v1", "v2"]).tolist()
    [1.0, 0.0]
    """
    return _count(grids, villages, notes, "grid_count", "grid")


def micro_grid_count(grids: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Number of micro-grids (微网格数), micro-grids.

    Formula: rows of the grid table with ``level == "micro"`` (Dongkeng: 132).
    {params_grid}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"grid_id": ["G1", "G1a", "G1b"], "village_id": ["v1"] * 3,
    ...                   "level": ["grid", "micro", "micro"]}})
    >>> micro_grid_count(g).tolist()
    [2.0]
    """
    return _count(grids, villages, notes, "micro_grid_count", "micro")


def households_per_grid(grids: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Households per grid (网格平均户数), households per grid.

    Formula: mean over the village's grids (``level == "grid"``) of their
    ``households``; a grid without a household count takes the sum over its
    micro-grids (``parent_grid_id``); grids with neither are left out (note).
    NaN (note) without grids or without any household count.
    {params_grid}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"grid_id": ["G1", "G2", "G2a", "G2b"], "village_id": ["v1"] * 4,
    ...                   "level": ["grid", "grid", "micro", "micro"], "parent_grid_id": [None, None, "G2", "G2"],
    ...                   "households": [300, None, 250, 150]}})
    >>> households_per_grid(g).tolist()   # (300 + 400) / 2
    [350.0]
    """
    name = "households_per_grid"
    frame, index = _grid_frame(grids, villages, notes, name)
    grid = frame[frame["level"] == "grid"]
    counts = grid["village_id"].value_counts().reindex(index, fill_value=0)
    _note(notes, name, "no grids", index[counts == 0])
    if "households" not in frame:
        _note(notes, name, "the grid table has no households column")
        return _nan(index, name)
    hh = pd.to_numeric(grid["households"], errors="coerce").astype("float64")
    if "grid_id" in frame and "parent_grid_id" in frame:
        micro = frame[frame["level"] == "micro"]
        micro_hh = pd.to_numeric(micro["households"], errors="coerce").astype("float64")
        from_micro = micro_hh.groupby(micro["parent_grid_id"].astype("str").to_numpy()).sum(min_count=1)
        hh = hh.fillna(grid["grid_id"].astype("str").map(from_micro))
    known = hh.notna()
    left = (~known).groupby(grid["village_id"].to_numpy()).sum().reindex(index, fill_value=0)
    if notes is not None:
        for v in left.index[(left > 0) & (left < counts)]:
            notes.add(name, f"{int(left[v])} grid(s) without a household count left out", village_id=str(v))
    _note(notes, name, "no grid has a household count", index[(counts > 0) & (left == counts)])
    total = hh[known].groupby(grid.loc[known, "village_id"].to_numpy()).sum().reindex(index)
    n = known.groupby(grid["village_id"].to_numpy()).sum().reindex(index, fill_value=0).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / n.where(n > 0)
    return out.where(np.isfinite(out)).astype("float64").rename(name).rename_axis("village_id")


def _as_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    truthy = {"true", "1", "yes", "y", "是", "有", "√"}
    falsy = {"false", "0", "no", "n", "否", "无", "×"}

    def conv(x):
        if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
            return pd.NA
        if isinstance(x, (bool, np.bool_)):
            return bool(x)
        if isinstance(x, (int, float, np.integer, np.floating)):
            return bool(x)
        s = str(x).strip().lower()
        return True if s in truthy else False if s in falsy else pd.NA

    return map_unique(values, conv).astype("boolean")


def micro_grid_party_coverage(grids: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Micro-grids with a party group (微网格党小组覆盖率), share 0-1.

    Formula: micro-grids with ``has_party_group`` / micro-grids, over the
    micro-grids whose ``has_party_group`` is known (unknown left out, note);
    NaN (note) without micro-grids. Dongkeng: 132 of 132 = 1.0.
    {params_grid}
    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({{"grid_id": ["a", "b", "c", "d"], "village_id": ["v1"] * 4, "level": ["micro"] * 4,
    ...                   "has_party_group": [True, True, True, False]}})
    >>> micro_grid_party_coverage(g).tolist()
    [0.75]
    """
    name = "micro_grid_party_coverage"
    frame, index = _grid_frame(grids, villages, notes, name)
    micro = frame[frame["level"] == "micro"]
    counts = micro["village_id"].value_counts().reindex(index, fill_value=0)
    _note(notes, name, "no micro-grids", index[counts == 0])
    if "has_party_group" not in frame:
        _note(notes, name, "the grid table has no has_party_group column")
        return _nan(index, name)
    flag = _as_bool(micro["has_party_group"])
    keys = micro["village_id"].to_numpy()
    known = flag.notna()
    n_known = known.groupby(keys).sum().reindex(index, fill_value=0).astype("float64")
    n_yes = flag.fillna(False).astype(bool).groupby(keys).sum().reindex(index, fill_value=0).astype("float64")
    left = counts - n_known
    if notes is not None:
        for v in left.index[(left > 0) & (counts > 0)]:
            notes.add(name, f"{int(left[v])} micro-grid(s) with has_party_group unknown left out", village_id=str(v))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = n_yes / n_known.where(n_known > 0)
    return out.where(np.isfinite(out)).astype("float64").rename(name).rename_axis("village_id")


for _fn in (social_workers_per_10k, social_workers_ok, certified_share, experienced_share, former_cadre_present,
            grid_part_time_share, grid_part_time_ok, party_volunteer_rate, social_org_event_share, office_area_m2,
            office_area_ok, dispute_resolution_rate, budget_per_resident_yuan, grid_count, micro_grid_count,
            households_per_grid, micro_grid_party_coverage):
    _fn.__doc__ = _fn.__doc__.format(params=_PARAMS, params_pop=_PARAMS_POP, params_grid=_PARAMS_GRID)
del _fn


# ------------------------------------------------------------------ study
def _empty(index: pd.Index, names) -> dict[str, pd.Series]:
    return {n: (_na_flag(index, n) if n in FLAG_INDICATORS else _nan(index, n)) for n in names}


def governance_indicators(study, year: int | None = None, notes: Notes | None = None) -> pd.DataFrame:
    """All governance indicators of a study for one year, one row per village.

    Parameters
    ----------
    study : Study
        Uses ``study.governance`` (rows of ``year``), ``study.villages``
        (``resident_pop``, ``registered_pop``), ``study.grids`` and the
        settings ``social_workers_per_10k_min``, ``grid_part_time_max`` and
        ``office_area_standard_m2``.
    year : int, optional
        Default ``study.default_year``.
    notes : Notes, optional

    Returns
    -------
    DataFrame
        Indexed by ``village_id`` (every village of the study), one column per
        governance indicator id; flags are nullable boolean. Indicators whose
        table the study lacks are NaN/NA (note): absent data is not "no grids".

    Examples
    --------
    >>> import pandas as pd
    >>> from villagestudy import Study
    >>> v = pd.DataFrame({"village_id": ["v1"], "village_name": ["甲"], "town_id": ["t1"],
    ...                   "registered_pop": [4597], "resident_pop": [2134]})
    >>> g = pd.DataFrame({"village_id": ["v1"], "year": [2023], "volunteer_events": [8],
    ...                   "volunteer_events_with_social_orgs": [1]})
    >>> governance_indicators(Study.from_frames(villages=v, governance=g))["social_org_event_share"].tolist()
    [0.125]
    """
    notes = notes if notes is not None else Notes()
    villages = study.villages
    index = village_index(villages, [])
    s = study.settings
    if year is None:
        year = study.default_year
    cols: dict[str, pd.Series] = {}
    gov = study.governance
    usable = gov is not None and len(gov) > 0 and "village_id" in gov
    if not usable:
        for n in TABLE_INDICATORS:
            notes.add(n, "the study has no governance table")
        cols.update(_empty(index, TABLE_INDICATORS))
    else:
        cols["social_workers_per_10k"] = social_workers_per_10k(gov, villages, year, notes)
        cols["social_workers_ok"] = social_workers_ok(gov, villages, year, s.social_workers_per_10k_min, notes)
        cols["certified_share"] = certified_share(gov, year, villages, notes)
        cols["experienced_share"] = experienced_share(gov, year, villages, notes)
        cols["former_cadre_present"] = former_cadre_present(gov, year, villages, notes)
        cols["grid_part_time_share"] = grid_part_time_share(gov, year, villages, notes)
        cols["grid_part_time_ok"] = grid_part_time_ok(gov, year, villages, s.grid_part_time_max, notes)
        cols["party_volunteer_rate"] = party_volunteer_rate(gov, year, villages, notes)
        cols["social_org_event_share"] = social_org_event_share(gov, year, villages, notes)
        cols["office_area_ok"] = office_area_ok(gov, year, villages, s.office_area_standard_m2, notes)
        cols["dispute_resolution_rate"] = dispute_resolution_rate(gov, year, villages, notes)
        cols["budget_per_resident_yuan"] = budget_per_resident_yuan(gov, villages, year, notes)
    cols["registration_separation_rate"] = registration_separation_rate(villages, notes)
    grids = study.grids
    if grids is None or len(grids) == 0 or "level" not in grids or "village_id" not in grids:
        why = "the study has no grid table" if grids is None or len(grids) == 0 else "the grid table lacks level"
        for n in GRID_INDICATORS:
            notes.add(n, why)
        cols.update(_empty(index, GRID_INDICATORS))
    else:
        cols["grid_count"] = grid_count(grids, villages, notes)
        cols["micro_grid_count"] = micro_grid_count(grids, villages, notes)
        cols["households_per_grid"] = households_per_grid(grids, villages, notes)
        cols["micro_grid_party_coverage"] = micro_grid_party_coverage(grids, villages, notes)
    table = pd.DataFrame({n: c.reindex(index) if not c.index.equals(index) else c for n, c in cols.items()})
    table.index.name = "village_id"
    return table[list(GOVERNANCE_INDICATORS)]
