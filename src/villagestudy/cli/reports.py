"""The batch reports command."""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from ..errors import UsageError
from ._common import _json_arg


def cmd_reports(args) -> int:
    from ..reports import run_reports

    params = {}
    if args.params:
        params.update(_load_params(args.params))
    if args.weights:
        params["weights"] = args.weights
    if args.standards:
        params["standards"] = args.standards
    on_cluster = contextlib.nullcontext()
    if args.scheduler:  # the up-front load and indicators of a partitioned study run on the cluster too
        from ..distributed import open_client

        on_cluster = open_client(args.scheduler)
    with on_cluster:
        batch = run_reports(args.study, out=args.out, towns=args.town, year=args.year, lang=args.lang,
                            jobs=args.jobs, force=args.force, notebook=args.notebook, parameters=params,
                            inline_plotly=True, shared_assets=args.shared_assets, pdf=args.pdf,
                            progress=not args.quiet, scheduler=args.scheduler)
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
    from ..consult.scenario import check_scenario

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, dict) and "parameters" not in data:
            data = {"parameters": data}
        return check_scenario(data, path)["parameters"]
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read parameters from {path}: {e}") from None


def add_commands(sub) -> None:
    """Register reports."""
    from ..reports.batch import DEFAULT_OUT

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
                   help="(the default) every report carries plotly.js: one file that draws its charts alone")
    s.add_argument("--shared-assets", action="store_true",
                   help="for huge batches: load plotly.js from one shared copy under OUT/assets instead "
                        "(reports then need that folder beside them)")
    s.add_argument("--pdf", action="store_true",
                   help="also print each report to town_<id>.pdf (A4) with headless Chromium")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="one task per town on this Dask scheduler (workers must see the same folders)")
    s.set_defaults(func=cmd_reports)
