"""A papermill engine that keeps one kernel warm per process and runs notebook after notebook in it.

Starting a kernel and importing the stack (pandas, geopandas, plotly,
statsmodels...) costs about 2 s, more than making a town report once the
imports are done. :class:`WarmEngine` keeps the kernel of a worker process
alive between notebooks, so modules imported by one town (cached in
``sys.modules``) are already there for the next. Each notebook is still run
through papermill (its parameterisation, its per-cell metadata and error
handling), and nothing one notebook defines is visible to the next:

* before each notebook the kernel gets a fresh user namespace (a new
  ``__main__`` module, IPython history and output cache reset, execution count
  back to 1), and the working directory, environment variables, ``sys.path``,
  ``sys.argv`` and warning filters are put back as they were when the kernel
  started; a check in the kernel then confirms that no user name is left;
* the kernel is replaced after any failure (a cell error, a timeout, a dead
  kernel), after ``max_notebooks`` notebooks, and when the resident memory of
  the kernel process passes ``max_rss_mb``.

After each reset the kernel freezes what is alive (``gc.freeze``: imported
modules, the batch's context), so that the garbage collector no longer scans
it: the reset's collection then costs milliseconds instead of 0.1-0.2 s.
Frozen objects that later become garbage are freed with the kernel, which is
replaced after ``max_notebooks`` notebooks or above ``max_rss_mb``.

What the warm kernel keeps on purpose is the state of imported modules. A
notebook that changes a library's global settings (say ``plotly.io.templates.default``)
changes them for the next notebooks of that kernel too: such notebooks should
set what they rely on, or run with papermill's default engine.

Use it from papermill (registered under the ``papermill.engine`` entry point)::

    papermill --engine villagestudy_warm in.ipynb out.ipynb -p town_id 101

or ``papermill.execute_notebook(..., engine_name="villagestudy_warm")``. The
batch reports use it by default (``villagestudy reports --engine warm``).
Settings: ``max_notebooks`` and ``max_rss_mb`` keyword arguments, or the
environment variables ``VILLAGESTUDY_WARM_MAX_NOTEBOOKS`` (default 100) and
``VILLAGESTUDY_WARM_MAX_RSS_MB`` (default 1500).
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass


# papermill loads every engine of its entry points on its first import. When that first import is
# the one below, papermill finds this module half-imported, before WarmEngine exists: it then gets
# this stand-in, which hands every call to WarmEngine (defined by the time papermill calls it).
class _ForwardToWarmEngine(type):
    def __getattr__(cls, name):
        return getattr(WarmEngine, name)


class _EntryPoint(metaclass=_ForwardToWarmEngine):
    """papermill's handle on the warm engine while this module is still importing papermill."""


def __getattr__(name: str):
    if name == "WarmEngine":  # consulted only before the class below is defined
        return _EntryPoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


from papermill.clientwrap import PapermillNotebookClient  # noqa: E402  (after the stand-in above)
from papermill.engines import Engine, NotebookExecutionManager, papermill_engines  # noqa: E402
from papermill.iorw import write_ipynb  # noqa: E402
from papermill.log import logger  # noqa: E402
from papermill.utils import merge_kwargs, remove_args  # noqa: E402

from . import _parent_watch  # noqa: E402
from .kernels import ipc_kernel_manager  # noqa: E402

ENGINE_NAME = "villagestudy_warm"
#: a warm kernel's first start-up line: it ends the kernel as soon as the process that started it is gone,
#: also while the kernel still imports (see :mod:`villagestudy.reports._parent_watch`)
WATCH_PARENT = f"import runpy; runpy.run_path({_parent_watch.__file__!r}, run_name={_parent_watch.RUN_NAME!r})"
MAX_NOTEBOOKS_ENV = "VILLAGESTUDY_WARM_MAX_NOTEBOOKS"
MAX_RSS_ENV = "VILLAGESTUDY_WARM_MAX_RSS_MB"
DEFAULT_MAX_NOTEBOOKS = 100
DEFAULT_MAX_RSS_MB = 1500.0

