"""Batch reports: one offline HTML per town plus an index, failure isolation, reuse, escaping."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import nbformat
import pandas as pd
import pytest

from conftest import SAMPLE, write_tiny_study
from villagestudy.reports import run_reports, safe_file_name
from villagestudy.reports.batch import DEFAULT_NOTEBOOK

XSS = "<script>alert(1)</script>"
EXTERNAL_SRC = re.compile(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def _failing_notebook(folder: Path, town_id: str) -> Path:
    nb = nbformat.read(DEFAULT_NOTEBOOK, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(f'assert town_id != "{town_id}", "this town was made to fail"'))
    path = DEFAULT_NOTEBOOK.parent / f"_test_failing_{folder.name}.ipynb"  # beside the real one: same cwd
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def tiny_batch(tmp_path_factory):
    """A tiny study with a malicious village name, no income or governance, parcels without geometry,
    and a notebook that fails for the second town."""
    root = tmp_path_factory.mktemp("tinyreports")
    study = write_tiny_study(root / "study")
    villages = pd.read_csv(study / "villages.csv", dtype=str)
    villages.loc[0, "village_name"] = XSS
    villages.to_csv(study / "villages.csv", index=False)
    towns = pd.read_csv(study / "towns.csv", dtype=str)
    towns.loc[0, "town_name"] = "东镇<b>粗</b>"
    towns.to_csv(study / "towns.csv", index=False)
    for name in ("income.csv", "governance.csv", "grids.csv"):
        (study / name).unlink()
    parcels = gpd.read_file(study / "parcels.gpkg")
    (study / "parcels.gpkg").unlink()
    pd.DataFrame(parcels.drop(columns="geometry")).assign(area=parcels.area / 666.6667).to_csv(
        study / "parcels.csv", index=False)
    notebook = _failing_notebook(root, "440100002")
    try:
        batch = run_reports(study, out=root / "out", jobs=2, progress=False, notebook=notebook,
                            parameters={"uncertainty_runs": 50})
    finally:
        notebook.unlink()
    return batch


def test_one_report_per_town_and_index(sample_batch):
    out = sample_batch.out_dir
    assert sample_batch.ok, [r.error for r in sample_batch.failed]
    towns = pd.read_csv(SAMPLE / "towns.csv", dtype=str)["town_id"]
    for town in towns:
        assert (out / f"{safe_file_name(town)}.html").stat().st_size > 10_000
        assert (out / f"{safe_file_name(town)}.ipynb").exists()  # the executed notebook, for audit
        # every report of a worker says it is Chinese, not only its first (nbconvert's trait reset every second)
        assert '<html lang="zh-CN">' in (out / f"{safe_file_name(town)}.html").read_text(encoding="utf-8")
    index = (out / "index.html").read_text(encoding="utf-8")
    for town in towns:
        assert f'href="{safe_file_name(town)}.html"' in index
    assert sample_batch.provenance["data_fingerprint"] in index


def _without_plotly_bundle(text: str) -> str:
    """The page without the inlined plotly.js (whose config defaults name plotly's CDN, never fetched)."""
    return re.sub(r"<script[^>]*>\s*/\*\*\s*\* plotly\.js.*?</script>", "", text, count=1, flags=re.S)


def test_reports_are_offline(sample_batch):
    for page in sample_batch.out_dir.glob("*.html"):
        text = _without_plotly_bundle(page.read_text(encoding="utf-8"))
        assert "plotly.js (cartesian" not in text
        assert not EXTERNAL_SRC.search(text), f"{page.name} loads something from the internet"
        assert "cdn.plot.ly" not in text and "mathjax" not in text.lower().replace("include_mathjax", "")
    assert not (sample_batch.out_dir / "assets").exists()  # self-contained: plotly.js inlined in each report


def test_shared_assets_for_huge_batches(tmp_path):
    study = write_tiny_study(tmp_path / "study")
    batch = run_reports(study, out=tmp_path / "out", towns=["440100001"], jobs=1, progress=False,
                        shared_assets=True, parameters={"uncertainty_runs": 20})
    page = (batch.out_dir / f"{safe_file_name('440100001')}.html").read_text(encoding="utf-8")
    assert re.search(r'<script[^>]*\ssrc="assets/plotly-cartesian.min.js"', page)
    assert (batch.out_dir / "assets" / "plotly-cartesian.min.js").exists()
    assert "plotly.js (cartesian" not in page


def test_reports_carry_provenance_and_content(sample_batch):
    page = next(sample_batch.out_dir.glob("town_*.html")).read_text(encoding="utf-8")
    assert sample_batch.provenance["data_fingerprint"] in page
    assert "0.1.0" in page or sample_batch.provenance["package_version"] in page
    assert page.count("plotly-graph-div") >= 8  # maps and charts reached the HTML
    assert "injected-parameters" not in page and "papermill" not in page.lower()
    for section in ("概况", "土地碎片化", "集体经济收入", "基层治理", "综合排名", "附录"):
        assert section in page


def test_second_run_reuses_unchanged_reports(sample_batch):
    again = run_reports(SAMPLE, out=sample_batch.out_dir, jobs=2, progress=False)
    assert {r.status for r in again.results} == {"reused"}
    index = (again.out_dir / "index.html").read_text(encoding="utf-8")
    assert "沿用" in index
    # a reused report keeps the key figures recorded when it was made (no study-wide work in this run)
    made = {r.town_id: r.key_figures for r in sample_batch.results}
    assert {r.town_id: r.key_figures for r in again.results} == made and all(made.values())


def test_accessibility_pass_equals_nbconvert(sample_batch, tmp_path):
    """The report exporter adds tabindex and alt as nbconvert's BeautifulSoup pass does, without that pass."""
    from bs4 import BeautifulSoup

    from villagestudy.reports.render import notebook_to_html

    executed = sorted(sample_batch.out_dir.glob("town_*.ipynb"))[0]
    nb = nbformat.read(executed, as_version=4)
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    nb.cells[-1].outputs.append(nbformat.v4.new_output("display_data", {"image/png": png, "text/plain": "x"}))
    nbformat.write(nb, tmp_path / "with_image.ipynb")
    ours = notebook_to_html(tmp_path / "with_image.ipynb", "t", plotly_src="assets/p.js", lang="en")
    theirs = notebook_to_html(tmp_path / "with_image.ipynb", "t", plotly_src="assets/p.js", lang="en",
                              _nbconvert_pass=True)
    assert 'tabindex="0"' in ours and "No description has been provided" in ours
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs


def test_threads_render_side_by_side_each_with_its_own_exporter(sample_batch):
    """An exporter keeps per-notebook state: threads rendering at once (batch threads, Dask workers) must not
    share one, and their pages equal the pages rendered one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    from villagestudy.reports.render import _exporter, notebook_to_html

    executed = sorted(sample_batch.out_dir.glob("town_*.ipynb"))
    one_by_one = [notebook_to_html(nb, nb.stem, plotly_src="assets/p.js", lang=lang)
                  for nb in executed for lang in ("zh", "en")]
    with ThreadPoolExecutor(4) as pool:
        side_by_side = list(pool.map(lambda job: notebook_to_html(job[0], job[0].stem, plotly_src="assets/p.js",
                                                                  lang=job[1]),
                                     [(nb, lang) for nb in executed for lang in ("zh", "en")]))
        exporters = set(pool.map(lambda _: id(_exporter()), range(4)))
    assert side_by_side == one_by_one
    assert _exporter() is _exporter() and id(_exporter()) not in exporters


def test_failed_town_is_isolated_and_listed(tiny_batch):
    status = {r.town_id: r for r in tiny_batch.results}
    assert status["440100001"].status == "ok"
    failed = status["440100002"]
    assert failed.status == "failed" and "made to fail" in failed.error and "cell" in failed.error
    assert (tiny_batch.out_dir / failed.log).exists()
    index = (tiny_batch.out_dir / "index.html").read_text(encoding="utf-8")
    assert "made to fail" in index
    assert not (tiny_batch.out_dir / f"{safe_file_name('440100002')}.html").exists()


def test_data_is_escaped_in_html_and_figures(tiny_batch):
    page = (tiny_batch.out_dir / f"{safe_file_name('440100001')}.html").read_text(encoding="utf-8")
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "\\u003cscript\\u003e" in page
    assert "<b>粗</b>" not in page and "<b>粗</b>" not in (tiny_batch.out_dir / "index.html").read_text(encoding="utf-8")


def test_missing_tables_are_explained_not_fatal(tiny_batch):
    page = (tiny_batch.out_dir / f"{safe_file_name('440100001')}.html").read_text(encoding="utf-8")
    assert "本研究没有“集体经济收入”数据" in page
    assert "地块没有空间数据" in page


def test_no_claim_without_data(tiny_batch):
    """No income and no governance data: the report names the standards it could not check."""
    page = (tiny_batch.out_dir / f"{safe_file_name('440100001')}.html").read_text(encoding="utf-8")
    assert "均达到" not in page and "meets the standards" not in page
    assert "以下标准因缺少数据无法检查" in page and "村集体经济总收入" in page
    assert "没有收入数据，无法判断薄弱村" in page


def test_failed_run_keeps_good_earlier_report(tmp_path):
    study = write_tiny_study(tmp_path / "study")
    out = tmp_path / "out"
    first = run_reports(study, out=out, jobs=1, progress=False, towns=["440100001"],
                        parameters={"uncertainty_runs": 20})
    assert first.ok
    good = (out / f"{safe_file_name('440100001')}.html").read_bytes()
    notebook = _failing_notebook(tmp_path, "440100001")
    try:
        second = run_reports(study, out=out, jobs=1, progress=False, towns=["440100001"], notebook=notebook,
                             parameters={"uncertainty_runs": 20})
    finally:
        notebook.unlink()
    assert not second.ok
    assert (out / f"{safe_file_name('440100001')}.html").read_bytes() == good


def test_safe_file_names():
    assert safe_file_name("440100001") == "town_440100001"
    for evil in ("../../etc/passwd", "a/b", "镇", "", ".."):
        name = safe_file_name(evil)
        assert re.fullmatch(r"[0-9A-Za-z._-]+", name) and "/" not in name and not name.startswith(".")
    assert safe_file_name("a/b") != safe_file_name("a_b")


def test_cli_reports_exit_code(tmp_path):
    import subprocess
    import sys

    study = write_tiny_study(tmp_path / "study")
    r = subprocess.run([sys.executable, "-m", "villagestudy.cli", "reports", str(study), "--out", str(tmp_path / "o"),
                        "--town", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown town" in r.stderr and "Traceback" not in r.stderr


def test_metrics_and_fingerprint_follow_settings(tiny_study_dir, tmp_path):
    import subprocess
    import sys

    import villagestudy as vs

    study = vs.load_study(tiny_study_dir)
    assert study.with_settings(weak_total_yuan=200_000).fingerprint != study.fingerprint
    out = tmp_path / "m.parquet"
    r = subprocess.run([sys.executable, "-m", "villagestudy.cli", "metrics", str(tiny_study_dir), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert len(pd.read_parquet(out)) == 3


def test_prepare_kernel_warms_the_report_without_changing_any_setting():
    """What the batch's warm kernels run as they start: imports and compiled templates, no setting changed."""
    import plotly.io as pio

    from villagestudy.reports.display import environment, report_mode
    from villagestudy.reports.engine import preload_line
    from villagestudy.reports.town import prepare_kernel
    from villagestudy.reports.workers import PRELOAD

    assert preload_line(PRELOAD[-1]) == ("import villagestudy.reports.town; "
                                         "villagestudy.reports.town.prepare_kernel()")
    templates = environment()
    templates.cache.clear()
    default, mode = pio.templates.default, report_mode()
    prepare_kernel()
    assert (pio.templates.default, report_mode()) == (default, mode)
    names = templates.list_templates()
    assert names and len(templates.cache) == len(names)  # every report template compiled once, here
