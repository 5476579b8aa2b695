"""Subcommands of the later stages: index, rank, reports, consult."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from .errors import UsageError


def _json_arg(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object such as '{\"land\": 2}'")
    return value


def cmd_reports(args) -> int:
    from .reports import run_reports

    params = {}
    if args.params:
        params.update(_load_params(args.params))
    if args.weights:
        params["weights"] = args.weights
    if args.standards:
        params["standards"] = args.standards
    on_cluster = contextlib.nullcontext()
    if args.scheduler:  # the up-front load and indicators of a partitioned study run on the cluster too
        from .distributed import open_client

        on_cluster = open_client(args.scheduler)
    with on_cluster:
        batch = run_reports(args.study, out=args.out, towns=args.town, year=args.year, lang=args.lang,
                            jobs=args.jobs, force=args.force, notebook=args.notebook, parameters=params,
                            inline_plotly=args.inline_plotly, progress=not args.quiet, scheduler=args.scheduler)
    for r in batch.results:
        line = f"  {r.status:7s} {r.town_id} {r.town_name}"
        if r.status == "ok":
            line += f"  ({r.seconds:.1f} s)"
        if r.error:
            line += f"\n          {r.error}  [log: {batch.out_dir / r.log if r.log else '-'}]"
        print(line)
    print(f"Index: {batch.out_dir / 'index.html'}")
    if batch.failed:
        print(f"{len(batch.failed)} town(s) failed.", file=sys.stderr)
        return 1
    return 0


def _load_params(path: Path) -> dict:
    """Parameters saved by a consultation (scenario JSON): its 'parameters' object or the whole file."""
    from .consult.scenario import check_scenario

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, dict) and "parameters" not in data:
            data = {"parameters": data}
        return check_scenario(data, path)["parameters"]
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read parameters from {path}: {e}") from None


def cmd_index(args) -> int:
    from .index import run_index_cli

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
    from . import compute_indicators, load_study
    from ._atomic import write_table
    from .ranking import rank_villages

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
        out.to_csv(sys.stdout, index=False)
    for n in ranking.notes:
        print(f"note: {n}", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    """Register the later subcommands on the CLI's subparsers."""
    from .index import AGGREGATION_METHODS, IMPUTATION_METHODS, NORMALISATION_METHODS
    from .reports.batch import DEFAULT_OUT

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
    s.add_argument("--runs", type=int, default=500, help="Monte Carlo runs (default 500; 0 for none)")
    s.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default 0)")
    s.set_defaults(func=cmd_rank)

    s = sub.add_parser("reports", help="make one offline HTML report per town, plus an index page",
                       description="Run the parameterised report notebook for every town with papermill and "
                                   "render offline HTML (no internet needed to open it). Unchanged towns are "
                                   "reused unless --force. Exit 1 when any town failed.")
    s.add_argument("study", nargs="?", type=Path, default=None, help="study folder (default: the bundled sample)")
    s.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    s.add_argument("--town", action="append", metavar="ID", help="only this town (repeatable)")
    s.add_argument("--year", type=int, help="report year (default: the study's year)")
    s.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    s.add_argument("--jobs", type=int, default=None, help="parallel worker processes (default: number of cores)")
    s.add_argument("--force", action="store_true", help="remake reports whose inputs did not change")
    s.add_argument("--notebook", type=Path, help="report notebook (default notebooks/town_report.ipynb)")
    s.add_argument("--weights", type=_json_arg, help='pillar weights as JSON, e.g. \'{"governance": 2}\'')
    s.add_argument("--standards", type=_json_arg, help='standards as JSON, e.g. \'{"weak_total_yuan": 200000}\'')
    s.add_argument("--params", type=Path, help="a scenario JSON saved by the consultation app")
    s.add_argument("--inline-plotly", action="store_true",
                   help="inline plotly.js in every report instead of one shared copy under OUT/assets")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="one task per town on this Dask scheduler (workers must see the same folders)")
    s.set_defaults(func=cmd_reports)

    # ---- consult (villagestudy.consult.serve) ----
    def cmd_consult(args) -> int:
        from .consult.serve import run_from_args

        return run_from_args(args)

    s = sub.add_parser("consult", help="serve the live consultation app (widgets) with Voilà",
                       description="Serve notebooks/consultation.ipynb with Voilà: pick a town and year, move the "
                                   "pillar weights, change the standards and the methods, and see the ranking, the "
                                   "map and the villages missing each standard update at once. Works offline. "
                                   "Listens on 127.0.0.1 unless --host 0.0.0.0 is given.")
    s.add_argument("study", nargs="?", type=Path, default=None, help="study folder (default: the bundled sample)")
    s.add_argument("--port", type=int, default=None, help="port (default 8866, or a free one when it is taken)")
    s.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1; 0.0.0.0 lets other computers connect)")
    s.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the app (default zh)")
    s.add_argument("--no-browser", action="store_true", help="do not open a browser")
    s.add_argument("--out", type=Path, default=Path("outputs") / "scenarios",
                   help="folder of saved scenarios (default outputs/scenarios)")
    s.set_defaults(func=cmd_consult)
