"""``load_study``: a study folder in, a validated canonical :class:`Study` out.

Each table goes through one step, :func:`canonicalise_table` (reprojection,
canonical names, types and units, geometry checks, areas from geometry); the
checks across tables follow. A table stored as a folder of partitions is read by
a registered :class:`PartitionedReader` (the Dask backend registers one), which
runs the same :func:`canonicalise_table` on every partition.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from ..errors import ProblemList
from ..schema import TABLES
from ..settings import M2_PER_MU, SETTING_ALIASES, Settings
from ..study import TABLE_NAMES, Study
from .adapters import ADAPTER_SETTINGS, adapter_tables
from .readers import ROW, RawTable, read_geo_table, read_text_table, read_xlsx_table
from .validate import canonical_table, check_geometry, check_references, repair_stripped_zeros

# preferred file per table, in order; a folder with several uses the first and says so
FILE_CANDIDATES: dict[str, list[tuple[str, str | None]]] = {
    "towns": [("towns.csv", None), ("towns.xlsx", None)],
    "villages": [("villages.csv", None), ("villages.xlsx", None)],
    "boundaries": [("boundaries.gpkg", "villages"), ("boundaries.parquet", None)],
    "parcels": [("parcels.gpkg", "parcels"), ("parcels.parquet", None), ("parcels.csv", None), ("parcels.xlsx", None)],
    "parks": [("parks.gpkg", "parks"), ("parks.parquet", None), ("parks.csv", None), ("parks.xlsx", None)],
    "grids": [("grids.gpkg", "grids"), ("grids.parquet", None), ("grids.csv", None), ("grids.xlsx", None)],
    "income": [("income.csv", None), ("income.xlsx", None), ("income.parquet", None)],
    "governance": [("governance.csv", None), ("governance.xlsx", None), ("governance.parquet", None)],
}
# headers that identify each table when searching for its header row
_EXPECTED_EXTRA = {"parcels": {"area"}, "parks": {"land_area"}, "income": {"amount", "business", "contracting",
                   "investment", "subsidy", "other"}}


def find_table_file(folder: Path, table: str, problems: ProblemList | None = None) -> tuple[Path, str | None] | None:
    found = [(folder / name, layer) for name, layer in FILE_CANDIDATES[table] if (folder / name).exists()]
    if not found:
        return None
    if len(found) > 1 and problems is not None:
        problems.warning(found[0][0].name, f"several files for table '{table}' "
                         f"({', '.join(p.name for p, _ in found)}); using {found[0][0].name}")
    return found[0]


def read_settings(folder: Path, problems: ProblemList) -> Settings:
    """Read ``study.toml`` (optional) into :class:`Settings`."""
    path = folder / "study.toml"
    if not path.exists():
        return Settings(name=folder.name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        problems.error("study.toml", f"cannot be read: {e}", expected="valid TOML in UTF-8")
        return Settings(name=folder.name)
    flat: dict = {}
    for key, value in data.items():
        if isinstance(value, dict) and key in ("standards", "indicators", "settings", "land", "income", "governance"):
            flat.update(value)
        elif isinstance(value, dict) and key == "index":
            flat["index_options"] = {k: v for k, v in value.items() if k != "weights"}
            if "weights" in value:
                flat["weights"] = value["weights"]
        else:
            flat[key] = value
    known = set(Settings.__dataclass_fields__)
    changes, extra = {"name": folder.name}, {}
    for key, value in flat.items():
        canon = SETTING_ALIASES.get(key, key)
        if key in ADAPTER_SETTINGS:  # read by io/adapters when a land layer is loaded
            extra[key] = value
        elif canon in known:
            changes[canon] = value
        else:
            extra[key] = value
            problems.warning("study.toml", f"unknown setting '{key}' ignored")
    for unit_key, choices in (("area_unit", ("mu", "ha", "m2")), ("money_unit", ("yuan", "wan_yuan"))):
        if unit_key in changes and changes[unit_key] not in choices:
            problems.error("study.toml", "unknown unit", column=unit_key, value=changes[unit_key],
                           expected=" or ".join(choices))
            changes.pop(unit_key)
    for num_key in ("block_tolerance_m", "block_min_mu", "weak_total_yuan", "weak_operating_yuan",
                    "social_workers_per_10k_min", "grid_part_time_max", "office_area_standard_m2"):
        if num_key in changes and not isinstance(changes[num_key], (int, float)):
            problems.error("study.toml", "not a number", column=num_key, value=changes[num_key], expected="a number")
            changes.pop(num_key)
    if "farmland_uses" in changes and isinstance(changes["farmland_uses"], str):
        changes["farmland_uses"] = [changes["farmland_uses"]]
    changes["extra"] = extra
    if changes.get("crs"):
        _check_study_crs(str(changes["crs"]), problems)
    return Settings().replace(**changes)


def _check_study_crs(crs: str, problems: ProblemList) -> None:
    try:
        c = CRS.from_user_input(crs)
    except CRSError:
        problems.error("study.toml", "unknown CRS", column="crs", value=crs,
                       expected="a projected CRS such as EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E)")
        return
    if not c.is_projected:
        problems.error("study.toml", "the CRS is geographic (degrees); areas need metres", column="crs",
                       value=crs, expected="a projected CRS such as EPSG:4547")


def _read_raw(folder: Path, table: str, problems: ProblemList) -> RawTable | None:
    hit = find_table_file(folder, table, problems)
    if hit is None:
        return None
    path, layer = hit
    expected = set(TABLES[table].names) | {"village_id"} | _EXPECTED_EXTRA.get(table, set())
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_text_table(path, expected, problems)
    if suffix == ".xlsx":
        return read_xlsx_table(path, expected, problems)
    return read_geo_table(path, layer, problems)


def _geo_to_study_crs(frame, file: str, crs: str | None, problems: ProblemList):
    """Reproject a GeoDataFrame to the study CRS; report missing or geographic CRS."""
    if frame.crs is None:
        problems.error(file, "the layer has no CRS", column="geometry",
                       expected="a CRS set on the layer (e.g. EPSG:4547)")
        return frame, crs
    if crs is None:
        if frame.crs.is_geographic:
            problems.error(file, f"the layer's CRS ({frame.crs.to_string()}) is geographic (degrees) and "
                           "study.toml sets no projected CRS; areas need metres", column="geometry",
                           expected="crs = \"EPSG:4547\" (or another projected CRS) in study.toml")
            return frame, crs
        return frame, frame.crs.to_string()
    if not frame.crs.equals(crs):
        frame = frame.to_crs(crs)
    return frame, crs


def canonicalise_table(raw: RawTable, name: str, settings: Settings, crs: str | None, problems: ProblemList,
                       *, geometry_checks: bool = True) -> tuple[pd.DataFrame | None, str | None]:
    """One table (or one partition of it) made canonical, with the checks of that table alone.

    Reprojects a layer to the study CRS, converts names, types and units
    (:func:`~villagestudy.io.validate.canonical_table`), reports null, empty and
    invalid geometries, and fills areas from the geometry. Checks across tables
    (unknown ids, stripped leading zeros) are the caller's.

    Parameters
    ----------
    raw : RawTable
        As read from the file (``raw.frame`` keeps the ``_row`` column).
    name : str
        The table, e.g. ``"parcels"``.
    settings : Settings
    crs : str or None
        The study CRS so far; None takes the layer's own projected CRS.
    problems : ProblemList
        Every problem is appended here.
    geometry_checks : keyword-only, bool
        False leaves out the geometry check (it only reports; for re-reads of a
        table already checked).

    Returns
    -------
    (DataFrame or None, str or None)
        The canonical frame (None when the table cannot be made canonical) and
        the study CRS after this table.
    """
    spec = TABLES[name]
    is_geo = isinstance(raw.frame, gpd.GeoDataFrame)
    if is_geo:
        raw.frame, crs = _geo_to_study_crs(raw.frame, raw.file, crs, problems)
    canon = canonical_table(raw, spec, settings, problems)
    if canon is None:
        return None, crs
    if is_geo:
        if geometry_checks:
            check_geometry(canon, spec.key[0], raw.file, problems)
        canon = _fill_areas_from_geometry(canon, name)
    if name == "parcels" and "area_mu" not in canon:
        problems.error(raw.file, "parcels without geometry need an area column", column="area",
                       expected="a column 'area' (or 面积(亩))")
    return canon, crs


class PartitionedReader(Protocol):
    """What :func:`load_study` needs to read tables stored as folders of partitions.

    A backend registers one with :func:`register_partitioned_reader`
    (``import villagestudy`` registers the Dask backend's).
    """

    tables: tuple[str, ...]
    """The tables that may be partitioned."""

    def find(self, folder: Path, table: str, problems: ProblemList) -> Path | None:
        """The partitioned folder of ``table`` in ``folder``, or None."""

    def open(self, folder: Path, found: dict[str, Path], tables: dict[str, pd.DataFrame], files: dict[str, str],
             settings: Settings, crs: str | None, problems: ProblemList) -> tuple[dict, str | None]:
        """Check every partition; the lazy tables and the study CRS."""

    def study(self, partitioned: dict, **fields) -> Study:
        """The study object holding the lazy tables."""


_PARTITIONED_READERS: list[PartitionedReader] = []


def register_partitioned_reader(reader: PartitionedReader) -> None:
    """Let :func:`load_study` read partitioned folders with ``reader`` (idempotent)."""
    if reader not in _PARTITIONED_READERS:
        _PARTITIONED_READERS.append(reader)


def _find_partitioned(folder: Path, name: str, problems: ProblemList) -> tuple[PartitionedReader, Path] | None:
    for reader in _PARTITIONED_READERS:
        if name in reader.tables and (root := reader.find(folder, name, problems)) is not None:
            return reader, root
    return None


def load_study(path: str | Path, **overrides) -> Study:
    """Load and validate a study folder.

    Parameters
    ----------
    path : str or Path
        The study folder (see the README's study format).
    **overrides
        Settings that replace those of ``study.toml`` (e.g. ``year=2022``).

    Returns
    -------
    Study
        Every table in canonical names, types and units (areas in mu, money in
        yuan, ids as strings, geometries in the study's projected CRS).

    Raises
    ------
    StudyError
        With every problem found (file, row, column, value, what was expected).

    Examples
    --------
    >>> import villagestudy as vs
    >>> study = vs.load_study(vs.datasets.get_path("sample"))
    >>> len(study.towns)
    4
    """
    folder = Path(path)
    problems = ProblemList()
    if not folder.is_dir():
        problems.error(str(folder), "no such study folder", expected="a folder with towns.csv and villages.csv")
        problems.raise_if_errors()
    settings = read_settings(folder, problems)
    if overrides:
        settings = settings.replace(**overrides)
    crs = settings.crs
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    found: dict[str, Path] = {}
    partitioned_reader = None
    adapted = adapter_tables(folder, settings, problems, find_table_file)  # a 三调/确权 layer dropped into the folder
    for name in TABLE_NAMES:
        if (hit := _find_partitioned(folder, name, problems)) is not None:
            partitioned_reader, found[name] = hit  # a folder of partitions: checked below, read lazily
            continue
        raw = adapted[name] if name in adapted else _read_raw(folder, name, problems)
        if raw is None:
            if TABLES[name].required_file and find_table_file(folder, name) is None:
                options = " or ".join(n for n, _ in FILE_CANDIDATES[name])
                problems.error(options.split(" or ")[0], "required file is missing", expected=options)
            continue
        files[name] = raw.file
        if name == "villages" and "towns" in tables:
            _town_ids_from_names(raw, tables["towns"], problems)
        canon, crs = canonicalise_table(raw, name, settings, crs, problems)
        if canon is not None:
            tables[name] = canon
    repair_stripped_zeros(tables, files, problems)
    check_references(tables, files, problems)
    warn_missing_data(tables, files, problems)
    lazy = {}
    if found:
        lazy, crs = partitioned_reader.open(folder, found, tables, files, settings.replace(crs=crs), crs, problems)
    problems.raise_if_errors()
    for name, frame in tables.items():
        tables[name] = drop_row_numbers(frame)
    fields = dict(settings=settings.replace(crs=crs), path=folder.resolve(), notes=problems.warnings,
                  sources=files, **tables)
    return partitioned_reader.study(lazy, **fields) if lazy else Study(**fields)


def drop_row_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """A canonical frame without the ``_row`` column kept for error messages (geometry and CRS kept)."""
    out = frame.drop(columns=[ROW])
    if isinstance(frame, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs)
    return out


def _town_ids_from_names(raw: RawTable, towns: pd.DataFrame, problems: ProblemList) -> None:
    """A villages table that names its town (镇街) instead of giving its code gets the code from towns."""
    frame = raw.frame
    if "town_id" in frame.columns or "town_name" not in frame.columns:
        return
    by_name = towns.drop_duplicates("town_name").set_index("town_name")["town_id"]
    names = frame["town_name"].map(lambda v: None if v is None or v != v else str(v).strip())
    frame["town_id"] = names.map(by_name)
    for idx in frame.index[frame["town_id"].isna()][:50]:
        problems.error(raw.file, "unknown town name", row=int(frame.at[idx, ROW]), column="town_name",
                       value=frame.at[idx, "town_name"], expected="a town_name listed in the towns table")
    problems.warning(raw.file, "villages give their town by name; town codes taken from the towns table",
                     column="town_name")


def _fill_areas_from_geometry(frame: gpd.GeoDataFrame, table: str) -> gpd.GeoDataFrame:
    target = {"parcels": "area_mu", "parks": "land_area_mu"}.get(table)
    if target is None or frame.crs is None or frame.crs.is_geographic:
        return frame
    geo_area = frame.geometry.area / M2_PER_MU
    if target not in frame:
        frame[target] = geo_area
    else:
        frame[target] = frame[target].fillna(geo_area)
    return frame


def warn_missing_data(tables: dict, files: dict, problems: ProblemList) -> None:
    """A warning for every village with no rows in parcels, income or governance."""
    villages = tables.get("villages")
    if villages is None or "village_id" not in villages:
        return
    for name in ("parcels", "income", "governance"):
        t = tables.get(name)
        if t is None or "village_id" not in t:
            continue
        lacking = villages.loc[~villages["village_id"].isin(pd.unique(t["village_id"]))]
        for _, row in lacking.head(20).iterrows():
            problems.warning(files[name], f"village {row['village_id']} ({row.get('village_name', '')}) "
                             f"has no rows in this table", row=int(row[ROW]) if ROW in row else None)
        if len(lacking) > 20:
            problems.warning(files[name], f"... and {len(lacking) - 20} more villages with no rows")
