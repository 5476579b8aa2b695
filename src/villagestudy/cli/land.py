"""``villagestudy import-land``: a 三调 or 确权 layer in, a study folder out."""
from __future__ import annotations

import tomllib
from pathlib import Path

from ..errors import UsageError


def _landuse_file(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read the land-use map '{path}': {e}") from None
    table = data.get("landuse_map", data)
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise UsageError(f"'{path}' should hold code = \"land use\" lines, e.g. \"1006\" = \"other\", "
                         "optionally under [landuse_map]")
    return table


def cmd_import_land(args) -> int:
    from ..io.adapters import land_summary, read_land
    from ..io.land_study import write_land_study
    from ..safe_text import terminal_safe

    if not args.src.exists():
        raise UsageError(f"no such file or folder: '{args.src}'")
    options = {}
    if args.contracts is not None:
        if args.format != "quequan":
            raise UsageError("--contracts belongs to --format quequan (the 确权 contracted-parcel table)")
        if not args.contracts.exists():
            raise UsageError(f"no such file: '{args.contracts}'")
        options["contracts"] = args.contracts
    land = read_land(args.src, args.format, layer=args.layer, crs=args.crs, source_crs=args.source_crs,
                     landuse=_landuse_file(args.landuse_map), **options)
    out = write_land_study(land, args.study, name=args.name)
    summary = land_summary(land)
    print(f"Wrote a study to {terminal_safe(str(out))}: {len(land.towns)} town(s), {len(land.villages)} village(s), "
          f"{len(land.parcels)} parcel(s); CRS {land.crs or '(none)'}")
    for use, row in summary.iterrows():
        print(f"  {use:<13} {int(row['parcels']):>8,} parcels {row['area_mu']:>14,.1f} mu")
    if land.notes:
        print(f"\n{len(land.notes)} note(s) on what was assumed:")
        for note in land.notes:
            print(f"  - {terminal_safe(str(note))}")
    return 0


def add_commands(sub) -> None:
    """Register import-land."""
    s = sub.add_parser("import-land", help="make a study folder from a 三调 or 确权 land layer",
                       description="Read a Third National Land Survey (三调) land-use layer (DLTB) or a contracted-land "
                                   "registration (确权) parcel layer from a shapefile, GeoPackage or file geodatabase, "
                                   "and write a study folder (parcels.gpkg, villages.csv, towns.csv, study.toml). "
                                   "The folder is validated before it is moved into place. Exit 2 on bad input.")
    s.add_argument("--format", required=True, choices=["sandiao", "quequan"],
                   help="sandiao: 三调 地类图斑 (DLBM, ZLDWDM, TBDLMJ...); quequan: 确权 parcels (DKBM, CBFBM, FBFBM, SCMJM...)")
    s.add_argument("src", type=Path, help="the layer: a .shp, .dbf, .gpkg or .gdb")
    s.add_argument("study", type=Path, help="the study folder to write (must not exist, or be empty)")
    s.add_argument("--layer", help="the layer inside a GeoPackage or file geodatabase (e.g. DLTB)")
    s.add_argument("--crs", help="projected CRS of the study (default: the layer's, or the CGCS2000 3-degree "
                                 "Gauss-Kruger zone of its mean longitude when it is geographic)")
    s.add_argument("--source-crs", help="CRS of a layer that has none (no .prj), e.g. EPSG:4490")
    s.add_argument("--landuse-map", type=Path, metavar="TOML",
                   help="a TOML file of code = \"land use\" entries over the bundled DLBM table")
    s.add_argument("--contracts", type=Path, metavar="CBDKXX.dbf",
                   help="quequan: the contracted-parcel table (承包地块信息) joined by DKBM, for a parcel layer "
                        "(DK) without CBFBM/FBFBM")
    s.add_argument("--name", help="study name (default: the folder name)")
    s.set_defaults(func=cmd_import_land)
