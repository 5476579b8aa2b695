"""Write land data read by an adapter as a study folder, checked by the loader before it is moved into place."""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
from pathlib import Path

from .._atomic import write_table
from ..errors import UsageError
from ..safe_text import neutralise_frame
from . import adapters
from .adapters import LandData
from .load import load_study

__all__ = ["write_land_study"]


def write_land_study(land: LandData, out: str | Path, *, name: str | None = None) -> Path:
    """Write ``land`` as a study folder (parcels.gpkg, villages.csv, towns.csv, study.toml).

    The folder is written beside ``out`` under a temporary name, loaded and
    validated, and only then moved into place; ``out`` must not exist or be empty.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd, shapely
    >>> from villagestudy.io import adapters
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> gpd.GeoDataFrame({"DKBM": ["4401000010010100001"], "CBFBM": ["440100001001010001"],
    ...                   "FBFBM": ["44010000100101"], "SCMJM": [1.5]},
    ...                  geometry=[shapely.box(500000, 2500000, 500030, 2500030)], crs=4547).to_file(tmp / "DK.gpkg")
    >>> path = write_land_study(adapters.read_quequan(tmp / "DK.gpkg"), tmp / "study")
    >>> sorted(p.name for p in path.iterdir())
    ['parcels.gpkg', 'study.toml', 'towns.csv', 'villages.csv']
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"'{out}' already exists and is not an empty folder; choose a new study folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        parcels = land.parcels
        if "geometry" in parcels:
            parcels.to_file(tmp / "parcels.gpkg", layer="parcels", driver="GPKG")
        else:
            write_table(neutralise_frame(parcels), tmp / "parcels.csv", index=False)
        write_table(neutralise_frame(land.villages), tmp / "villages.csv", index=False)
        write_table(neutralise_frame(land.towns), tmp / "towns.csv", index=False)
        (tmp / "study.toml").write_text(_study_toml(land, name or out.name), encoding="utf-8")
        load_study(tmp)  # every check of the loader before anything is moved into place
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _study_toml(land: LandData, name: str) -> str:
    lines = [f"# Imported by villagestudy import-land on {_dt.date.today().isoformat()}",
             f"# from {land.source} ({land.format}); text encoding: {land.encoding or 'UTF-8 (the format)'}",
             "# What the import assumed:"]
    lines += [f"#   - {note}".replace("\n", " ") for note in land.notes]
    lines += [f"name = {json.dumps(name, ensure_ascii=False)}", 'area_unit = "mu"']
    if land.crs:
        lines.append(f"crs = {json.dumps(land.crs)}")
    return "\n".join(lines) + "\n"