# Runs once in a new kernel: remembers the process state a notebook may change, and defines the
# reset run before every notebook. Names start with _vs_ and live in a module of their own, so
# the user namespace holds nothing of the engine's.
_KERNEL_SETUP = r'''
def _vs_install():
    import gc, os, sys, types, warnings
    state = types.ModuleType("_villagestudy_warm")
    state.cwd = os.getcwd()
    state.environ = dict(os.environ)
    state.path = list(sys.path)
    state.argv = list(sys.argv)
    state.warnings = list(warnings.filters)
    standard = {"__name__", "__doc__", "__builtin__", "__builtins__", "__package__", "__loader__", "__spec__"}

    def fresh(cwd):
        shell = get_ipython()
        shell.reset(new_session=True)  # drops the old names, Out/_ cache and history; count back to 1
        main = types.ModuleType("__main__", doc="Automatically created module for IPython interactive environment")
        shell.init_create_namespaces(main, None)
        shell.init_sys_modules()
        shell.init_user_ns()
        if getattr(shell, "Completer", None) is not None:
            shell.Completer.namespace = shell.user_ns
            shell.Completer.global_namespace = shell.user_global_ns
        os.environ.clear()
        os.environ.update(state.environ)
        os.chdir(cwd or state.cwd)
        sys.path[:] = state.path
        sys.argv[:] = state.argv
        warnings.filters[:] = state.warnings
        warnings._filters_mutated()
        left = sorted(set(shell.user_ns) - set(shell.user_ns_hidden) - standard)
        if left:
            raise RuntimeError(f"user names survived the reset: {left}")
        # what is alive now (modules, the batch's context) lives as long as the kernel: the garbage
        # collector stops scanning it, so the reset's full collection costs milliseconds, not 0.1-0.2 s
        gc.freeze()
        return {"pid": os.getpid(), "cwd": os.getcwd()}

    state.fresh = fresh
    sys.modules[state.__name__] = state
    return os.getpid()
_vs_pid = _vs_install()
'''
_FRESH_RESULT = "__import__('json').dumps(__import__('sys').modules['_villagestudy_warm'].fresh({cwd!r}))"


def preload_line(entry: str) -> str:
    """The kernel's start-up line for a ``preload`` entry: ``module`` or ``module:function``.

    Examples
    --------
    >>> preload_line("plotly.io")
    'import plotly.io'
    >>> preload_line("villagestudy.reports.town:prepare_kernel")
    'import villagestudy.reports.town; villagestudy.reports.town.prepare_kernel()'
    """
    module, _, function = entry.partition(":")
    return f"import {module}" + (f"; {module}.{function}()" if function else "")


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"environment variable {name} must be positive, not {raw!r}")
    return value


class KernelResetError(RuntimeError):
    """The kernel could not be given a fresh namespace (it is then replaced)."""


