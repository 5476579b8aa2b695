"""Adapters for the land data Chinese offices hold: 三调 land-use polygons and 确权 contracted parcels.

:func:`read_land` turns a layer into the canonical parcels, villages and towns
(:class:`LandData`); :func:`villagestudy.io.land_study.write_land_study` writes them as a study folder (what
``villagestudy import-land`` does); :func:`adapter_tables` lets ``load_study`` read
such a layer dropped into a study folder. The land-use mapping is data
(``villagestudy/data/landuse_dlbm.toml``), overridden by a study's ``[landuse_map]``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from ...errors import ProblemList, StudyError, UsageError
from ...settings import M2_PER_MU
from ..readers import ROW, RawTable
from ._common import (LANDUSE_SETTING, LandData, classify, default_landuse_table, gauss_kruger_epsg, landuse_map,
                      landuse_sources, layer_label)
from .quequan import find_contracts, is_quequan, read_quequan
from .sandiao import is_sandiao, read_sandiao

__all__ = ["FORMATS", "LandData", "read_land", "read_sandiao", "read_quequan", "write_land_study",
           "find_land_layers", "adapter_tables", "landuse_map", "classify", "gauss_kruger_epsg",
           "default_landuse_table", "landuse_sources", "ADAPTER_SETTINGS"]

#: format name -> (reader, test on a layer's upper-case field names)
FORMATS: dict[str, tuple[Callable[..., LandData], Callable[[set[str]], bool]]] = {
    "sandiao": (read_sandiao, is_sandiao),
    "quequan": (read_quequan, is_quequan),
}
#: study.toml keys read by the adapters (not settings of the indicators)
ADAPTER_SETTINGS = (LANDUSE_SETTING,)
CANONICAL_COLUMNS = ["parcel_id", "village_id", "land_use", "household_id", "owner_id", "area"]
_CANONICAL_GPKG = {"boundaries.gpkg", "parcels.gpkg", "parks.gpkg", "grids.gpkg"}


def read_land(path: str | Path, format: str, **options) -> LandData:
    """Read a 三调 (``format="sandiao"``) or 确权 (``"quequan"``) layer; options as :func:`read_sandiao`.

    Examples
    --------
    >>> sorted(FORMATS)
    ['quequan', 'sandiao']
    """
    if format not in FORMATS:
        raise UsageError(f"unknown land data format '{format}'; use one of {', '.join(FORMATS)}")
    return FORMATS[format][0](path, **options)


def find_land_layers(folder: str | Path) -> list[tuple[Path, str | None, str]]:
    """The 三调/确权 layers in a folder, by their fields: ``(path, layer, format)``.

    Looks at shapefiles, GeoPackages other than the study's own and file
    geodatabases (``*.gdb``) directly in ``folder``.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd, shapely
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> gpd.GeoDataFrame({"DLBM": ["0101"], "ZLDWDM": ["4401000010010000000"]},
    ...                  geometry=[shapely.box(0, 0, 1, 1)], crs=4547).to_file(tmp / "DLTB.shp")
    >>> [(p.name, layer, fmt) for p, layer, fmt in find_land_layers(tmp)]
    [('DLTB.shp', None, 'sandiao')]
    """
    import pyogrio

    folder = Path(folder)
    candidates = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".shp", ".gpkg", ".gdb")
                        and p.name.lower() not in _CANONICAL_GPKG)
    found = []
    for path in candidates:
        try:
            layers = [None] if path.suffix.lower() == ".shp" else [n for n, _ in pyogrio.list_layers(path)]
            for layer in layers:
                fields = {str(f).upper() for f in pyogrio.read_info(path, layer=layer)["fields"]}
                fmt = next((name for name, (_, test) in FORMATS.items() if test(fields)), None)
                if fmt:
                    found.append((path, layer if path.suffix.lower() != ".shp" else None, fmt))
        except Exception:  # not a readable layer: the loader ignores files it does not know either
            continue
    return found


def adapter_tables(folder: Path, settings, problems: ProblemList,
                   find_table_file: Callable[[Path, str], tuple | None]) -> dict[str, RawTable]:
    """Raw parcels (and villages and towns where the folder has none) from a land layer in ``folder``.

    ``load_study`` calls this once; the tables then go through the same checks as
    any study file. A folder that has its own parcels file keeps it, and is told
    that the land layer was ignored. ``find_table_file(folder, table)`` is the
    loader's own file lookup (passed in, so that this package does not import the loader).
    """
    found = find_land_layers(folder)
    if not found:
        return {}
    labels = ", ".join(layer_label(p, layer) for p, layer, _ in found)
    own = find_table_file(folder, "parcels")
    if own is not None:
        problems.warning(own[0].name, f"land data layer(s) {labels} ignored: the folder has its own parcels file")
        return {}
    if len(found) > 1:
        problems.error(labels, "several land data layers in the study folder",
                       expected="one 三调 or 确权 layer per study folder (or combine them with villagestudy import-land)")
        return {}
    path, layer, fmt = found[0]
    options = {"contracts": find_contracts(path)} if fmt == "quequan" and path.suffix.lower() == ".shp" else {}
    try:
        land = read_land(path, fmt, layer=layer, crs=settings.crs, landuse=settings.extra.get(LANDUSE_SETTING),
                         **options)
    except StudyError as e:
        problems.extend(e.problems + e.warnings)
        return {}
    problems.extend(land.notes)
    label = land.source
    problems.warning(label, f"read as {'三调 land-use polygons' if fmt == 'sandiao' else '确权 contracted parcels'}")
    parcels = land.parcels[CANONICAL_COLUMNS + (["geometry"] if "geometry" in land.parcels else [])].copy()
    parcels[ROW] = range(1, len(parcels) + 1)  # the feature number
    out = {"parcels": RawTable(parcels, label, {"area": "mu"})}
    for name, frame in (("villages", land.villages), ("towns", land.towns)):
        if find_table_file(folder, name) is None:
            frame = frame.copy()
            frame[ROW] = range(1, len(frame) + 1)
            out[name] = RawTable(frame, f"{name} derived from {label}")
    return out


def land_summary(land: LandData) -> pd.DataFrame:
    """Parcels and area (mu) by land use: what an import is checked against.

    Examples
    --------
    >>> import pandas as pd
    >>> land = LandData(pd.DataFrame({"land_use": ["arable", "arable", "forest"], "area": [1.0, 2.0, 4.0]}),
    ...                 pd.DataFrame(), pd.DataFrame(), None, "x", "quequan")
    >>> land_summary(land).to_dict("index")
    {'arable': {'parcels': 2, 'area_mu': 3.0}, 'forest': {'parcels': 1, 'area_mu': 4.0}}
    """
    p = land.parcels
    area = p["area"].fillna(p.geometry.area / M2_PER_MU) if "geometry" in p else p["area"]
    return p.assign(area=area).groupby("land_use")["area"].agg(parcels="size", area_mu="sum")
