"""Write a large synthetic study (about a million parcels by default) for benchmarks.

Usage
-----
    python benchmarks/make_big_study.py OUT [--parcels 1000000] [--format parquet|gpkg] [--seed 1]

Villages get 500 parcels each on average, 40 villages per town; prints the time
taken and the peak memory of the process (``resource.getrusage``).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="study folder to write")
    ap.add_argument("--parcels", type=int, default=1_000_000, help="about this many parcels (default 1,000,000)")
    ap.add_argument("--parcels-per-village", type=int, default=500, help="mean parcels per village (default 500)")
    ap.add_argument("--villages-per-town", type=int, default=40, help="villages per town (default 40)")
    ap.add_argument("--format", choices=["parquet", "gpkg"], default="parquet",
                    help="parcels file format (default parquet)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.parcels < 1 or args.parcels_per_village < 1 or args.villages_per_town < 1:
        ap.error("--parcels, --parcels-per-village and --villages-per-town must be at least 1")

    from villagestudy.synth import write_synthetic_study

    villages = max(1, round(args.parcels / args.parcels_per_village))
    per_town = min(args.villages_per_town, villages)
    towns = max(1, round(villages / per_town))
    t = time.perf_counter()
    out = write_synthetic_study(args.out, towns=towns, villages_per_town=per_town,
                                parcels_per_village=args.parcels_per_village, seed=args.seed,
                                parcel_format=args.format)
    dt = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    size_mb = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    print(f"wrote {out}: {towns} towns x {per_town} villages x ~{args.parcels_per_village} parcels "
          f"({args.format}), {size_mb:.0f} MB on disk")
    print(f"time {dt:.1f} s, peak memory {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
