"""Benchmark of the composite-index Monte Carlo (villagestudy.index.uncertainty).

Synthetic data: 500 units x 25 indicators (skewed, 2% missing) in a
3-level structure (25 indicators -> 5 pillars -> 2 sub-indices -> index).

Measures, in the same process:

* the *floor* of one nominal pipeline pass (best of several runs of
  ``build_index`` without diagnostics: impute, winsorise, normalise,
  aggregate, rank);
* the Monte Carlo of 1,000 runs (weights +-25 %, 3 normalisations,
  2 aggregations, winsorisation on/off), without and with the sensitivity
  design (1,000 x (4 + 2) = 6,000 runs);

and prints runs per second beside nominal passes per second, and their ratio
(how much faster one vectorised Monte Carlo run is than one full pass).

Run: ``python benchmarks/bench_index.py [--runs 1000] [--units 500]``.
Nothing here is asserted: timings depend on the machine.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from villagestudy.index import build_index, validate_structure
from villagestudy.index.aggregate import aggregate_nodes, build_plan, rank_desc


def synthetic(units: int = 500, indicators: int = 25, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=units)
    data = {}
    for k in range(indicators):
        x = 0.5 * f + rng.normal(size=units)
        data[f"i{k:02d}"] = np.exp(x) if k % 4 == 0 else x          # some skewed indicators to winsorise
    t = pd.DataFrame(data, index=[f"u{k:04d}" for k in range(units)])
    t = t.mask(rng.uniform(size=t.shape) < 0.02)
    t["group"] = rng.choice(["a", "b", "c"], size=units)
    pillars = [f"P{p}" for p in range(5)]
    rows = [{"id": "index", "parent": None, "weight": 1, "direction": np.nan},
            {"id": "S0", "parent": "index", "weight": 1, "direction": np.nan},
            {"id": "S1", "parent": "index", "weight": 1, "direction": np.nan}]
    rows += [{"id": p, "parent": "S0" if j < 3 else "S1", "weight": 1, "direction": np.nan}
             for j, p in enumerate(pillars)]
    rows += [{"id": c, "parent": pillars[k % 5], "weight": 1, "direction": 1 if k % 3 else -1}
             for k, c in enumerate(data)]
    return t, pd.DataFrame(rows)


def floor_time(fn, repeat: int = 7) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--indicators", type=int, default=25)
    args = ap.parse_args()
    table, structure = synthetic(args.units, args.indicators)
    common = dict(impute="group_mean", group="group", winsorise=True, diagnostics=False)
    mc = dict(n=args.runs, seed=1, weight_range=0.25, normalise=["minmax", "zscore", "rank"],
              aggregate=["arithmetic", "geometric"], winsorise=[False, True])

    build_index(table, structure, **common)                                  # warm-up (imports, caches)
    nominal = floor_time(lambda: build_index(table, structure, **common))
    ua = floor_time(lambda: build_index(table, structure, **common, uncertainty={**mc, "sensitivity": False}),
                    repeat=3) - nominal
    res = build_index(table, structure, **common, uncertainty=mc)
    sa_runs = res.steps["uncertainty"]["runs_evaluated"]
    sa = floor_time(lambda: build_index(table, structure, **common, uncertainty=mc), repeat=2) - nominal

    # the vectorised core alone (aggregate + rank) for a single run, on the nominal normalised data
    st = validate_structure(structure, table)
    plan = build_plan(st)
    res0 = build_index(table, structure, **common)
    x1 = res0.normalised[list(st.indicators)].to_numpy().T[None]
    w1 = plan.nominal_weights(st)[None]
    core = floor_time(lambda: rank_desc(aggregate_nodes(plan, x1, w1, np.array([0]), np.array([1.0]))[:, plan.root_pos]),
                      repeat=50)

    nominal_rate = 1.0 / nominal
    print(f"data: {args.units} units x {args.indicators} indicators, 3 aggregation levels "
          f"(5 pillars, 2 sub-indices, index)")
    print(f"nominal pipeline pass (floor of 7): {nominal * 1e3:8.2f} ms  = {nominal_rate:10.1f} passes/s")
    print(f"core aggregate + rank, one run (floor of 50): {core * 1e3:6.3f} ms  = {1 / core:10.1f} runs/s")
    for label, runs, secs in (("Monte Carlo (uncertainty only)", args.runs, ua),
                              ("Monte Carlo + sensitivity design", sa_runs, sa)):
        rate = runs / secs
        print(f"{label:34s}: {runs:5d} runs in {secs:6.3f} s = {rate:10.1f} runs/s  "
              f"(ratio to nominal passes/s: {rate / nominal_rate:6.1f}x; to one-run core: {rate * core:5.2f}x)")
    w = res.uncertainty["rank_p95"] - res.uncertainty["rank_p05"]
    print(f"mean 5-95% rank interval width: {w.mean():.1f} ranks; sensitivity (first order / total):")
    print(res.sensitivity.round(3).to_string())


if __name__ == "__main__":
    main()
