"""Village industrial park indicators per village (村级工业园).

Every pure function takes the canonical park table (``park_id``,
``village_id``, ``built_year``, ``land_area_mu``, ``floor_area_m2``,
``occupied_floor_area_m2``, ``annual_rent_yuan``, ``annual_tax_yuan``) and
returns a float Series indexed by ``village_id`` and named with the indicator
id. Pass ``villages`` (the ids of every village of the study) to get a row for
villages without parks: ``park_count`` and ``park_land_mu`` are 0 there and the
ratios NaN (note).

Ratios are ratios of sums over a village's parks (not means of park ratios),
taken over the parks for which both numerator and denominator are known;
parks missing either are left out with a note. A zero denominator gives NaN
(note), never inf.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from .. import catalog
from ..settings import M2_PER_MU, Settings
from ._common import Notes, note as _note, village_index

__all__ = ["PARK_INDICATORS", "park_count", "park_land_mu", "park_far", "park_occupancy",
           "park_rent_per_m2_yuan", "park_tax_per_mu_yuan", "park_old_share", "park_dispersion",
           "park_indicators"]

PARK_INDICATORS = ("park_count", "park_land_mu", "park_far", "park_occupancy", "park_rent_per_m2_yuan",
                   "park_tax_per_mu_yuan", "park_old_share", "park_dispersion")
DEFAULT_OLD_BEFORE_YEAR = int(Settings.old_before_year)


# ---------------------------------------------------------------- helpers
def _frame(parks: pd.DataFrame, notes: Notes | None, indicator: str) -> pd.DataFrame:
    """Parks with a village id (others left out with a note)."""
    if "village_id" not in parks:
        raise ValueError("the parks lack a village_id column")
    has = parks["village_id"].notna()
    if not has.all():
        _note(notes, indicator, f"{int((~has).sum())} park(s) without village_id left out")
        parks = parks[has]
    return parks


def _num(parks: pd.DataFrame, column: str) -> pd.Series | None:
    if column not in parks:
        return None
    return pd.to_numeric(parks[column], errors="coerce").astype("float64")


def _sum(values: pd.Series, keys: pd.Series, index: pd.Index) -> pd.Series:
    return values.groupby(keys.to_numpy(), sort=False).sum().reindex(index)


def _no_parks(counts: pd.Series, notes, indicator: str) -> None:
    _note(notes, indicator, "no parks", counts.index[counts == 0])


def _ratio(parks, villages, notes, name: str, num_col: str, den_col: str, den_factor: float = 1.0,
           num_where=None, extra_cols: tuple[str, ...] = ()) -> pd.Series:
    """sum(num) / (sum(den) * den_factor) per village over parks where all inputs are known."""
    parks = _frame(parks, notes, name)
    index = village_index(villages, parks["village_id"])
    keys = parks["village_id"].astype("str")
    counts = keys.value_counts().reindex(index, fill_value=0)
    _no_parks(counts, notes, name)
    cols = {c: _num(parks, c) for c in (num_col, den_col, *extra_cols)}
    absent = [c for c, s in cols.items() if s is None]
    if absent:
        _note(notes, name, f"the parks have no {', '.join(absent)} column")
        return pd.Series(np.nan, index=index, name=name, dtype="float64")
    known = pd.Series(True, index=parks.index)
    for s in cols.values():
        known &= s.notna()
    num = cols[num_col].where(known, 0.0)
    if num_where is not None:
        num = num.where(num_where(cols), 0.0)
    den = cols[den_col].where(known, 0.0) * den_factor
    left = (~known).groupby(keys.to_numpy(), sort=False).sum().reindex(index, fill_value=0)
    if notes is not None:
        for v in left.index[left > 0]:
            notes.add(name, f"{int(left[v])} park(s) missing {' or '.join(cols)} left out", village_id=str(v))
    n = _sum(num, keys, index)
    d = _sum(den, keys, index)
    zero = (counts > 0) & ~(d > 0)
    _note(notes, name, f"no park with a positive {den_col}", index[zero])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = n / d.where(d > 0)
    return out.where(np.isfinite(out)).astype("float64").rename(name)


_PARAMS = """
    Parameters
    ----------
    parks : DataFrame or GeoDataFrame
        Canonical park table.
    villages : DataFrame or iterable of str, optional
        Village ids to report (villages without parks included); default the
        villages that have parks, sorted.
    notes : Notes, optional
        Receives why values are missing.
