"""The warm papermill engine: isolation between towns, kernel replacement, same HTML as a fresh kernel."""
from __future__ import annotations

import contextlib
import importlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from conftest import REPO, write_tiny_study
from villagestudy.reports import run_reports
from villagestudy.safe_text import safe_file_name
from villagestudy.reports.engine import ENGINE_NAME, POOL, WarmEngine, register

pytestmark = pytest.mark.slow
TOWNS = ["440100001", "440100002"]
PROBE = re.compile(r"pid=(\d+) before=(\S+?)<")


def _probe_notebook(folder: Path) -> Path:
    """A report notebook that shows its kernel's pid and what the town before left in the namespace,
    then defines a global (and kills its kernel for ``crash_town``)."""
    nb = nbformat.v4.new_notebook()
    params = 'study_path = ""\ntown_id = ""\nyear = 0\nlang = "zh"\nreport_mode = False\ncontext_path = ""\ncrash_town = ""'
    nb.cells = [
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import os\nfrom IPython.display import HTML, display\n"
                                  "display(HTML(f\"<p>pid={os.getpid()} before={globals().get('seen_town')!r}</p>\"))"),
        nbformat.v4.new_code_cell("seen_town = town_id\nif town_id == crash_town:\n    os._exit(1)"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    return path


def _probe(path: Path) -> tuple[int, str]:
    pid, before = PROBE.search(path.read_text(encoding="utf-8")).groups()
    return int(pid), before


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return write_tiny_study(tmp_path_factory.mktemp("engine") / "study")


def test_a_town_sees_nothing_the_town_before_defined(study, tmp_path):
    batch = run_reports(study, out=tmp_path / "out", towns=TOWNS, jobs=1, progress=False,
                        notebook=_probe_notebook(tmp_path))
    assert [r.status for r in batch.results] == ["ok", "ok"]
    (pid1, before1), (pid2, before2) = (_probe(tmp_path / "out" / f"{safe_file_name(t)}.html") for t in TOWNS)
    assert pid1 == pid2  # the same kernel ran both towns...
    assert before1 == before2 == "None"  # ...and the second did not see the first one's global


def test_a_town_that_kills_its_kernel_fails_alone_and_the_next_gets_a_new_kernel(study, tmp_path):
    started = POOL.started
    batch = run_reports(study, out=tmp_path / "out", towns=TOWNS, jobs=1, progress=False,
                        notebook=_probe_notebook(tmp_path), parameters={"crash_town": TOWNS[0]})
    crashed, next_town = batch.results
    assert crashed.status == "failed" and "Kernel died" in crashed.error and crashed.attempts == 2
    assert next_town.status == "ok"
    crashed_pid, _ = _probe(tmp_path / "out" / "logs" / f"{safe_file_name(TOWNS[0])}.failed.ipynb")
    next_pid, before = _probe(tmp_path / "out" / f"{safe_file_name(TOWNS[1])}.html")
    assert next_pid != crashed_pid and before == "None"
    assert POOL.started - started == 3  # the crash, its retry, and a new kernel for the next town
    assert not POOL.kernels  # the batch stopped its kernel at the end


def _run(nb_path: Path, out: Path, **kwargs) -> int:
    nb = pm.execute_notebook(str(nb_path), str(out), engine_name=ENGINE_NAME, progress_bar=False,
                             kernel_name="python3", **kwargs)
    return int(PROBE.search(nb.cells[2].outputs[0].data["text/html"]).group(1))


def test_kernel_is_replaced_after_max_notebooks_and_above_the_memory_limit(tmp_path):
    nb = _probe_notebook(tmp_path)
    try:
        first = _run(nb, tmp_path / "a.ipynb", parameters={"town_id": "a"}, max_notebooks=2)
        second = _run(nb, tmp_path / "b.ipynb", parameters={"town_id": "b"}, max_notebooks=2)
        third = _run(nb, tmp_path / "c.ipynb", parameters={"town_id": "c"}, max_rss_mb=1e-3)
        fourth = _run(nb, tmp_path / "d.ipynb", parameters={"town_id": "d"})
    finally:
        POOL.shutdown()
    assert first == second  # warm for two notebooks
    assert third != second  # worn out after max_notebooks=2
    assert fourth != third  # the third kernel passed the (tiny) memory limit


def test_a_timeout_replaces_the_kernel(tmp_path):
    nb = _probe_notebook(tmp_path)
    slow = nbformat.read(nb, as_version=4)
    slow.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(60)"))
    nbformat.write(slow, tmp_path / "slow.ipynb")
    try:
        before = _run(nb, tmp_path / "a.ipynb", parameters={"town_id": "a"})
        with pytest.raises(Exception, match="[Tt]imed out|[Tt]imeout"):
            _run(tmp_path / "slow.ipynb", tmp_path / "b.ipynb", parameters={"town_id": "b"}, execution_timeout=2)
        after = _run(nb, tmp_path / "c.ipynb", parameters={"town_id": "c"})
    finally:
        POOL.shutdown()
    assert after != before
    assert (tmp_path / "b.ipynb").exists()  # the notebook as far as it ran, for diagnosis


def _normalised(html: str) -> str:
    """A report without what differs between two runs: the time it was made and plotly's random div ids."""
    html = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", "<time>", html)
    html = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d \(UTC[+-]\d\d:\d\d\)", "<time>", html)  # as the provenance shows it
    ids = {}
    for found in re.findall(r'id="([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"', html):
        ids.setdefault(found, f"div-{len(ids)}")
    for found, name in ids.items():
        html = html.replace(found, name)
    return html


def test_warm_and_fresh_kernels_make_the_same_reports(study, tmp_path):
    made = {}
    for engine in ("fresh", "warm"):
        batch = run_reports(study, out=tmp_path / engine, jobs=1, progress=False, engine=engine,
                            parameters={"uncertainty_runs": 20})
        assert batch.ok
        made[engine] = {t: (tmp_path / engine / f"{safe_file_name(t)}.html").read_text(encoding="utf-8") for t in TOWNS}
    for town in TOWNS:
        fresh, warm = _normalised(made["fresh"][town]), _normalised(made["warm"][town])
        assert "div-0" in warm and "<time>" in warm  # the normalisation found what it replaces
        assert warm == fresh, town


def test_engine_is_declared_as_a_papermill_entry_point():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    target = declared["project"]["entry-points"]["papermill.engine"][ENGINE_NAME]
    module, _, attr = target.partition(":")
    assert getattr(importlib.import_module(module), attr) is WarmEngine
    from importlib.metadata import entry_points

    if any(e.name == ENGINE_NAME for e in entry_points(group="papermill.engine")):  # installed from this tree
        pm.engines.papermill_engines.register_entry_points()
    assert register() is pm.engines.papermill_engines.get_engine(ENGINE_NAME)


def test_papermill_command_line_runs_the_engine(tmp_path):
    nb = _probe_notebook(tmp_path)
    # the registration in code stands in for the entry point until the package is installed again
    code = ("import sys, villagestudy.reports.engine; from papermill.cli import papermill; "
            "sys.exit(papermill.main(sys.argv[1:], standalone_mode=False))")
    done = subprocess.run([sys.executable, "-c", code, "--engine", ENGINE_NAME, "--no-progress-bar", str(nb),
                           str(tmp_path / "out.ipynb"), "-p", "town_id", "cli"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "before=None" in out.cells[2].outputs[0].data["text/html"]
    assert out.metadata.papermill.parameters == {"town_id": "cli"}


def test_an_unknown_engine_is_refused_before_any_work(study, tmp_path):
    from villagestudy.errors import UsageError

    with pytest.raises(UsageError, match="--engine must be one of warm, fresh"):
        run_reports(study, out=tmp_path / "out", engine="lukewarm", progress=False)
    assert not (tmp_path / "out").exists()


def test_threads_run_notebooks_in_their_own_folders_without_moving_the_process(tmp_path):
    """Dask workers run towns in threads of one process: each warm kernel works in the folder it is
    given (``kernel_cwd``), and the process's own working directory never moves."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('town_id = ""', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import os\nprint('cwd=' + os.getcwd())")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "where.ipynb")
    folders = [tmp_path / f"town{k}" for k in range(4)]
    for folder in folders:
        folder.mkdir()
    before = os.getcwd()

    def run(folder: Path) -> str:
        out = folder / "out.ipynb"
        pm.execute_notebook(str(tmp_path / "where.ipynb"), str(out), parameters={"town_id": folder.name},
                            engine_name=ENGINE_NAME, kernel_cwd=str(folder), progress_bar=False,
                            kernel_name="python3")
        return nbformat.read(out, as_version=4).cells[-1].outputs[0]["text"].strip()

    register()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            seen = list(pool.map(run, folders))
    finally:
        POOL.shutdown()
    assert seen == [f"cwd={folder}" for folder in folders]
    assert os.getcwd() == before


def test_a_warm_kernel_ends_with_the_process_that_started_it_even_while_it_still_starts(tmp_path):
    import signal
    import time

    import psutil

    # a process that launches a warm kernel whose start-up lines take a minute (as importing the package does
    # for seconds), then is killed: ipykernel would only notice once its start-up lines were done
    script = tmp_path / "launch.py"
    script.write_text("import time\nfrom villagestudy.reports.engine import WarmKernel\n"
                      "k = WarmKernel.launch('python3', start_timeout=60, "
                      "extra_arguments=['--IPKernelApp.exec_lines=import time; time.sleep(60)'])\n"
                      "print(k.km.provisioner.pid, flush=True)\ntime.sleep(120)\n", encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    kernel = psutil.Process(int(parent.stdout.readline()))
    try:
        time.sleep(2)  # the kernel is starting: in ipykernel's imports or in its start-up lines
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        kernel.wait(timeout=5)  # gone within a second, not after its minute of start-up
    finally:
        parent.kill()
        with contextlib.suppress(psutil.NoSuchProcess):
            kernel.kill()



def test_stopping_a_warm_kernel_kills_it_without_an_interrupt():
    # jupyter_client's shutdown_kernel interrupts first: an idle kernel that catches it prints
    # "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel." on the user's terminal
    import psutil

    from villagestudy.reports.engine import WarmKernel

    kernel = WarmKernel.start("python3", start_timeout=60)
    process = psutil.Process(kernel.pid)
    interrupts = []

    async def interrupt():
        interrupts.append(True)

    kernel.km._async_interrupt_kernel = interrupt
    kernel.km.interrupt_kernel = interrupt
    kernel.shutdown()
    assert interrupts == []
    assert not process.is_running()  # killed and reaped
    assert not kernel.km.has_kernel


def test_importing_the_parent_watch_starts_nothing():
    # only a kernel's start-up line (runpy under its run name) starts the watch: an import, say by a doctest
    # run inside a Jupyter kernel (whose JPY_PARENT_PID is not the importer's parent), must not end the process
    code = "import time, villagestudy.reports._parent_watch; time.sleep(1); print('alive')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "JPY_PARENT_PID": "1"})
    assert done.returncode == 0 and done.stdout.strip() == "alive", done.stderr[-2000:]
