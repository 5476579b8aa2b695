"""Benchmark of the consultation panel: time from a widget change to updated outputs.

The panel's observers run synchronously, so setting a widget's value in Python
returns when every output (ranking table, missed list, map, profile) is
updated: the time of that assignment is the time the meeting waits (plus the
browser's drawing, not measured here).

Two studies:

* the bundled sample (``data/sample``; 4 towns of 9-13 villages), first town;
* a generated town of 200 villages (``write_synthetic_study(tmp, towns=1,
  villages_per_town=200, parcels_per_village=30)``).

For each kind of change - a weight, a standard, the map's indicator, the
normalisation, and a town or year change (indicators computed once per town
and year, then cached) - it prints the median and the maximum over several
changes, and the floors:

* ``rank_villages`` once without uncertainty (the least a weight change could
  cost), and with the panel's Monte Carlo (200 runs);
* ``compute_indicators`` for the town, which a standard change avoids by
  recomputing only the flags (``apply_standards``).

Run: ``python benchmarks/bench_consult.py [--repeat 9]``. Nothing is
asserted: timings depend on the machine (the 0.5 s target on the sample is
asserted by ``tests/test_consult.py``).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "src" / "villagestudy" / "datasets" / "sample"


def best_of(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(study, label: str, repeat: int) -> list[tuple]:
    from villagestudy.consult import ConsultationPanel
    from villagestudy.scenario.evaluate import apply_standards, in_scope, indicator_table, rank_scope

    t0 = time.perf_counter()
    app = ConsultationPanel(study, raise_errors=True, out_dir=tempfile.mkdtemp())
    first = time.perf_counter() - t0
    town = app.town_id
    n = len(app.table)
    rows = [(label, n, "panel created (first town)", first, first, 1)]

    def run(kind: str, changes: list) -> None:
        times = []
        for change in changes:
            change()
            k, seconds = app.timings[-1]
            assert k == kind, (k, kind)
            times.append(seconds)
        rows.append((label, n, kind, statistics.median(times), max(times), len(times)))

    weights = [1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 0.5, 1.0]
    run("weights", [lambda v=v: setattr(app.weight_sliders["land"], "value", v) for v in weights[:repeat]])
    thresholds = [110_000.0 + 15_000 * k for k in range(repeat)]
    run("standards", [lambda v=v: setattr(app.standard_inputs["weak_total_yuan"], "value", v) for v in thresholds])
    indicators = ["income_total_yuan", "simpson_index", "score", "governance", "social_workers_per_10k",
                  "weak_village", "land", "contiguous_share", "income"]
    run("map", [lambda v=v: setattr(app.map_dropdown, "value", v) for v in (indicators * 3)[:repeat]])
    methods = ["zscore", "rank", "prank", "minmax"]
    run("method", [lambda v=v: setattr(app.normalise_dropdown, "value", v) for v in (methods * 3)[:repeat]])
    villages = list(app.table.index)
    run("village", [lambda v=v: setattr(app.village_dropdown, "value", v) for v in villages[1:repeat + 1]])
    towns = study.town_ids()
    if len(towns) > 1:
        seq = [towns[(k + 1) % len(towns)] for k in range(max(repeat, 2 * len(towns)))]
        run("town", [lambda v=v: setattr(app.town_dropdown, "value", v) for v in seq])
        app.town_dropdown.value = town
    if len(study.years) > 1:
        earlier = study.years[-2], study.years[max(len(study.years) - 3, 0)]
        seq = [earlier[0], earlier[1], earlier[0], earlier[1]]  # two new (town, year) pairs, then cached
        run("year", [lambda v=v: setattr(app.year_dropdown, "value", v) for v in seq])

    # floors, on the same town and year
    scenario = app.scenario
    base = indicator_table(study, app.year)
    table = in_scope(base, scenario)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rank0 = best_of(lambda: rank_scope(table, scenario.replace(runs=0), study))
        rank_mc = best_of(lambda: rank_scope(table, scenario, study))
    indicators_s = best_of(lambda: indicator_table(study, app.year), repeat=3)
    flags_s = best_of(lambda: apply_standards(base, app.settings))
    rows += [(label, n, "floor: rank_scope, no uncertainty", rank0, rank0, 1),
             (label, n, f"floor: rank_scope, {scenario.runs} MC runs", rank_mc, rank_mc, 1),
             (label, n, "indicator_table (study)", indicators_s, indicators_s, 1),
             (label, n, "apply_standards (flags only)", flags_s, flags_s, 1)]
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=9, help="changes per kind (default 9)")
    p.add_argument("--villages", type=int, default=200, help="villages of the generated town (default 200)")
    args = p.parse_args(argv)

    from villagestudy import load_study
    from villagestudy.synth import write_synthetic_study

    rows = []
    if (SAMPLE / "villages.csv").exists():
        rows += measure(load_study(SAMPLE), "sample", args.repeat)
    else:
        print(f"(no sample study at {SAMPLE}: skipped)", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_synthetic_study(Path(tmp) / "big", towns=1, villages_per_town=args.villages,
                                     parcels_per_village=30)
        rows += measure(load_study(path), f"{args.villages} villages", args.repeat)

    print(f"{'study':<14}{'villages':>9}  {'change':<40}{'median s':>10}{'max s':>9}{'n':>4}")
    for label, n, kind, med, mx, count in rows:
        print(f"{label:<14}{n:>9}  {kind:<40}{med:>10.3f}{mx:>9.3f}{count:>4}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