"""


# ------------------------------------------------------------- indicators
def park_count(parks: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Number of village industrial parks (村级工业园数), parks.

    Formula: number of rows of the park table per village; 0 for a listed
    village without parks.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> parks = pd.DataFrame({{"park_id": ["K1", "K2"], "village_id": ["v1", "v1"]}})
    >>> park_count(parks, villages=["v1", "v2"]).tolist()
    [2.0, 0.0]
    """
    parks = _frame(parks, notes, "park_count")
    index = village_index(villages, parks["village_id"])
    counts = parks["village_id"].astype("str").value_counts().reindex(index, fill_value=0)
    return counts.astype("float64").rename("park_count").rename_axis("village_id")


def park_land_mu(parks: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Land of the village's parks (工业园用地面积), mu.

    Formula: sum of ``land_area_mu`` over the village's parks; parks without a
    land area are left out (note), NaN when none has one; 0 for a listed
    village without parks.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> parks = pd.DataFrame({{"park_id": ["K1", "K2"], "village_id": ["v1", "v1"], "land_area_mu": [30.0, 20.0]}})
    >>> park_land_mu(parks).tolist()
    [50.0]
    """
    name = "park_land_mu"
    parks = _frame(parks, notes, name)
    index = village_index(villages, parks["village_id"])
    keys = parks["village_id"].astype("str")
    counts = keys.value_counts().reindex(index, fill_value=0)
    land = _num(parks, "land_area_mu")
    if land is None:
        _note(notes, name, "the parks have no land_area_mu column")
        return pd.Series(np.nan, index=index, name=name, dtype="float64")
    total = land.groupby(keys.to_numpy(), sort=False).sum(min_count=1).reindex(index)
    missing = land.isna().groupby(keys.to_numpy(), sort=False).sum().reindex(index, fill_value=0)
    if notes is not None:
        for v in missing.index[(missing > 0) & (missing < counts)]:
            notes.add(name, f"{int(missing[v])} park(s) without land_area_mu left out of the sum", village_id=str(v))
        _note(notes, name, "no park has a land_area_mu", index[(counts > 0) & (missing == counts)])
    return total.where(counts > 0, 0.0).astype("float64").rename(name)


def park_far(parks: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Floor-area ratio of the village's parks (容积率), ratio.

    Formula: ``sum(floor_area_m2) / (sum(land_area_mu) * 666.67)`` (land
    converted to m2 with ``M2_PER_MU`` = 10000/15), over parks with both known.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> parks = pd.DataFrame({{"park_id": ["K1"], "village_id": ["v1"], "land_area_mu": [30.0],
    ...                       "floor_area_m2": [20000.0]}})
    >>> park_far(parks).tolist()   # 20000 / (30 * 666.67)
    [1.0]
    """
    return _ratio(parks, villages, notes, "park_far", "floor_area_m2", "land_area_mu", den_factor=M2_PER_MU)


def park_occupancy(parks: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Occupancy of park floor space (厂房出租率), share 0-1.

    Formula: ``sum(occupied_floor_area_m2) / sum(floor_area_m2)`` over parks with both known.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> parks = pd.DataFrame({{"park_id": ["K1"], "village_id": ["v1"], "floor_area_m2": [20000.0],
    ...                       "occupied_floor_area_m2": [15000.0]}})
    >>> park_occupancy(parks).tolist()
    [0.75]
    """
    return _ratio(parks, villages, notes, "park_occupancy", "occupied_floor_area_m2", "floor_area_m2")


def park_rent_per_m2_yuan(parks: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Annual rent per occupied m2 (厂房年租金), yuan per m2 per year.

    Formula: ``sum(annual_rent_yuan) / sum(occupied_floor_area_m2)`` over parks with both known.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> parks = pd.DataFrame({{"park_id": ["K1"], "village_id": ["v1"], "occupied_floor_area_m2": [15000.0],
    ...                       "annual_rent_yuan": [1_800_000.0]}})
    >>> park_rent_per_m2_yuan(parks).tolist()
    [120.0]
    """
    return _ratio(parks, villages, notes, "park_rent_per_m2_yuan", "annual_rent_yuan", "occupied_floor_area_m2")


def park_tax_per_mu_yuan(parks: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """Annual tax per mu of park land (亩均税收), yuan per mu.

    Formula: ``sum(annual_tax_yuan) / sum(land_area_mu)`` over parks with both known.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> parks = pd.DataFrame({{"park_id": ["K1"], "village_id": ["v1"], "land_area_mu": [30.0],
    ...                       "annual_tax_yuan": [600_000.0]}})
    >>> park_tax_per_mu_yuan(parks).tolist()
    [20000.0]
    """
    return _ratio(parks, villages, notes, "park_tax_per_mu_yuan", "annual_tax_yuan", "land_area_mu")


def park_old_share(parks: pd.DataFrame, old_before_year: int = DEFAULT_OLD_BEFORE_YEAR, villages=None,
                   notes: Notes | None = None) -> pd.Series:
    """Share of park floor area in old parks (老旧厂房占比), share 0-1.

    Formula: ``sum(floor_area_m2 where built_year < old_before_year) /
    sum(floor_area_m2)`` over parks with both ``built_year`` and
    ``floor_area_m2`` known. A park built in ``old_before_year`` itself is not
    old ("before").
    {params}    old_before_year : int, default 2000
        ``settings.old_before_year``.
    {returns}
    Examples
    --------
    >>> import pandas as pd
    >>> parks = pd.DataFrame({{"park_id": ["K1", "K2"], "village_id": ["v1", "v1"], "built_year": [1995, 2000],
    ...                       "floor_area_m2": [3000.0, 1000.0]}})
    >>> park_old_share(parks, old_before_year=2000).tolist()
    [0.75]
    """
    return _ratio(parks, villages, notes, "park_old_share", "floor_area_m2", "floor_area_m2",
                  num_where=lambda c: c["built_year"] < old_before_year, extra_cols=("built_year",))


def park_dispersion(parks: pd.DataFrame, villages=None, notes: Notes | None = None) -> pd.Series:
    """How scattered the village's industrial land is over separate parks (工业园分散度), 0-1.

    Formula (Gini-Simpson index of park land, from the table alone)::

        D = 1 - sum_k (a_k / A)**2,   A = sum_k a_k

    over the village's parks ``k`` with land ``a_k = land_area_mu``. ``D = 0``
    when the village has one park (or all its park land is in one park);
    ``D = 1 - 1/n`` for ``n`` parks of equal size; ``D`` near 1 when the land
    is split into many small parks; ``1 / (1 - D)`` is the "effective number
    of equal parks". It has the same form as the household ``simpson_index``
    of the land pillar. It measures fragmentation of the
    industrial land into separate sites, not the distances between them (no
    geometry or boundary needed, so every study can compute it).
    NaN (note) for a village without parks, when any of its parks lacks a
    land area (the shares would be wrong), or when its park land totals 0.
    {params}{returns}
    Examples
    --------
    >>> import pandas as pd
    >>> parks = pd.DataFrame({{"park_id": ["K1", "K2", "K3"], "village_id": ["v1", "v1", "v2"],
    ...                       "land_area_mu": [30.0, 10.0, 5.0]}})
    >>> park_dispersion(parks).tolist()   # v1: 1 - (0.75**2 + 0.25**2); v2: one park
    [0.375, 0.0]
    """
    name = "park_dispersion"
    parks = _frame(parks, notes, name)
    index = village_index(villages, parks["village_id"])
    keys = parks["village_id"].astype("str").to_numpy()
    counts = pd.Series(keys).value_counts().reindex(index, fill_value=0)
    _no_parks(counts, notes, name)
    land = _num(parks, "land_area_mu")
    if land is None:
        _note(notes, name, "the parks have no land_area_mu column")
        return pd.Series(np.nan, index=index, name=name, dtype="float64")
    land = land.to_numpy()
    frame = pd.DataFrame({"v": keys, "a": land, "a2": land * land, "missing": np.isnan(land)})
    g = frame.groupby("v", sort=False).agg(a=("a", "sum"), a2=("a2", "sum"), missing=("missing", "sum"))
    g = g.reindex(index)
    missing = g["missing"].fillna(0)
    _note(notes, name, "a park lacks land_area_mu", index[missing > 0])
    _note(notes, name, "the park land totals 0", index[(counts > 0) & (missing == 0) & ~(g["a"] > 0)])
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 1.0 - g["a2"] / (g["a"] * g["a"]).where(g["a"] > 0)
    value = value.where((missing == 0) & (counts > 0) & np.isfinite(value))
    return value.clip(lower=0.0, upper=1.0).astype("float64").rename(name)


_RETURNS = """
    Returns
    -------
    Series
        Float, indexed by ``village_id`` (``villages`` when given), named
        ``{name}``; unit: {unit}.
"""

for _fn in (park_count, park_land_mu, park_far, park_occupancy, park_rent_per_m2_yuan, park_tax_per_mu_yuan,
            park_old_share, park_dispersion):
    if _fn.__doc__ is not None:  # python -OO
        _fn.__doc__ = _fn.__doc__.format(
            params=_PARAMS, returns=_RETURNS.format(name=_fn.__name__, unit=catalog.get(_fn.__name__).unit_en))
del _fn


# ------------------------------------------------------------------ study
def park_indicators(study, year: int | None = None, notes: Notes | None = None) -> pd.DataFrame:
    """All park indicators of a study, one row per village of the study.

    Parameters
    ----------
    study : Study
        Uses ``study.parks`` and ``settings.old_before_year``.
    year : int, optional
        Unused: the park table has no year (kept for a uniform signature).
    notes : Notes, optional

    Returns
    -------
    DataFrame
        Indexed by ``village_id`` (every village of the study), one column per
        park indicator id. Without a park table every value is NaN (note):
        absent data is not "no parks".

    Examples
    --------
    >>> import pandas as pd
    >>> from villagestudy import Study
    >>> v = pd.DataFrame({"village_id": ["v1", "v2"], "village_name": ["甲", "乙"], "town_id": ["t1", "t1"]})
    >>> k = pd.DataFrame({"park_id": ["K1"], "village_id": ["v1"], "land_area_mu": [30.0]})
    >>> park_indicators(Study.from_frames(villages=v, parks=k))["park_count"].tolist()
    [1.0, 0.0]
    """
    notes = notes if notes is not None else Notes()
    villages = list(study.villages["village_id"]) if study.villages is not None else None
    parks = study.parks
    if parks is None:
        index = village_index(villages)
        for ind in PARK_INDICATORS:
            notes.add(ind, "the study has no park table")
        return pd.DataFrame({ind: np.nan for ind in PARK_INDICATORS}, index=index, dtype="float64")
    if villages is None:
        villages = sorted(pd.unique(parks["village_id"].dropna().astype("str")))
    cols = {
        "park_count": park_count(parks, villages, notes),
        "park_land_mu": park_land_mu(parks, villages, notes),
        "park_far": park_far(parks, villages, notes),
        "park_occupancy": park_occupancy(parks, villages, notes),
        "park_rent_per_m2_yuan": park_rent_per_m2_yuan(parks, villages, notes),
        "park_tax_per_mu_yuan": park_tax_per_mu_yuan(parks, villages, notes),
        "park_old_share": park_old_share(parks, study.settings.old_before_year, villages, notes),
        "park_dispersion": park_dispersion(parks, villages, notes),
    }
    table = pd.DataFrame(cols)
    table.index.name = "village_id"
    return table
