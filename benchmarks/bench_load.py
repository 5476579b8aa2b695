"""Time `load_study` on a large generated study against the floor of reading the parcels file.

Usage
-----
    python benchmarks/bench_load.py [--parcels 1000000] [--study PATH] [--format gpkg|parquet]

Each measurement runs in a fresh process so that its peak memory (VmHWM)
is its own. The floor is reading the same parcels file with no validation
(pyogrio for GeoPackage, geopandas/pyarrow for GeoParquet). Prints the time
and peak memory of both and their ratio. Aim: within 2x of the floor, under 4 GB.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"

# Peak memory is VmHWM of the measuring process: Linux carries ru_maxrss across exec, so a child
# started by a large parent would report the parent's peak.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024"

FLOOR = r"""
import json, resource, sys, time
from pathlib import Path
path = Path(sys.argv[1])
t = time.perf_counter()
if path.suffix == ".gpkg":
    import pyogrio
    df = pyogrio.read_dataframe(path, layer="parcels", use_arrow=True)
else:
    import geopandas as gpd
    df = gpd.read_parquet(path)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "rows": len(df), "peak_mb": PEAK_EXPR}))
"""

LOAD = r"""
import json, resource, sys, time
import villagestudy as vs
t = time.perf_counter()
study = vs.load_study(sys.argv[1])
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "rows": len(study.parcels), "peak_mb": PEAK_EXPR}))
"""

BASELINE = r"""
import json, resource
import villagestudy, geopandas, pyogrio, pandera  # the imports both sides pay
print(json.dumps({"peak_mb": PEAK_EXPR}))
"""


def run(code: str, *args: str) -> dict:
    code = code.replace("PEAK_EXPR", PEAK)
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--study", type=Path, help="an existing study folder (default: generate one)")
    ap.add_argument("--format", choices=["gpkg", "parquet"], default="gpkg")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    study = args.study
    if study is None:
        from villagestudy.synth import write_synthetic_study

        study = WORK / f"load_{args.parcels}_{args.format}"
        if not (study / "villages.csv").exists():
            villages = max(1, args.parcels // 500)
            towns = max(1, villages // 40)
            t = time.perf_counter()
            write_synthetic_study(study, towns=towns, villages_per_town=max(1, villages // towns),
                                  parcels_per_village=500, seed=1, parcel_format=args.format)
            print(f"generated {study} in {time.perf_counter() - t:.1f} s")
    parcels = next(p for p in (study / "parcels.gpkg", study / "parcels.parquet") if p.exists())
    base = run(BASELINE)
    floors = [run(FLOOR, str(parcels)) for _ in range(args.repeat)]
    loads = [run(LOAD, str(study)) for _ in range(args.repeat)]
    floor = min(floors, key=lambda r: r["seconds"])
    load = min(loads, key=lambda r: r["seconds"])
    print(f"parcels: {load['rows']:,} ({parcels.name}); best of {args.repeat} runs each; "
          f"process baseline after imports {base['peak_mb']:.0f} MB")
    print(f"{'':28s}{'seconds':>10s}{'peak MB':>10s}")
    print(f"{'floor (read parcels only)':28s}{floor['seconds']:10.2f}{floor['peak_mb']:10.0f}")
    print(f"{'load_study (all tables)':28s}{load['seconds']:10.2f}{load['peak_mb']:10.0f}")
    print(f"ratio time {load['seconds'] / floor['seconds']:.2f}x (aim <= 2x), "
          f"memory {load['peak_mb'] / floor['peak_mb']:.2f}x; peak {load['peak_mb'] / 1024:.2f} GB (aim < 4 GB)")


if __name__ == "__main__":
    main()
