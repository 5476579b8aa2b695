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
import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from .._map_unique import found_in
from ..errors import ProblemList
from ..schema import TABLES
from ..settings import M2_PER_MU, SETTING_ALIASES, Settings, check_settings
from ..study import TABLE_NAMES, Study
from .adapters import ADAPTER_SETTINGS, adapter_tables
from .validate import check_parcel_layout, quality_table
from .readers import ROW, RawTable, read_geo_table, read_text_table, read_xlsx_table
from .validate import canonical_table, check_geometry, check_references, repair_stripped_zeros

# preferred file per table, in order; a folder with several uses the first and says so
FILE_CANDIDATES: dict[str, list[tuple[str, str | None]]] = {
    "towns": [("towns.csv", None), ("towns.xlsx", None), ("towns.xls", None)],
    "villages": [("villages.csv", None), ("villages.xlsx", None), ("villages.xls", None)],
    "boundaries": [("boundaries.gpkg", "villages"), ("boundaries.parquet", None)],
    "parcels": [("parcels.gpkg", "parcels"), ("parcels.parquet", None), ("parcels.csv", None), ("parcels.xlsx", None),
                ("parcels.xls", None)],
    "parks": [("parks.gpkg", "parks"), ("parks.parquet", None), ("parks.csv", None), ("parks.xlsx", None), ("parks.xls", None)],
    "grids": [("grids.gpkg", "grids"), ("grids.parquet", None), ("grids.csv", None), ("grids.xlsx", None), ("grids.xls", None)],
    "income": [("income.csv", None), ("income.xlsx", None), ("income.xls", None), ("income.parquet", None)],
    "governance": [("governance.csv", None), ("governance.xlsx", None), ("governance.xls", None),
                   ("governance.parquet", None)],
}
# headers that identify each table when searching for its header row
_EXPECTED_EXTRA = {"parcels": {"area"}, "parks": {"land_area"}, "income": {"amount", "business", "contracting",
                   "investment", "subsidy", "other"}}


def _listing(folder: Path) -> dict[str, Path]:
    """Files of the folder by lower-case name (offices send Income.CSV as often as income.csv)."""
    try:
        return {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_file()}
    except OSError:
        return {}


def find_table_file(folder: Path, table: str, problems: ProblemList | None = None) -> tuple[Path, str | None] | None:
    """The file of ``table`` in ``folder``: names matched ignoring case, the first candidate wins."""
    names = _listing(folder)
    found = [(names[name.lower()], layer, name) for name, layer in FILE_CANDIDATES[table] if name.lower() in names]
    if not found:
        return None
    if problems is not None:
        if len(found) > 1:
            problems.warning(found[0][0].name, f"several files for table '{table}' "
                             f"({', '.join(p.name for p, _, _ in found)}); using {found[0][0].name}")
        if found[0][0].name != found[0][2]:
            problems.warning(found[0][0].name, f"read as {found[0][2]} (file names are matched ignoring case)")
    return found[0][0], found[0][1]


_DATA_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods", ".gpkg", ".parquet", ".shp",
                  ".geojson", ".dbf")


def _warn_unread_files(folder: Path, used: set[str], problems: ProblemList) -> None:
    """A data file whose name is not a table of the study is never read silently."""
    tables = ", ".join(TABLE_NAMES)
    for lower, path in _listing(folder).items():
        if lower.endswith(_DATA_SUFFIXES) and not lower.startswith(".") and path.name not in used:
            problems.warning(path.name, "file not read: its name is not one of the study's tables",
                             expected=f"a table name ({tables}); rename the file if it holds one")


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
    changes, extra = {"name": folder.name}, {}
    for key, value in flat.items():
        canon = SETTING_ALIASES.get(key, key)
        if key in ADAPTER_SETTINGS:  # read by io/adapters when a land layer is loaded
            extra[key] = value
        elif canon in Settings.__dataclass_fields__ and canon != "extra":
            changes[canon] = value
        else:
            extra[key] = value
    unknown = sorted(set(extra) - set(ADAPTER_SETTINGS))
    if unknown:
        problems.warning("study.toml", "unknown setting(s) ignored: " + ", ".join(unknown),
                         expected="settings such as " + ", ".join(sorted(SETTINGS_SHOWN)))
    if isinstance(changes.get("farmland_uses"), str):
        changes["farmland_uses"] = [changes["farmland_uses"]]
    changes = _checked_settings(changes, "study.toml", problems)
    changes["extra"] = extra
    if changes.get("crs"):
        _check_study_crs(str(changes["crs"]), problems)
    return Settings().replace(**changes)


SETTINGS_SHOWN = ("year", "crs", "area_unit", "money_unit", "farmland_uses", "block_tolerance_m", "area_source",
                  "weak_total_yuan")


