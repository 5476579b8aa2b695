"""Commands on study data: validate, synth, indicators, metrics."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UsageError
from ..safe_text import neutralise_frame, terminal_safe
from ._common import _study_with_overrides, _year


def cmd_validate(args) -> int:
    from ..io import load_study

    study = load_study(args.study)
    s = study.summary()
    years = s["years"]
    print(f"Study '{s['name']}' is valid.")
    print(f"  towns:     {s['towns']}")
    print(f"  villages:  {s['villages']}")
    print(f"  parcels:   {s['parcels']}")
    print(f"  years:     {years[0]}-{years[-1]}" if years else "  years:     (no income or governance data)")
    print(f"  tables:    {', '.join(s['optional tables']) or '(only towns and villages)'}")
    print(f"  CRS:       {s['crs'] or '(none: no geometries)'}")
    print(f"  data fingerprint: {s['fingerprint']}")
    print(f"  areas:     {_AREA_SOURCE[study.settings.area_source]}")
    _print_quality(study)
    if study.notes:
        print(f"\n{len(study.notes)} warning(s):")
        for w in study.notes:
            print(f"  - {terminal_safe(w)}")
    return 0


_AREA_SOURCE = {"register": "registered areas (area_source = register; drawn area where none)",
                "geometry": "drawn areas of the polygons (area_source = geometry)"}


def _print_quality(study) -> None:
    """Rows read, loaded and dropped per file, and counts of corrections and warnings."""
    q = study.quality
    if q is None or not len(q):
        return
    print("\nData quality (rows read / loaded / dropped; corrections; warnings):")
    for file, g in q.groupby("file", sort=False):
        count = lambda action: int(g.loc[g["action"] == action, "count"].sum())  # noqa: E731
        read = count("read")
        head = f"{read} read / {count('loaded')} loaded / {count('dropped')} dropped" if read else "not a table"
        print(f"  {terminal_safe(file):<22} {head}; {count('corrected')} corrected; {count('warning')} warning(s)")


def cmd_synth(args) -> int:
    from ..synth import SynthArgumentError, parse_count_range, parse_years, write_synthetic_study

    try:
        years = parse_years(args.years)
        if args.villages_per_town is not None:
            args.villages_per_town = parse_count_range(args.villages_per_town)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.partitioned:  # parcels.parquet/town_id=<id>/part.0.parquet, written town by town
        from ..synth.partitioned import write_partitioned_study as write_synthetic_study
    kw = {} if args.partitioned else {"parcel_format": args.parcel_format}
    try:
        out = write_synthetic_study(args.out, towns=args.towns, villages_per_town=args.villages_per_town,
                                    parcels_per_village=args.parcels_per_village, years=years, seed=args.seed, **kw)
    except SynthArgumentError as e:
        raise UsageError(str(e)) from None
    print(f"Wrote a synthetic study to {out}")
    return 0


def cmd_indicators(args) -> int:
    import pandas as pd

    from .. import catalog

    frame = catalog.as_frame(lang=args.lang)
    # in_index beside direction: which indicators the default composite index scores
    frame.insert(int(frame.columns.get_loc("direction")) + 1, "in_index",
                 [catalog.get(i).in_index for i in frame["id"]])
    if args.out:
        from .._atomic import write_table

        write_table(frame, args.out, index=False)
        print(f"Wrote {len(frame)} indicators to {args.out}")
        return 0
    with pd.option_context("display.max_rows", None, "display.max_colwidth", 60, "display.width", 200):
        cols = ["id", "pillar", f"name_{args.lang}", f"unit_{args.lang}", "direction", "in_index", "standard"]
        print(frame[cols].fillna("").to_string(index=False))
    return 0


def cmd_metrics(args) -> int:
    from ..metrics import compute_indicators

    if args.scheduler or args.workers:  # on Dask (a partitioned study is on Dask anyway)
        from ..backends.dask import compute_indicators_dask, open_client

        with open_client(args.scheduler, args.workers) as client:
            study = _study_with_overrides(args)  # a partitioned study is validated on the cluster
            table = compute_indicators_dask(study, year=args.year, client=client)
    else:
        study = _study_with_overrides(args)
        table = compute_indicators(study, year=args.year)
    if args.out:
        from .._atomic import write_table

        write_table(table, args.out)
        print(f"Wrote {len(table)} villages x {table.shape[1] - 2} indicators to {args.out}", file=sys.stderr)
    else:
        neutralise_frame(table).to_csv(sys.stdout)
    notes = table.attrs.get("notes")
    if notes is not None and len(notes) and args.out:
        summary = notes.groupby("note").size().sort_values(ascending=False)
        print(f"{len(notes)} note(s) on missing values, e.g.:", file=sys.stderr)
        for text, n in summary.head(8).items():
            print(f"  - {text} ({n}x)", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    """Register validate, synth, indicators and metrics."""
    s = sub.add_parser("validate", help="check a study folder and summarise it",
                       description="Load a study folder, list every problem (file, row, column) or print a summary. "
                                   "Exit 0 when valid, 2 when there are problems.")
    s.add_argument("study", type=Path, help="the study folder (see README: study format)")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("synth", help="write a synthetic (fictional) study",
                       description="Write a complete synthetic study folder of the data contract, deterministic "
                                   "for a seed. Names and figures are fictional.")
    s.add_argument("out", type=Path, help="folder to write")
    s.add_argument("--towns", type=int, default=4, help="number of towns (default 4)")
    s.add_argument("--villages-per-town", default=None, metavar="N|MIN-MAX",
                   help="villages per town: a number, or a range drawn per town such as 10-20 (default 8-15)")
    s.add_argument("--parcels-per-village", type=int, default=150, help="parcels per village (default 150)")
    s.add_argument("--years", default="2019-2023", help="year range, e.g. 2019-2023")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--parcel-format", choices=["gpkg", "parquet"], default="gpkg",
                   help="file format of the parcels (default gpkg)")
    s.add_argument("--partitioned", action="store_true",
                   help="parcels as a GeoParquet dataset partitioned by town (parcels.parquet/town_id=<id>/), "
                        "written town by town: for studies of millions of parcels")
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser("indicators", help="print the indicator catalog",
                       description="Print the indicator catalog: id, pillar, name, unit, direction, in_index (scored by "
                                   "the default composite index), standard.")
    s.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of names (default zh)")
    s.add_argument("--out", type=Path, help="write the full catalog to a CSV/XLSX file instead")
    s.set_defaults(func=cmd_indicators)

    s = sub.add_parser("metrics", help="compute the indicator table",
                       description="Compute every indicator for every village: village_id, village_name, town_id, "
                                   "then one column per indicator id. CSV to stdout, or CSV/Parquet with --out.")
    s.add_argument("study", type=Path, help="the study folder")
    s.add_argument("--year", type=_year, help="year of income and governance indicators (default: the study's)")
    s.add_argument("--out", type=Path, help="output file (.csv or .parquet)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a study setting or standard, e.g. --set weak_total_yuan=200000")
    s.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask scheduler (e.g. tcp://host:8786)")
    s.add_argument("--workers", type=int, metavar="N", help="run on a local Dask cluster of N worker processes")
    s.set_defaults(func=cmd_metrics)
