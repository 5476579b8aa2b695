"""Benchmark of the consultation server: time from opening the page to the first chart drawn.

Measured in one run, in headless chromium (Playwright, /usr/bin/chromium), for:

* ``villagestudy consult`` (the bounded, preheated pool: the notebook already
  run in a waiting kernel) - the first load after the pool is ready, then
  ``--loads`` more loads, each after the previous page was left and its
  replacement kernel warmed;
* the floor: a bare Voilà (plain ``voila``, no preheat) serving a notebook of
  one cell that draws one plotly figure (the same extension, the same
  browser), loaded the same number of times.

It prints, per server, the median and maximum seconds from ``page.goto`` to
the first visible ``.js-plotly-plot``, and the ratio of the consultation app
to the floor. The app's first chart is its first view (the ranking and map of
the preheated kernel's Comparison, in the page as served and drawn with the
package's plotly.js, :mod:`villagestudy.consult.first_view`); the last column
is the median time until the live panel (the widgets, connected to the kernel)
has drawn its own map and replaced the first view. For the floor both are its
one chart. Nothing is asserted: timings depend on the machine and its load
(the load average is printed).

Run: ``python benchmarks/bench_consult_start.py [--loads 5]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "src" / "villagestudy" / "datasets" / "sample"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
CHART = ".js-plotly-plot .main-svg"
LIVE = ".vs-consult:not(.vs-first-view) .vs-map .js-plotly-plot .main-svg"


def _bare_notebook(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import plotly.graph_objects as go\n"
                                          "go.Figure(go.Bar(x=['a', 'b', 'c'], y=[1, 3, 2]))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "bare.ipynb"
    nbformat.write(nb, path)
    return path


def _start(cmd: list[str], ready: str, cwd: Path | None = None) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + 180
    while not any(ready in line for line in list(lines)):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("server did not start:\n" + "".join(lines))
        time.sleep(0.2)
    return proc, lines


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_warm(lines: list[str], count: int, timeout: float = 180) -> None:
    """Wait until the pool has been filled ``count`` times and the kernel has had time to run the notebook."""
    deadline = time.monotonic() + timeout
    while sum("filled" in line for line in list(lines)) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def _loads(browser, url: str, n: int, between=None, live: str | None = None) -> tuple[list[float], list[float]]:
    """Seconds to the first chart and to the live one (``live``: its selector; None: the first chart is live)."""
    times, live_times = [], []
    for k in range(n):
        if between is not None:
            between(k)
        page = browser.new_page()
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=300_000)
        page.wait_for_selector(CHART, timeout=300_000)
        times.append(time.perf_counter() - t0)
        if live is not None:
            page.wait_for_selector(live, timeout=300_000)
        live_times.append(time.perf_counter() - t0)
        page.goto("about:blank")  # leave as a person does: the page's kernel is freed
        page.close()
    return times, live_times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--loads", type=int, default=5, help="page loads per server (default 5)")
    p.add_argument("--warm", type=float, default=30.0,
                   help="seconds given to a refilled pool kernel to run the notebook (default 30)")
    args = p.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from villagestudy.consult.serve import free_port

    print("load average (1, 5, 15 min) at the start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            port = free_port()
            bare = _bare_notebook(Path(tmp))
            proc, _ = _start([sys.executable, "-m", "voila", str(bare), "--no-browser", f"--port={port}",
                              "--Voila.ip=127.0.0.1"], "Voilà is running at", cwd=Path(tmp))
            try:
                rows.append(("bare Voilà, one plotly cell", _loads(browser, f"http://127.0.0.1:{port}/", args.loads)))
            finally:
                _stop(proc)

            port = free_port()
            proc, lines = _start([sys.executable, "-m", "villagestudy.cli", "consult", str(SAMPLE), "--no-browser",
                                  "--port", str(port), "--out", str(Path(tmp) / "scenarios"),
                                  "--max-kernels", "2", "--pool-size", "1"], "Consultation app:")
            try:
                _wait_warm(lines, 1)
                time.sleep(args.warm)  # the pool's kernel runs the notebook in the background

                def warm(k):
                    if k:
                        _wait_warm(lines, k + 1)
                        time.sleep(args.warm)

                rows.append(("villagestudy consult (preheated)",
                             _loads(browser, f"http://127.0.0.1:{port}/", args.loads, between=warm, live=LIVE)))
            finally:
                _stop(proc)
        finally:
            browser.close()

    floor = statistics.median(rows[0][1][0])
    print(f"{'server':<36}{'median s':>10}{'max s':>8}{'x floor':>9}{'live s':>8}{'n':>4}")
    for label, (times, live_times) in rows:
        med = statistics.median(times)
        print(f"{label:<36}{med:>10.2f}{max(times):>8.2f}{med / floor:>9.2f}"
              f"{statistics.median(live_times):>8.2f}{len(times):>4}")
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
