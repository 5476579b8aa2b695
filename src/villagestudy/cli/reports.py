"""The batch reports command."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from ..safe_text import terminal_safe
from ._common import _json_arg, _year


def cmd_reports(args) -> int:
    from ..reports.startup import skip_iri_grammars

    skip_iri_grammars()  # this process is the batch's: papermill's imports without jsonschema's unused grammars
    if args.engine != "warm" or args.scheduler:
        return _make_reports(args)
    from ..reports.workers import discard_prelaunched, prelaunch

    prelaunch()  # the first kernel starts and imports while the study loads and the arguments are checked
    try:
        return _make_reports(args)
    finally:
        discard_prelaunched()


def _make_reports(args) -> int:
    import warnings

    from ..io import load_study
    from ..reports import run_reports
    from ..reports.batch import DEFAULT_STUDY
    from ..scenario import Scenario, ScenarioWarning
    from .index import scenario_from_args

    if args.study is None and args.params:
        made_on = Scenario.from_json(args.params).study
        if made_on and Path(made_on).is_dir():  # the study the scenario was saved on
            args.study = Path(made_on)
            print(f"Study: {made_on} (from the scenario)", file=sys.stderr)
    study = load_study(args.study or DEFAULT_STUDY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        scenario = scenario_from_args(args, study)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    towns = args.town
    if not towns and args.params and scenario.town is not None:
        towns = [scenario.town]  # a scenario saved about one town remakes that town's report only
        print(f"The scenario is about town {scenario.town}: only its report is made (--town to choose others).",
              file=sys.stderr)
    # the default scenario is no parameter at all: reports made from Python without one stay reusable
    shown = scenario.replace(town=None)
    params = {} if shown.replace(study=None) == Scenario() else {"scenario": shown.to_dict()}
    args.town, args.year = towns, scenario.year
    on_cluster = contextlib.nullcontext()
    if args.scheduler:  # the up-front load and indicators of a partitioned study run on the cluster too
        from ..backends.dask import open_client

        on_cluster = open_client(args.scheduler)
    with on_cluster:
        batch = run_reports(args.study, loaded=study, out=args.out, towns=args.town, year=args.year, lang=args.lang,
                            jobs=args.jobs, force=args.force, notebook=args.notebook, parameters=params,
                            inline_plotly=True, shared_assets=args.shared_assets, pdf=args.pdf,
                            progress=not args.quiet, scheduler=args.scheduler, engine=args.engine, wait=args.wait)
    for line in result_lines(batch, command_seconds=_seconds_since_start()):
        print(line)
    if batch.failed:
        print(f"{len(batch.failed)} town(s) failed.", file=sys.stderr)
        return 1
    return 0


def _seconds_since_start() -> float | None:
    """Wall seconds since this process started (its imports included), or None where it cannot be read."""
    import time

    import psutil

    try:
        return time.time() - psutil.Process().create_time()
    except psutil.Error:
        return None


def time_line(timings: dict, command_seconds: float | None = None) -> str | None:
    """Where a batch's time went, in one line (None when the batch recorded no steps).

    Examples
    --------
    >>> time_line({"context": 4.41, "towns": 23.4, "made": 20, "index": 0.12}, command_seconds=32.3)
    'Time: 32.3 s in all: study-wide results 4.4 s, 20 town(s) 23.4 s (1.17 s a town), index 0.1 s, the rest (start-up, study load, kernels started and stopped) 4.4 s'
    """
    if "towns" not in timings:
        return None
    made = timings["made"]
    each = f" ({timings['towns'] / made:.2f} s a town)" if made else ""
    parts = [f"study-wide results {timings['context']:.1f} s", f"{made} town(s) {timings['towns']:.1f} s{each}"]
    if "index" in timings:
        parts.append(f"index {timings['index']:.1f} s")
    if command_seconds is None:
        return "Time: " + ", ".join(parts)
    rest = command_seconds - timings["context"] - timings["towns"] - timings.get("index", 0.0)
    parts.append(f"the rest (start-up, study load, kernels started and stopped) {max(rest, 0.0):.1f} s")
    return f"Time: {command_seconds:.1f} s in all: " + ", ".join(parts)


def result_lines(batch, command_seconds: float | None = None) -> list[str]:
    """What ``reports`` prints: a line per town, the index and where the time went; text from data made
    safe for terminals."""
    lines = []
    for r in batch.results:
        line = f"  {r.status:7s} {terminal_safe(r.town_id)} {terminal_safe(r.town_name)}"
        if r.status == "ok":
            line += f"  ({r.seconds:.1f} s)"
        if r.error:
            log = batch.out_dir / r.log if r.log else "-"
            line += f"\n          {terminal_safe(r.error)}  [log: {terminal_safe(log)}]"
        lines.append(line)
    lines.append(f"Index: {terminal_safe(batch.out_dir / 'index.html')}")
    timing = time_line(getattr(batch, "timings", {}), command_seconds)
    if timing:
        lines.append(timing)
    return lines


def add_commands(sub) -> None:
    """Register reports."""
    from ..reports.batch import DEFAULT_OUT

    s = sub.add_parser("reports", help="make one offline HTML report per town, plus an index page",
                       description="Run the parameterised report notebook for every town with papermill and "
                                   "render offline HTML (no internet needed to open it). Unchanged towns are "
                                   "reused unless --force. Exit 1 when any town failed.")
    s.add_argument("study", nargs="?", type=Path, default=None, help="study folder (default: the bundled sample)")
    s.add_argument("--out", type=Path, default=None,
                   help=f"output folder (default {DEFAULT_OUT}/<study folder name>; a folder holds one study)")
    s.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="when another run is writing to the output folder, wait this long for it (default: stop)")
    s.add_argument("--town", action="append", metavar="ID", help="only this town (repeatable)")
    s.add_argument("--year", type=_year, help="report year (default: the study's year)")
    s.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language (default zh)")
    s.add_argument("--jobs", type=int, default=None, help="towns made at once (default: number of cores)")
    s.add_argument("--force", action="store_true", help="remake reports whose inputs did not change")
    s.add_argument("--notebook", type=Path, help="report notebook (default notebooks/town_report.ipynb)")
    s.add_argument("--weights", type=_json_arg, help='pillar weights as JSON, e.g. \'{"governance": 2}\'')
    s.add_argument("--standards", type=_json_arg, help='standards as JSON, e.g. \'{"weak_total_yuan": 200000}\'')
    s.add_argument("--params", type=Path, metavar="SCENARIO.json",
                   help="a scenario JSON saved by the consultation app (its town only, unless --town)")
    s.add_argument("--scope", choices=["study", "town"],
                   help="villages normalised and ranked together: the whole study (default) or each town alone")
    s.add_argument("--normalise", choices=["minmax", "zscore", "rank", "prank"], help="default minmax")
    s.add_argument("--aggregate", choices=["arithmetic", "geometric", "harmonic"], help="default arithmetic")
    s.add_argument("--runs", type=int, help="Monte Carlo runs behind the rank intervals (default 500)")
    s.add_argument("--inline-plotly", action="store_true",
                   help="(the default) every report carries plotly.js: one file that draws its charts alone")
    s.add_argument("--shared-assets", action="store_true",
                   help="for huge batches: load plotly.js from one shared copy under OUT/assets instead "
                        "(reports then need that folder beside them)")
    s.add_argument("--pdf", action="store_true",
                   help="also print each report to town_<id>.pdf (A4) with headless Chromium")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--engine", choices=["warm", "fresh"], default="warm",
                   help="warm (default): each worker keeps one kernel for town after town, each town in a fresh "
                        "namespace; fresh: a new kernel per town")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="one task per town on this Dask scheduler (workers must see the same folders)")
    s.set_defaults(func=cmd_reports)