@dataclass
class WarmKernel:
    """One kernel: its manager, client, process id and how many notebooks it has run.

    :meth:`launch` starts the kernel process and returns at once; :meth:`connect`
    waits until it answers and installs the reset (``kc`` is None until then).
    """

    kernel_name: str
    km: object
    kc: object
    pid: int
    socket_dir: str
    notebooks: int = 0
    starter: object = None
    start_timeout: float = 60
    #: (kernel name, start-up arguments, preloaded modules): which spare kernel may serve a launch
    launched_as: tuple = ()

    @classmethod
    def launch(cls, kernel_name: str, *, start_timeout: float, extra_arguments: list[str] | None = None,
               cwd: str | None = None, preload: tuple[str, ...] = ()) -> "WarmKernel":
        """Start a kernel process (local sockets in a folder of its own) that imports ``preload`` as it starts.

        Each entry of ``preload`` is a module to import, or ``module:function``
        to import and then call (without arguments) as the kernel starts.
        Returns without waiting for the kernel: the caller goes on with its own
        work while the kernel starts and imports.
        """
        import nbformat
        from nbclient import NotebookClient

        arguments = ([f"--IPKernelApp.exec_lines={WATCH_PARENT}"] + list(extra_arguments or [])
                     + [f"--IPKernelApp.exec_lines={preload_line(entry)}" for entry in preload])
        socket_dir = tempfile.mkdtemp(prefix="vs-warm-")
        km = ipc_kernel_manager(socket_dir)(kernel_name=kernel_name)
        # a throw-away client does the starting, with nbclient's own start-up handling and timeout
        starter = NotebookClient(nbformat.v4.new_notebook(), km=km, kernel_name=kernel_name,
                                 startup_timeout=int(start_timeout), extra_arguments=arguments)
        try:
            starter.start_new_kernel(cwd=cwd)
        except BaseException:
            _stop(km, None)
            shutil.rmtree(socket_dir, ignore_errors=True)
            raise
        return cls(kernel_name, km, None, 0, socket_dir, starter=starter, start_timeout=start_timeout,
                   launched_as=(kernel_name, tuple(extra_arguments or ()), tuple(preload)))

    def connect(self) -> "WarmKernel":
        """Wait until the kernel answers, then install the reset (once; the kernel is shut down on failure)."""
        if self.kc is None:
            try:
                self.kc = self.starter.start_new_kernel_client()
                self.pid = int(self.call(_KERNEL_SETUP, "_vs_pid", timeout=self.start_timeout))
            except BaseException:
                self.kc = self.kc or getattr(self.starter, "kc", None)
                self.shutdown()
                raise
        return self

    @classmethod
    def start(cls, kernel_name: str, *, start_timeout: float, extra_arguments: list[str] | None = None,
              cwd: str | None = None) -> "WarmKernel":
        """Start a kernel, wait for it and install the reset."""
        return cls.launch(kernel_name, start_timeout=start_timeout, extra_arguments=extra_arguments,
                          cwd=cwd).connect()

    def call(self, code: str, expression: str, *, timeout: float) -> str:
        """Run ``code`` silently (no history, no execution count) and return ``expression``'s text."""
        from jupyter_core.utils import run_sync

        msg_id = self.kc.execute(code, silent=True, store_history=False, user_expressions={"r": expression})
        while True:
            reply = run_sync(self.kc.get_shell_msg)(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content.get("status") != "ok":
            raise KernelResetError(f"{content.get('ename')}: {content.get('evalue')}")
        result = content["user_expressions"]["r"]
        if result.get("status") != "ok":
            raise KernelResetError(f"{result.get('ename')}: {result.get('evalue')}")
        return result["data"]["text/plain"]

    def fresh_namespace(self, cwd: str | None, *, timeout: float = 60) -> None:
        """Give the kernel a new, empty user namespace and the process state it started with."""
        import ast

        text = self.call("", _FRESH_RESULT.format(cwd=cwd or ""), timeout=timeout)
        state = json.loads(ast.literal_eval(text))
        if state["pid"] != self.pid:
            raise KernelResetError(f"kernel process changed from {self.pid} to {state['pid']}")

    def rss_mb(self) -> float | None:
        """Resident memory of the kernel process (MB), or None if it cannot be read."""
        import psutil

        try:
            return psutil.Process(self.pid).memory_info().rss / 1e6
        except (psutil.Error, ValueError):
            return None

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:
            return False

    def shutdown(self) -> None:
        _stop(self.km, self.kc)
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def _stop(km, kc) -> None:
    from jupyter_core.utils import run_sync

    try:
        if kc is not None:
            kc.stop_channels()
    except Exception:  # already closed
        pass
    try:
        if km is not None and km.has_kernel:
            # not shutdown_kernel(now=True): it interrupts the kernel before killing it, and an idle
            # kernel that gets the interrupt in time logs "KeyboardInterrupt caught in kernel" as an
            # ERROR line on the user's terminal
            run_sync(km.signal_kernel)(getattr(signal, "SIGKILL", signal.SIGTERM))
            run_sync(km.finish_shutdown)(waittime=5.0)  # reaps the process
            run_sync(km.cleanup_resources)()
    except Exception as e:  # a kernel that cannot be stopped is logged, the batch goes on
        logger.warning(f"could not stop a warm kernel: {e}")


class KernelPool:
    """The warm kernels of this process: one per thread and kernel name, and spares not yet taken.

    A thread runs one notebook at a time, so a kernel never serves two at once
    (Dask workers run several tasks in threads of one process). A spare is a
    kernel launched before the thread that will use it exists
    (:func:`launch_spare_kernel`): the first thread to launch a kernel of the
    same kind takes it over instead of starting one.
    """

    def __init__(self) -> None:
        self.kernels: dict[tuple[int, str], WarmKernel] = {}
        self.spares: list[WarmKernel] = []
        self.started = 0  # kernels started by this process (for tests and logs)
        self._lock = threading.Lock()

    def acquire(self, kernel_name: str, *, start_timeout: float, extra_arguments=None, cwd=None) -> WarmKernel:
        """This thread's kernel of that name, connected; started now if it has none (or it died)."""
        kernel = self.launch(kernel_name, start_timeout=start_timeout, extra_arguments=extra_arguments, cwd=cwd)
        try:
            return kernel.connect()
        except BaseException:
            self.discard(kernel_name)
            raise

    def launch(self, kernel_name: str, *, start_timeout: float, extra_arguments=None, cwd=None,
               preload: tuple[str, ...] = ()) -> WarmKernel:
        """This thread's kernel of that name, launched now (not waited for) if it has none or it died.

        A spare launched the same way (name, arguments, preloaded modules) is
        taken over instead of launching a new kernel.
        """
        key = (threading.get_ident(), kernel_name)
        kernel = self.kernels.get(key)
        if kernel is not None and not kernel.alive():
            self.discard(kernel_name)
            kernel = None
        if kernel is None:
            kernel = self._take_spare((kernel_name, tuple(extra_arguments or ()), tuple(preload)))
            if kernel is None:
                kernel = WarmKernel.launch(kernel_name, start_timeout=start_timeout,
                                           extra_arguments=extra_arguments, cwd=cwd, preload=preload)
                with self._lock:
                    self.started += 1
            with self._lock:
                self.kernels[key] = kernel
        return kernel

    def launch_spare(self, kernel_name: str, *, start_timeout: float, extra_arguments=None,
                     preload: tuple[str, ...] = ()) -> WarmKernel:
        """Launch a kernel for the next thread that launches one of the same kind (see :meth:`launch`)."""
        kernel = WarmKernel.launch(kernel_name, start_timeout=start_timeout, extra_arguments=extra_arguments,
                                   preload=preload)
        with self._lock:
            self.spares.append(kernel)
            self.started += 1
        return kernel

    def _take_spare(self, launched_as: tuple) -> WarmKernel | None:
        with self._lock:
            for kernel in self.spares:
                if kernel.launched_as == launched_as:
                    self.spares.remove(kernel)
                    break
            else:
                return None
        if kernel.alive():
            return kernel
        kernel.shutdown()
        return None

    def discard_spares(self) -> None:
        """Stop the spare kernels no thread has taken."""
        with self._lock:
            spares, self.spares = self.spares, []
        for kernel in spares:
            kernel.shutdown()

    def discard(self, kernel_name: str) -> None:
        """Stop this thread's kernel of that name."""
        with self._lock:
            kernel = self.kernels.pop((threading.get_ident(), kernel_name), None)
        if kernel is not None:
            kernel.shutdown()

    def kill(self) -> None:
        """Kill every kernel process of this process at once, leaving their clients alone.

        For a batch that stops (Ctrl-C, a full disk) while threads are running
        notebooks: a thread's client is not for other threads to close. Each
        thread's notebook then fails on its dead kernel and the thread discards
        the kernel itself; :meth:`shutdown` (at exit) removes what is left.
        """
        import signal

        with self._lock:
            kernels = list(self.kernels.values()) + list(self.spares)
        for kernel in kernels:
            pid = kernel.pid or getattr(getattr(kernel.km, "provisioner", None), "pid", None)
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def shutdown(self) -> None:
        """Stop every kernel of the process."""
        with self._lock:
            kernels, self.kernels = list(self.kernels.values()) + self.spares, {}
            self.spares = []
        for kernel in kernels:
            kernel.shutdown()


POOL = KernelPool()
atexit.register(POOL.shutdown)


def prestart_kernel(kernel_name: str = "python3", *, preload: tuple[str, ...] = (), start_timeout: float = 60,
                    extra_arguments: list[str] | None = None) -> WarmKernel:
    """Launch this thread's warm kernel now, importing ``preload`` as it starts, and return at once.

    A batch calls it before computing its study-wide context, so the kernel
    starts and imports the package meanwhile; the first notebook then waits
    only for what is not done yet. The imports run in the kernel's start-up
    (``IPKernelApp.exec_lines``), and every notebook still gets a fresh
    namespace: only the imported modules stay.
    """
    return POOL.launch(kernel_name, start_timeout=start_timeout, extra_arguments=extra_arguments, preload=preload)


def launch_spare_kernel(kernel_name: str = "python3", *, preload: tuple[str, ...] = (), start_timeout: float = 60,
                        extra_arguments: list[str] | None = None) -> WarmKernel:
    """Launch a warm kernel now for a thread that does not exist yet (the first to :func:`prestart_kernel` alike).

    The ``villagestudy reports`` command calls it before it loads the study, so
    the kernel starts and imports while the study loads, whichever thread will
    run the towns. :func:`discard_spare_kernels` stops it if no thread took it.
    """
    return POOL.launch_spare(kernel_name, start_timeout=start_timeout, extra_arguments=extra_arguments,
                             preload=preload)


def discard_spare_kernels() -> None:
    """Stop the kernels :func:`launch_spare_kernel` launched that no thread took."""
    POOL.discard_spares()


def shutdown_kernels() -> None:
    """Stop this process's warm kernels (a batch calls it when its workers are done)."""
    POOL.shutdown()


def discard_kernel(kernel_name: str = "python3") -> None:
    """Stop this thread's warm kernel of that name (a thread that ends its work calls it)."""
    POOL.discard(kernel_name)


class WarmEngine(Engine):
    """papermill engine: the notebook runs in this process's warm kernel, in a fresh namespace.

    Takes papermill's usual arguments (``kernel_name``, ``start_timeout``,
    ``execution_timeout``, ``log_output``, ``stdout_file``, ``stderr_file``,
    ``cwd`` given as ``input_path``'s folder by papermill) plus ``max_notebooks``
    and ``max_rss_mb`` (see the module documentation), and ``kernel_cwd``: the
    kernel's working directory, for callers that run notebooks in several threads
    of one process and so cannot use papermill's ``cwd`` (it changes the
    process's directory).

    Examples
    --------
    >>> import papermill as pm
    >>> from villagestudy.reports.engine import ENGINE_NAME, register
    >>> register() is pm.engines.papermill_engines.get_engine(ENGINE_NAME)
    True
    """

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                         autosave_cell_every=30, **kwargs):
        # papermill writes the whole notebook at every cell start and end, and once more when the
        # engine returns: with figures inside, that is most of a warm report's time. The engine
        # writes it only if execution breaks off (the partial notebook is then the diagnosis).
        nb_man = NotebookExecutionManager(nb, output_path=None, progress_bar=progress_bar, log_output=log_output,
                                          autosave_cell_every=0)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        except BaseException:
            if output_path:
                nb_man.notebook_complete()
                write_ipynb(nb_man.nb, output_path)
            raise
        finally:
            nb_man.cleanup_pbar()
        nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, max_notebooks=None, max_rss_mb=None,
                                 **kwargs):
        max_notebooks = max_notebooks or _env_number(MAX_NOTEBOOKS_ENV, DEFAULT_MAX_NOTEBOOKS)
        max_rss_mb = max_rss_mb or _env_number(MAX_RSS_ENV, DEFAULT_MAX_RSS_MB)
        # papermill runs the engine inside its ``cwd`` (a fresh kernel inherits it): the warm one moves there.
        # ``kernel_cwd`` says it without papermill's chdir, which changes the whole process: threads that
        # run notebooks side by side (Dask workers) pass it instead of papermill's ``cwd``.
        cwd = kwargs.pop("kernel_cwd", None) or kwargs.pop("cwd", None) or os.getcwd()
        extra_arguments = kwargs.pop("extra_arguments", None)
        # a kernel manager of the caller's would be started and stopped per notebook: the pool owns them
        kwargs = remove_args(["input_path", "timeout", "startup_timeout", "kernel_manager_class", "km"], **kwargs)
        kernel = POOL.acquire(kernel_name, start_timeout=start_timeout, extra_arguments=extra_arguments, cwd=cwd)
        keep = False
        try:
            kernel.fresh_namespace(cwd, timeout=start_timeout)
            final_kwargs = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                        kernel_name=kernel_name, log=logger, log_output=log_output,
                                        stdout_file=stdout_file, stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, km=kernel.km, **final_kwargs)
            client.kc = kernel.kc
            client.execute()
            kernel.notebooks += 1
            rss = kernel.rss_mb()
            failed = bool(nb_man.nb.metadata.papermill.get("exception"))
            keep = not failed and kernel.notebooks < max_notebooks and (rss is None or rss < max_rss_mb)
        finally:
            if not keep:  # failed, timed out, died, worn out or too big: the next notebook gets a new kernel
                POOL.discard(kernel_name)
        return nb_man.nb


def register() -> type[WarmEngine]:
    """Register :class:`WarmEngine` with papermill under :data:`ENGINE_NAME` (idempotent)."""
    papermill_engines.register(ENGINE_NAME, WarmEngine)
    return WarmEngine


register()
