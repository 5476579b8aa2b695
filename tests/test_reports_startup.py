"""The batch's own processes start without jsonschema's unused IRI grammars; a loaded Study is not loaded again."""
from __future__ import annotations

import subprocess
import sys

import pytest


def _in_new_process(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_skip_iri_grammars_keeps_notebook_validation():
    code = ("from villagestudy.reports.startup import skip_iri_grammars, IRI_GRAMMARS\n"
            "print(skip_iri_grammars())\n"
            "import sys, nbformat\n"
            "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')])\n"
            "nbformat.validate(nb)\n"  # notebooks are still validated
            "print(sys.modules[IRI_GRAMMARS] is None)\n"
            "try:\n    nbformat.validate({'cells': 'not a list'})\nexcept nbformat.ValidationError:\n    print('invalid')\n")
    assert _in_new_process(code).split() == ["True", "True", "invalid"]


def test_skip_iri_grammars_leaves_an_imported_jsonschema_alone():
    code = ("import jsonschema, sys\n"
            "from villagestudy.reports.startup import skip_iri_grammars, IRI_GRAMMARS\n"
            "before = sys.modules.get(IRI_GRAMMARS, 'absent')\n"
            "skip_iri_grammars()\n"
            "print(sys.modules.get(IRI_GRAMMARS, 'absent') is before)\n")
    assert _in_new_process(code) == "True"


def test_importing_the_package_changes_nothing():
    assert _in_new_process("import sys, villagestudy.reports; print('rfc3987_syntax' in sys.modules)") == "False"


def test_a_loaded_study_is_not_loaded_again(tiny_study_dir, tmp_path, monkeypatch):
    from villagestudy.io import load_study
    from villagestudy.reports import batch

    from types import SimpleNamespace

    from villagestudy import Scenario, evaluate

    study = load_study(tiny_study_dir)
    shown = SimpleNamespace(comparison=evaluate(study, Scenario(runs=0)))  # what the context gives the key figures
    calls = []
    monkeypatch.setattr(batch, "load_study", lambda *a, **k: calls.append(a) or pytest.fail("loaded again"))
    monkeypatch.setattr(batch, "_store_context", lambda *a, **k: shown)
    monkeypatch.setattr(batch, "_run_jobs", lambda jobs_list, todo, progress, runner: [])
    result = batch.run_reports(tiny_study_dir, loaded=study, out=tmp_path / "out", progress=False, jobs=1,
                               engine="fresh")
    assert calls == [] and result.provenance["study_path"] == str(study.path.resolve())


def test_a_loaded_study_of_another_folder_is_refused(tiny_study_dir, tmp_path):
    from villagestudy.errors import UsageError
    from villagestudy.io import load_study
    from villagestudy.reports import batch

    with pytest.raises(UsageError, match="is not the study folder"):
        batch.run_reports(tmp_path, loaded=load_study(tiny_study_dir), out=tmp_path / "out", progress=False)
