"""Where town jobs run: the warm kernel is started, and the package imported in it, before the first town."""
from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import papermill as pm
import psutil
import pytest

from villagestudy.reports.engine import ENGINE_NAME, POOL, register
from villagestudy.reports.naming import TownResult
from villagestudy.reports.workers import (KERNEL_NAME, MAX_KERNEL_THREADS, PRELOAD, InProcess, KernelThreads, WorkerPool,
                                          discard_prelaunched, kernels_starting_at_once, prelaunch)

pytestmark = pytest.mark.slow


def _notebook(folder: Path) -> Path:
    """Shows its kernel's pid and whether the preloaded modules were there before its first cell imported anything."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 0", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import os, sys\nprint(os.getpid(), all(m in sys.modules for m in %r))"
                                          % ([entry.partition(":")[0] for entry in PRELOAD],))]
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


def test_kernel_threads_start_a_kernel_per_thread_before_any_job_and_run_each_town_in_one_of_them(tmp_path):
    register()
    POOL.shutdown()
    notebook = _notebook(tmp_path)

    def render(job: SimpleNamespace) -> TownResult:  # render_town with the warm engine, reduced to the kernel
        executed = pm.execute_notebook(str(notebook), str(tmp_path / f"{job.safe_name}.ipynb"),
                                       parameters={"x": int(job.town_id)},
                                       engine_name=ENGINE_NAME, kernel_name=KERNEL_NAME, progress_bar=False,
                                       kernel_cwd=str(tmp_path))
        pid, preloaded = executed.cells[-1].outputs[0]["text"].split()
        return TownResult(job.town_id, pid, preloaded, "ok")

    results: list[TownResult] = []
    threads = KernelThreads(2, warm=True)
    with threads:
        deadline = time.monotonic() + 120
        while len(POOL.kernels) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(POOL.kernels) == 2  # one kernel per thread, started before any town
        pids = {k.km.provisioner.pid for k in POOL.kernels.values()}
        threads.run([_job(i) for i in range(6)], render, lambda r: results.append(r) or True)
    assert threads.clean and sorted(int(r.town_id) for r in results) == list(range(6))
    assert {int(r.town_name) for r in results} <= pids and len(pids) == 2  # every town in one of the two kernels
    assert all(r.safe_name == "True" for r in results)  # the package was imported before the first town
    assert POOL.kernels == {}  # each thread stopped its kernel as it ended


def _kernel_pid_of_each_town(notebook: Path, folder: Path):
    """render_town with the warm engine, reduced to the kernel: the result's town_name is the kernel's pid."""
    def render(job: SimpleNamespace) -> TownResult:
        executed = pm.execute_notebook(str(notebook), str(folder / f"{job.safe_name}.ipynb"),
                                       parameters={"x": int(job.town_id)}, engine_name=ENGINE_NAME,
                                       kernel_name=KERNEL_NAME, progress_bar=False, kernel_cwd=str(folder))
        return TownResult(job.town_id, executed.cells[-1].outputs[0]["text"].split()[0], "", "ok")
    return render


def _wait_for_kernels(count: int, within_s: float = 120) -> float:
    """Wait until this process has ``count`` kernels (or ``within_s`` passed); return the deadline."""
    deadline = time.monotonic() + within_s
    while len(POOL.kernels) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return deadline


def _job(i: int) -> SimpleNamespace:
    return SimpleNamespace(town_id=str(i), town_name=f"town {i}", safe_name=f"town_{i}")


def test_kernel_threads_record_a_crashed_job_as_failed_and_stop_when_told():
    def render(job: SimpleNamespace) -> TownResult:
        if job.town_id == "0":
            raise RuntimeError("boom")
        time.sleep(0.2)
        return TownResult(job.town_id, job.town_name, job.safe_name, "ok")

    seen: list[TownResult] = []
    threads = KernelThreads(2, warm=False)
    started = time.monotonic()
    with threads:
        # the second result says "stop" (a full disk): the other 48 towns never start
        threads.run([_job(i) for i in range(50)], render, lambda r: seen.append(r) or len(seen) < 2)
    assert not threads.clean and len(seen) == 2 and time.monotonic() - started < 5
    crashed = next(r for r in seen if r.town_id == "0")
    assert crashed.status == "failed" and "RuntimeError: boom" in crashed.error
    assert not any(t.is_alive() for t in threads.threads)


def test_kernel_threads_that_all_break_still_account_for_every_town():
    threads = KernelThreads(2, warm=False)
    seen: list[TownResult] = []
    with threads:
        for thread in threads.threads:  # stand-in for a thread that breaks outside any town
            threads.jobs.put(None)
        for thread in threads.threads:
            thread.join(5)
        threads.run([_job(i) for i in range(3)], render=None, record=lambda r: seen.append(r) or True)
    assert sorted(r.town_id for r in seen) == ["0", "1", "2"] and {r.status for r in seen} == {"failed"}


def test_kernel_threads_start_their_kernels_one_after_another_when_told_to(tmp_path):
    register()
    POOL.shutdown()
    render = _kernel_pid_of_each_town(_notebook(tmp_path), tmp_path)
    results: list[TownResult] = []
    threads = KernelThreads(2, warm=True, starting=1)
    with threads:
        deadline = _wait_for_kernels(2)
        first, second = sorted(POOL.kernels.values(), key=lambda k: k.kc is None)
        # the second kernel was launched only once the first had imported and answered
        assert first.kc is not None and first.pid > 0
        while second.kc is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.kc is not None  # both ready before any town
        threads.run([_job(i) for i in range(6)], render, lambda r: results.append(r) or True)
    assert threads.clean and len(results) == 6
    assert {int(r.town_name) for r in results} <= {first.pid, second.pid}


def test_kernel_threads_that_stop_while_waiting_to_start_their_kernel_end_at_once():
    threads = KernelThreads(3, warm=True, starting=1)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), threads:
        raise KeyboardInterrupt  # Ctrl-C while the first kernel starts: the other two never start theirs
    assert not any(t.is_alive() for t in threads.threads) and time.monotonic() - started < 15
    assert POOL.kernels == {}


def test_a_kernel_launched_before_the_threads_exist_is_taken_by_the_first_of_them(tmp_path):
    register()
    POOL.shutdown()
    render = _kernel_pid_of_each_town(_notebook(tmp_path), tmp_path)
    started = POOL.started
    prelaunch()  # as the command does before it loads the study
    (spare,) = POOL.spares
    assert POOL.kernels == {} and POOL.started == started + 1
    results: list[TownResult] = []
    threads = KernelThreads(2, warm=True, starting=1)
    with threads:
        _wait_for_kernels(2)
        assert any(kernel is spare for kernel in POOL.kernels.values())  # taken over, not launched again
        assert POOL.spares == [] and POOL.started == started + 2
        threads.run([_job(i) for i in range(4)], render, lambda r: results.append(r) or True)
    assert threads.clean and len(results) == 4 and POOL.kernels == {}
    assert spare.pid in {int(r.town_name) for r in results}  # it made towns


def test_a_prelaunched_kernel_that_no_job_of_this_process_takes_is_stopped():
    from villagestudy.reports.batch import _runner

    POOL.shutdown()
    for jobs, engine in ((MAX_KERNEL_THREADS + 1, "warm"), (2, "fresh"), (1, "fresh")):
        prelaunch()
        (spare,) = POOL.spares
        process = psutil.Process(spare.km.provisioner.pid)
        _runner(20, jobs, None, engine)  # worker processes, or a new kernel per town: none takes it
        assert POOL.spares == []
        assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    prelaunch()
    discard_prelaunched()  # the command's last word, whatever happened
    assert POOL.spares == []


def test_where_the_jobs_of_a_batch_run():
    from villagestudy.reports.batch import _runner

    assert isinstance(_runner(20, 1, None, "warm"), InProcess)
    two = _runner(20, 2, None, "warm")
    assert isinstance(two, KernelThreads) and two.workers == 2 and two.starting == kernels_starting_at_once(2)
    assert isinstance(_runner(20, MAX_KERNEL_THREADS, None, "warm"), KernelThreads)
    assert isinstance(_runner(20, MAX_KERNEL_THREADS + 1, None, "warm"), WorkerPool)
    assert isinstance(_runner(20, 2, None, "fresh"), WorkerPool)  # a new kernel per town: processes, as before
    assert isinstance(_runner(1, 4, None, "warm"), InProcess)  # never more workers than towns
