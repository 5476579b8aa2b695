"""Time the land indicators on a million parcels against two floors measured in the same run.

Usage
-----
    python benchmarks/bench_land.py [--parcels 1000000] [--per-village 2000] [--tolerance 1.0]
                                    [--study PATH | --synth] [--no-rotated]

Parcels are generated in this script (vectorised ``shapely.box``): villages are
tiles of a grid of rectangular parcels of 15-45 m sides; each parcel's right and
top edges touch their neighbour (25 %), leave a 0.5 m gap (20 %, within the
1 m tolerance) or a 3 m gap (55 %); adjacent village tiles touch, so pairs
across villages must be dropped; 15 % of parcels are not farmland; households
hold about 4 scattered parcels; owners (economic societies) are row bands with
10 % mixing. ``--study PATH`` loads a study folder instead; ``--synth`` writes
one with ``villagestudy.synth.write_synthetic_study`` (under
``benchmarks/_work``, git-ignored) and loads it.

Everything runs on the same geometries in one process:

floor (a)  ``shapely.area`` + ``shapely.length`` of every parcel + one pandas
           groupby (sum of area_mu by village_id). Best of 3 runs, like the
           non-block step it is compared with (both are cheap; the first run
           pays one-off warm-up costs, printed too).
floor (b)  one bare ``STRtree`` build + self-query of the farmland geometries
           with ``predicate="dwithin", distance=tolerance``, and with
           ``predicate="intersects"`` (the tolerance-0 predicate).
non-block  every land indicator that needs no blocks (counts, areas,
           household Simpson/Januszewski, shape index), through the same code
           as ``land_indicators``.
blocks     ``find_blocks`` (pairs, exact test, connected components, labels),
           with the default ``method="auto"`` and with ``"envelope"`` (no
           rectangle shortcut: what any non-rectangular parcel costs).
           Blocks and floor (b) are timed once each.
all        ``land_indicators(study)``: the 11 indicators.

Then, unless ``--no-rotated``, the same parcels rotated by 30 degrees (no
parcel is an axis-aligned rectangle any more, envelopes grow) repeat
``find_blocks`` and floor (b).

Times are wall-clock (``time.perf_counter``); "cpu" is the process CPU time
(``time.process_time``), less sensitive to other jobs on the machine; ratios
are printed for both.

Peak memory: the peak resident set size of each step, read with
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after resetting the kernel's
high-water mark (``echo 5 > /proc/self/clear_refs``) at the start of the step;
"+MB" is that peak minus the resident size when the step started. The run's
overall peak is the largest of them.

Aims: non-block within 3x of floor (a); blocks within 1.5x of floor (b);
peak memory under 6 GB.
"""
from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from villagestudy import Study
from villagestudy.metrics import Notes
from villagestudy.metrics import land
from villagestudy.metrics.blocks import find_blocks
from villagestudy.settings import M2_PER_MU

