"""Scaling of a study on Dask: the in-memory path against Dask with 1 and 2 workers.

Usage
-----
    python benchmarks/bench_dask.py [--max-parcels 5000000] [--sizes 100000 1000000 5000000]
                                    [--workers 1 2] [--reports 0] [--keep]

For each size (about 100k, 1M and 5M parcels; 500 parcels per village, 40
villages per town, so 5, 50 and 250 towns) the same synthetic study is written
twice under ``benchmarks/_work`` (git-ignored): parcels in one GeoParquet file,
and partitioned by town (``villagestudy.synth.partitioned``, which never holds
all parcels in memory; its time and peak memory are printed too). Then, each in
a fresh process:

in memory   ``load_study`` + ``compute_indicators`` on the single-file study
dask N      a ``LocalCluster`` of N worker processes (1 thread each), then
            ``load_study`` on the partitioned study (every partition validated
            on the cluster) + ``compute_indicators_dask``; the table is compared
            with the in-memory one (largest relative difference printed).

Time is wall-clock seconds; memory is the peak resident set (VmHWM) of the
process that loads the study (the client) and, for Dask, of each worker
process (read with ``client.run``), including the ~0.2-0.3 GB every Python
process with the geo stack imported holds.

On the 2-core machine this was written on the whole default run (up to 5M
parcels) takes about 6 minutes, 4.5 of them for 5M (generating both studies,
70 s; then the in-memory run and Dask with 1 and 2 workers); ``--max-parcels
1000000`` stops at 1M (about 1.5 minutes). ``--reports K`` also
times the real report notebook for K towns of 40 villages on Dask (1 and 2
workers): the per-report cost of the sizing in ``docs/dask.md``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"
PER_VILLAGE, PER_TOWN = 500, 40

# Peak memory is VmHWM of the measuring process: Linux carries ru_maxrss across exec.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024"

GENERATE = r"""
import json, sys, time
from pathlib import Path
kind, out, towns = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
kw = dict(towns=towns, villages_per_town=%d, parcels_per_village=%d, seed=1)
t = time.perf_counter()
if kind == "single":
    from villagestudy.synth import write_synthetic_study
    write_synthetic_study(out, parcel_format="parquet", **kw)
else:
    from villagestudy.synth.partitioned import write_partitioned_study
    write_partitioned_study(out, **kw)
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": %s}))
""" % (PER_TOWN, PER_VILLAGE, PEAK)

IN_MEMORY = r"""
import json, sys, time
import villagestudy as vs
t0 = time.perf_counter()
study = vs.load_study(sys.argv[1])
t1 = time.perf_counter()
table = vs.compute_indicators(study)
t2 = time.perf_counter()
table.attrs = {}  # the notes (a DataFrame) do not go into parquet metadata
table.to_parquet(sys.argv[2])
print(json.dumps({"rows": len(study.parcels), "load": t1 - t0, "indicators": t2 - t1, "peak_mb": %s}))
""" % PEAK

ON_DASK = r"""
import json, sys, time
import numpy as np, pandas as pd
import villagestudy as vs
from villagestudy.backends.dask import compute_indicators_dask, open_client

def peak():
    return %s

if __name__ == "__main__":
    t0 = time.perf_counter()
    with open_client(workers=int(sys.argv[2])) as client:
        t1 = time.perf_counter()
        base = client.run(peak)
        study = vs.load_study(sys.argv[1])
        t2 = time.perf_counter()
        table = compute_indicators_dask(study, client=client)
        t3 = time.perf_counter()
        workers = client.run(peak)
    ref = pd.read_parquet(sys.argv[3])
    same_index = list(ref.index) == list(table.index)
    num = [c for c in ref.columns if pd.api.types.is_float_dtype(ref[c])]
    a, b = ref[num].to_numpy(float), table[num].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(np.isnan(a) & np.isnan(b), 0.0, np.abs(a - b) / np.maximum(np.abs(a), 1e-300))
    print(json.dumps({"rows": study.summary()["parcels"], "start": t1 - t0, "load": t2 - t1, "indicators": t3 - t2,
                      "peak_mb": peak(), "worker_base_mb": sorted(base.values()),
                      "worker_peak_mb": sorted(workers.values()), "same_index": same_index,
                      "max_rel_diff": float(np.nanmax(rel)) if rel.size else 0.0}))
""" % PEAK

REPORTS = r"""
import json, sys, time
from distributed import LocalCluster
from villagestudy.reports import run_reports

