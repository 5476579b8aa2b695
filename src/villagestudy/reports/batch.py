"""Batch reports: one offline HTML report per town, plus an index page.

For each town papermill executes the report notebook with the town's
parameters (the executed notebook is kept beside the HTML for audit), then
nbconvert renders it with inputs hidden. Towns run in parallel worker
processes; a town that fails does not stop the others; a town whose inputs have
not changed since its last report is reused unless ``force``. Every file is
written to a temporary path and moved into place, so a failed run never
replaces a good earlier report.

The output folder is guarded by :mod:`villagestudy.reports.outfolder`: one run
at a time (a lock naming the run that holds it), one study per folder (a
manifest), working files in a folder of the run's own. Workers (threads or
processes, :mod:`villagestudy.reports.workers`) and their kernels die with the
main process (``kill -9`` or Ctrl-C leaves no worker writing on), and
their partial files stay in the run's working folder, which the next run
removes. File names come from :mod:`villagestudy.reports.naming`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .._atomic import atomic_path
from .._paths import NOTEBOOKS, SAMPLE_STUDY
from .._version import __version__
from ..errors import UsageError
from ..io import load_study
from ..safe_text import terminal_safe
from ..study import Study
from .kernels import ipc_kernel_manager
from .naming import TownResult, report_names, report_path
from .pdf import html_to_pdf
from .workers import (KERNEL_ARGUMENTS, KERNEL_NAME, MAX_KERNEL_THREADS, START_TIMEOUT_S, InProcess, KernelThreads,
                      WorkerPool, discard_prelaunched, kernels_starting_at_once)
from .outfolder import (OutputFolderError, check_writable, claim_folder, disk_error_message, folder_lock,
                        folder_rows, is_disk_error, run_workdir)

DEFAULT_NOTEBOOK = NOTEBOOKS / "town_report.ipynb"
DEFAULT_STUDY = SAMPLE_STUDY
DEFAULT_OUT = Path("outputs") / "reports"  # each study writes to DEFAULT_OUT / <its folder's name> by default
EXECUTION_TIMEOUT_S = 600  # per cell: papermill has none by default and a stalled kernel hangs forever


@dataclass
class TownJob:
    town_id: str
    town_name: str
    safe_name: str
    notebook: str
    out_dir: str
    parameters: dict
    key: str
    plotly_src: str | None
    inline_plotly: bool = True
    engine: str = "warm"  # warm: the worker's kept kernel (reports.engine); fresh: a new kernel per town
    work_dir: str = ""  # the run's working folder (partial files stay there); "" = a folder of the job's own
    study: str = ""
    pdf: bool = False
    lang: str = "zh"
    key_figures: dict = field(default_factory=dict)


@dataclass
class BatchResult:
    out_dir: Path
    results: list[TownResult]
    provenance: dict
    #: wall seconds of the run's steps: ``context`` (study-wide results), ``towns`` (every town made, the
    #: first kernel's start included), ``index``; and ``made``, the number of towns made
    timings: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[TownResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


def _job_key(fingerprint: str, notebook: Path, parameters: dict, inline_plotly: bool, pdf: bool = False) -> str:
    payload = {
        "fingerprint": fingerprint,
        "notebook": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "parameters": {k: v for k, v in parameters.items() if k not in ("study_path", "context_path", "tables_path")},
        "version": __version__,
        "inline_plotly": inline_plotly,
        "pdf": pdf,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:20]


def comparison_file_name(safe: str) -> str:
    """The audit file beside a report: the Comparison it showed (``town_<id>.comparison.json``)."""
    return f"{safe}.comparison.json"


def _sidecar(out_dir: Path, safe: str) -> Path:
    return report_path(out_dir, safe, ".json")


def default_out_dir(study_path: str | Path) -> Path:
    """``outputs/reports/<study folder name>``: each study its own output folder.

    Examples
    --------
    >>> default_out_dir("/data/my_study").as_posix()
    'outputs/reports/my_study'
    """
    return DEFAULT_OUT / Path(study_path).resolve().name


def _reusable(job: TownJob) -> bool:
    out = Path(job.out_dir)
    side = _sidecar(out, job.safe_name)
    if not report_path(out, job.safe_name, ".html").exists() or not side.exists():
        return False
    try:
        return json.loads(side.read_text(encoding="utf-8")).get("key") == job.key
    except (OSError, ValueError):
        return False


def _recorded_key_figures(job: TownJob) -> dict:
    """The key figures recorded beside a report that is reused (same data, notebook and parameters)."""
    try:
        return dict(json.loads(_sidecar(Path(job.out_dir), job.safe_name).read_text(encoding="utf-8"))
                    .get("key_figures") or {})
    except (OSError, ValueError, TypeError):
        return {}


def render_town(job: TownJob, retries: int = 1) -> TownResult:
    """Execute and render one town's report (runs in a worker thread or process).

    Every file is first written in the run's working folder, then moved into
    the output folder; the sidecar JSON (the reuse key, the key figures) comes
    last, so a report whose sidecar is missing or older is made again.
    A full or read-only output folder is not retried: the result is marked
    ``fatal`` and the batch stops.
    """
    out = Path(job.out_dir)
    own_work = not job.work_dir
    base = Path(tempfile.mkdtemp(prefix=".work-", dir=out)) if own_work else Path(job.work_dir)
    work = base / job.safe_name
    started = time.perf_counter()
    result = TownResult(job.town_id, job.town_name, job.safe_name, "failed")
    try:
        work.mkdir(parents=True, exist_ok=True)
        _render_attempts(job, out, work, result, retries, started)
    except Exception as e:  # writing the outputs or logs failed
        disk = is_disk_error(e)
        result.status, result.fatal = "failed", disk is not None
        result.error = disk_error_message(out, disk) if disk else f"{type(e).__name__}: {e}"
    finally:
        shutil.rmtree(base if own_work else work, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    return result


def _render_attempts(job: TownJob, out: Path, work: Path, result: TownResult, retries: int, started: float) -> None:
    import papermill as pm

    from .render import notebook_to_html

    executed = work / f"{job.safe_name}.ipynb"
    comparison = work / comparison_file_name(job.safe_name)  # written by the report from the Comparison it shows
    tables = work / f"{job.safe_name}.xlsx"  # the report's tables, written by the report
    error_text, log_text = None, ""
    for attempt in range(1, retries + 2):
        result.attempts = attempt
        socket_dir = _socket_dir(work)
        try:
            pm.execute_notebook(
                job.notebook, str(executed), parameters={**job.parameters, "comparison_path": str(comparison), "tables_path": str(tables)},
                kernel_name=KERNEL_NAME,
                execution_timeout=EXECUTION_TIMEOUT_S, start_timeout=START_TIMEOUT_S, progress_bar=False,
                log_output=False, extra_arguments=list(KERNEL_ARGUMENTS),
                **_engine_arguments(job.engine, socket_dir, str(Path(job.notebook).parent)),
            )
            title = f"{job.town_name} · villagestudy"
            page = notebook_to_html(executed, title, plotly_src=job.plotly_src, inline_plotly=job.inline_plotly,
                                    lang=job.lang)
            with atomic_path(report_path(out, job.safe_name, ".html"), tmp_dir=work) as tmp:
                tmp.write_text(page, encoding="utf-8")
            if tables.exists():
                with atomic_path(report_path(out, job.safe_name, ".xlsx"), tmp_dir=work) as tmp:
                    shutil.copyfile(tables, tmp)
            if job.pdf:
                printed = html_to_pdf(report_path(out, job.safe_name, ".html"), work / f"{job.safe_name}.pdf")
                with atomic_path(report_path(out, job.safe_name, ".pdf"), tmp_dir=work) as tmp:
                    shutil.copyfile(printed, tmp)
            with atomic_path(report_path(out, job.safe_name, ".ipynb"), tmp_dir=work) as tmp:
                shutil.copyfile(executed, tmp)
            if comparison.exists():
                with atomic_path(report_path(out, comparison_file_name(job.safe_name), ""), tmp_dir=work) as tmp:
                    shutil.copyfile(comparison, tmp)
            result.status, error_text = "ok", None
            break
        except pm.PapermillExecutionError as e:
            # an exception raised in a cell is deterministic: running it again gives the same error
            error_text = _plain(f"cell {e.exec_count}: {e.ename}: {e.evalue}")
            log_text += f"attempt {attempt}: {error_text}\n" + _plain("\n".join(e.traceback or [])) + "\n"
            break
        except Exception as e:  # kernel died, timed out or failed to start: worth one retry
            if is_disk_error(e):
                raise
            error_text = f"{type(e).__name__}: {e}"
            log_text += f"attempt {attempt}: {error_text}\n{traceback.format_exc()}\n"
        finally:
            shutil.rmtree(socket_dir, ignore_errors=True)
    if result.status != "ok":
        result.error = error_text
        log = report_path(out / "logs", job.safe_name, ".log")
        with atomic_path(log, tmp_dir=work) as tmp:
            tmp.write_text(f"town {job.town_id} ({job.town_name})\n{log_text}", encoding="utf-8")
        if executed.exists():  # the partly executed notebook, for diagnosis
            with atomic_path(report_path(out / "logs", job.safe_name, ".failed.ipynb"), tmp_dir=work) as tmp:
                shutil.copyfile(executed, tmp)
        result.log = str(log.relative_to(out))
    else:
        with atomic_path(_sidecar(out, job.safe_name), tmp_dir=work) as tmp:
            tmp.write_text(json.dumps({"key": job.key, "town_id": job.town_id, "town_name": job.town_name,
                                       "study": job.study, "parameters": job.parameters,
                                       "key_figures": job.key_figures, "version": __version__,
                                       "seconds": round(time.perf_counter() - started, 2),
                                       "made": _now()}, ensure_ascii=False, indent=1), encoding="utf-8")


def _socket_dir(work: Path) -> str:
    """A folder for the kernel's sockets: in the run's working folder when its path is short enough."""
    # a unix socket path is limited to about 100 bytes; the kernel adds "kernel-<n>" to the folder
    if len(str(work)) < 70:
        return tempfile.mkdtemp(prefix="k-", dir=work)
    return tempfile.mkdtemp(prefix="vs-kernel-")


ENGINES = ("warm", "fresh")


def _engine_arguments(engine: str, socket_dir: str, cwd: str) -> dict:
    """papermill arguments for ``engine``: the worker's warm kernel, or a new kernel for this town, run in ``cwd``.

    The warm engine is told the kernel's folder (``kernel_cwd``) instead of
    papermill's ``cwd``, which changes the directory of the whole process: Dask
    workers run towns in several threads at once.
    """
    if engine == "warm":
        from .engine import ENGINE_NAME, register

        register()  # in code as well as by entry point: an editable install may predate the entry point
        return {"engine_name": ENGINE_NAME, "kernel_cwd": cwd}
    return {"kernel_manager_class": ipc_kernel_manager(socket_dir), "cwd": cwd}


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(text: str) -> str:
    """Text without terminal colour codes (tracebacks from the kernel carry them)."""
    return _ANSI.sub("", text)


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def run_reports(study: str | Path | None = None, out: str | Path | None = None, towns: list[str] | None = None,
                year: int | None = None, lang: str = "zh", jobs: int | None = None, force: bool = False,
                notebook: str | Path | None = None, parameters: dict | None = None, inline_plotly: bool = True,
                progress: bool = True, scheduler: str | None = None, engine: str = "warm",
                wait: float = 0.0, shared_assets: bool = False, pdf: bool = False,
                loaded: Study | None = None) -> BatchResult:
    """Make one offline HTML report per town and an index page.

    Parameters
    ----------
    study : path, optional
        Study folder; default the bundled sample study.
    out : path, optional
        Output folder; default ``outputs/reports/<study folder name>``. A folder
        belongs to one study (recorded in ``villagestudy-reports.json``): a run
        of another study into it stops with a clear message.
    towns : list of str, optional
        Town ids; default every town. The index page still lists every town
        report of the study already in the folder.
    year, lang : report year (default the study's) and language (``zh`` or ``en``).
    jobs : int, optional
        Towns made at once; default the number of cores. With the warm engine,
        up to :data:`~villagestudy.reports.workers.MAX_KERNEL_THREADS` run in
        threads of this process (each driving a kernel of its own), more in
        worker processes.
    force : bool
        Remake reports whose inputs have not changed.
    notebook : path, optional
        The parameterised report notebook; default ``notebooks/town_report.ipynb``.
    parameters : dict, optional
        More notebook parameters, e.g. ``{"weights": {"land": 2}, "standards": {"weak_total_yuan": 200000}}``.
    inline_plotly : bool
        Inline plotly.js (the package's 1.5 MB partial bundle) once in every
        report (default): each report is one file that draws its charts alone.
    shared_assets : bool
        Load plotly.js from one shared copy under ``out/assets`` instead (for
        huge batches; a report then needs that folder beside it).
    pdf : bool
        Also print each report to ``town_<id>.pdf`` (A4) with headless Chromium.
    scheduler : str, optional
        Address of a Dask scheduler: one task per town on that cluster instead of
        local processes (see :mod:`villagestudy.backends.dask.reports`).
    engine : {"warm", "fresh"}
        ``warm`` (default): each worker keeps one kernel and runs town after town
        in it, each in a fresh namespace (:mod:`villagestudy.reports.engine`);
        ``fresh``: a new kernel for every town (slower; for notebooks that change
        the global state of the libraries they import).
    wait : float
        Seconds to wait when another run is writing to ``out`` (default 0: stop at once).
    loaded : Study, optional
        ``load_study(study)`` as the caller has just made it (the command line
        loads the study first), so it is not loaded twice. It must be unchanged:
        the reports load the folder again in their kernels.

    Raises
    ------
    UsageError
        Bad arguments, or the output folder is busy, another study's, read-only
        or full (:class:`~villagestudy.reports.outfolder.OutputFolderError`; the
        index page then lists the reports that are in the folder).
    """
    from .index_page import key_figures

    study_path = Path(study or DEFAULT_STUDY).resolve()
    if loaded is not None and (loaded.path is None or Path(loaded.path).resolve() != study_path):
        raise UsageError(f"the loaded study ({loaded.path}) is not the study folder {study_path}")
    out_dir = Path(out or default_out_dir(study_path)).resolve()
    nb = Path(notebook or DEFAULT_NOTEBOOK).resolve()
    if not nb.exists():
        raise UsageError(f"report notebook not found: {nb}")
    if engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if lang not in ("zh", "en"):
        raise UsageError(f"--lang must be zh or en, not {lang!r}")
    # validate once, up front: a bad study fails before any work
    loaded = loaded if loaded is not None else load_study(study_path)
    known = loaded.town_ids()
    chosen = [str(t) for t in towns] if towns else known
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise UsageError(terminal_safe(f"unknown town id(s): {', '.join(unknown)}; the study has: {', '.join(known)}"))
    if year is not None and loaded.years and year not in loaded.years:
        raise UsageError(f"year {year} has no data; the study has years {loaded.years}")
    names = report_names(known)  # all the study's towns, so a name never depends on which towns a run makes
    check_writable(out_dir)
    study_name = loaded.settings.name
    extra = dict(parameters or {})
    inline_plotly = inline_plotly and not shared_assets
    provenance = {"data_fingerprint": loaded.fingerprint, "package_version": __version__,
                  "study": study_name, "study_path": str(study_path), "notebook": nb.name,
                  "parameters": {"year": year, "lang": lang, **extra}, "made": _now(),
                  "synthetic": loaded.settings.synthetic, "timezone": loaded.settings.timezone}
    with folder_lock(out_dir, wait=wait):
        claim_folder(out_dir, study=study_name, study_path=str(study_path), fingerprint=loaded.fingerprint)
        results: list[TownResult] = []
        timings: dict = {"made": 0}
        failure: OSError | None = None
        index_error: OSError | None = None
        with run_workdir(out_dir) as work:
            try:
                plotly_src = None if inline_plotly else _install_plotly(out_dir)
                jobs_list = []
                for town_id in chosen:
                    params = {"study_path": str(study_path), "town_id": town_id,
                              "year": year if year is not None else 0, "lang": lang, "report_mode": True, **extra}
                    jobs_list.append(TownJob(town_id, loaded.town_name(town_id), names[town_id], str(nb),
                                             str(out_dir), params,
                                             _job_key(loaded.fingerprint, nb, params, inline_plotly, pdf), plotly_src,
                                             inline_plotly, work_dir=str(work), study=study_name, engine=engine,
                                             pdf=pdf, lang=lang))
                todo = [j for j in jobs_list if force or not _reusable(j)]
                # local workers start now: their kernels start and import while the key figures and the
                # study-wide context are computed
                with _runner(len(todo), jobs, scheduler, engine) as runner:
                    figures: dict = {}
                    step = time.perf_counter()
                    if todo:
                        context = work / f"context-{loaded.fingerprint}.pkl"
                        shown = _store_context(loaded, context, year, extra).comparison
                        figures = key_figures(shown.indicators, shown.missed, loaded.villages)
                        for job in jobs_list:
                            job.parameters["context_path"] = str(context)
                    for job in jobs_list:  # a report reused as it is keeps the figures recorded with it
                        job.key_figures = figures.get(job.town_id) or _recorded_key_figures(job)
                    timings["context"], step = time.perf_counter() - step, time.perf_counter()
                    results = _run_jobs(jobs_list, todo, progress, runner)
                    timings.update(towns=time.perf_counter() - step, made=len(todo))
                by_town = {job.town_id: job.key_figures for job in jobs_list}
                for r in results:
                    r.key_figures = by_town.get(r.town_id, {})
            except OSError as e:
                failure = is_disk_error(e)
                if failure is None:
                    raise
            except BaseException:  # Ctrl-C and the like: the index still shows what is in the folder
                _write_index_safely(out_dir, results, provenance, lang, known, work)
                raise
            fatal = next((r for r in results if r.fatal), None)
            if failure is None:
                step = time.perf_counter()
                index_error = _write_index_safely(out_dir, results, provenance, lang, known, work)
                timings["index"] = time.perf_counter() - step
        if failure is not None or fatal is not None or index_error is not None:
            # the working folder is gone now, which may have freed enough space for the index
            _write_index_safely(out_dir, results, provenance, lang, known, None)
            made = sum(r.status == "ok" for r in results)
            detail = fatal.error if fatal is not None else disk_error_message(out_dir, failure or index_error)
            raise OutputFolderError(f"{detail} ({made} report(s) made in this run; the index page lists the "
                                    "reports in the folder)")
    return BatchResult(out_dir, results, provenance, timings)


def _write_index_safely(out_dir: Path, results: list, provenance: dict, lang: str, order: list[str],
                        work: Path | None) -> OSError | None:
    """Write the index of every report in the folder; return the disk error instead of raising it."""
    from .index_page import write_index

    rows = folder_rows(out_dir, results, study=provenance["study"], order=order)
    try:
        write_index(out_dir, rows, provenance, lang=lang, tmp_dir=work)
    except OSError as e:
        disk = is_disk_error(e)
        if disk is None:
            raise
        return disk
    return None


def _store_context(study, path: Path, year, extra: dict):
    """Compute the study-wide indicators and index once for every report of the batch; return the context."""
    from .context import build_context, save_context

    keys = ("weights", "standards", "normalise", "aggregate", "uncertainty_runs")
    choice = {k: extra[k] for k in keys if k in extra}
    context = build_context(study, extra.get("scenario"), year=year, **choice)
    save_context(context, path)
    return context


def _install_plotly(out_dir: Path) -> str:
    from .render import install_shared_plotly

    return install_shared_plotly(out_dir)


SCHEDULER_RUNNERS: dict[str, Callable] = {}
"""Runners of town jobs on a cluster: ``runner(todo, scheduler, workers, record)``; the Dask backend adds "dask"."""


class _OnCluster:
    """Town jobs as tasks on a Dask cluster (the runner the Dask backend registers)."""

    def __init__(self, scheduler: str, jobs: int | None) -> None:
        self.scheduler, self.jobs = scheduler, jobs

    def __enter__(self) -> "_OnCluster":
        return self

    def run(self, todo: list[TownJob], render: Callable, record: Callable[[TownResult], bool]) -> None:
        SCHEDULER_RUNNERS["dask"](todo, self.scheduler, self.jobs, record)

    def __exit__(self, *exc) -> None:
        pass


def _runner(todo: int, jobs: int | None, scheduler: str | None, engine: str):
    """Where ``todo`` town jobs run: a cluster, this process (one job), its threads or worker processes."""
    if scheduler is not None:
        discard_prelaunched()
        return _OnCluster(scheduler, jobs)
    workers = max(1, min(jobs or os.cpu_count() or 1, todo or 1))
    warm = engine == "warm" and todo > 0
    if workers == 1:
        runner = InProcess(warm)
    elif warm and workers <= MAX_KERNEL_THREADS:
        runner = KernelThreads(workers, warm, starting=kernels_starting_at_once(workers))
    else:
        runner = WorkerPool(workers, warm)
    if not (warm and isinstance(runner, (InProcess, KernelThreads))):
        discard_prelaunched()  # no job of this process will take the kernel launched for it
    return runner


def _run_jobs(jobs_list: list[TownJob], todo: list[TownJob], progress: bool, runner) -> list[TownResult]:
    """Run ``todo`` (the towns that cannot be reused) with ``runner``; stop at a full disk.

    The one place where jobs are run. Returns the results in the order of
    ``jobs_list``; towns not run because the batch stopped are left out.
    """
    from tqdm import tqdm

    made = {j.town_id for j in todo}
    results: dict[str, TownResult] = {j.town_id: TownResult(j.town_id, j.town_name, j.safe_name, "reused")
                                      for j in jobs_list if j.town_id not in made}
    bar = tqdm(total=len(jobs_list), initial=len(results), desc="reports", unit="town", disable=not progress)
    counts = {"done": len(results), "failed": 0}

    def record(res: TownResult) -> bool:
        """Record a result; False when the batch must stop (the output folder failed)."""
        results[res.town_id] = res
        counts["failed" if res.status == "failed" else "done"] += 1
        bar.set_postfix(done=counts["done"], failed=counts["failed"],
                        left=len(jobs_list) - counts["done"] - counts["failed"])
        bar.update(1)
        return not res.fatal

    bar.set_postfix(done=counts["done"], failed=0, left=len(todo))
    try:
        runner.run(todo, render_town, record)
    finally:
        bar.close()
    return [results[j.town_id] for j in jobs_list if j.town_id in results]


def result_rows(batch: BatchResult) -> list[dict]:
    return [asdict(r) for r in batch.results]
