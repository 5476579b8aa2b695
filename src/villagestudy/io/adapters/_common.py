"""What the 三调 and 确权 readers share: the layer reader, codes, land uses, CRS and the derived tables.

Chinese GIS exports bring three traps this module handles once: a shapefile DBF in
GBK with no ``.cpg`` (GDAL then reads Latin-1 mojibake), codes stored as numbers
(leading zeros lost) and geographic CGCS2000 coordinates (EPSG:4490) that give no
areas in metres.
"""
from __future__ import annotations

import math
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ...errors import Problem, ProblemList, StudyError
from ...schema import LAND_USES
from ...settings import AREA_UNITS

LANDUSE_SETTING = "landuse_map"
"""The study.toml table that overrides :data:`LANDUSE_FILE` (code = land use)."""
LANDUSE_FILE = "landuse_dlbm.toml"
#: 3-degree Gauss-Krüger zones of CGCS2000: EPSG:4534 (CM 75E) .. EPSG:4554 (CM 135E), 3 degrees apart
GK3_FIRST_EPSG, GK3_FIRST_CM, GK3_LAST_CM = 4534, 75, 135
CGCS2000_GEOGRAPHIC = 4490
_MAX_LISTED = 20


@dataclass
class LandData:
    """The canonical tables read from a 三调 or 确权 layer, and what was assumed on the way.

    ``parcels`` has ``parcel_id, village_id, land_use, household_id, owner_id,
    area`` (mu) and the geometry in ``crs`` (projected), plus the source codes it was
    derived from (``src_*`` columns, for tracing back); ``villages`` and ``towns``
    are derived from the codes and names. ``notes`` are the warnings: encoding
    used, CRS chosen, fields assumed.
    """

    parcels: pd.DataFrame
    villages: pd.DataFrame
    towns: pd.DataFrame
    crs: str | None
    source: str
    format: str
    encoding: str | None = None
    notes: list[Problem] = field(default_factory=list)


# ---------------------------------------------------------------- reading a layer
def layer_label(path: Path, layer: str | None) -> str:
    """How a layer is named in messages: ``DLTB.shp`` or ``county.gdb:DLTB``."""
    if layer and path.suffix.lower() in (".gdb", ".gpkg") or (layer and path.is_dir()):
        return f"{path.name}:{layer}"
    return path.name


def _declared_encoding(path: Path) -> str | None:
    """The encoding a shapefile declares (``.cpg`` or the DBF language driver), else None."""
    cpg = next((p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()), None)
    if cpg is not None:
        text = cpg.read_text(encoding="ascii", errors="replace").strip()
        return text or None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is not None:
        with open(dbf, "rb") as fh:
            head = fh.read(32)
        if len(head) > 29 and head[29] != 0:
            return "LDID/%d" % head[29]  # GDAL maps the language driver id itself
    return None


def _looks_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