if __name__ == "__main__":
    study, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    t = time.perf_counter()
    batch = run_reports(study, out=out, scheduler=cluster.scheduler_address, progress=False, force=True)
    wall = time.perf_counter() - t
    cluster.close()
    secs = [r.seconds for r in batch.results if r.status == "ok"]
    print(json.dumps({"wall": wall, "ok": len(secs), "failed": len(batch.failed),
                      "per_report": sum(secs) / max(len(secs), 1),
                      "errors": [r.error for r in batch.failed][:3]}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def studies(parcels: int) -> tuple[Path, Path, dict]:
    towns = max(1, round(parcels / (PER_VILLAGE * PER_TOWN)))
    root = WORK / f"dask_{parcels}"
    single, parts = root / "single", root / "parts"
    gen = {}
    if not (single / "villages.csv").exists():
        gen["single"] = run(GENERATE, "single", str(single), str(towns))
    if not (parts / "parcels.parquet").is_dir():
        gen["parts"] = run(GENERATE, "parts", str(parts), str(towns))
    return single, parts, gen


def fmt_mb(values) -> str:
    return " / ".join(f"{v:,.0f}" for v in values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000],
                    help="parcel counts (default 100k 1M 5M, limited by --max-parcels)")
    ap.add_argument("--max-parcels", type=int, default=5_000_000,
                    help="skip sizes above this (default 5M: ~6 min on 2 cores in all; 1M: ~1.5 min)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Dask worker counts (default 1 2)")
    ap.add_argument("--reports", type=int, default=0, metavar="K",
                    help="also time the report notebook for K towns on Dask (default 0: no)")
    ap.add_argument("--keep", action="store_true", help="keep the generated studies under benchmarks/_work")
    args = ap.parse_args()
    sizes = [s for s in args.sizes if s <= args.max_parcels]
    skipped = [s for s in args.sizes if s > args.max_parcels]
    rows = []
    for size in sizes:
        single, parts, gen = studies(size)
        for kind, g in gen.items():
            print(f"generated {size:,} parcels ({'one file' if kind == 'single' else 'partitioned by town'}) in "
                  f"{g['seconds']:.1f} s, peak {g['peak_mb']:,.0f} MB", flush=True)
        ref = single.parent / "in_memory.parquet"
        mem = run(IN_MEMORY, str(single), str(ref))
        rows.append((size, "in memory", "-", mem))
        print(f"  {size:,}: in memory {mem['load'] + mem['indicators']:.1f} s", flush=True)
        for n in args.workers:
            d = run(ON_DASK, str(parts), str(n), str(ref))
            rows.append((size, "dask", n, d))
            print(f"  {size:,}: dask {n} worker(s) {d['load'] + d['indicators']:.1f} s "
                  f"(max rel diff {d['max_rel_diff']:.1e}, same villages {d['same_index']})", flush=True)
        if not args.keep:
            shutil.rmtree(single.parent, ignore_errors=True)
    print()
    print(f"{'parcels':>10s}  {'path':9s} {'workers':>7s} {'load s':>7s} {'ind. s':>7s} {'total s':>8s} "
          f"{'client MB':>10s}  {'worker peak MB (each)':22s} {'worker base MB':14s}")
    totals = {}
    for size, path, n, r in rows:
        total = r["load"] + r["indicators"]
        totals[(r["rows"], n)] = total
        workers = fmt_mb(r.get("worker_peak_mb", [])) or "-"
        base = fmt_mb(r.get("worker_base_mb", [])) or "-"
        print(f"{r['rows']:>10,d}  {path:9s} {str(n):>7s} {r['load']:7.1f} {r['indicators']:7.1f} {total:8.1f} "
              f"{r['peak_mb']:10,.0f}  {workers:22s} {base:14s}")
    print("(dask rows exclude the cluster start-up; client MB is the peak of the process that loads the study)")
    for size, path, n, r in rows:
        if path == "dask" and n == 2 and (r["rows"], 1) in totals:
            print(f"{r['rows']:,} parcels: 2 workers {totals[(r['rows'], 1)] / totals[(r['rows'], 2)]:.2f}x "
                  f"faster than 1 (aim >= 1.6x on 5M)")
    for size, path, n, r in rows:
        if path == "dask" and n == 1:
            print(f"{r['rows']:,} parcels: Dask, 1 worker: {1e6 * r['load'] / r['rows']:.1f} s per million parcels "
                  f"to validate, {1e6 * r['indicators'] / r['rows']:.1f} s per million for the indicators")
    if skipped:
        print(f"skipped sizes above --max-parcels {args.max_parcels:,}: {', '.join(f'{s:,}' for s in skipped)}")
    if args.reports:
        root = WORK / f"dask_reports_{args.reports}"
        if not (root / "villages.csv").exists():
            from villagestudy.synth import write_synthetic_study

            write_synthetic_study(root, towns=args.reports, villages_per_town=PER_TOWN,
                                  parcels_per_village=PER_VILLAGE, seed=1, parcel_format="parquet")
        for n in args.workers:
            r = run(REPORTS, str(root), str(root.parent / f"dask_reports_out_{n}"), str(n))
            print(f"reports: {args.reports} towns of {PER_TOWN} villages x {PER_VILLAGE} parcels on {n} worker(s): "
                  f"{r['wall']:.1f} s wall ({r['ok']} ok, {r['failed']} failed {r['errors']}), "
                  f"{r['per_report']:.1f} s per report (render_town)")


if __name__ == "__main__":
    main()
