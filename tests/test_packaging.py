"""The package works from an installed wheel, with no source checkout.

Builds the wheel from a copy of the sources (nothing is written into the checkout), installs it
into a fresh virtual environment that borrows the machine's heavy dependencies
(``--system-site-packages``), and runs ``villagestudy reports`` for one town of the bundled
sample from an empty folder outside the repository.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "villagestudy" / "datasets" / "sample"

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # the borrowed nbconvert keeps its HTML templates (lab) under this interpreter's prefix, which a
    # venv does not search; a venv with its own nbconvert would have them under its own prefix
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                         os.environ.get("JUPYTER_PATH")]))
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of pyproject.toml, README.md and src/."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints"))
    out = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)], cwd=tmp)
    (whl,) = out.glob("villagestudy-*.whl")
    return whl


def test_the_wheel_holds_the_notebooks_templates_catalog_and_sample(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "villagestudy/data/indicators.toml",
        "villagestudy/notebooks/town_report.ipynb",
        "villagestudy/notebooks/consultation.ipynb",
        "villagestudy/reports/templates/offline/index.html.j2",
        "villagestudy/reports/templates/offline/conf.json",
        "villagestudy/reports/assets/plotly-cartesian.min.js.gz",
        "villagestudy/consult/assets/plotly-basic.min.js.gz",  # the consultation page's plotly.js
        "villagestudy/consult/assets/plotly-basic.LICENSE",
        "villagestudy/consult/templates/voila/index.html.j2",
        "villagestudy/consult/templates/voila/plots.js",
        "villagestudy/consult/templates/first_view.html.j2",
        "villagestudy/consult/templates/first_view.js",
        "villagestudy/consult/templates/first_view_show.js",
        "villagestudy/consult/templates/plotly_figure.html.j2",
    } | {f"villagestudy/datasets/sample/{p.name}" for p in SAMPLE.iterdir() if p.is_file()}
    assert expected <= names, sorted(expected - names)


def test_reports_from_an_installed_wheel_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], cwd=tmp_path)
    work = tmp_path / "empty"
    work.mkdir()
    where = _run([str(python), "-c", "import villagestudy; print(villagestudy.__file__)"], cwd=work).stdout.strip()
    assert Path(where).is_relative_to(venv), f"the venv imports villagestudy from {where}, not from the wheel"

    town = pd.read_csv(SAMPLE / "towns.csv", dtype=str, encoding="utf-8-sig")["town_id"].iloc[0]
    out = tmp_path / "out"
    _run([str(venv / "bin" / "villagestudy"), "reports", "--town", town, "--out", str(out), "--quiet"], cwd=work)
    report = out / f"town_{town}.html"
    assert report.is_file() and report.stat().st_size > 10_000
    assert (out / "index.html").is_file()
    assert town in (out / "index.html").read_text(encoding="utf-8")
    assert list(work.iterdir()) == []  # nothing written where it was run from
