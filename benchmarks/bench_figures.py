"""Time building a town report's figures against plotly validating the same finished figures once.

Usage
-----
    python benchmarks/bench_figures.py [--towns 20] [--repeat 3]

Figures are most of a report's own work in its kernel. Each report section is
run as the batch runs it (``TownReport`` in report mode) on the generated study
of ``bench_reports.py``, and every figure function of :mod:`villagestudy.viz`
it calls is timed (CPU seconds of this process). The floor, measured in the
same run on each finished figure: ``go.Figure(figure_json)``, plotly building
and validating the very same figure in one call (the session template left
out, as the reports apply it without validation). The ratio says how much the
figure function costs beyond that: its data preparation, its geometry and its
incremental plotly calls. The first town is a warm-up and is not counted;
``--repeat`` runs the towns that many times and keeps the least time per call
(other work on the machine only ever adds).
"""
from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import plotly.graph_objects as go

from bench_reports import generated_study

FIGURE_MODULES = ("villagestudy.viz.maps", "villagestudy.viz.charts", "villagestudy.viz.lisa")
SECTIONS = ("title", "summary", "overview", "land", "income", "governance", "ranking", "statistics", "spatial",
            "methods")


def instrument(timings: dict) -> None:
    """Wrap every public figure function so that each call records (CPU s building, CPU s of the floor)."""
    import importlib

    import villagestudy.reports.town as town

    for name in FIGURE_MODULES:
        module = importlib.import_module(name)
        for fname in module.__all__:
            original = getattr(module, fname)
            if not callable(original):  # constants listed in __all__
                continue

            @functools.wraps(original)
            def timed(*args, _original=original, _name=fname, **kwargs):
                start = time.process_time()
                fig = _original(*args, **kwargs)
                built = time.process_time() - start
                if isinstance(fig, go.Figure):
                    spec = fig.to_plotly_json()
                    spec["layout"].pop("template", None)
                    start = time.process_time()
                    go.Figure(spec)
                    timings[_name].append((built, time.process_time() - start))
                return fig

            setattr(module, fname, timed)
            if getattr(town, fname, None) is original:
                setattr(town, fname, timed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--towns", type=int, default=20, help="towns of the generated study (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="runs over the towns; the least time per call is kept")
    args = ap.parse_args()
    from IPython.core.interactiveshell import InteractiveShell

    from villagestudy.io import load_study
    from villagestudy.reports.batch import _store_context
    from villagestudy.reports.town import TownReport

    InteractiveShell.instance().display_pub.publish = lambda *a, **k: None  # the sections display, nobody looks
    study_path = generated_study(args.towns)
    study = load_study(study_path)
    context = Path(tempfile.mkdtemp()) / "context.pkl"
    _store_context(study, context, None, {})
    towns = study.town_ids()
    timings: dict = defaultdict(list)
    instrument(timings)
    rounds: list[tuple[int, dict]] = []  # (towns counted, {figure: [(build, floor), ...]})
    for k in range(max(1, args.repeat)):
        for n, town_id in enumerate(towns):
            report = TownReport(str(study_path), town_id=town_id, lang="zh", report_mode=True,
                                context_path=str(context))
            for section in SECTIONS:
                getattr(report, section)()
            if k == 0 and n == 0:  # the first town imports and fills caches: a warm-up, not counted
                timings.clear()
        rounds.append((len(towns) - (k == 0), {key: list(v) for key, v in timings.items()}))
        timings.clear()
    print(f"{len(towns)} generated towns, {len(rounds)} run(s) (the first town of the first is a warm-up); "
          f"CPU ms per figure, the least of the runs")
    print(f"{'figure':22s}{'per town':>9s}{'build ms':>10s}{'floor ms':>10s}{'x floor':>9s}")
    total_build = total_floor = 0.0
    for name in sorted({key for _, t in rounds for key in t}):
        runs = [(counted, t[name]) for counted, t in rounds if t.get(name)]
        build = min(sum(b for b, _ in calls) / len(calls) for _, calls in runs)
        floor = min(sum(f for _, f in calls) / len(calls) for _, calls in runs)
        per_town = len(runs[0][1]) / runs[0][0]
        total_build += build * per_town
        total_floor += floor * per_town
        print(f"{name:22s}{per_town:9.1f}{build * 1e3:10.1f}{floor * 1e3:10.1f}{build / floor:9.1f}")
    print(f"{'a town, all figures':22s}{'':9s}{total_build * 1e3:10.0f}{total_floor * 1e3:10.0f}"
          f"{total_build / total_floor:9.1f}")


if __name__ == "__main__":
    sys.exit(main())
