"""What a province batch costs: the serial part and the cost of a town at province scale.

Usage
-----
    python benchmarks/bench_province.py [--towns 1300] [--villages 10-20] [--towns-made 3]

Generates (once, then reused) a synthetic province: ``--towns`` towns of
``--villages`` villages (``villagestudy synth``, 5 parcels a village: the parcels
are not what a province batch is short of), then runs ``villagestudy reports``
as a user does for a few towns (``--town`` each, one job, ``--force``) and
prints, from the command's own lines:

* the serial part every batch pays once, whatever its number of jobs: start-up
  and the study's load, and the study-wide results (indicators, index with
  its Monte Carlo, spatial statistics, regression);
* each town's seconds: the first includes its kernel loading the study-wide
  context, the next ones are what every other town of that kernel costs;
* the peak memory of the command (not of its kernel);
* the floor measured in the same run (papermill on a notebook that only
  imports the package, then nbconvert: ``bench_reports.floor_seconds``) and a
  town's ratio to it;
* from these, what the whole province costs on 16 cores and on 64 (serial
  part + one context load per kernel + towns x seconds a town / jobs), against
  the same with the serial part left out.
"""
from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_reports import WORK, floor_seconds


def province_study(towns: int, villages: str) -> Path:
    """``villagestudy synth`` of a province (deterministic: made once, then reused)."""
    study = WORK / f"province_{towns}_towns_{villages}"
    if not (study / "villages.csv").exists():
        shutil.rmtree(study, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "villagestudy", "synth", str(study), "--towns", str(towns),
                        "--villages-per-town", villages, "--parcels-per-village", "5", "--seed", "3",
                        "--parcel-format", "parquet"], check=True, stdout=subprocess.DEVNULL)
        print(f"generated {study.name} in {time.perf_counter() - t:.0f} s")
    return study


def town_ids(study: Path, count: int) -> list[str]:
    lines = (study / "towns.csv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split(",")[0] for line in lines[:count]]


def run(study: Path, towns: list[str]) -> tuple[float, dict, list[float], float]:
    """Wall seconds, the command's steps, each town's seconds and the command's peak memory (GB)."""
    out = WORK / "province_out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "villagestudy", "reports", str(study), "--out", str(out), "--jobs", "1",
           "--force", "--shared-assets"] + [a for t in towns for a in ("--town", t)]
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"reports failed ({done.returncode}):\n{done.stderr[-3000:]}")
    steps = re.search(r"study-wide results ([\d.]+) s, \d+ town\(s\) ([\d.]+) s.*the rest \(.*?\) ([\d.]+) s",
                      done.stdout)
    if not steps:
        raise SystemExit(f"no Time: line in the command's output:\n{done.stdout[-2000:]}")
    each = [float(s) for s in re.findall(r"^\s+ok\s+\S+\s.*\(([\d.]+) s\)\s*$", done.stdout, flags=re.M)]
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6  # KB on Linux
    return wall, {"context": float(steps.group(1)), "towns": float(steps.group(2)),
                  "rest": float(steps.group(3))}, each, peak_gb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--towns", type=int, default=1300, help="towns of the province (default 1,300)")
    ap.add_argument("--villages", default="10-20", help="villages per town, N or MIN-MAX (default 10-20)")
    ap.add_argument("--towns-made", type=int, default=3, help="towns whose reports are made (default 3)")
    args = ap.parse_args()
    study = province_study(args.towns, args.villages)
    villages = len((study / "villages.csv").read_text(encoding="utf-8").splitlines()) - 1
    floor, _ = floor_seconds()
    wall, steps, each, peak = run(study, town_ids(study, max(2, args.towns_made)))
    serial = steps["rest"] + steps["context"]
    warm = statistics.median(each[1:])
    context_load = each[0] - warm
    print(f"province: {args.towns:,} towns, {villages:,} villages; floor (papermill import-only notebook + "
          f"nbconvert) {floor:.2f} s")
    print(f"serial part: {serial:.1f} s = start-up and study load {steps['rest']:.1f} s + study-wide results "
          f"{steps['context']:.1f} s; peak memory of the command {peak:.2f} GB")
    print(f"towns: first {each[0]:.2f} s (its kernel loads the context: about {context_load:.1f} s), then "
          f"{', '.join(f'{s:.2f}' for s in each[1:])} s: {warm:.2f} s a town, {warm / floor:.2f}x the floor")
    for jobs in (16, 64):
        towns_s = args.towns * warm / jobs + context_load
        total = serial + towns_s
        print(f"  {jobs} jobs: about {total:.0f} s for the province ({serial:.0f} s serial + {towns_s:.0f} s of "
              f"towns); the serial part is {serial / total:.0%} of it")
    print(f"(this run: {wall:.1f} s wall for {len(each)} towns)")


if __name__ == "__main__":
    main()
