"""Commands on composite indices: index (any table) and rank (a study)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UsageError
from ..index.uncertainty import DEFAULT_RUNS
from ._common import _json_arg


def cmd_index(args) -> int:
    from ..index import run_index_cli

    choices = {"impute": args.impute, "group": args.group, "winsorise": args.winsorise, "winmax": args.winmax,
               "normalise": args.normalise, "aggregate": args.aggregate}
    if args.weights_pca:
        choices["weights"] = "pca"
    if args.goalposts:
        choices["goalposts"] = args.goalposts
    if args.runs:
        choices["uncertainty"] = {"n": args.runs, "seed": args.seed, "weight_range": args.weight_range,
                                  "normalise": args.mc_normalise or [args.normalise],
                                  "aggregate": args.mc_aggregate or [args.aggregate]}
    try:
        result = run_index_cli(args.table, args.structure, args.out, id_column=args.id_column, **choices)
    except (ValueError, KeyError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None
    print(f"Wrote {len(result.scores)} units to {args.out}")
    diag = result.diagnostics
    if diag is not None and getattr(diag, "flags", None) is not None and len(diag.flags):
        print(f"{len(diag.flags)} diagnostic flag(s): see the Python result's .diagnostics")
    return 0


def cmd_rank(args) -> int:
    from ..io import load_study
    from ..metrics import compute_indicators
    from .._atomic import write_table
    from ..ranking import rank_villages

    study = load_study(args.study)
    table = compute_indicators(study, year=args.year)
    options = dict(study.settings.index_options)
    if study.settings.weights:
        options["weights"] = dict(study.settings.weights)
    try:
        ranking = rank_villages(table, weights=args.weights, normalise=args.normalise, aggregate=args.aggregate,
                                uncertainty={"n": args.runs, "seed": args.seed} if args.runs else False,
                                options=options)
    except ValueError as e:
        raise UsageError(str(e)) from None
    out = ranking.table.reset_index()
    cols = ["village_id", "town_id", "village_name", "land", "income", "governance", "score", "rank",
            "rank_in_town", "rank_median", "rank_p05", "rank_p95", "data_availability"]
    out = out[[c for c in cols if c in out]]
    if args.out:
        write_table(out, args.out, index=False)
        print(f"Wrote {len(out)} villages to {args.out}", file=sys.stderr)
    else:
        from ..safe_text import neutralise_frame

        neutralise_frame(out).to_csv(sys.stdout, index=False)
    for n in ranking.notes:
        print(f"note: {n}", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    """Register index and rank."""
    from ..index import AGGREGATION_METHODS, IMPUTATION_METHODS, NORMALISATION_METHODS

    s = sub.add_parser("index", help="build a composite index from any indicator table",
                       description="The generic composite-index engine (JRC/COINr method) on any table: "
                                   "TABLE has one row per unit (first column the unit id), STRUCTURE has "
                                   "id, parent, weight, direction. Writes a score per aggregate and rank.")
    s.add_argument("table", type=Path, help="indicator table (.csv, .xlsx or .parquet)")
    s.add_argument("structure", type=Path, help="structure table: id, parent, weight, direction")
    s.add_argument("--out", type=Path, required=True, help="output file (.csv or .parquet)")
    s.add_argument("--id-column", help="unit id column of TABLE (default: its first column)")
    s.add_argument("--impute", choices=IMPUTATION_METHODS, default="none", help="imputation (default none)")
    s.add_argument("--group", help="group column for group_mean/group_median imputation")
    s.add_argument("--winsorise", action="store_true", help="COINr winsorisation of outliers")
    s.add_argument("--winmax", type=int, default=5, help="most points winsorised per indicator (default 5)")
    s.add_argument("--normalise", choices=NORMALISATION_METHODS, default="minmax", help="default minmax (0-100)")
    s.add_argument("--goalposts", type=Path, help="CSV/XLSX with id, lo, hi for --normalise goalposts")
    s.add_argument("--aggregate", choices=AGGREGATION_METHODS, default="arithmetic", help="default arithmetic")
    s.add_argument("--weights-pca", action="store_true", help="PCA-based weights instead of the structure's")
    s.add_argument("--runs", type=int, default=0, help="Monte Carlo runs for rank intervals (default 0: none)")
    s.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default 0)")
    s.add_argument("--weight-range", type=float, default=0.25, help="weights perturbed by +/- this share")
    s.add_argument("--mc-normalise", nargs="+", choices=NORMALISATION_METHODS, help="normalisations to vary over")
    s.add_argument("--mc-aggregate", nargs="+", choices=AGGREGATION_METHODS, help="aggregations to vary over")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("rank", help="rank the villages of a study (land, income, governance, overall)",
                       description="Composite scores per pillar and overall, rank, rank within the town and the "
                                   "5th-95th percentile rank interval from a Monte Carlo over the method choices.")
    s.add_argument("study", type=Path, help="the study folder")
    s.add_argument("--year", type=int, help="year of income and governance indicators")
    s.add_argument("--out", type=Path, help="output file (.csv, .parquet or .xlsx); default CSV to stdout")
    s.add_argument("--weights", type=_json_arg, help='weights as JSON, e.g. \'{"governance": 2}\'')
    s.add_argument("--normalise", choices=NORMALISATION_METHODS, help="default minmax")
    s.add_argument("--aggregate", choices=AGGREGATION_METHODS, help="default arithmetic")
    s.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"Monte Carlo runs (default {DEFAULT_RUNS}; 0 for none)")
    s.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default 0)")
    s.set_defaults(func=cmd_rank)
