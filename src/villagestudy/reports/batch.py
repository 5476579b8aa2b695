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

from .._atomic import atomic_path
from .._paths import NOTEBOOKS, SAMPLE_STUDY
from .._version import __version__
from ..errors import UsageError

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
    inline_plotly: bool = True
    pdf: bool = False
    lang: str = "zh"


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


def safe_file_name(town_id: str) -> str:
    """A file name made safe from a town id: only [A-Za-z0-9._-], never hidden or empty.

    A short hash is appended whenever characters had to be replaced, so that two
    different ids never share a file.

    Examples
    --------
    >>> safe_file_name("440100001")
    'town_440100001'
    >>> safe_file_name("../etc/passwd")[:15]
    'town_.._etc_pas'
    """
    cleaned = re.sub(r"[^0-9A-Za-z._-]", "_", str(town_id))[:60]
    name = f"town_{cleaned}"
    if cleaned != str(town_id) or not cleaned:
        name += "_" + hashlib.sha1(str(town_id).encode("utf-8")).hexdigest()[:8]
    return name


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
    started = time.perf_counter()
    result = TownResult(job.town_id, job.town_name, job.safe_name, "failed")
    error_text, log_text = None, ""
    for attempt in range(1, retries + 2):
        result.attempts = attempt
        socket_dir = tempfile.mkdtemp(prefix="vs-kernel-")
        try:
            pm.execute_notebook(
                job.notebook, str(executed), parameters=job.parameters, kernel_name="python3",
                execution_timeout=EXECUTION_TIMEOUT_S, start_timeout=START_TIMEOUT_S, progress_bar=False,
                log_output=False, cwd=str(Path(job.notebook).parent),
                # the kernel's start-up log is noise in a batch
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                kernel_manager_class=_ipc_kernel_manager(socket_dir),
            )
            title = f"{job.town_name} · villagestudy"
            page = notebook_to_html(executed, title, plotly_src=job.plotly_src, inline_plotly=job.inline_plotly,
                                    lang=job.lang)
            with atomic_path(out / f"{job.safe_name}.html") as tmp:
                tmp.write_text(page, encoding="utf-8")
            tables = Path(job.parameters.get("tables_path") or "")
            if tables.name and tables.exists():
                with atomic_path(out / f"{job.safe_name}.xlsx") as tmp:
                    shutil.copyfile(tables, tmp)
            if job.pdf:
                from .pdf import html_to_pdf

                html_to_pdf(out / f"{job.safe_name}.html", out / f"{job.safe_name}.pdf")
            with atomic_path(out / f"{job.safe_name}.ipynb") as tmp:
                shutil.copyfile(executed, tmp)
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


def _ipc_kernel_manager(socket_dir: str):
    """A kernel manager that talks to its kernel over local sockets in ``socket_dir``, not TCP ports.

    Picking free TCP ports races between worker processes starting kernels at the
    same moment ("Address already in use"); sockets in a folder of the job's own
    cannot collide. (A short path: socket paths are limited to about 100 bytes.)
    """
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(socket_dir, "kernel"))
            super().__init__(**kwargs)

    return IPCKernelManager


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(text: str) -> str:
    """Text without terminal colour codes (tracebacks from the kernel carry them)."""
    return _ANSI.sub("", text)


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def run_reports(study: str | Path | None = None, out: str | Path | None = None, towns: list[str] | None = None,
                year: int | None = None, lang: str = "zh", jobs: int | None = None, force: bool = False,
                notebook: str | Path | None = None, parameters: dict | None = None, inline_plotly: bool = True,
                progress: bool = True, scheduler: str | None = None, shared_assets: bool = False,
                pdf: bool = False) -> BatchResult:
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
        Inline plotly.js (the package's 1.5 MB partial bundle) once in every
        report (default): each report is one file that draws its charts alone.
    shared_assets : bool
        Load plotly.js from one shared copy under ``out/assets`` instead (for
        huge batches; a report then needs that folder beside it).
    pdf : bool
        Also print each report to ``town_<id>.pdf`` (A4) with headless Chromium.
    scheduler : str, optional
        Address of a Dask scheduler: one task per town on that cluster instead of
        local processes (see :mod:`villagestudy.reports.dask_runner`).
    """
    from .. import load_study
    from .index_page import key_figures, write_index

    study_path = Path(study or DEFAULT_STUDY).resolve()
    out_dir = Path(out or DEFAULT_OUT).resolve()
    nb = Path(notebook or DEFAULT_NOTEBOOK).resolve()
    if not nb.exists():
        raise UsageError(f"report notebook not found: {nb}")
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
    inline_plotly = inline_plotly and not shared_assets
    plotly_src = None if inline_plotly else _install_plotly(out_dir)
    extra = dict(parameters or {})
    jobs_list = []
    for town_id in chosen:
        safe = safe_file_name(town_id)
        params = {"study_path": str(study_path), "town_id": town_id, "year": year if year is not None else 0,
                  "lang": lang, "report_mode": True, **extra,
                  "tables_path": str(out_dir / ".work" / safe / f"{safe}.xlsx")}
        jobs_list.append(TownJob(town_id, loaded.town_name(town_id), safe, str(nb), str(out_dir), params,
                                 _job_key(loaded.fingerprint, nb, params, inline_plotly, pdf), plotly_src,
                                 inline_plotly, pdf, lang))
    context = out_dir / ".work" / f"context-{loaded.fingerprint}.pkl"
    if force or not all(_reusable(j) for j in jobs_list):
        _store_context(loaded, context, year, extra)
        for job in jobs_list:
            job.parameters["context_path"] = str(context)
    results = _run_jobs(jobs_list, jobs, force, progress, scheduler)
    figures = key_figures(loaded, year=year)
    for r in results:
        r.key_figures = figures.get(r.town_id, {})
    provenance = {"data_fingerprint": loaded.fingerprint, "package_version": __version__,
                  "study": loaded.settings.name, "study_path": str(study_path), "notebook": nb.name,
                  "parameters": {"year": year, "lang": lang, **extra}, "made": _now(),
                  "synthetic": loaded.settings.synthetic, "timezone": loaded.settings.timezone}
    write_index(out_dir, results, provenance, lang=lang)
    shutil.rmtree(out_dir / ".work", ignore_errors=True)
    return BatchResult(out_dir, results, provenance)


def _store_context(study, path: Path, year, extra: dict) -> None:
    """Compute the study-wide indicators and index once for every report of the batch."""
    from .context import build_context, save_context

    keys = ("weights", "standards", "normalise", "aggregate", "uncertainty_runs")
    defaults = {"normalise": "minmax", "aggregate": "arithmetic", "uncertainty_runs": 500}
    choice = {k: extra.get(k, defaults.get(k)) for k in keys}
    save_context(build_context(study, year, **choice), path)


def _install_plotly(out_dir: Path) -> str:
    from .render import install_shared_plotly

    return install_shared_plotly(out_dir)


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
        from .dask_runner import run_jobs_on_dask

        run_jobs_on_dask(todo, scheduler, jobs, record)
    elif workers == 1:
        for job in todo:
            record(render_town(job))
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
