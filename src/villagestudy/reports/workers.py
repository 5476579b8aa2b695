"""Where a batch's town jobs run: in this process, in its threads, or in worker processes that die with it.

The workers start (and, with the warm engine, start their kernel and import
the package in it) when the batch opens them, before it computes its
study-wide context: kernel start-up and imports then overlap that work
instead of following it.

Threads or processes: with the warm engine a town's work is done in its
kernel (about 1 s of CPU a town); the thread that drives it (papermill,
nbclient, nbconvert) needs about 0.2 s of this process's interpreter lock a
town. Up to :data:`MAX_KERNEL_THREADS` jobs therefore share this process
(the lock stays under about 70% busy) and no worker re-imports papermill and
the package (2-3 s of CPU each); beyond that, worker processes.
"""
from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Callable

from .._process import die_with_parent
from .naming import TownResult
from .startup import skip_iri_grammars

KERNEL_NAME = "python3"
#: the kernel's start-up log is noise in a batch
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
START_TIMEOUT_S = 120
#: up to this many jobs run in threads of the batch's process (:class:`KernelThreads`), more in worker processes
#: (:class:`WorkerPool`): see the module's documentation
MAX_KERNEL_THREADS = 4
#: what a report kernel imports before its first town (the report notebook's own imports), then what it prepares
#: (``module:function``, see :func:`villagestudy.reports.engine.preload_line`)
PRELOAD = ("plotly.io", "villagestudy.reports", "villagestudy.reports.town:prepare_kernel")


def prestart(*, wait: bool = False) -> None:
    """Start this thread's warm kernel and have it import :data:`PRELOAD`; ``wait``: until it has.

    Failing here is not an error of its own: the first town starts a kernel
    again and reports why that fails.
    """
    from .engine import prestart_kernel

    try:
        kernel = prestart_kernel(KERNEL_NAME, preload=PRELOAD, start_timeout=START_TIMEOUT_S,
                                 extra_arguments=KERNEL_ARGUMENTS)
        if wait:
            kernel.connect()
    except Exception:  # noqa: BLE001 - the first town tries again and records the reason
        pass


def prelaunch() -> None:
    """Launch a warm kernel for this process's first job before the batch knows which thread will run it.

    For the command: the kernel starts and imports :data:`PRELOAD` while the
    study loads; the first job that starts a kernel (this thread's, or the
    first of :class:`KernelThreads`) takes it over. Failing here is not an
    error of its own, as for :func:`prestart`.
    """
    from .engine import launch_spare_kernel

    try:
        launch_spare_kernel(KERNEL_NAME, preload=PRELOAD, start_timeout=START_TIMEOUT_S,
                            extra_arguments=KERNEL_ARGUMENTS)
    except Exception:  # noqa: BLE001 - the first town tries again and records the reason
        pass


def discard_prelaunched() -> None:
    """Stop a kernel :func:`prelaunch` started that no job took (the batch ran elsewhere, or made nothing)."""
    if "villagestudy.reports.engine" in sys.modules:  # else nothing was launched (and papermill stays unimported)
        sys.modules["villagestudy.reports.engine"].discard_spare_kernels()


class InProcess:
    """Run the jobs one after the other in this process (``--jobs 1``); ``warm``: start its kernel now."""

    def __init__(self, warm: bool) -> None:
        self.warm = warm

    def __enter__(self) -> "InProcess":
        if self.warm:
            prestart()
        return self

    def run(self, todo: list, render: Callable, record: Callable[[TownResult], bool]) -> None:
        for job in todo:
            if not record(render(job)):
                break

    def __exit__(self, *exc) -> None:
        from .engine import shutdown_kernels

        shutdown_kernels()  # this process's warm kernel is not needed after the batch


