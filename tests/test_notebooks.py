"""Every notebook runs top to bottom on the sample study; notebooks are committed clean."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
# the explore and gallery notebooks of the checkout, and the report and app notebooks shipped in the package
FOLDERS = (REPO / "notebooks", REPO / "src" / "villagestudy" / "notebooks")
ALL = sorted((p for folder in FOLDERS for p in folder.glob("*.ipynb") if not p.name.startswith("_")), key=lambda p: p.name)


def test_there_are_notebooks():
    names = {p.name for p in ALL}
    assert {"town_report.ipynb", "explore.ipynb"} <= names


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_committed_without_outputs_and_parameters_first(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and "parameters" in code[0].metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    assert not any(c.get("outputs") for c in code), "strip outputs before committing"
    assert not any(c.get("execution_count") for c in code)


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in ALL if p.name != "town_report.ipynb"], ids=lambda p: p.name)
def test_notebook_runs_on_the_sample(path, tmp_path):
    """town_report.ipynb runs in the batch-report tests; the others run here."""
    import papermill as pm

    pm.execute_notebook(str(path), str(tmp_path / path.name), kernel_name="python3", cwd=str(tmp_path),
                        progress_bar=False, execution_timeout=300, start_timeout=120,
                        extra_arguments=["--IPKernelApp.log_level=ERROR"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["explore.ipynb", "gallery.ipynb"])
def test_exported_notebook_shows_its_figures(name, tmp_path):
    """An executed user notebook exported with nbconvert (as a researcher shares it) still draws its charts."""
    import papermill as pm
    from nbconvert import HTMLExporter

    path = next(p for p in ALL if p.name == name)
    out = tmp_path / name
    pm.execute_notebook(str(path), str(out), kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                        execution_timeout=300, start_timeout=120, extra_arguments=["--IPKernelApp.log_level=ERROR"])
    nb = nbformat.read(out, as_version=4)
    drawn = sum("application/vnd.plotly.v1+json" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert drawn > 0 and body.count("Plotly.newPlot") == drawn