def _checked_settings(changes: dict, source: str, problems: ProblemList) -> dict:
    """The settings that pass :func:`~villagestudy.settings.check_settings`; an error for each other."""
    ok, bad = check_settings(changes)
    for key, message, value in bad:
        problems.error(source, f"bad setting: {message}", column=key, value=value,
                       expected=_SETTING_EXPECTED.get(key, "a value of the setting's type"))
    return ok


_SETTING_EXPECTED = {
    "year": "a year such as 2023", "old_before_year": "a year such as 2000",
    "farmland_uses": "a list of land uses, e.g. [\"arable\", \"garden\"] (arable, garden, forest, construction, other)",
    "weights": "a table of weights, e.g. [index.weights] land = 1.0",
    "block_tolerance_m": "a distance in metres from 0 to 1,000", "area_source": "\"register\" or \"geometry\"",
    "area_unit": "mu, ha or m2", "money_unit": "yuan or wan_yuan",
}


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
        return read_text_table(path, expected, problems, table=TABLES[table])
    if suffix in (".xlsx", ".xls"):
        return read_xlsx_table(path, expected, problems, table=TABLES[table])
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
                       *, geometry_checks: bool = True,
                       registered: dict | None = None) -> tuple[pd.DataFrame | None, str | None]:
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
    registered : keyword-only, dict, optional
        Receives ``{"parcels": <registered area_mu>}`` before drawn areas are
        filled in, so that the caller can compare registered and drawn areas.

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
        if registered is not None and name == "parcels" and "area_mu" in canon:
            registered["parcels"] = canon["area_mu"].copy()
        canon = _fill_areas_from_geometry(canon, name, settings, problems, raw.file)
    elif name == "parcels" and settings.area_source == "geometry":
        problems.error(raw.file, "area_source = \"geometry\" but the parcels have no geometry", column="geometry",
                       expected="parcels as a GeoPackage or GeoParquet layer, or area_source = \"register\"")
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
        unknown = sorted(set(overrides) - set(Settings.__dataclass_fields__))
        if unknown:  # a typo in code or on the command line: say so at once, with the known names
            raise KeyError(f"unknown setting(s): {', '.join(unknown)}; known: "
                           f"{', '.join(sorted(Settings.__dataclass_fields__))}")
        settings = settings.replace(**_checked_settings(overrides, "settings given on the command line "
                                                        "(--set) or to load_study", problems))
    crs = settings.crs
    stats: dict[str, RawTable] = {}
    registered: dict[str, pd.Series] = {}  # registered parcel areas, compared with the drawn ones
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
        stats[name] = raw
        if not raw.rows_read:
            raw.rows_read = len(raw.frame) + len(raw.dropped)
        if name == "villages" and "towns" in tables:
            _town_ids_from_names(raw, tables["towns"], problems)
        canon, crs = canonicalise_table(raw, name, settings, crs, problems, registered=registered)
        if canon is not None:
            tables[name] = canon
    repair_stripped_zeros(tables, files, problems)
    check_references(tables, files, problems)
    warn_missing_data(tables, files, problems)
    layout = _check_land(tables, files, settings, registered.get("parcels"), problems,
                         explicit_farmland="farmland_uses" in overrides or settings.farmland_uses
                         != Settings().farmland_uses)
    _check_rows_accounted(stats, tables, problems)
    _warn_unread_files(folder, set(files.values()) | {"study.toml"} | {p.name for p in found.values()}, problems)
    lazy = {}
    if found:
        lazy, crs = partitioned_reader.open(folder, found, tables, files, settings.replace(crs=crs), crs, problems)
    problems.raise_if_errors()
    quality = quality_table(problems.warnings, stats, tables, layout)
    for name, frame in tables.items():
        tables[name] = drop_row_numbers(frame)
    fields = dict(settings=settings.replace(crs=crs), path=folder.resolve(), notes=problems.warnings,
                  sources=files, quality=quality, **tables)
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


def _fill_areas_from_geometry(frame: gpd.GeoDataFrame, table: str, settings: Settings | None = None,
                              problems: ProblemList | None = None, file: str = "") -> gpd.GeoDataFrame:
    """``area_mu`` of parcels (``land_area_mu`` of parks) per ``settings.area_source``.

    ``register``: the registered area, the drawn area where the file has none
    (said in a warning); ``geometry``: the drawn area of every polygon.
    """
    target = {"parcels": "area_mu", "parks": "land_area_mu"}.get(table)
    if target is None or frame.crs is None or frame.crs.is_geographic:
        return frame
    geo_area = frame.geometry.area / M2_PER_MU
    source = settings.area_source if settings is not None and table == "parcels" else "register"
    if target not in frame or source == "geometry":
        frame[target] = geo_area
    else:
        filled = frame[target].isna() & geo_area.notna()
        if filled.any() and problems is not None:
            problems.warning(file, f"{int(filled.sum())} row(s) without a registered area use the drawn area "
                             f"(e.g. row {int(frame.loc[filled, ROW].iloc[0])})", column=target.removesuffix("_mu"))
        frame[target] = frame[target].fillna(geo_area)
    return frame


