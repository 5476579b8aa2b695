"""Where town jobs run: the warm kernel is started, and the package imported in it, before the first town."""
from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import papermill as pm
import psutil
import pytest

from villagestudy.reports.engine import ENGINE_NAME, POOL, register
from villagestudy.reports.workers import KERNEL_NAME, PRELOAD, InProcess, WorkerPool

pytestmark = pytest.mark.slow


def _notebook(folder: Path) -> Path:
    """Shows its kernel's pid and whether the preloaded modules were there before its first cell imported anything."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 0", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import os, sys\nprint(os.getpid(), all(m in sys.modules for m in %r))"
                                          % (PRELOAD,))]
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    return path


def test_in_process_runner_starts_the_kernel_and_imports_the_package_before_the_first_town(tmp_path):
    register()
    POOL.shutdown()
    started = POOL.started
    with InProcess(warm=True):
        assert POOL.started == started + 1  # started on entering, before any town
        kernel = next(iter(POOL.kernels.values()))
        executed = pm.execute_notebook(str(_notebook(tmp_path)), str(tmp_path / "out.ipynb"), parameters={"x": 1},
                                       engine_name=ENGINE_NAME, kernel_name=KERNEL_NAME, progress_bar=False)
        pid, preloaded = executed.cells[-1].outputs[0]["text"].split()
        assert int(pid) == kernel.pid and POOL.started == started + 1  # the town ran in that kernel...
        assert preloaded == "True"  # ...where the package was already imported
    assert POOL.kernels == {}  # stopped with the runner


def test_in_process_runner_without_warm_starts_nothing():
    POOL.shutdown()
    started = POOL.started
    with InProcess(warm=False):
        assert POOL.started == started and POOL.kernels == {}


def _children_with_kernels(deadline_s: float) -> list[psutil.Process]:
    """Worker processes of this test process that have a kernel child, waiting up to ``deadline_s``."""
    end = time.monotonic() + deadline_s
    while True:
        workers = [p for p in psutil.Process(os.getpid()).children() if p.children()]
        if len(workers) >= 2 or time.monotonic() > end:
            return workers
        time.sleep(0.5)


def test_worker_pool_starts_every_worker_and_its_kernel_before_any_job():
    pool = WorkerPool(2, warm=True)
    with pool:
        workers = _children_with_kernels(120)
        assert len(workers) == 2  # both workers, each with its kernel, and no job submitted yet
        kernels = [k for w in workers for k in w.children()]
        pool.run([], render=None, record=None)
    assert pool.clean
    time.sleep(1)
    assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kernels)