class KernelThreads:
    """Run the jobs in ``workers`` threads of this process, each with a warm kernel of its own.

    A thread only drives its kernel (papermill, nbclient) and renders the
    executed notebook: the kernels do the report's work, in processes of their
    own, so a few threads share this process without the interpreter's lock
    holding them back, and no worker process imports papermill and the package
    again (2-3 s of CPU each). Kernels die with this process (ipykernel's
    parent polling); on Ctrl-C or a full disk they are killed at once and the
    threads end with them.

    ``warm``: every thread starts its kernel when the batch opens the threads,
    but at most ``starting`` kernels start at a time; the next starts when one
    has finished importing. Meanwhile the batch computes the study-wide results
    on one core: kernels importing on more than the other cores would only slow
    that serial step (measured on two cores: 2.7 s alone, 5.4 s beside two
    importing kernels), so :func:`kernels_starting_at_once` leaves it a core.
    """

    def __init__(self, workers: int, warm: bool, starting: int | None = None) -> None:
        self.workers, self.warm = workers, warm
        self.starting = workers if starting is None else starting
        self._start_slots = threading.BoundedSemaphore(self.starting)
        self.jobs: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.clean = False

    def __enter__(self) -> "KernelThreads":
        from . import engine  # noqa: F401  (imported here once, not by the threads while the batch computes)

        self.threads = [threading.Thread(target=self._serve, daemon=True,
                                         name=f"villagestudy-town-{i + 1}") for i in range(self.workers)]
        try:
            for thread in self.threads:
                thread.start()
        except BaseException:  # Ctrl-C while starting: the threads already started end with their kernels
            self.threads = [thread for thread in self.threads if thread.ident is not None]
            self.__exit__(None, None, None)
            raise
        return self

    def _serve(self) -> None:
        from .engine import discard_kernel

        try:
            if self.warm:
                self._start_kernel()
            while not self.stopping.is_set():
                item = self.jobs.get()
                if item is None:
                    break
                render, job = item
                try:
                    res = render(job)
                except BaseException as e:  # render_town records its own errors: this is the thread's end
                    res = TownResult.worker_failed(job, f"{type(e).__name__}: {e}")
                self.done.put(res)
        finally:
            discard_kernel(KERNEL_NAME)

    def _start_kernel(self) -> None:
        """Start this thread's kernel once a start slot is free, and hold the slot until it has imported."""
        while not self._start_slots.acquire(timeout=0.2):
            if self.stopping.is_set():
                return
        try:
            if not self.stopping.is_set():
                prestart(wait=True)
        finally:
            self._start_slots.release()

    def run(self, todo: list, render: Callable, record: Callable[[TownResult], bool]) -> None:
        for job in todo:
            self.jobs.put((render, job))
        for _ in self.threads:
            self.jobs.put(None)
        waiting = {job.town_id: job for job in todo}
        while waiting:
            res = self._next_result(waiting)
            waiting.pop(res.town_id, None)
            if not record(res):
                return
        self.clean = True

    def _next_result(self, waiting: dict) -> TownResult:
        """The next town's result; once every thread has ended, a failed result for a town still waiting."""
        while True:
            with contextlib.suppress(queue.Empty):
                return self.done.get(timeout=1.0)
            if not any(thread.is_alive() for thread in self.threads) and self.done.empty():
                job = next(iter(waiting.values()))  # only if the threads themselves broke
                return TownResult.worker_failed(job, "every worker thread ended before this town")

    def __exit__(self, *exc) -> None:
        from .engine import POOL

        if not (self.clean and not any(exc)):
            # Ctrl-C, a full disk or an error: no new town starts, and the running ones end with their kernels
            self.stopping.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    self.jobs.get_nowait()
            for _ in self.threads:
                self.jobs.put(None)
            POOL.kill()
        for thread in self.threads:
            thread.join(timeout=None if self.clean else 10)


def kernels_starting_at_once(workers: int, cores: int | None = None) -> int:
    """How many of ``workers`` kernels start at a time: one per core the batch's own serial work leaves free.

    Examples
    --------
    >>> kernels_starting_at_once(2, cores=2), kernels_starting_at_once(4, cores=16)
    (1, 4)
    >>> kernels_starting_at_once(4, cores=1)
    1
    """
    cores = cores or os.cpu_count() or 1
    return max(1, min(workers, cores - 1))


class WorkerPool:
    """Local worker processes that die with this process (``kill -9`` included) and stop on Ctrl-C.

    ``warm``: each worker starts its warm kernel as soon as it starts.
    """

    def __init__(self, workers: int, warm: bool) -> None:
        self.workers, self.warm = workers, warm
        self.pool: ProcessPoolExecutor | None = None
        self.clean = False

    def __enter__(self) -> "WorkerPool":
        # spawn, not fork: each worker starts Jupyter kernels and must not inherit the parent's state
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn"),
                                        initializer=_worker_init, initargs=(os.getpid(), self.warm))
        # the pool starts a process per task submitted while none is idle: one ready-check each starts them all now
        for _ in range(self.workers):
            self.pool.submit(os.getpid)
        return self

    def run(self, todo: list, render: Callable, record: Callable[[TownResult], bool]) -> None:
        futures = {self.pool.submit(render, job): job for job in todo}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                res = fut.result()
            except Exception as e:  # the worker process itself died
                res = TownResult.worker_failed(job, f"{type(e).__name__}: {e}")
            if not record(res):
                return
        self.clean = True

    def __exit__(self, *exc) -> None:
        if self.clean and not any(exc):
            self.pool.shutdown(wait=True)
            return
        # Ctrl-C, a full disk or an error: the workers stop now, their kernels with them
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)


def _worker_init(parent_pid: int, warm: bool = False) -> None:
    """Make a pool worker die with the batch's main process, leave Ctrl-C to it, and warm the kernel."""
    skip_iri_grammars()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)

    def watch() -> None:  # elsewhere (and as a second guard): notice the parent has gone
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="villagestudy-parent-watch").start()
    if warm:
        prestart()
