"""Batch reports: one offline HTML report per town, plus an index page.

For each town papermill executes the report notebook with the town's
parameters (the executed notebook is kept beside the HTML for audit), then
nbconvert renders it with inputs hidden. Towns run in parallel worker
processes; a town that fails does not stop the others; a town whose inputs have
not changed since its last report is reused unless ``force``. Every file is
written to a temporary path and moved into place, so a failed run never
replaces a good earlier report.
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
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from .._atomic import atomic_path
from .._paths import NOTEBOOKS, SAMPLE_STUDY
from .._version import __version__
from ..errors import UsageError
from ..safe_text import safe_file_name
from .kernels import ipc_kernel_manager

DEFAULT_NOTEBOOK = NOTEBOOKS / "town_report.ipynb"
DEFAULT_STUDY = SAMPLE_STUDY
DEFAULT_OUT = Path("outputs") / "reports"
EXECUTION_TIMEOUT_S = 600  # per cell: papermill has none by default and a stalled kernel hangs forever
START_TIMEOUT_S = 120


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
    inline_plotly: bool = False
    engine: str = "warm"  # warm: the worker's kept kernel (reports.engine); fresh: a new kernel per town


@dataclass
class TownResult:
    town_id: str
    town_name: str
    safe_name: str
    status: str  # ok | reused | failed
    seconds: float = 0.0
    error: str | None = None
    log: str | None = None
    attempts: int = 0
    key_figures: dict = field(default_factory=dict)

    @property
    def html(self) -> str:
        return f"{self.safe_name}.html"


@dataclass
class BatchResult:
    out_dir: Path
    results: list[TownResult]
    provenance: dict

    @property
    def failed(self) -> list[TownResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


def _job_key(fingerprint: str, notebook: Path, parameters: dict, inline_plotly: bool) -> str:
    payload = {
        "fingerprint": fingerprint,
        "notebook": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "parameters": {k: v for k, v in parameters.items() if k not in ("study_path", "context_path")},
        "version": __version__,
        "inline_plotly": inline_plotly,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:20]


def comparison_file_name(safe: str) -> str:
    """The audit file beside a report: the Comparison it showed (``town_<id>.comparison.json``)."""
    return f"{safe}.comparison.json"


def _sidecar(out_dir: Path, safe: str) -> Path:
    return out_dir / f"{safe}.json"


def _reusable(job: TownJob) -> bool:
    out = Path(job.out_dir)
    side = _sidecar(out, job.safe_name)
    if not (out / f"{job.safe_name}.html").exists() or not side.exists():
        return False
    try:
        return json.loads(side.read_text(encoding="utf-8")).get("key") == job.key
    except (OSError, ValueError):
        return False


def render_town(job: TownJob, retries: int = 1) -> TownResult:
    """Execute and render one town's report (runs in a worker process)."""
    import papermill as pm

    from .render import notebook_to_html

    out = Path(job.out_dir)
    work = out / ".work" / job.safe_name
    work.mkdir(parents=True, exist_ok=True)
    executed = work / f"{job.safe_name}.ipynb"
    comparison = work / comparison_file_name(job.safe_name)  # written by the report from the Comparison it shows
    started = time.perf_counter()
    result = TownResult(job.town_id, job.town_name, job.safe_name, "failed")
    error_text, log_text = None, ""
    for attempt in range(1, retries + 2):
        result.attempts = attempt
        socket_dir = tempfile.mkdtemp(prefix="vs-kernel-")
        try:
            pm.execute_notebook(
                job.notebook, str(executed), parameters={**job.parameters, "comparison_path": str(comparison)},
                kernel_name="python3",
                execution_timeout=EXECUTION_TIMEOUT_S, start_timeout=START_TIMEOUT_S, progress_bar=False,
                log_output=False, cwd=str(Path(job.notebook).parent),
                # the kernel's start-up log is noise in a batch
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                **_engine_arguments(job.engine, socket_dir),
            )
            title = f"{job.town_name} · villagestudy"
            page = notebook_to_html(executed, title, plotly_src=job.plotly_src, inline_plotly=job.inline_plotly)
            with atomic_path(out / f"{job.safe_name}.html") as tmp:
                tmp.write_text(page, encoding="utf-8")
            with atomic_path(out / f"{job.safe_name}.ipynb") as tmp:
                shutil.copyfile(executed, tmp)
            if comparison.exists():
                with atomic_path(out / comparison_file_name(job.safe_name)) as tmp:
                    shutil.copyfile(comparison, tmp)
            result.status, error_text = "ok", None
            break
        except pm.PapermillExecutionError as e:
            # an exception raised in a cell is deterministic: running it again gives the same error
            error_text = _plain(f"cell {e.exec_count}: {e.ename}: {e.evalue}")
            log_text += f"attempt {attempt}: {error_text}\n" + _plain("\n".join(e.traceback or [])) + "\n"
            break
        except Exception as e:  # kernel died, timed out or failed to start: worth one retry
            error_text = f"{type(e).__name__}: {e}"
            log_text += f"attempt {attempt}: {error_text}\n{traceback.format_exc()}\n"
        finally:
            shutil.rmtree(socket_dir, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    if result.status != "ok":
        result.error = error_text
        log = out / "logs" / f"{job.safe_name}.log"
        with atomic_path(log) as tmp:
            tmp.write_text(f"town {job.town_id} ({job.town_name})\n{log_text}", encoding="utf-8")
        if executed.exists():  # the partly executed notebook, for diagnosis
            with atomic_path(out / "logs" / f"{job.safe_name}.failed.ipynb") as tmp:
                shutil.copyfile(executed, tmp)
        result.log = str(log.relative_to(out))
    else:
        with atomic_path(_sidecar(out, job.safe_name)) as tmp:
            tmp.write_text(json.dumps({"key": job.key, "town_id": job.town_id, "parameters": job.parameters,
                                       "version": __version__, "seconds": round(result.seconds, 2),
                                       "made": _now()}, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return result


ENGINES = ("warm", "fresh")


def _engine_arguments(engine: str, socket_dir: str) -> dict:
    """papermill arguments for ``engine``: the worker's warm kernel, or a new kernel for this town."""
    if engine == "warm":
        from .engine import ENGINE_NAME, register

        register()  # in code as well as by entry point: an editable install may predate the entry point
        return {"engine_name": ENGINE_NAME}
    return {"kernel_manager_class": ipc_kernel_manager(socket_dir)}


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(text: str) -> str:
    """Text without terminal colour codes (tracebacks from the kernel carry them)."""
    return _ANSI.sub("", text)


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def run_reports(study: str | Path | None = None, out: str | Path | None = None, towns: list[str] | None = None,
                year: int | None = None, lang: str = "zh", jobs: int | None = None, force: bool = False,
                notebook: str | Path | None = None, parameters: dict | None = None, inline_plotly: bool = False,
                progress: bool = True, scheduler: str | None = None, engine: str = "warm") -> BatchResult:
    """Make one offline HTML report per town and an index page.

    Parameters
    ----------
    study : path, optional
        Study folder; default the bundled sample study.
    out : path, optional
        Output folder; default ``outputs/reports``.
    towns : list of str, optional
        Town ids; default every town.
    year, lang : report year (default the study's) and language (``zh`` or ``en``).
    jobs : int, optional
        Worker processes; default the number of cores.
    force : bool
        Remake reports whose inputs have not changed.
    notebook : path, optional
        The parameterised report notebook; default ``notebooks/town_report.ipynb``.
    parameters : dict, optional
        More notebook parameters, e.g. ``{"weights": {"land": 2}, "standards": {"weak_total_yuan": 200000}}``.
    inline_plotly : bool
        Inline plotly.js in every report (one file per town, about 5 MB more each)
        instead of one shared copy under ``out/assets``.
    scheduler : str, optional
        Address of a Dask scheduler: one task per town on that cluster instead of
        local processes (see :mod:`villagestudy.backends.dask.reports`).
    engine : {"warm", "fresh"}
        ``warm`` (default): each worker keeps one kernel and runs town after town
        in it, each in a fresh namespace (:mod:`villagestudy.reports.engine`);
        ``fresh``: a new kernel for every town (slower; for notebooks that change
        the global state of the libraries they import).
    """
    from ..io import load_study
    from .index_page import key_figures, write_index

    study_path = Path(study or DEFAULT_STUDY).resolve()
    out_dir = Path(out or DEFAULT_OUT).resolve()
    nb = Path(notebook or DEFAULT_NOTEBOOK).resolve()
    if not nb.exists():
        raise UsageError(f"report notebook not found: {nb}")
    if engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if lang not in ("zh", "en"):
        raise UsageError(f"--lang must be zh or en, not {lang!r}")
    loaded = load_study(study_path)  # validate once, up front: a bad study fails before any work
    known = loaded.town_ids()
    chosen = [str(t) for t in towns] if towns else known
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise UsageError(f"unknown town id(s): {', '.join(unknown)}; the study has: {', '.join(known)}")
    if year is not None and loaded.years and year not in loaded.years:
        raise UsageError(f"year {year} has no data; the study has years {loaded.years}")
    out_dir.mkdir(parents=True, exist_ok=True)
    plotly_src = None if inline_plotly else _install_plotly(out_dir)
    extra = dict(parameters or {})
    jobs_list = []
    for town_id in chosen:
        params = {"study_path": str(study_path), "town_id": town_id, "year": year if year is not None else 0,
                  "lang": lang, "report_mode": True, **extra}
        safe = safe_file_name(town_id)
        jobs_list.append(TownJob(town_id, loaded.town_name(town_id), safe, str(nb), str(out_dir), params,
                                 _job_key(loaded.fingerprint, nb, params, inline_plotly), plotly_src, inline_plotly,
                                 engine=engine))
    context = out_dir / ".work" / f"context-{loaded.fingerprint}.pkl"
    if force or not all(_reusable(j) for j in jobs_list):
        _store_context(loaded, context, year, extra)
        for job in jobs_list:
            job.parameters["context_path"] = str(context)
    results = _run_jobs(jobs_list, jobs, force, progress, scheduler)
    results += _kept_towns(out_dir, [t for t in known if t not in chosen], loaded)
    results.sort(key=lambda r: known.index(r.town_id))
    standards = (extra.get("scenario") or {}).get("standards") or extra.get("standards") or {}
    figures = key_figures(loaded.with_settings(**standards) if standards else loaded, year=year)  # the standards shown
    for r in results:
        r.key_figures = figures.get(r.town_id, {})
    provenance = {"data_fingerprint": loaded.fingerprint, "package_version": __version__,
                  "study": loaded.settings.name, "study_path": str(study_path), "notebook": nb.name,
                  "parameters": {"year": year, "lang": lang, **extra}, "made": _now(),
                  "synthetic": loaded.settings.synthetic}
    write_index(out_dir, results, provenance, lang=lang)
    shutil.rmtree(out_dir / ".work", ignore_errors=True)
    return BatchResult(out_dir, results, provenance)


def _store_context(study, path: Path, year, extra: dict) -> None:
    """Compute the study-wide indicators and index once for every report of the batch."""
    from .context import build_context, save_context

    keys = ("weights", "standards", "normalise", "aggregate", "uncertainty_runs")
    choice = {k: extra[k] for k in keys if k in extra}
    save_context(build_context(study, extra.get("scenario"), year=year, **choice), path)


def _kept_towns(out_dir: Path, town_ids: list[str], study) -> list[TownResult]:
    """Towns not asked for whose earlier report is still in ``out_dir``: kept on the index page as they are."""
    kept = []
    for town_id in town_ids:
        safe = safe_file_name(town_id)
        if (out_dir / f"{safe}.html").exists() and _sidecar(out_dir, safe).exists():
            kept.append(TownResult(town_id, study.town_name(town_id), safe, "reused"))
    return kept


def _install_plotly(out_dir: Path) -> str:
    from .render import install_shared_plotly

    return install_shared_plotly(out_dir)


SCHEDULER_RUNNERS: dict[str, Callable] = {}
"""Runners of town jobs on a cluster: ``runner(todo, scheduler, workers, record)``; the Dask backend adds "dask"."""


def _run_jobs(jobs_list: list[TownJob], jobs: int | None, force: bool, progress: bool,
              scheduler: str | None = None) -> list[TownResult]:
    from tqdm import tqdm

    results: dict[str, TownResult] = {}
    todo = []
    for job in jobs_list:
        if not force and _reusable(job):
            results[job.town_id] = TownResult(job.town_id, job.town_name, job.safe_name, "reused")
        else:
            todo.append(job)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    bar = tqdm(total=len(jobs_list), initial=len(results), desc="reports", unit="town", disable=not progress)
    counts = {"done": len(results), "failed": 0}

    def record(res: TownResult) -> None:
        results[res.town_id] = res
        counts["failed" if res.status == "failed" else "done"] += 1
        bar.set_postfix(done=counts["done"], failed=counts["failed"],
                        left=len(jobs_list) - counts["done"] - counts["failed"])
        bar.update(1)

    bar.set_postfix(done=counts["done"], failed=0, left=len(todo))
    if scheduler is not None:
        SCHEDULER_RUNNERS["dask"](todo, scheduler, jobs, record)
    elif workers == 1:
        from .engine import shutdown_kernels

        try:
            for job in todo:
                record(render_town(job))
        finally:
            shutdown_kernels()  # this process's warm kernel is not needed after the batch
    else:
        # spawn, not fork: each worker starts Jupyter kernels and must not inherit the parent's state
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(render_town, job): job for job in todo}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    record(fut.result())
                except Exception as e:  # the worker process itself died
                    record(TownResult(job.town_id, job.town_name, job.safe_name, "failed",
                                      error=f"worker failed: {type(e).__name__}: {e}"))
    bar.close()
    return [results[j.town_id] for j in jobs_list]


def result_rows(batch: BatchResult) -> list[dict]:
    return [asdict(r) for r in batch.results]
