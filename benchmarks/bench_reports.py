"""Time the batch reports against the floor of papermill + nbconvert on an empty notebook.

Usage
-----
    python benchmarks/bench_reports.py [--towns 50] [--skip-big]

Floor, measured in the same run: papermill executing a notebook whose only cell
imports the package, then the same in-process nbconvert the batch uses. Prints
seconds per report beside the floor (ratio; aim <= 2x), the parallel speed-up
of --jobs 2 over --jobs 1, and HTML sizes per town report (shared plotly.js,
and self-contained against the 2 MB limit).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from villagestudy.reports import run_reports
from villagestudy.reports.batch import DEFAULT_STUDY
from villagestudy.reports.render import install_shared_plotly, notebook_to_html

WORK = Path(__file__).resolve().parent / "_work"


def floor_seconds(repeat: int = 3) -> float:
    """papermill (import-only notebook) + nbconvert to offline HTML, best of ``repeat``."""
    import papermill as pm

    tmp = Path(tempfile.mkdtemp())
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import villagestudy")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp / "empty.ipynb")
    src = install_shared_plotly(tmp)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        pm.execute_notebook(str(tmp / "empty.ipynb"), str(tmp / "out.ipynb"), parameters={"x": 2},
                            kernel_name="python3", progress_bar=False, log_output=False,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
        (tmp / "out.html").write_text(notebook_to_html(tmp / "out.ipynb", "floor", plotly_src=src), encoding="utf-8")
        times.append(time.perf_counter() - t)
    shutil.rmtree(tmp, ignore_errors=True)
    return min(times)


def batch(study: Path, out: Path, jobs: int, inline: bool = False) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    result = run_reports(study, out=out, jobs=jobs, force=True, progress=False, shared_assets=not inline)
    dt = time.perf_counter() - t
    if not result.ok:
        raise SystemExit(f"reports failed: {[r.error for r in result.failed]}")
    return dt, len(result.results)


def html_sizes(out: Path) -> list[int]:
    return [p.stat().st_size for p in out.glob("town_*.html")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--towns", type=int, default=50, help="towns of the generated study (default 50)")
    ap.add_argument("--skip-big", action="store_true", help="only the sample study")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    floor = floor_seconds()
    print(f"floor (papermill import-only notebook + nbconvert): {floor:.2f} s per report; {cores} cores")
    studies = [("sample", Path(DEFAULT_STUDY))]
    if not args.skip_big:
        from villagestudy.synth import write_synthetic_study

        big = WORK / f"reports_{args.towns}_towns"
        if not (big / "villages.csv").exists():
            write_synthetic_study(big, towns=args.towns, villages_per_town=(8, 15), parcels_per_village=60, seed=7)
        studies.append((f"{args.towns} generated towns", big))
    print(f"{'study':22s}{'towns':>6s}{'jobs':>5s}{'total s':>9s}{'s/report':>9s}{'x floor':>8s}{'speed-up':>9s}")
    for name, study in studies:
        out = WORK / "reports_out"
        t1, n = batch(study, out, jobs=1)
        print(f"{name:22s}{n:6d}{1:5d}{t1:9.1f}{t1 / n:9.2f}{t1 / n / floor:8.2f}{'':>9s}")
        t2, n = batch(study, out, jobs=cores)
        print(f"{name:22s}{n:6d}{cores:5d}{t2:9.1f}{t2 / n:9.2f}{t2 / n / floor:8.2f}{t1 / t2:9.2f}")
        sizes = html_sizes(out)
        print(f"  HTML per town (shared plotly.js): median {statistics.median(sizes) / 1e6:.2f} MB, "
              f"max {max(sizes) / 1e6:.2f} MB; plotly.js {(out / 'assets' / 'plotly-cartesian.min.js').stat().st_size / 1e6:.2f} MB once")
    report_sizes(cores)


#: the most a self-contained town report may weigh (it travels by e-mail and WeChat)
MAX_REPORT_MB = 2.0


def report_sizes(jobs: int) -> None:
    """Print every sample report's size, self-contained (the default), against the 2 MB limit."""
    out = WORK / "reports_inline"
    batch(Path(DEFAULT_STUDY), out, jobs=jobs, inline=True)
    print(f"sample reports, self-contained (plotly.js inlined), limit {MAX_REPORT_MB:.1f} MB:")
    for page in sorted(out.glob("town_*.html")):
        mb = page.stat().st_size / 1e6
        print(f"  {page.name:28s}{mb:6.2f} MB  {mb / MAX_REPORT_MB:5.0%} of the limit")


if __name__ == "__main__":
    main()
