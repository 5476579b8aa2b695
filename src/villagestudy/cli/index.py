"""Commands on composite indices: index (any table) and rank (a study)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UsageError
from ..index.uncertainty import DEFAULT_RUNS
from ._common import _json_arg, _year


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


def scenario_from_args(args, study=None):
    """The scenario of a command: ``--params FILE`` (if any) with the options given on top, validated.

    Every problem (unknown key, pillar, indicator, standard or method, negative or
    all-zero weights, a year or town without data) is one UsageError naming the keys.
    """
    from ..scenario import Scenario

    scenario = Scenario.from_json(args.params) if getattr(args, "params", None) else Scenario()
    changes = {}
    if getattr(args, "weights", None) is not None:
        changes["weights"] = {**scenario.weights, **args.weights}
    if getattr(args, "standards", None) is not None:
        changes["standards"] = {**scenario.standards, **args.standards}
    for key in ("year", "scope", "normalise", "aggregate", "impute", "runs", "seed"):
        value = getattr(args, key, None)
        if value is not None:
            changes[key] = value
    towns = getattr(args, "town", None)
    if isinstance(towns, list):
        towns = towns[0] if len(towns) == 1 else None
    if towns is not None:
        changes["town"] = str(towns)
    if study is not None and getattr(args, "study", None) is not None:
        changes["study"] = str(Path(args.study).resolve())  # the study this run uses
    scenario = scenario.replace(**changes)
    return scenario.validate(study)


def cmd_rank(args) -> int:
    import warnings

    from ..io import load_study
    from .._atomic import write_table
    from ..scenario import ScenarioWarning, evaluate

    study = load_study(args.study)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        scenario = scenario_from_args(args, study)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    comparison = evaluate(study, scenario)
    if args.town and scenario.scope == "study":
        comparison = comparison.for_town(args.town)
    if args.out and str(args.out).endswith(".json"):
        comparison.to_json(args.out)
        print(f"Wrote the comparison of {len(comparison.ranking)} villages to {args.out}", file=sys.stderr)
    elif args.out:
        write_table(comparison.ranking, args.out, index=False)
        print(f"Wrote {len(comparison.ranking)} villages to {args.out}", file=sys.stderr)
    else:
        from ..safe_text import neutralise_frame

        neutralise_frame(comparison.ranking).to_csv(sys.stdout, index=False)
    s = comparison.scenario
    scope = "the whole study" if s.scope == "study" else f"town {s.town}"
    print(f"scope: scores normalised and ranked over {scope}; year {s.year}; {s.normalise}/{s.aggregate}; "
          f"{s.runs} Monte Carlo runs (seed {s.seed})", file=sys.stderr)
    for n in comparison.index_notes:
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

    from ..scenario.model import AGGREGATIONS, IMPUTATIONS, NORMALISATIONS, SCOPES

    s = sub.add_parser("rank", help="rank the villages of a study (land, income, governance, overall)",
                       description="Composite scores per pillar and overall, rank, rank within the town and the "
                                   "5th-95th percentile rank interval from a Monte Carlo over the method choices. "
                                   "Computed from a scenario (--params, e.g. saved in the consultation app) with "
                                   "the options below on top; the same scenario gives the same ranking as the "
                                   "app and the town reports.")
    s.add_argument("study", type=Path, help="the study folder")
    s.add_argument("--params", type=Path, metavar="SCENARIO.json", help="a scenario JSON (saved by the app)")
    s.add_argument("--year", type=_year, help="year of income and governance indicators")
    s.add_argument("--scope", choices=SCOPES,
                   help="villages normalised and ranked together: the whole study (default) or one town")
    s.add_argument("--town", metavar="ID", help="only this town's villages (with --scope town: ranked on their own)")
    s.add_argument("--out", type=Path, help="output file (.csv, .parquet, .xlsx, or .json for the whole "
                                            "comparison); default CSV to stdout")
    s.add_argument("--weights", type=_json_arg, help='weights as JSON, e.g. \'{"governance": 2}\'')
    s.add_argument("--standards", type=_json_arg, help='standards as JSON, e.g. \'{"weak_total_yuan": 200000}\'')
    s.add_argument("--normalise", choices=NORMALISATIONS, help="default minmax")
    s.add_argument("--aggregate", choices=AGGREGATIONS, help="default arithmetic")
    s.add_argument("--impute", choices=IMPUTATIONS, help="default none")
    s.add_argument("--runs", type=int, help=f"Monte Carlo runs (default {DEFAULT_RUNS}; 0 for none)")
    s.add_argument("--seed", type=int, help="Monte Carlo seed (default 0)")
    s.set_defaults(func=cmd_rank)