_PEAKS: list[float] = []
WORK = Path(__file__).resolve().parent / "_work"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(label: str, fn, *args, repeat: int = 1, **kw):
    """Run fn ``repeat`` times; print the best times and the peak memory.

    Returns (result, best wall seconds, best CPU seconds).
    """
    times, cpus = [], []
    gc.collect()
    _reset_peak()
    start = _rss_mb()
    for _ in range(repeat):
        out = None
        gc.collect()
        c = time.process_time()
        t = time.perf_counter()
        out = fn(*args, **kw)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    dt = min(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _PEAKS.append(peak)
    runs = f"  best of {repeat}, first {times[0]:.3f} s" if repeat > 1 else ""
    print(f"  {label:<46s} {dt:8.3f} s  cpu {min(cpus):7.3f} s  peak {peak:6.0f} MB (+{max(peak - start, 0):5.0f} MB)"
          f"{runs}", flush=True)
    return out, dt, min(cpus)


def ratio(label: str, num: tuple[float, float], den: tuple[float, float], aim: str = "") -> None:
    """Print num/den for wall-clock and CPU times."""
    print(f"  ratio {label:<44s} = {num[0] / den[0]:5.2f} wall, {num[1] / den[1]:5.2f} cpu   {aim}")


# ------------------------------------------------------------------ data
def generate(n_parcels: int, per_village: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    cx = int(round(np.sqrt(per_village)))
    cy = max(1, per_village // cx)
    per = cx * cy
    nv = max(1, -(-n_parcels // per))
    nvx = int(np.ceil(np.sqrt(nv)))
    widths = rng.uniform(15, 45, cx)
    heights = rng.uniform(15, 45, cy)
    xs = np.concatenate([[0], np.cumsum(widths)])
    ys = np.concatenate([[0], np.cumsum(heights)])
    tile_w, tile_h = xs[-1], ys[-1]
    k = np.arange(nv * per)[:n_parcels]
    v, r = np.divmod(k, per)
    iy, ix = np.divmod(r, cx)
    vx, vy = v % nvx, v // nvx
    x0 = 500_000.0 + vx * tile_w + xs[ix]
    y0 = 2_500_000.0 + vy * tile_h + ys[iy]
    gaps = np.array([0.0, 0.5, 3.0])
    p = [0.25, 0.20, 0.55]
    gx = gaps[rng.choice(3, len(k), p=p)]
    gy = gaps[rng.choice(3, len(k), p=p)]
    gc.disable()  # shapely geometries are tracked by the collector: creating 1e6 of them is 3x slower with it
    geoms = shapely.box(x0, y0, x0 + widths[ix] - gx, y0 + heights[iy] - gy)
    gc.enable()
    vid = pd.Series(v).map("44060500{:04d}".format).to_numpy(dtype=object)
    uses = np.array(["arable", "garden", "forest", "construction"], dtype=object)[
        rng.choice(4, len(k), p=[0.85, 0.05, 0.05, 0.05])]
    hh = rng.integers(0, max(1, per // 4), len(k))
    household = vid + pd.Series(hh).map("H{:04d}".format).to_numpy(dtype=object)
    band = (iy * 8) // cy
    band = np.where(rng.random(len(k)) < 0.1, rng.integers(0, 8, len(k)), band)
    owner = vid + pd.Series(band).map("-S{}".format).to_numpy(dtype=object)
    frame = gpd.GeoDataFrame({
        "parcel_id": pd.Series(k).map("P{:08d}".format).astype("str"),
        "village_id": pd.array(vid, dtype="str"),
        "land_use": pd.array(uses, dtype="str"),
        "household_id": pd.array(household, dtype="str"),
        "owner_id": pd.array(owner, dtype="str"),
        "area_mu": shapely.area(geoms) / M2_PER_MU,
    }, geometry=geoms, crs="EPSG:4547")
    return frame


def study_of(parcels: gpd.GeoDataFrame, tolerance: float) -> Study:
    ids = pd.unique(parcels["village_id"])
    villages = pd.DataFrame({"village_id": ids, "village_name": ids, "town_id": "t1"})
    return Study.from_frames(villages=villages, parcels=parcels, settings={"block_tolerance_m": tolerance})


# ------------------------------------------------------------- measures
def floor_a(parcels):
    g = parcels.geometry.values._data if hasattr(parcels.geometry.values, "_data") else np.asarray(parcels.geometry.values)
    a = shapely.area(g)
    length = shapely.length(g)
    s = parcels.groupby("village_id", sort=False)["area_mu"].sum()
    return a, length, s


def floor_b(geoms, tolerance, predicate):
    tree = shapely.STRtree(geoms)
    if predicate == "dwithin":
        return tree.query(geoms, predicate="dwithin", distance=tolerance)
    return tree.query(geoms, predicate=predicate)


def non_block(parcels, uses):
    prep = land._prepare(parcels, uses)
    notes = Notes()
    return [land._parcel_count(prep, notes), land._farmland_area(prep, notes), land._mean_area(prep, notes),
            land._parcels_per_household(prep, notes), prep.household_mean("simpson", notes, "simpson_index"),
            prep.household_mean("januszewski", notes, "januszewski_index"), land._shape(prep, notes)]


def run_blocks_and_floor_b(parcels, uses, tolerance, tag):
    farm = parcels["land_use"].isin(list(uses)).to_numpy() & (parcels["area_mu"].to_numpy() > 0)
    geoms = np.asarray(parcels.geometry.values, dtype=object)[farm]
    print(f"[{tag}] {farm.sum():,} farmland geometries")
    pairs_d, *t_bd = measure("floor (b) STRtree build+query dwithin", floor_b, geoms, tolerance, "dwithin")
    n_d = pairs_d.shape[1]
    del pairs_d
    pairs_i, *t_bi = measure("floor (b) STRtree build+query intersects", floor_b, geoms, tolerance, "intersects")
    n_i = pairs_i.shape[1]
    del pairs_i
    print(f"  (dwithin self-query: {n_d:,} pairs incl. self and both directions; intersects: {n_i:,})")
    blocks_auto, *t_auto = measure("find_blocks method='auto'", find_blocks, parcels, tolerance, uses)
    blocks_env, *t_env = measure("find_blocks method='envelope'", find_blocks, parcels, tolerance, uses,
                                 method="envelope")
    assert blocks_auto.equals(blocks_env)
    k = int(blocks_auto.max()) + 1
    print(f"  {k:,} blocks; same labels with both methods")
    for name, t in (("auto", t_auto), ("envelope", t_env)):
        ratio(f"find_blocks[{name}] / floor (b) dwithin", t, t_bd, "(aim <= 1.5)")
        ratio(f"find_blocks[{name}] / floor (b) intersects", t, t_bi)
    return blocks_auto


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--per-village", type=int, default=2000)
    ap.add_argument("--tolerance", type=float, default=None, help="default: the study's block_tolerance_m (1 m)")
    ap.add_argument("--study", type=Path, help="an existing study folder (default: generate parcels here)")
    ap.add_argument("--synth", action="store_true",
                    help="write (once, under benchmarks/_work) and load a study made by "
                         "villagestudy.synth.write_synthetic_study instead of the in-script boxes")
    ap.add_argument("--no-rotated", action="store_true", help="skip the rotated (non-rectangle) repeat")
    args = ap.parse_args()

    print(f"python {sys.version.split()[0]}, shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), "
          f"pandas {pd.__version__}, numpy {np.__version__}")
    print("peak memory: ru_maxrss after resetting the high-water mark via /proc/self/clear_refs at each step"
          if _reset_peak() else "peak memory: ru_maxrss (cumulative: clear_refs unavailable)")
    if args.synth and not args.study:
        from villagestudy.synth import write_synthetic_study

        args.study = WORK / f"land_{args.parcels}"
        if not (args.study / "villages.csv").exists():
            villages = max(1, args.parcels // args.per_village)
            towns = max(1, villages // 40)
            measure("write_synthetic_study", write_synthetic_study, args.study, towns=towns,
                    villages_per_town=max(1, villages // towns), parcels_per_village=args.per_village, seed=1,
                    parcel_format="parquet")
    if args.study:
        from villagestudy import load_study

        study, *_ = measure("load_study", load_study, args.study)
        if args.tolerance is not None:
            study = study.with_settings(block_tolerance_m=args.tolerance)
    else:
        parcels, *_ = measure(f"generate {args.parcels:,} parcels", generate, args.parcels, args.per_village)
        study = study_of(parcels, 1.0 if args.tolerance is None else args.tolerance)
    parcels = study.parcels
    uses = study.settings.farmland_uses
    tol = study.settings.block_tolerance_m
    print(f"{len(parcels):,} parcels, {parcels['village_id'].nunique():,} villages, "
          f"tolerance {tol} m, farmland uses {list(uses)}")

    print("\n[table] non-block indicators vs floor (a)")
    _, *t_a = measure("floor (a) area + length + groupby", floor_a, parcels, repeat=3)
    _, *t_nb = measure("non-block indicators (7 incl. shape_index_am)", non_block, parcels, uses, repeat=3)
    ratio("non-block / floor (a)", t_nb, t_a, "(aim <= 3)")

    print()
    blocks = run_blocks_and_floor_b(parcels, uses, tol, "blocks")

    print("\n[all] land_indicators(study)")
    table, *_ = measure("land_indicators (11 indicators)", land.land_indicators, study)
    print(f"  {len(table):,} villages; medians: "
          + ", ".join(f"{c}={table[c].median():.3g}" for c in table.columns))

    if not args.no_rotated:
        print("\n[rotated 30 degrees: no axis-aligned rectangles]")
        c = np.cos(np.radians(30.0))
        s = np.sin(np.radians(30.0))
        ox, oy = 500_000.0, 2_500_000.0

        def rotate(xy):
            x, y = xy[:, 0] - ox, xy[:, 1] - oy
            return np.column_stack([ox + c * x - s * y, oy + s * x + c * y])

        gc.disable()
        geoms = shapely.transform(np.asarray(parcels.geometry.values, dtype=object), rotate)
        gc.enable()
        rotated = parcels.set_geometry(gpd.GeoSeries(geoms, index=parcels.index, crs=parcels.crs))
        del geoms
        blocks_r = run_blocks_and_floor_b(rotated, uses, tol, "rotated")
        same = blocks_r.equals(blocks)
        print(f"  same blocks as unrotated: {same}")

    print(f"\noverall peak memory (max over steps): {max(_PEAKS) / 1024:.2f} GB   (aim < 6 GB)")


if __name__ == "__main__":
    main()
