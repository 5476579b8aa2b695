"""Benchmark of ``evaluate``, the one computation every view shows, and of what a batch computes once.

Generated study (``villagestudy synth``, 10 villages a town, 40 parcels a village;
made once under ``benchmarks/_work``). In one process, after the imports (so
import time is left out), CPU seconds, the least of ``--repeat`` runs:

* loading the study (``load_study``);
* the indicator table (``compute_indicators``);
* the ranking alone: the composite index and its Monte Carlo (the scenario's runs,
  500 by default) on that table (``rank_scope``);
* ``evaluate`` with a weight changed (indicators, standards, ranking, audit,
  contributions, assembly), and with a standard changed (a new study with other
  settings: its fingerprint included);
* the batch's study-wide context (``build_context``: the Comparison, Moran's I and
  LISA, the regression).

The floor is the indicator table plus the ranking, measured in the same run:
``evaluate`` cannot cost less. The ratio says what the rest (audit,
contributions, standards, assembly) adds. A consultation meeting waits for one
``evaluate`` per change of weights or standards.

Run: ``python benchmarks/bench_evaluate.py [--towns 200] [--repeat 3]``. Nothing is
asserted: timings depend on the machine.
"""
from __future__ import annotations

import argparse
import time

from bench_reports import generated_study  # the same generated study, made once


def least_cpu(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--towns", type=int, default=200, help="towns of the generated study (default 200)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each step; the least is kept (default 3)")
    args = ap.parse_args()

    import villagestudy
    from villagestudy.io import load_study
    from villagestudy.metrics import compute_indicators
    from villagestudy.reports.context import build_context
    from villagestudy.scenario import Scenario, evaluate
    from villagestudy.scenario.evaluate import rank_scope

    path = generated_study(args.towns)
    study = load_study(path)
    build_context(study, None)  # imports (scipy.stats, libpysal, statsmodels) and first-call costs left out
    resolved = Scenario().resolved(study)
    table = compute_indicators(study, resolved.year)
    weights = iter(range(2, 2 + 10 * args.repeat))
    standards = iter(range(100_000, 100_000 + 1_000 * 10 * args.repeat, 1_000))

    rows = [
        ("load_study", least_cpu(lambda: load_study(path), args.repeat)),
        ("compute_indicators", least_cpu(lambda: compute_indicators(study, resolved.year), args.repeat)),
        ("ranking and its Monte Carlo", least_cpu(lambda: rank_scope(table, resolved, study), args.repeat)),
        ("evaluate, a weight changed",
         least_cpu(lambda: evaluate(study, Scenario(weights={"governance": next(weights)})), args.repeat)),
        ("evaluate, a standard changed",
         least_cpu(lambda: evaluate(study, Scenario(standards={"weak_total_yuan": next(standards)})), args.repeat)),
        ("build_context (a batch, once)", least_cpu(lambda: build_context(study, None), args.repeat)),
    ]
    floor = rows[1][1] + rows[2][1]
    print(f"villagestudy {villagestudy.__version__}; {args.towns} towns, {len(study.villages):,} villages, "
          f"{len(study.parcels):,} parcels; {resolved.runs} Monte Carlo runs; CPU s, least of {args.repeat}")
    print(f"{'step':<34}{'CPU s':>8}{'x floor':>9}")
    for name, seconds in rows:
        print(f"{name:<34}{seconds:>8.2f}{seconds / floor:>9.2f}")
    print(f"floor: compute_indicators + ranking = {floor:.2f} CPU s (evaluate cannot cost less)")


if __name__ == "__main__":
    main()
