"""Read a Third National Land Survey (第三次全国国土调查, 三调) land-use layer (地类图斑, ``DLTB``).

Field names follow the land survey database standard (国土调查数据库标准, TD/T 1057; 地类图斑属性结构,
table ``DLTB``):
``BSM`` 标识码, ``TBBH`` 图斑编号, ``DLBM``/``DLMC`` 地类编码/名称, ``QSXZ`` 权属性质,
``QSDWDM``/``QSDWMC`` 权属单位代码/名称, ``ZLDWDM``/``ZLDWMC`` 坐落单位代码/名称 (19 digits:
the 12-digit village code, then the villager group), ``TBMJ`` 图斑面积 and ``TBDLMJ``
图斑地类面积 (m2, ellipsoidal; TBDLMJ = TBMJ less the deducted field ridges).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import ProblemList
from ._common import (LandData, area_mu, check_codes, code_text, finish, landuse_map, map_land_use,
                      open_layer, pick_field)

FORMAT = "sandiao"
REQUIRED = {"land-use code 地类编码": ("DLBM",), "location unit code 坐落单位代码": ("ZLDWDM",)}
AREA_FIELDS = (("TBDLMJ", "m2"), ("TBMJ", "m2"))
"""Declared areas in order of preference: the land-class area (net of ridges), then the polygon area."""
VILLAGE_DIGITS, OWNER_DIGITS = 12, 14
STATE_OWNED = ("1", "2")  # QSXZ 10/20: state ownership or state use rights (no collective owner)


def is_sandiao(fields: set[str]) -> bool:
    """Whether a layer's field names (upper case) are those of a 三调 DLTB layer.

    Examples
    --------
    >>> is_sandiao({"BSM", "DLBM", "DLMC", "ZLDWDM", "TBMJ"}), is_sandiao({"DKBM", "CBFBM"})
    (True, False)
    """
    return {"DLBM", "ZLDWDM"} <= fields


def read_sandiao(path: str | Path, *, layer: str | None = None, crs: str | None = None,
                 source_crs: str | None = None, landuse: dict | None = None) -> LandData:
    """Read a 三调 地类图斑 layer into the canonical parcels, villages and towns.

    Parameters
    ----------
    path : str or Path
        A shapefile (``DLTB.shp``), GeoPackage or file geodatabase (``.gdb``).
    layer : str, optional
        The layer in a GeoPackage or geodatabase (e.g. ``"DLTB"``).
    crs : str, optional
        The projected CRS wanted; by default a projected layer keeps its CRS and a
        geographic one (EPSG:4490) goes to the CGCS2000 3-degree Gauss-Krüger zone
        of its mean longitude.
    source_crs : str, optional
        The CRS of a layer that has none (no ``.prj``).
    landuse : dict, optional
        Code -> land use entries over the bundled table (a study's ``[landuse_map]``).

    Returns
    -------
    LandData
        ``parcel_id`` (BSM, else village code + TBBH), ``village_id`` (ZLDWDM[:12]),
        ``land_use`` (from DLBM), ``owner_id`` (QSDWDM[:14]: village + villager group;
        empty for state-owned land), ``household_id`` (empty: the survey has none),
        ``area`` in mu (TBDLMJ, else TBMJ, m2 / 666.67).

    Raises
    ------
    StudyError
        Missing fields, bad codes, unknown land-use codes, no CRS: all listed.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd, shapely
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "DLTB.gpkg"
    >>> gpd.GeoDataFrame({"BSM": ["1"], "DLBM": ["0101"], "ZLDWDM": ["4401000010010000000"],
    ...                   "ZLDWMC": ["甲村"], "TBDLMJ": [6666.7]},
    ...                  geometry=[shapely.box(113.9, 23, 113.901, 23.001)], crs=4490).to_file(f)
    >>> land = read_sandiao(f)
    >>> land.crs, land.parcels.loc[0, "land_use"], round(float(land.parcels.loc[0, "area"]), 2)
    ('EPSG:4547', 'arable', 10.0)
    """
    path = Path(path)
    problems = ProblemList()
    frame, encoding, label = open_layer(path, layer, REQUIRED, problems, source_crs=source_crs)
    mapping = landuse_map(landuse, problems=problems)
    zl = code_text(frame, "ZLDWDM", width=19, label=label, problems=problems)
    ok = check_codes(zl, min_digits=VILLAGE_DIGITS, column="ZLDWDM", label=label, what="location unit code",
                     problems=problems)
    village = zl.where(ok).str[:VILLAGE_DIGITS]
    dlbm = code_text(frame, "DLBM", width=4, label=label, problems=problems)
    uses = map_land_use(dlbm, mapping, column="DLBM", label=label, problems=problems)
    owner = _owners(frame, zl, label, problems)
    area, area_field = area_mu(frame, AREA_FIELDS, label, problems)
    if area_field:
        problems.warning(label, f"areas from {area_field} (m2, as surveyed) converted to mu", column=area_field)
    else:
        problems.warning(label, "no TBDLMJ or TBMJ field; areas are computed from the geometry")
    columns = {"parcel_id": _parcel_ids(frame, village, label, problems), "village_id": village, "land_use": uses,
               "household_id": pd.Series(None, index=frame.index, dtype=object), "owner_id": owner, "area": area,
               "src_dlbm": dlbm, "src_zldwdm": zl}
    if "DLMC" in frame.columns:
        columns["src_dlmc"] = frame["DLMC"].astype(object)
    name_field = pick_field(frame, ("ZLDWMC",))
    names = frame[name_field] if name_field else None
    return finish(frame, columns, crs=crs, label=label, problems=problems, fmt=FORMAT, encoding=encoding,
                  names=names, name_field=name_field)


def _parcel_ids(frame: pd.DataFrame, village: pd.Series, label: str, problems: ProblemList) -> pd.Series:
    """BSM when it identifies every polygon; else village code + TBBH; else the feature number."""
    if "BSM" in frame.columns:
        bsm = code_text(frame, "BSM", width=1, label=label, problems=problems)
        if bsm.notna().all() and bsm.is_unique:
            return bsm
        problems.warning(label, "BSM is empty or repeated; parcel ids built another way", column="BSM")
    if "TBBH" in frame.columns:
        ids = village.fillna("") + "-" + code_text(frame, "TBBH", width=1, label=label, problems=problems).fillna("")
        if ids.is_unique:
            problems.warning(label, "parcel ids are the village code and TBBH (图斑编号)", column="TBBH")
            return ids
    problems.warning(label, "no unique BSM or TBBH; parcel ids are the feature numbers (F1, F2, ...)")
    return pd.Series([f"F{i + 1}" for i in range(len(frame))], index=frame.index, dtype=object)


def _owners(frame: pd.DataFrame, zl: pd.Series, label: str, problems: ProblemList) -> pd.Series:
    """The owning collective (economic society): the first 14 digits of QSDWDM, none for state land."""
    if "QSDWDM" in frame.columns:
        qs = code_text(frame, "QSDWDM", width=19, label=label, problems=problems)
        field = "QSDWDM"
    else:
        qs = zl
        field = "ZLDWDM"
        problems.warning(label, "no QSDWDM (权属单位代码): owners taken from ZLDWDM, the unit where the land lies",
                         column="ZLDWDM")
    owner = qs.where(qs.map(lambda v: isinstance(v, str) and v.isdigit() and len(v) >= OWNER_DIGITS).astype(bool))
    owner = owner.str[:OWNER_DIGITS]
    state = pd.Series(False, index=frame.index)
    if "QSXZ" in frame.columns:
        state = frame["QSXZ"].map(lambda v: str(v).strip().startswith(STATE_OWNED) if v is not None else False)
        state = state.fillna(False).astype(bool)
        if state.any():
            problems.warning(label, f"{int(state.sum())} state-owned polygon(s) (QSXZ 10/20) have no collective "
                             "owner (owner_id left empty)", column="QSXZ")
        owner = owner.where(~state)
    short = qs.notna() & owner.isna() & ~state
    if short.any():
        problems.warning(label, f"{int(short.sum())} polygon(s) have a {field} shorter than 14 digits; "
                         "owner_id left empty", column=field)
    return owner.astype(object)
