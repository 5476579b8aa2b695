"""The documentation: pages generated from the package, and the whole site built offline with -W."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import vsdocs  # noqa: E402


def test_indicator_page_lists_every_catalog_entry_with_both_languages():
    from villagestudy import catalog

    page = vsdocs.indicators_page()
    for i in catalog.ids():
        ind = catalog.get(i)
        assert f"``{i}``" in page
        assert vsdocs.esc(ind.name_zh) in page and vsdocs.esc(ind.formula_zh) in page
    assert "``weak_total_yuan``" in page  # the standard of the weak-village flag, by its settings key


def test_cli_page_documents_every_command_and_option():
    from villagestudy.cli import build_parser

    page = vsdocs.cli_page()
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, parser in sub.choices.items():
        assert f"villagestudy {name}\n" in page
        for action in parser._actions:
            for opt in action.option_strings:
                if opt not in ("-h", "--help"):
                    assert f"``{opt}``" in page, (name, opt)


def test_landuse_page_shows_the_table_and_its_sources():
    page = vsdocs.landuse_page()
    assert "GB/T 21010-2017" in page and "TD/T 1055-2019" in page
    assert "``1006``" in page and "``construction``" in page


def test_rst_escaping_keeps_text_literal():
    assert vsdocs.esc("a_b *c* `d` |e|") == r"a\_b \*c\* \`d\` \|e\|"


def test_guides_include_every_other_markdown_page():
    toc = vsdocs.guides_page(DOCS)
    assert "../dask" in toc and "../land-data" not in toc


@pytest.mark.slow
def test_docs_build_offline_with_warnings_as_errors(tmp_path):
    src = tmp_path / "docs"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("_build", "_generated"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(DOCS.parent / "src"), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          "-d", str(tmp_path / "doctrees"), str(src), str(tmp_path / "html")],
                         capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    html = tmp_path / "html"
    for page in ("index.html", "getting-started.html", "study-format.html", "land-data.html", "dask.html",
                 "_generated/indicators.html", "_generated/cli.html", "_generated/api/villagestudy.io.adapters.html"):
        assert (html / page).exists(), page
    assert "read_sandiao" in (html / "_generated/api/villagestudy.io.adapters.html").read_text(encoding="utf-8")
    for page in html.rglob("*.html"):  # offline: nothing loaded from the network
        text = page.read_text(encoding="utf-8")
        assert 'src="http' not in text and "<link rel=\"stylesheet\" href=\"http" not in text, page.name
