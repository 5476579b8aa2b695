"""Time the batch reports against the floor of papermill + nbconvert on an import-only notebook.

Usage
-----
    python benchmarks/bench_reports.py [--towns 20] [--repeat 3] [--fresh] [--sample]

Floor, measured in the same run: papermill executing a notebook whose only cell
imports the package (a new kernel, as papermill does by default), then the same
in-process nbconvert the batch uses. Then ``villagestudy reports`` (the command, as
a user runs it) on ``--towns`` generated towns (``villagestudy synth``, small
villages) with the warm engine: seconds per report amortised over the whole run
(the command's start-up, the study's load, the first town and kernel start included),
with ``--jobs 1`` and ``--jobs 2``, their ratio to the floor (aim: at most 0.5
with one job) and the speed-up of two jobs over one (aim: at least 1.8). CPU
seconds (this process and all its finished children: workers, kernels) are
printed too: unlike wall time they hardly move when other work loads the machine.
The command's own "Time:" line splits each run into the towns and the serial part
before and after them (start-up, study load, study-wide results, index): the
speed-up of the towns alone is printed beside the whole run's. Each round also
prints the most its CPU seconds allow: two jobs cannot finish before their CPU
seconds spread over the cores, and one job already keeps more than one core busy
(its kernel starts while the command loads the study), so that bound is below 2.
``--fresh`` adds the same batch with a new kernel per town, for comparison;
``--sample`` adds HTML sizes of the bundled sample's reports: shared plotly.js, and
self-contained against the 2 MB limit. ``--repeat N`` runs each batch N times (in rounds of
one job then two) and keeps the least wall and CPU seconds, as the floor keeps the best of 3:
on a shared machine other work only ever adds time.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from villagestudy.reports.batch import DEFAULT_STUDY
from villagestudy.reports.render import install_shared_plotly, notebook_to_html

WORK = Path(__file__).resolve().parent / "_work"


def floor_seconds(repeat: int = 3) -> tuple[float, float]:
    """papermill (import-only notebook, new kernel) + nbconvert to offline HTML: best wall and CPU seconds of ``repeat``."""
    import papermill as pm

    tmp = Path(tempfile.mkdtemp())
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import villagestudy")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp / "empty.ipynb")
    src = install_shared_plotly(tmp)
    times, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), cpu_seconds()
        pm.execute_notebook(str(tmp / "empty.ipynb"), str(tmp / "out.ipynb"), parameters={"x": 2},
                            kernel_name="python3", progress_bar=False, log_output=False,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
        (tmp / "out.html").write_text(notebook_to_html(tmp / "out.ipynb", "floor", plotly_src=src), encoding="utf-8")
        times.append(time.perf_counter() - t)
        cpus.append(cpu_seconds() - c)
    shutil.rmtree(tmp, ignore_errors=True)
    return min(times), min(cpus)


def cpu_seconds() -> float:
    """CPU time of this process and of every finished child (workers and their kernels), user + system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def stolen_seconds() -> float:
    """CPU seconds the host gave to other machines while this one wanted them (Linux "steal", all CPUs; 0 elsewhere).

    On a virtual machine other tenants take CPU time from it: a run with much
    of it is slowed by them, not by the code.
    """
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def batch(study: Path, out: Path, jobs: int, inline: bool = False,
          engine: str = "warm") -> tuple[float, float, int, dict]:
    """Wall and CPU seconds of ``villagestudy reports`` as a user runs it, the number of reports, and its steps.

    The command's whole run: its start-up, the study's load, the study-wide context and every town.
    The steps are the seconds the command itself prints (its "Time:" line): ``context``, ``towns``.
    """
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "villagestudy", "reports", str(study), "--out", str(out), "--jobs", str(jobs),
           "--force", "--quiet", "--engine", engine, "--inline-plotly" if inline else "--shared-assets"]
    t, c, s = time.perf_counter(), cpu_seconds(), stolen_seconds()
    done = subprocess.run(cmd, capture_output=True, text=True)
    dt, dc = time.perf_counter() - t, cpu_seconds() - c
    if done.returncode != 0:
        raise SystemExit(f"reports failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return dt, dc, len(html_sizes(out)), {**command_steps(done.stdout), "stolen": stolen_seconds() - s}


def command_steps(output: str) -> dict:
    """The seconds of the study-wide results and of the towns, from the command's "Time:" line."""
    found = re.search(r"study-wide results ([\d.]+) s, \d+ town\(s\) ([\d.]+) s", output)
    if not found:
        raise SystemExit(f"no Time: line in the command's output:\n{output[-2000:]}")
    return {"context": float(found.group(1)), "towns": float(found.group(2))}


def best(runs: list[tuple]) -> tuple[float, float, int, dict]:
    """The least wall and the least CPU seconds of repeated runs (other work on the machine only adds),
    and the steps of the run with the least wall seconds."""
    fastest = min(runs, key=lambda r: r[0])
    return fastest[0], min(r[1] for r in runs), runs[0][2], fastest[3]


def capacity_lines(one: list[tuple], two: list[tuple], cores: int) -> str:
    """Each round's speed-up beside the most its CPU seconds allow on ``cores`` cores.

    Two jobs cannot finish faster than their CPU seconds spread over the cores
    they may use: speed-up <= min(2, cores) x wall(one job) / CPU(two jobs).
    One job already keeps more than one core busy (its kernel starts and imports
    while the command loads the study), so this bound is below 2.

    >>> print(capacity_lines([(20.0, 24.0, 20, {})], [(13.0, 26.0, 20, {})], cores=2))
      round 1: speed-up 1.54; at most 1.54 from the CPU seconds (2 cores x 20.0 s / 26.0 CPU s); one job kept 1.20 cores busy
    """
    lines = []
    for i, (r1, r2) in enumerate(zip(one, two), start=1):
        usable = min(2, cores)
        lines.append(f"  round {i}: speed-up {r1[0] / r2[0]:.2f}; at most {usable * r1[0] / r2[1]:.2f} from the CPU "
                     f"seconds ({usable} cores x {r1[0]:.1f} s / {r2[1]:.1f} CPU s); one job kept "
                     f"{r1[1] / r1[0]:.2f} cores busy")
    return "\n".join(lines)


def html_sizes(out: Path) -> list[int]:
    return [p.stat().st_size for p in out.glob("town_*.html")]


def generated_study(towns: int) -> Path:
    """``villagestudy synth`` with small villages (deterministic: made once, then reused)."""
    study = WORK / f"reports_{towns}_towns"
    if not (study / "villages.csv").exists():
        shutil.rmtree(study, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "villagestudy", "synth", str(study), "--towns", str(towns),
                        "--villages-per-town", "10", "--parcels-per-village", "40", "--seed", "7"],
                       check=True, stdout=subprocess.DEVNULL)
    return study


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--towns", type=int, default=20, help="towns of the generated study (default 20)")
    ap.add_argument("--fresh", action="store_true", help="also time the batch with a new kernel per town")
    ap.add_argument("--sample", action="store_true", help="also print HTML sizes of the sample's reports")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each batch this many times, in rounds, and keep the best, as the floor keeps "
                         "the best of 3 (default 1)")
    args = ap.parse_args()
    study = generated_study(args.towns)
    load = os.getloadavg()[0]
    floor, floor_cpu = floor_seconds()
    print(f"floor (papermill import-only notebook + nbconvert): {floor:.2f} s per report ({floor_cpu:.2f} CPU s); "
          f"{os.cpu_count()} cores, load average {load:.1f} at start")
    print(f"{'engine':8s}{'towns':>6s}{'jobs':>5s}{'total s':>9s}{'s/report':>9s}{'x floor':>8s}{'speed-up':>9s}"
          f"{'CPU s/report':>13s}{'x floor CPU':>12s}")
    out = WORK / "reports_out"
    for engine in ("warm", "fresh") if args.fresh else ("warm",):
        runs: dict[int, list] = {1: [], 2: []}
        for _ in range(max(1, args.repeat)):  # in rounds, so that a busy spell slows both alike
            for jobs in (1, 2):
                runs[jobs].append(batch(study, out, jobs=jobs, engine=engine))
        (t1, c1, n, s1), (t2, c2, _, s2) = (best(runs[1]), best(runs[2]))
        print(f"{engine:8s}{n:6d}{1:5d}{t1:9.1f}{t1 / n:9.2f}{t1 / n / floor:8.2f}{'':>9s}"
              f"{c1 / n:13.2f}{c1 / n / floor_cpu:12.2f}")
        print(f"{engine:8s}{n:6d}{2:5d}{t2:9.1f}{t2 / n:9.2f}{t2 / n / floor:8.2f}{t1 / t2:9.2f}"
              f"{c2 / n:13.2f}{c2 / n / floor_cpu:12.2f}")
        for jobs, steps, total in ((1, s1, t1), (2, s2, t2)):
            print(f"  --jobs {jobs}, the command's steps: {total - steps['towns']:.1f} s before and after the towns "
                  f"(of which study-wide results {steps['context']:.1f} s), towns {steps['towns']:.1f} s")
        print(f"  speed-up of the towns alone (two jobs over one): {s1['towns'] / s2['towns']:.2f}; the part "
              f"before and after the towns is serial: it bounds the whole run's speed-up (Amdahl)")
        print(capacity_lines(runs[1], runs[2], os.cpu_count() or 1))
        if args.repeat > 1:
            for jobs in (1, 2):
                print(f"  all runs, {engine} --jobs {jobs}: " + ", ".join(
                    f"{t:.1f} s ({c:.1f} CPU s, {steps['stolen']:.1f} s taken by the host)"
                    for t, c, _, steps in runs[jobs]))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes on the machine slow every line alike)")
    if args.sample:
        shared = WORK / "reports_sample_shared"
        batch(Path(DEFAULT_STUDY), shared, jobs=2)
        sizes = html_sizes(shared)
        print(f"sample, shared plotly.js: HTML per town median {statistics.median(sizes) / 1e6:.2f} MB, "
              f"max {max(sizes) / 1e6:.2f} MB; plotly.js "
              f"{(shared / 'assets' / 'plotly-cartesian.min.js').stat().st_size / 1e6:.2f} MB once")
        report_sizes(2)


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
