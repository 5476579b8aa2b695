"""Read a contracted-land registration layer (农村土地承包经营权确权登记数据库, NY/T 2539-2016).

Field names follow NY/T 2539-2016: ``DKBM`` 地块编码 (19 digits = ``FBFBM`` + 5),
``FBFBM`` 发包方编码 (14 digits = village code 12 + villager group 2: the economic
society), ``CBFBM`` 承包方编码 (18 digits = ``FBFBM`` + 4: the household), ``SCMJ``
实测面积 (m2), ``SCMJM`` 实测面积 (mu), ``HTMJM`` 合同面积 (mu). The standard keeps the
household link in the contracted-parcel table (CBDKXX); research groups usually
receive the parcel layer (DK) joined with it, which is what this reader expects.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import ProblemList
from ._common import (LandData, area_mu, check_codes, code_text, finish, landuse_map, map_land_use,
                      open_layer, pick_field, read_layer, require_fields)

FORMAT = "quequan"
REQUIRED = {"parcel code 地块编码": ("DKBM",)}
AREA_FIELDS = (("SCMJM", "mu"), ("SCMJ", "m2"), ("HTMJM", "mu"))
"""Declared areas in order of preference: measured (mu, then m2), then contract area (mu)."""
LANDUSE_FIELDS = ("DLBM", "TDLYLX")  # GB/T 21010 code of the parcel, when the export carries one
NAME_FIELDS = ("ZLDWMC", "CMC", "XZCMC")  # a village name, when the export carries one
VILLAGE_DIGITS, OWNER_DIGITS, HOUSEHOLD_DIGITS, PARCEL_DIGITS = 12, 14, 18, 19
CONTRACT_TABLE = "CBDKXX"  # 承包地块信息: the parcel-household link of NY/T 2539


def _join_contracts(frame: pd.DataFrame, dkbm: pd.Series, path: Path, label: str,
                    problems: ProblemList) -> pd.DataFrame:
    """Fields of the contracted-parcel table (CBDKXX) the layer lacks, joined by DKBM."""
    table, _ = read_layer(path, None, problems)
    if table is None or not require_fields(table, REQUIRED, path.name, problems):
        return frame
    keys = code_text(table, "DKBM", width=PARCEL_DIGITS, label=path.name, problems=problems)
    dup = keys.duplicated(keep=False) & keys.notna()
    for code in pd.unique(keys[dup])[:20]:
        rows = [int(i) + 1 for i in np.flatnonzero((keys == code).to_numpy())]
        problems.error(path.name, f"one parcel in several contract rows ({', '.join(map(str, rows[:10]))})",
                       row=rows[1], column="DKBM", value=code, expected="one row per DKBM")
    if keys[dup].nunique() > 20:
        problems.error(path.name, f"... and {keys[dup].nunique() - 20} more parcels in several contract rows",
                       column="DKBM")
    if dup.any():
        return frame
    table = table.set_axis(keys.to_numpy())
    added = [c for c in ("CBFBM", "FBFBM", "HTMJM", "DLBM", "TDLYLX") if c in table.columns and c not in frame.columns]
    frame = frame.copy()
    for c in added:
        frame[c] = dkbm.map(table[c]).to_numpy()
    lacking = int((~dkbm.isin(keys)).sum())
    if lacking:
        problems.warning(label, f"{lacking} parcel(s) have no row in {path.name} (no contract): no household",
                         column="DKBM")
    unused = int((~keys.isin(dkbm)).sum())
    if unused:
        problems.warning(path.name, f"{unused} contract row(s) name parcels that are not in {label}; not used",
                         column="DKBM")
    problems.warning(label, f"{', '.join(added) or 'no field'} joined from {path.name} by DKBM")
    return frame


def find_contracts(layer_path: Path) -> Path | None:
    """The contracted-parcel table (``CBDKXX.dbf``) beside a parcel layer, if there is one."""
    return next((p for p in sorted(layer_path.parent.glob("*")) if p.stem.upper() == CONTRACT_TABLE
                 and p.suffix.lower() == ".dbf"), None)


def is_quequan(fields: set[str]) -> bool:
    """Whether a layer's field names (upper case) are those of a 确权 parcel layer.

    Examples
    --------
    >>> is_quequan({"DKBM", "CBFBM", "SCMJM"}), is_quequan({"DLBM", "ZLDWDM"})
    (True, False)
    """
    return "DKBM" in fields and bool(fields & {"CBFBM", "FBFBM", "SCMJ", "SCMJM", "HTMJM"})


def read_quequan(path: str | Path, *, layer: str | None = None, crs: str | None = None,
                 source_crs: str | None = None, landuse: dict | None = None,
                 contracts: str | Path | None = None) -> LandData:
    """Read a 确权 contracted-land parcel layer into the canonical parcels, villages and towns.

    Parameters
    ----------
    path : str or Path
        A shapefile, DBF table, GeoPackage or file geodatabase (``.gdb``).
    layer : str, optional
        The layer in a GeoPackage or geodatabase (e.g. ``"DK"``).
    crs, source_crs, landuse
        As in :func:`villagestudy.io.adapters.read_sandiao`.
    contracts : str or Path, optional
        The contracted-parcel table of the standard (承包地块信息, ``CBDKXX.dbf``), joined
        to the parcels by ``DKBM``: its ``CBFBM``, ``FBFBM`` and ``HTMJM`` complete a
        parcel layer (``DK``) that lacks them.

    Returns
    -------
    LandData
        ``parcel_id`` (DKBM), ``village_id`` (FBFBM[:12]), ``owner_id`` (FBFBM, the
        economic society), ``household_id`` (CBFBM), ``land_use`` (DLBM/TDLYLX when
        present, else ``arable``: contracted land is farmland), ``area`` in mu (SCMJM,
        else SCMJ / 666.67, else HTMJM).

    Raises
    ------
    StudyError
        Missing fields, bad codes, unknown land-use codes: all listed.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "CBDK.dbf"
    >>> gpd.GeoDataFrame({"DKBM": ["4401000010010100001"], "CBFBM": ["440100001001010001"],
    ...                   "FBFBM": ["44010000100101"], "SCMJM": [2.5]}).to_file(f, driver="ESRI Shapefile")
    >>> p = read_quequan(f).parcels
    >>> p.loc[0, ["village_id", "owner_id", "household_id", "land_use"]].tolist(), float(p.loc[0, "area"])
    (['440100001001', '44010000100101', '440100001001010001', 'arable'], 2.5)
    """
    path = Path(path)
    problems = ProblemList()
    frame, encoding, label = open_layer(path, layer, REQUIRED, problems, source_crs=source_crs)
    dkbm = code_text(frame, "DKBM", width=PARCEL_DIGITS, label=label, problems=problems)
    if contracts is not None:
        frame = _join_contracts(frame, dkbm, Path(contracts), label, problems)
    if "FBFBM" in frame.columns:
        fbf = code_text(frame, "FBFBM", width=OWNER_DIGITS, label=label, problems=problems)
        ok = check_codes(fbf, min_digits=OWNER_DIGITS, column="FBFBM", label=label, what="发包方编码 (FBFBM)",
                         problems=problems)
    else:
        fbf = dkbm
        ok = check_codes(dkbm, min_digits=OWNER_DIGITS, column="DKBM", label=label, what="地块编码 (DKBM)",
                         problems=problems)
        problems.warning(label, "no FBFBM (发包方编码): the economic society is taken from the first 14 digits "
                         "of DKBM", column="DKBM")
    owner = fbf.where(ok).str[:OWNER_DIGITS]
    if "CBFBM" in frame.columns:
        household = code_text(frame, "CBFBM", width=HOUSEHOLD_DIGITS, label=label, problems=problems)
    else:
        household = pd.Series(None, index=frame.index, dtype=object)
        problems.warning(label, "no CBFBM (承包方编码): parcels have no household", column="CBFBM")
    use_field = pick_field(frame, LANDUSE_FIELDS)
    if use_field:
        codes = code_text(frame, use_field, width=4, label=label, problems=problems)
        uses = map_land_use(codes, landuse_map(landuse, problems=problems), column=use_field, label=label,
                            problems=problems)
    else:
        uses = pd.Series("arable", index=frame.index, dtype=object)
        problems.warning(label, "no land-use code (DLBM or TDLYLX): every parcel is taken as arable land "
                         "(contracted land is farmland)")
    area, area_field = area_mu(frame, AREA_FIELDS, label, problems)
    if area_field:
        problems.warning(label, f"areas from {area_field} ({dict(AREA_FIELDS)[area_field]})", column=area_field)
    else:
        problems.warning(label, "no SCMJM, SCMJ or HTMJM field; areas are computed from the geometry")
    name_field = pick_field(frame, NAME_FIELDS)
    columns = {"parcel_id": dkbm, "village_id": owner.str[:VILLAGE_DIGITS], "land_use": uses,
               "household_id": household, "owner_id": owner, "area": area}
    return finish(frame, columns, crs=crs, label=label, problems=problems, fmt=FORMAT, encoding=encoding,
                  names=frame[name_field] if name_field else None, name_field=name_field)