def repair_encoding(frame: pd.DataFrame) -> str | None:
    """Re-decode text that GDAL read as Latin-1 but is GB18030/GBK (or UTF-8); in place.

    Returns the encoding the text turned out to be in, or None when nothing was
    re-decoded. Text is re-decoded only when every non-ASCII character lies in the
    Latin-1 range (what a wrong Latin-1 read produces) and the bytes decode as
    Chinese; genuine Latin text such as "Müller" is left alone.

    Examples
    --------
    >>> f = pd.DataFrame({"ZLDWMC": ["乐坊社区".encode("gbk").decode("latin-1"), "A"]})
    >>> repair_encoding(f), f["ZLDWMC"].tolist()
    ('gb18030', ['乐坊社区', 'A'])
    """
    cols = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    cols = [c for c in cols if not isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
    values = {c: pd.unique(frame[c].dropna()) for c in cols}
    texts = [v for vs in values.values() for v in vs if isinstance(v, str) and not v.isascii()]
    if not texts or any(ord(ch) > 0xFF for t in texts for ch in t):
        return None
    raw = [t.encode("latin-1") for t in texts]
    for enc in ("utf-8", "gb18030"):
        try:
            decoded = [b.decode(enc) for b in raw]
        except UnicodeDecodeError:
            continue
        # GB2312 (the common characters) is the evidence: Latin text such as "Müller" also decodes
        # as GB18030, into rare characters, but not as GB2312
        common = sum(_decodes(b, "utf-8" if enc == "utf-8" else "gb2312") for b in raw)
        if any(_looks_cjk(d) for d in decoded) and common >= len(raw) / 2:
            for c in cols:
                fix = {v: v.encode("latin-1").decode(enc) for v in values[c] if isinstance(v, str) and not v.isascii()}
                if fix:
                    frame[c] = frame[c].map(lambda v, fix=fix: fix.get(v, v) if isinstance(v, str) else v)
            return enc
    return None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def read_layer(path: Path, layer: str | None, problems: ProblemList) -> tuple[pd.DataFrame | None, str | None]:
    """Read a shapefile, a DBF table, a GeoPackage or a file geodatabase layer with pyogrio.

    Returns the frame (a GeoDataFrame when the layer has geometry, with upper-case
    field names) and the text encoding used; problems are added to ``problems``.
    """
    import pyogrio

    label = layer_label(path, layer)
    is_dbf = path.suffix.lower() in (".shp", ".dbf")
    declared = _declared_encoding(path) if is_dbf else None
    wrong = False  # the declared encoding does not fit the bytes
    try:
        if layer is None and (path.suffix.lower() in (".gpkg", ".gdb") or path.is_dir()):
            layers = [name for name, _ in pyogrio.list_layers(path)]
            if len(layers) != 1:
                problems.error(path.name, f"the file has {len(layers)} layers ({', '.join(layers[:10])})",
                               expected="the layer to read, given with --layer (e.g. --layer DLTB)")
                return None, None
            layer = layers[0]
        # a DBF that declares nothing is read byte for byte (Latin-1) and re-decoded below
        frame = _read(path, layer, latin1=is_dbf and declared is None)
        if is_dbf:
            _all_ascii(frame)  # arrow checks text lazily: bytes not in the declared encoding fail here
    except Exception as e:  # GDAL says why (missing .shx, a corrupt file, no such layer, undecodable text)
        frame = None
        if is_dbf and declared:  # text that is not in the declared encoding: read the bytes as they are
            try:
                frame, wrong = _read(path, layer, latin1=True), True
            except Exception:
                frame = None
        if frame is None:
            problems.error(label, f"cannot read the layer ({type(e).__name__}: {e})",
                           expected="a shapefile, DBF, GeoPackage or file geodatabase layer")
            return None, None
    geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    frame = frame.rename(columns={c: str(c).upper() for c in frame.columns if c != geom})
    encoding = None
    if is_dbf:
        fixed = repair_encoding(frame)
        if fixed:
            encoding = fixed
            said = f"declares {declared} but its text is not in it" if wrong else (
                f"declares {declared} and its text read as Latin-1 mojibake" if declared else
                "has no .cpg file (GDAL would read its text as Latin-1 mojibake)")
            problems.warning(label, f"the DBF {said}; decoded as {fixed}")
        elif wrong:
            problems.error(label, f"the DBF declares {declared} but its text is in no encoding tried "
                           "(declared, GB18030, UTF-8)", expected="a .cpg file naming the DBF's real encoding")
            return None, None
        elif declared:
            encoding = declared
        else:
            encoding = "ascii" if _all_ascii(frame) else "ISO-8859-1"
            if encoding != "ascii":
                problems.warning(label, "the DBF has no .cpg file and its text is neither GBK/GB18030 nor UTF-8; "
                                 "read as ISO-8859-1 (Latin-1)")
    return frame, encoding


def _read(path: Path, layer: str | None, *, latin1: bool):
    import pyogrio

    return pyogrio.read_dataframe(path, layer=layer, use_arrow=True, encoding="ISO-8859-1" if latin1 else None)


def _all_ascii(frame: pd.DataFrame) -> bool:
    for c in frame.columns:
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c]):
            if any(isinstance(v, str) and not v.isascii() for v in pd.unique(frame[c].dropna())):
                return False
    return True