def _check_land(tables: dict, files: dict, settings: Settings, registered_mu, problems: ProblemList, *,
                explicit_farmland: bool) -> pd.DataFrame | None:
    """Parcel layout warnings, areas larger than the whole study, land uses no parcel has."""
    parcels = tables.get("parcels")
    if parcels is None:
        return None
    file = files["parcels"]
    if "land_use" in parcels:
        present = set(parcels["land_use"].dropna().unique())
        for use in settings.farmland_uses:
            if use not in present:
                (problems.error if explicit_farmland else problems.warning)(
                    "study.toml", f"no parcel has the land use '{use}' named in farmland_uses", column="farmland_uses",
                    value=use, expected="land uses present in " + file + ": " + ", ".join(sorted(present)))
    boundaries = tables.get("boundaries")
    if boundaries is not None and len(boundaries) and "area_mu" in parcels and boundaries.crs is not None \
            and not boundaries.crs.is_geographic:
        total_mu = float(boundaries.geometry.area.sum()) / M2_PER_MU
        too_big = parcels["area_mu"] > total_mu
        for idx in parcels.index[too_big.fillna(False).to_numpy()][:50]:
            problems.error(file, "a parcel larger than all the villages' boundaries together",
                           row=int(parcels.at[idx, ROW]), column="area", value=parcels.at[idx, "area_mu"],
                           expected=f"at most {total_mu:,.0f} mu (the area of boundaries)")
    if not isinstance(parcels, gpd.GeoDataFrame) or parcels.crs is None or parcels.crs.is_geographic:
        return None
    villages = tables.get("villages")
    town_of = (villages.drop_duplicates("village_id").set_index("village_id")["town_id"]
               if villages is not None and {"village_id", "town_id"} <= set(villages) else None)
    return check_parcel_layout(parcels, settings, file, problems, boundaries=boundaries,
                               registered_mu=registered_mu, town_of_village=town_of)


def _check_rows_accounted(stats: dict[str, RawTable], tables: dict, problems: ProblemList) -> None:
    """Every data row read is loaded or dropped with a reason; a row lost otherwise is an error."""
    for name, raw in stats.items():
        frame = tables.get(name)
        if frame is None or ROW not in frame:
            continue
        read = raw.frame[ROW].to_numpy(dtype=np.int64)
        accounted = np.concatenate([frame[ROW].to_numpy(dtype=np.int64),
                                    np.array([r for r, _ in raw.dropped], dtype=np.int64)])
        lost = sorted(set(read[~np.isin(read, accounted)].tolist()))  # isin: no sort of a million rows
        if lost:
            problems.error(raw.file, f"{len(lost)} data row(s) were read but not loaded (rows "
                           f"{', '.join(map(str, lost[:10]))})", row=int(lost[0]),
                           expected="every data row loaded, or dropped with a reason")


def _row_ids(tables: dict, files: dict) -> dict[str, pd.DataFrame]:
    """File row -> village_id / town_id of each table, to place warnings in their town."""
    out = {}
    villages = tables.get("villages")
    town_of = (villages.drop_duplicates("village_id").set_index("village_id")["town_id"]
               if villages is not None and "town_id" in villages else pd.Series(dtype="str"))
    for name, frame in tables.items():
        if ROW not in frame:
            continue
        if "town_id" in frame:
            town = frame["town_id"]
        elif "village_id" in frame:
            town = frame["village_id"].map(town_of)
        else:
            continue
        out[files[name]] = pd.DataFrame({ROW: frame[ROW].to_numpy(), "town_id": town.to_numpy()}).drop_duplicates(ROW)
    return out


def warn_missing_data(tables: dict, files: dict, problems: ProblemList) -> None:
    """A warning for every village with no rows in parcels, income or governance."""
    villages = tables.get("villages")
    if villages is None or "village_id" not in villages:
        return
    for name in ("parcels", "income", "governance"):
        t = tables.get(name)
        if t is None or "village_id" not in t:
            continue
        lacking = villages.loc[~found_in(villages["village_id"], t["village_id"])]
        for _, row in lacking.head(20).iterrows():
            problems.warning(files[name], f"village {row['village_id']} ({row.get('village_name', '')}) "
                             f"has no rows in this table", row=int(row[ROW]) if ROW in row else None)
        if len(lacking) > 20:
            problems.warning(files[name], f"... and {len(lacking) - 20} more villages with no rows")
