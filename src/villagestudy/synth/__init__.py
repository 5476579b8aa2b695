"""Synthetic (fictional) study folders that follow the data contract.

:func:`write_synthetic_study` writes a complete study: ``study.toml``, towns,
villages, village boundaries that tile each town, parcels whose fragmentation
varies between villages, industrial parks, grids and micro-grids, collective
income and governance counts that bracket the published standards. Everything
is deterministic for a seed (``numpy.random.default_rng(seed)`` only) and
vectorised, so a study of a million parcels takes well under a minute.

Examples
--------
>>> import tempfile, pathlib
>>> from villagestudy.synth import write_synthetic_study, parse_years
>>> out = write_synthetic_study(pathlib.Path(tempfile.mkdtemp()) / "s", towns=1,
...                             villages_per_town=3, parcels_per_village=10, years=parse_years("2022-2023"))
>>> sorted(p.name for p in out.iterdir())[:3]
['boundaries.gpkg', 'governance.csv', 'grids.gpkg']
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._atomic import atomic_path
from ..schema import LAND_USES
from ..settings import M2_PER_MU
from . import _land, _names, _tables
from ._layout import layout_study

__all__ = ["write_synthetic_study", "parse_years"]

_YEARS = re.compile(r"^\s*(\d{4})\s*(?:(?:-|–|—|~|～|:|\.\.|to)\s*(\d{4}))?\s*$")
STUDY_FILES = ("study.toml", "towns.csv", "villages.csv", "boundaries.gpkg", "parks.gpkg", "grids.gpkg",
               "income.csv", "governance.csv")
# files of the contract that would shadow or contradict what the generator writes
_STALE = ("parcels.gpkg", "parcels.parquet", "parcels.csv", "parcels.xlsx", "boundaries.parquet",
          "parks.parquet", "parks.csv", "parks.xlsx", "grids.parquet", "grids.csv", "grids.xlsx",
          "towns.xlsx", "villages.xlsx", "income.xlsx", "income.parquet", "governance.xlsx", "governance.parquet")


def parse_years(text: str) -> tuple[int, int]:
    """Parse a year range such as ``"2019-2023"`` (or one year, ``"2023"``) into ``(first, last)``.

    Raises
    ------
    ValueError
        When the text is not a range of four-digit years, or the first year is after the last.

    Examples
    --------
    >>> parse_years("2019-2023")
    (2019, 2023)
    >>> parse_years("2023")
    (2023, 2023)
    """
    m = _YEARS.match(str(text))
    if not m:
        raise ValueError(f"years must be a range of four-digit years such as 2019-2023 (or one year, 2023); "
                         f"got {text!r}")
    first = int(m.group(1))
    last = int(m.group(2) or first)
    if first > last:
        raise ValueError(f"the first year ({first}) is after the last ({last}); write the range as {last}-{first}")
    if first < 1949 or last > 2100:
        raise ValueError(f"years must lie between 1949 and 2100; got {first}-{last}")
    return first, last


_COUNT_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_count_range(text: str) -> int | tuple[int, int]:
    """Parse ``"15"`` (a number) or ``"10-20"`` (a range) as the command line's ``--villages-per-town``.

    Examples
    --------
    >>> parse_count_range("15"), parse_count_range("10-20")
    (15, (10, 20))
    """
    m = _COUNT_RANGE.match(str(text))
    if not m:
        raise ValueError(f"expected a whole number such as 15 or a range such as 10-20; got {text!r}")
    return int(m.group(1)) if m.group(2) is None else (int(m.group(1)), int(m.group(2)))


class SynthArgumentError(ValueError):
    """Arguments no synthetic study can be made with (the command line shows it as a usage error)."""


def _check_args(towns, villages_per_town, parcels_per_village, years, parcel_format):
    try:
        return _checked_args(towns, villages_per_town, parcels_per_village, years, parcel_format)
    except SynthArgumentError:
        raise
    except ValueError as e:
        raise SynthArgumentError(str(e)) from None


def _checked_args(towns, villages_per_town, parcels_per_village, years, parcel_format):
    if isinstance(towns, bool) or not isinstance(towns, (int, np.integer)) or towns < 1:
        raise ValueError(f"towns must be a whole number of at least 1; got {towns!r}")
    if villages_per_town is None:
        villages_per_town = (8, 15)
    if isinstance(villages_per_town, (int, np.integer)) and not isinstance(villages_per_town, bool):
        lo = hi = int(villages_per_town)
    else:
        try:
            lo, hi = (int(v) for v in villages_per_town)
        except (TypeError, ValueError):
            raise ValueError("villages_per_town must be a number or a (min, max) pair; "
                             f"got {villages_per_town!r}") from None
    if lo < 1 or hi < lo:
        raise ValueError(f"villages_per_town must be at least 1 (and min <= max); got {villages_per_town!r}")
    if hi > 998:
        raise ValueError(f"at most 998 villages per town (12-digit codes); got {hi}")
    if not isinstance(parcels_per_village, (int, np.integer)) or parcels_per_village < 1:
        raise ValueError(f"parcels_per_village must be a whole number of at least 1; got {parcels_per_village!r}")
    if isinstance(years, str):
        years = parse_years(years)
    try:
        y0, y1 = (int(y) for y in years)
    except (TypeError, ValueError):
        raise ValueError(f"years must be a (first, last) pair such as (2019, 2023); got {years!r}") from None
    parse_years(f"{y0}-{y1}")
    if parcel_format not in ("gpkg", "parquet"):
        raise ValueError(f"parcel_format must be 'gpkg' or 'parquet'; got {parcel_format!r}")
    places, capacity = _names.counties_for(int(towns)) + int(towns) * (1 + hi), _names.name_capacity()
    if places > capacity:  # every county, town and village gets a name of its own
        raise ValueError(f"{towns} towns of up to {hi} villages need up to {places:,} distinct place names; "
                         f"the generator has {capacity:,}: ask for fewer towns or villages per town")
    return (lo, hi), (y0, y1)


def _str_ids(prefix: np.ndarray, number: np.ndarray, width: int, sep: str = "") -> pd.Series:
    """``prefix + sep + zero-padded number``, vectorised (pandas string ops, no Python loop per row)."""
    return pd.Series(prefix, dtype="str") + sep + pd.Series(number).astype("str").str.zfill(width)


def _study_toml(name: str, crs: str, year: int, seed: int) -> str:
    return f'''# A synthetic study written by villagestudy (seed={seed}).
name = "{name}"
description = "合成数据：地名、编码与数字均为虚构，仅供演示和测试。Synthetic data: every name, code and figure is fictional, for demonstration and testing only."
crs = "{crs}"
area_unit = "mu"
money_unit = "yuan"
year = {year}
synthetic = true

# settings of the indicators and the standards they are compared with
farmland_uses = ["arable"]
block_tolerance_m = 1.0
block_min_mu = 50
old_before_year = 2000
office_area_standard_m2 = 300
weak_total_yuan = 100000
weak_operating_yuan = 50000
'''


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
        tmp.chmod(0o644)  # mkstemp makes files private; a study is meant to be shared


def _write_geo(frame: gpd.GeoDataFrame, path: Path, layer: str | None = None) -> None:
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            import pyogrio

            tmp.unlink()  # GDAL creates the GeoPackage itself
            pyogrio.write_dataframe(frame, tmp, layer=layer, driver="GPKG", use_arrow=True)


def write_synthetic_study(out: str | Path, *, towns: int = 4, villages_per_town: int | tuple[int, int] | None = (8, 15),
                          parcels_per_village: int = 150, years: tuple[int, int] | str = (2019, 2023),
                          seed: int = 0, parcel_format: str = "gpkg", crs: str = "EPSG:4547",
                          _parcels=None) -> Path:
    """Write a complete synthetic study folder of the data contract and return its path.

    Parameters
    ----------
    out : str or Path
        The study folder; created if needed. Contract files already there are replaced (and a parcels,
        parks or grids file in another format is removed, so that the folder stays one study).
    towns : int
        Number of towns (镇/街道).
    villages_per_town : int or (int, int) or None
        Villages and communities per town: a number, or a (min, max) range drawn per town (default 8-15).
    parcels_per_village : int
        Mean number of land parcels per village (each village gets 80-120% of it).
    years : (int, int) or str
        First and last year of income and governance data, e.g. ``(2019, 2023)`` or ``"2019-2023"``.
    seed : int
        Random seed; the same seed gives byte-identical CSV files and identical GeoPackage contents.
    parcel_format : ``"gpkg"`` or ``"parquet"``
        ``parcels.gpkg`` (layer ``parcels``) or ``parcels.parquet`` (GeoParquet; faster for big studies).
    crs : str
        CRS written into the files; coordinates are metres around x=500,000, y=2,500,000 as in
        EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E).
    _parcels : optional, private
        Hook of :mod:`villagestudy.synth.partitioned`: an object with ``make_parcels``, ``place_parcels``
        (as in ``_land``) and ``write_parcels`` (as ``_write_parcels``) that streams the parcels town by town.

    Returns
    -------
    Path
        The study folder.
    """
    vpt, (y0, y1) = _check_args(towns, villages_per_town, parcels_per_village, years, parcel_format)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    years_list = list(range(y0, y1 + 1))
    root = np.random.default_rng(seed)
    (r_struct, r_names, r_pop, r_land, r_layout, r_parks, r_grids, r_income, r_gov) = root.spawn(9)

    # --- towns and villages -------------------------------------------------------------------------
    n_per_town = r_struct.integers(vpt[0], vpt[1] + 1, towns)
    n_vill = int(n_per_town.sum())
    town_of = np.repeat(np.arange(towns), n_per_town)
    subdistrict = np.zeros(towns, bool)  # 街道 (sub-district) rather than 镇
    if towns >= 2:
        subdistrict[r_struct.choice(towns, size=max(1, towns // 4), replace=False)] = True
    p_comm = np.where(subdistrict, 0.5, 0.12)[town_of]
    community = r_struct.random(n_vill) < p_comm
    # communities first within a town (their codes are 001-199)
    order = np.lexsort((~community, town_of))
    community = community[order]
    # one county up to 899 towns (the 3 town digits of a code); a province-sized study spans several
    n_counties = _names.counties_for(towns)
    names = _names.draw_names(r_names, n_counties + towns + n_vill)
    county_of_town = np.arange(towns) * n_counties // towns  # consecutive towns, counties of equal size
    county_names = np.array([n + "县" for n in names[:n_counties]], dtype=object)
    counties = _names.county_codes(r_names, n_counties)
    town_ids = [code for c, county in enumerate(counties)
                for code in _names.town_codes(r_names, county, int((county_of_town == c).sum()))]
    places = names[n_counties:]  # the towns', then the villages'
    town_names = [n + ("街道" if s else "镇") for n, s in zip(places[:towns], subdistrict)]
    village_ids: list[str] = []
    for t in range(towns):
        village_ids += _names.village_codes(r_names, town_ids[t], community[town_of == t])
    village_names = [n + ("社区" if c else "村") for n, c in zip(places[towns:], community)]
    reg, res, hh = _tables.population(r_pop, community)
    cls = _tables.economic_class(r_pop, community, town_of)
    # fragmentation: each town has its own level, villages vary around it; the study spans both ends
    town_f = r_pop.permutation(np.linspace(0.15, 0.85, towns)) if towns > 1 else np.array([0.5])
    frag = np.clip(town_f[town_of] + r_pop.normal(0.0, 0.25, n_vill) + 0.1 * community, 0.0, 1.0)
    if n_vill >= 2:
        frag[np.argmin(frag)] = r_pop.uniform(0.0, 0.1)
        frag[np.argmax(frag)] = r_pop.uniform(0.9, 1.0)
    counts = np.maximum(1, np.round(parcels_per_village * r_pop.uniform(0.8, 1.2, n_vill))).astype(np.int64)

    # --- land and layout ----------------------------------------------------------------------------
    parcels = (_parcels or _land).make_parcels(r_land, counts, frag, community)
    band_h = _land.park_band_height(parcels.extent[:, 1], r_layout)
    need_w = np.maximum(parcels.extent[:, 0], 250.0) * r_layout.uniform(1.0, 1.3, n_vill)
    need_h = parcels.extent[:, 1] + _land.PARK_GAP + band_h
    layout = layout_study(r_layout, list(n_per_town), need_w, need_h)
    inner = layout.inner
    pbox = (_parcels or _land).place_parcels(parcels, inner, r_layout)
    band = np.column_stack([inner[:, 0], inner[:, 1] + parcels.extent[:, 1] + _land.PARK_GAP, inner[:, 2],
                            inner[:, 3]])

    # parks: none for weak villages, several for some rich ones; every town has at least one
    p_parks = np.where(np.isin(cls, _tables.WEAK_CLASSES + (_tables.ESCAPING,)), 0.0,
                       np.where(cls == _tables.RICH, 0.85, 0.55))
    n_parks = np.where(r_parks.random(n_vill) < p_parks, 1 + r_parks.poisson(np.where(cls == _tables.RICH, 1.0, 0.3)),
                       0)
    n_parks = np.minimum(n_parks, 5)
    for t in range(towns):
        idx = np.flatnonzero(town_of == t)
        if n_parks[idx].sum() == 0:
            rich_first = idx[np.argsort(-cls[idx], kind="stable")]
            n_parks[rich_first[0]] = 1
    park_v, park_box = _land.make_parks(r_parks, n_parks, band)
    n_p = len(park_v)
    old = r_parks.random(n_p) < 0.65
    built = np.where(old, r_parks.integers(1985, 2000, n_p), r_parks.integers(2000, 2021, n_p))
    land_m2 = (park_box[:, 2] - park_box[:, 0]) * (park_box[:, 3] - park_box[:, 1])
    far = np.where(old, r_parks.uniform(0.6, 1.2, n_p), r_parks.uniform(1.2, 2.5, n_p))
    floor = np.round(land_m2 * far)
    occupied = np.minimum(floor, np.round(floor * np.where(old, r_parks.beta(6, 2, n_p), r_parks.beta(9, 2, n_p))))
    rent = np.round(occupied * 12 * np.where(old, r_parks.uniform(8, 15, n_p), r_parks.uniform(15, 30, n_p)))
    tax = np.round(land_m2 / M2_PER_MU * np.where(old, r_parks.lognormal(np.log(30e3), 0.5, n_p),
                                                  r_parks.lognormal(np.log(120e3), 0.5, n_p)))
    park_no = np.concatenate([np.arange(1, n + 1) for n in n_parks]) if n_p else np.zeros(0, np.int64)
    kinds = np.array(["工业园", "工业区", "产业园"], dtype=object)
    park_names = [f"{village_names[v]}{'第' + '一二三四五'[k - 1] if n_parks[v] > 1 else ''}"
                  f"{kinds[2] if b >= 2010 else kinds[int(b) % 2]}"
                  for v, k, b in zip(park_v, park_no, built)]

    # grids tile each village, micro-grids tile each grid
    n_grids = np.clip(np.round(hh / 350.0), 2, 8).astype(np.int64)
    g_src, g_geom, g_share = _land.split_polygons(layout.polygons, n_grids, r_grids, axis=0)
    g_hh = np.concatenate([r_grids.multinomial(hh[v], g_share[g_src == v]) for v in range(n_vill)])
    n_micro = np.clip(np.round(g_hh / 90.0), 2, 6).astype(np.int64)
    m_src, m_geom, m_share = _land.split_polygons(g_geom, n_micro, r_grids, axis=1)
    m_hh = np.concatenate([r_grids.multinomial(g_hh[g], m_share[m_src == g]) for g in range(len(g_geom))])
    full_town = int(r_grids.integers(towns))  # one town with a party group on every micro-grid
    p_micro_party = np.where(np.arange(towns) == full_town, 1.0, r_grids.uniform(0.55, 0.9, towns))
    g_party = (r_grids.random(len(g_geom)) < 0.95) | (town_of[g_src] == full_town)
    m_party = r_grids.random(len(m_geom)) < p_micro_party[town_of[g_src[m_src]]]
    g_full = 1 + (r_grids.random(len(g_geom)) < 0.3)
    m_full = (r_grids.random(len(m_geom)) < 0.6).astype(np.int64)
    posts = (np.bincount(g_src, g_full, minlength=n_vill)
             + np.bincount(g_src[m_src], m_full, minlength=n_vill)).astype(np.int64)

    # --- attribute tables ---------------------------------------------------------------------------
    park_rent: dict[int, list] = {}
    for v, b, r in zip(park_v, built, rent):
        park_rent.setdefault(int(v), []).append((int(b), float(r)))
    income = _tables.income_table(r_income, village_ids, cls, years_list, park_rent)
    governance = _tables.governance_table(r_gov, village_ids, years_list, res, reg, community, posts)

    # --- write ---------------------------------------------------------------------------------------
    for name in _STALE:
        stale = out / name
        if stale.is_dir():  # a partitioned table left by `synth --partitioned`
            shutil.rmtree(stale)
        elif stale.exists() and name != f"parcels.{parcel_format}":
            stale.unlink()
    region = county_names[0] if n_counties == 1 else f"{county_names[0]}等{n_counties}县"
    study_name = f"{region}村（社区）比较研究（合成数据）"
    with atomic_path(out / "study.toml") as tmp:
        tmp.write_text(_study_toml(study_name, crs, y1, seed), encoding="utf-8")
        tmp.chmod(0o644)
    _write_csv(pd.DataFrame({"town_id": town_ids, "town_name": town_names, "county": county_names[county_of_town]}),
               out / "towns.csv")
    vids = np.array(village_ids, dtype=object)
    _write_csv(pd.DataFrame({"village_id": vids, "village_name": village_names,
                             "town_id": np.array(town_ids, dtype=object)[town_of],
                             "kind": np.where(community, "community", "village"),
                             "registered_pop": reg, "resident_pop": res, "households": hh}), out / "villages.csv")
    _write_csv(income, out / "income.csv")
    _write_csv(governance, out / "governance.csv")
    _write_geo(gpd.GeoDataFrame({"village_id": vids}, geometry=layout.polygons, crs=crs),
               out / "boundaries.gpkg", "villages")
    parks = gpd.GeoDataFrame({
        "park_id": _str_ids(vids[park_v], park_no, 2, "-P"), "village_id": pd.Series(vids[park_v], dtype="str"),
        "park_name": pd.Series(park_names, dtype="str"), "built_year": built.astype(np.int64),
        "land_area": np.round(land_m2 / M2_PER_MU, 4), "floor_area_m2": floor.astype(np.int64),
        "occupied_floor_area_m2": occupied.astype(np.int64), "annual_rent_yuan": rent.astype(np.int64),
        "annual_tax_yuan": tax.astype(np.int64)},
        geometry=shapely.box(*park_box.T), crs=crs)
    _write_geo(parks, out / "parks.gpkg", "parks")
    g_no = np.concatenate([np.arange(1, n + 1) for n in n_grids])
    m_no = np.concatenate([np.arange(1, n + 1) for n in n_micro])
    g_ids = _str_ids(vids[g_src], g_no, 2, "-W")
    m_ids = _str_ids(g_ids.to_numpy()[m_src], m_no, 2, "-")
    grids = gpd.GeoDataFrame({
        "grid_id": pd.concat([g_ids, m_ids], ignore_index=True),
        "village_id": pd.Series(np.concatenate([vids[g_src], vids[g_src[m_src]]]), dtype="str"),
        "level": pd.Series(["grid"] * len(g_ids) + ["micro"] * len(m_ids), dtype="str"),
        "parent_grid_id": pd.concat([pd.Series([None] * len(g_ids), dtype="str"), g_ids[m_src]],
                                    ignore_index=True),
        "households": np.concatenate([g_hh, m_hh]).astype(np.int64),
        "full_time_staff": np.concatenate([g_full, m_full]).astype(np.int64),
        "part_time_staff": np.concatenate([r_grids.integers(1, 5, len(g_ids)),
                                           r_grids.integers(0, 3, len(m_ids))]).astype(np.int64),
        "has_party_group": np.concatenate([g_party, m_party])},
        geometry=np.concatenate([g_geom, m_geom]), crs=crs)
    _write_geo(grids, out / "grids.gpkg", "grids")
    del parks, grids
    (_parcels.write_parcels if _parcels else _write_parcels)(out, parcels, pbox, vids, parcel_format, crs)
    return out


def _write_parcels(out: Path, parcels: _land.VillageParcels, pbox: np.ndarray, vids: np.ndarray,
                   parcel_format: str, crs: str) -> None:
    counts = parcels.counts
    local = np.arange(len(pbox)) - np.repeat(np.cumsum(counts) - counts, counts)
    vrep = np.repeat(vids, counts)
    width = max(5, len(str(int(counts.max()))))
    hh_width = max(4, len(str(int(parcels.household.max()))))
    soc = pd.Series(parcels.society).astype("str").str.zfill(2)
    village = pd.Series(vrep, dtype="str")
    household = (village + soc + pd.Series(parcels.household).astype("str").str.zfill(hh_width))
    household = household.where(parcels.household > 0)
    del vrep
    geometry = shapely.box(pbox[:, 0], pbox[:, 1], pbox[:, 2], pbox[:, 3])
    area = np.round((pbox[:, 2] - pbox[:, 0]) * (pbox[:, 3] - pbox[:, 1]) / M2_PER_MU, 4)
    frame = gpd.GeoDataFrame({
        "parcel_id": village + pd.Series(local + 1).astype("str").str.zfill(width),
        "village_id": village,
        "land_use": pd.Series(np.array(LAND_USES, dtype=object)[parcels.land_use], dtype="str"),
        "household_id": household,
        "owner_id": village + "-" + soc,
        "area": area,
    }, geometry=geometry, crs=crs)
    if parcel_format == "parquet":
        _write_geo(frame, out / "parcels.parquet")
    else:
        _write_geo(frame, out / "parcels.gpkg", "parcels")