# ---------------------------------------------------------------- fields and codes
def row_errors(problems: ProblemList, label: str, mask: pd.Series, *, column: str, message: str,
               values: pd.Series | None, expected: str) -> None:
    """One error per row of ``mask`` (feature numbers from 1), the first 20 listed and the rest counted."""
    rows = np.flatnonzero(mask.to_numpy(dtype=bool))
    for i in rows[:_MAX_LISTED]:
        problems.error(label, message, row=int(i) + 1, column=column,
                       value=None if values is None else values.iloc[i], expected=expected)
    if len(rows) > _MAX_LISTED:
        problems.error(label, f"... and {len(rows) - _MAX_LISTED} more rows: {message}", column=column)


def pick_field(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` present in ``frame`` (field names are upper case)."""
    return next((n for n in names if n in frame.columns), None)


def code_text(frame: pd.DataFrame, column: str, *, width: int, label: str, problems: ProblemList) -> pd.Series:
    """A code column as text; numeric fields get their leading zeros back (zero-padded to ``width``)."""
    s = frame[column]
    if pd.api.types.is_numeric_dtype(s):
        problems.warning(label, f"the field is numeric, so codes lost their leading zeros; padded to {width} digits",
                         column=column)
        out = s.map(lambda v: None if pd.isna(v) else str(int(v)).zfill(width))
    else:
        out = s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() or None)
    return out.astype(object)


def check_codes(codes: pd.Series, *, min_digits: int, column: str, label: str, what: str,
                problems: ProblemList, required: bool = True) -> pd.Series:
    """Mark codes that are not at least ``min_digits`` digits; errors name row and value."""
    ok = codes.map(lambda v: isinstance(v, str) and v.isdigit() and len(v) >= min_digits).astype(bool)
    bad = ~ok & (codes.notna() if not required else True)
    row_errors(problems, label, bad, column=column, message=f"not a {what}", values=codes,
               expected=f"a code of at least {min_digits} digits")
    return ok


def area_mu(frame: pd.DataFrame, fields: tuple[tuple[str, str], ...], label: str,
            problems: ProblemList) -> tuple[pd.Series, str | None]:
    """Area in mu from the first declared field present: ``fields`` are (name, unit 'm2' or 'mu')."""
    for name, unit in fields:
        if name in frame.columns:
            values = pd.to_numeric(frame[name], errors="coerce")
            row_errors(problems, label, values.isna() & frame[name].notna(), column=name, message="not a number",
                       values=frame[name], expected=f"an area in {unit}")
            row_errors(problems, label, values < 0, column=name, message="negative area", values=values,
                       expected="an area of zero or more")
            return values * AREA_UNITS[unit], name
    return pd.Series(np.nan, index=frame.index), None


# ---------------------------------------------------------------- land use
def default_landuse_table() -> list[dict]:
    """The classes of the bundled land-use table (code, names, land use), in file order."""
    text = resources.files("villagestudy.data").joinpath(LANDUSE_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)["class"]


def landuse_sources() -> list[str]:
    """The published standards the bundled land-use table follows."""
    text = resources.files("villagestudy.data").joinpath(LANDUSE_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)["meta"]["sources"]


def landuse_map(overrides: dict | None = None, *, problems: ProblemList | None = None) -> dict[str, str]:
    """Code prefix -> land use: the bundled table, then a study's ``[landuse_map]`` on top.

    Examples
    --------
    >>> m = landuse_map({"1006": "construction"})
    >>> m["01"], m["1006"], m["1201"]
    ('arable', 'construction', 'construction')
    """
    out = {str(c["code"]): c["land_use"] for c in default_landuse_table()}
    for code, use in (overrides or {}).items():
        if use not in LAND_USES:
            if problems is not None:
                problems.error("study.toml", "unknown land use in [landuse_map]", column=str(code), value=use,
                               expected=" or ".join(LAND_USES))
            continue
        out[str(code).strip().upper()] = use
    return out


def classify(code: object, mapping: dict[str, str]) -> str | None:
    """The land use of one DLBM code by its longest listed prefix, or None.

    Examples
    --------
    >>> m = landuse_map()
    >>> [classify(c, m) for c in ("0101", "0201K", "1006", "1003", "1109", "1203", "0702", "99")]
    ['arable', 'garden', 'other', 'construction', 'construction', 'other', 'construction', None]
    """
    if not isinstance(code, str) or not code:
        return None
    code = code.strip().upper()
    for n in range(len(code), 1, -1):
        use = mapping.get(code[:n])
        if use is not None:
            return use
    return None


def map_land_use(codes: pd.Series, mapping: dict[str, str], *, column: str, label: str,
                 problems: ProblemList) -> pd.Series:
    """Land uses of a code column; every unknown code is an error naming its first row and count."""
    uniques = pd.unique(codes.dropna())
    table = {c: classify(c, mapping) for c in uniques}
    uses = codes.map(table)
    unknown = [c for c, u in table.items() if u is None]
    for c in unknown[:_MAX_LISTED]:
        rows = np.flatnonzero((codes == c).to_numpy())
        problems.error(label, f"unknown land-use code in {len(rows)} row(s)", row=int(rows[0]) + 1, column=column,
                       value=c, expected=f"a GB/T 21010 code (see {LANDUSE_FILE}) or an entry "
                       f"in study.toml [{LANDUSE_SETTING}] such as \"{c}\" = \"other\"")
    row_errors(problems, label, codes.isna(), column=column, message="empty land-use code", values=None,
               expected="a GB/T 21010 code")
    if len(unknown) > _MAX_LISTED:
        problems.error(label, f"... and {len(unknown) - _MAX_LISTED} more unknown land-use codes", column=column)
    return uses


# ---------------------------------------------------------------- CRS
def gauss_kruger_epsg(longitude: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (CM 75E..135E) nearest ``longitude``.

    Examples
    --------
    >>> gauss_kruger_epsg(113.9), gauss_kruger_epsg(120.2), gauss_kruger_epsg(75.0)
    (4547, 4549, 4534)
    """
    cm = 3 * math.floor(longitude / 3 + 0.5)  # halves go east (round() would send 73.5E to 72E)
    if not GK3_FIRST_CM <= cm <= GK3_LAST_CM:
        raise ValueError(f"longitude {longitude:.2f} lies outside China's Gauss-Krüger zones (CM 75E to 135E)")
    return GK3_FIRST_EPSG + (cm - GK3_FIRST_CM) // 3


def to_projected(frame: gpd.GeoDataFrame, crs: str | None, label: str,
                 problems: ProblemList) -> tuple[gpd.GeoDataFrame, str | None]:
    """Reproject to ``crs``, or from geographic coordinates to the Gauss-Krüger zone of their mean longitude."""
    from pyproj import CRS

    if frame.crs is None:
        problems.error(label, "the layer has no CRS (.prj missing)", column="geometry",
                       expected="a .prj file, or the CRS given with --source-crs (e.g. EPSG:4490 or EPSG:4547)")
        return frame, crs
    if crs:
        return (frame if frame.crs.equals(crs) else frame.to_crs(crs)), crs
    if not frame.crs.is_geographic:  # a .prj written as WKT names its EPSG code when pyproj can match it
        epsg = frame.crs.to_epsg(min_confidence=70)
        return frame, f"EPSG:{epsg}" if epsg else frame.crs.to_string()
    bounds = frame.geometry.bounds
    lon = float(((bounds["minx"] + bounds["maxx"]) / 2).mean())
    try:
        epsg = gauss_kruger_epsg(lon)
    except ValueError as e:
        problems.error(label, str(e), column="geometry", expected="a projected CRS given with --crs")
        return frame, crs
    name = CRS.from_epsg(epsg).name
    span = float(bounds["maxx"].max() - bounds["minx"].min())
    problems.warning(label, f"geographic coordinates ({frame.crs.to_string()}) reprojected to EPSG:{epsg} ({name}), "
                     f"the zone of the data's mean longitude {lon:.2f}E"
                     + (f"; the data spans {span:.1f} degrees of longitude, more than one zone" if span > 3 else ""))
    return frame.to_crs(epsg), f"EPSG:{epsg}"


# ---------------------------------------------------------------- derived villages and towns
def _common_name(names: pd.Series) -> str | None:
    names = [str(n).strip() for n in names.dropna() if str(n).strip()]
    return Counter(names).most_common(1)[0][0] if names else None


def derive_villages(parcels: pd.DataFrame, names: pd.Series | None, name_field: str | None,
                    label: str, problems: ProblemList) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Villages (code = village_id) and towns (code = village_id[:9]) from the parcels' codes and names."""
    ids = parcels["village_id"]
    rows = []
    for vid, idx in ids.groupby(ids, sort=True).groups.items():
        name = _common_name(names.loc[idx]) if names is not None else None
        if names is not None and names.loc[idx].dropna().nunique() > 1:
            problems.warning(label, f"village {vid} has several names in {name_field} "
                             f"({', '.join(map(str, pd.unique(names.loc[idx].dropna())[:4]))}); using the most "
                             f"frequent, {name}", column=name_field)
        kind = "community" if name and name.endswith(("社区", "居委会")) else "village"
        rows.append({"village_id": vid, "village_name": name or vid, "town_id": vid[:9], "kind": kind})
    villages = pd.DataFrame(rows, columns=["village_id", "village_name", "town_id", "kind"])
    if names is None:
        problems.warning(label, "the layer has no unit names; villages are named by their code "
                         "(put a villages.csv beside it to name them)")
    towns = pd.DataFrame({"town_id": sorted(villages["town_id"].unique())})
    towns["town_name"] = towns["town_id"]
    problems.warning(label, f"{len(towns)} town(s) derived from the first 9 digits of the village codes; the layer has "
                     "no town names, so towns are named by their code (put a towns.csv beside it to name them)")
    return villages, towns


def finish(frame: pd.DataFrame, columns: dict[str, pd.Series], *, crs: str | None, label: str,
           problems: ProblemList, fmt: str, encoding: str | None, names: pd.Series | None,
           name_field: str | None) -> LandData:
    """Assemble :class:`LandData` from the canonical columns; raise :class:`StudyError` on errors."""
    parcels = pd.DataFrame(columns, index=frame.index)
    if isinstance(frame, gpd.GeoDataFrame):
        parcels = gpd.GeoDataFrame(parcels, geometry=frame.geometry.values, crs=frame.crs)
        parcels, crs = to_projected(parcels, crs, label, problems)
        missing = parcels["area"].isna()
        if missing.any() and parcels.crs is not None and not parcels.crs.is_geographic:
            problems.warning(label, f"{int(missing.sum())} parcel(s) have no declared area; "
                             "their area is computed from the geometry", column="area")
    elif parcels["area"].isna().any():
        problems.error(label, "parcels without geometry need a declared area", column="area",
                       expected="the area fields listed in the README (e.g. TBDLMJ, SCMJM)")
    if problems.errors:
        raise StudyError(problems.errors, problems.warnings)
    villages, towns = derive_villages(parcels, names, name_field, label, problems)
    return LandData(parcels.reset_index(drop=True), villages, towns, crs, label, fmt, encoding, problems.warnings)


def require_fields(frame: pd.DataFrame, groups: dict[str, tuple[str, ...]], label: str, problems: ProblemList) -> bool:
    """Every group of alternatives needs one field present; a missing one is named with its alternatives."""
    ok = True
    for meaning, names in groups.items():
        if pick_field(frame, names) is None:
            ok = False
            problems.error(label, f"required field is missing: {meaning}", column=names[0],
                           expected="a field named " + " or ".join(names)
                           + f" (fields found: {', '.join(c for c in frame.columns if c.upper() != 'GEOMETRY')[:300]})")
    return ok


def open_layer(path: Path, layer: str | None, required, problems: ProblemList, *, source_crs=None):
    """``(frame, encoding, label)`` of a land layer that has the ``required`` fields, its CRS set
    from ``source_crs`` when the file declares none; a StudyError listing every problem otherwise."""
    frame, encoding = read_layer(path, layer, problems)
    label = layer_label(path, layer)
    if frame is None or not require_fields(frame, required, label, problems):
        raise StudyError(problems.errors, problems.warnings)
    if source_crs and getattr(frame, "crs", None) is None and hasattr(frame, "set_crs"):
        frame = frame.set_crs(source_crs)
    return frame, encoding, label
