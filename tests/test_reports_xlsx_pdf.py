"""Beside each report: the spreadsheet of its tables and, with --pdf, an A4 print."""
from __future__ import annotations

import re
import subprocess

import openpyxl
import pandas as pd
import pytest

from conftest import chromium_or_skip, write_tiny_study
from villagestudy import catalog
from villagestudy.reports import run_reports, safe_file_name
from villagestudy.scenario import Comparison
from villagestudy.reports.render import bundle_info, bundle_trace_types, plotly_js_source, plotly_js_text

TOWN = "041252600"
MAX_REPORT_BYTES = 2_000_000


def _sheet(wb, title):
    return next(wb[n] for n in wb.sheetnames if n.startswith(title[:28]))


def test_every_sample_report_is_one_file_under_2_mb(sample_batch):
    reports = sorted(sample_batch.out_dir.glob("town_*.html"))
    assert len(reports) == 4
    assert not (sample_batch.out_dir / "assets").exists()  # nothing to carry beside a report
    for r in reports:
        text = r.read_text(encoding="utf-8")
        assert r.stat().st_size < MAX_REPORT_BYTES, (r.name, r.stat().st_size)
        assert text.count("plotly.js (cartesian - minified) v") == 1  # inlined once
        assert not re.search(r"<script[^>]*\ssrc=", text)


def test_shipped_bundle_matches_the_installed_plotly_major_version():
    import plotly

    info = bundle_info()
    full = (plotly.__file__.rsplit("/", 1)[0] + "/package_data/plotly.min.js")
    head = open(full, encoding="utf-8").read(200)
    installed = head.split("plotly.js v", 1)[1].split()[0]
    assert info["version"].split(".")[0] == installed.split(".")[0]
    assert f"v{info['version']}" in plotly_js_text()[:200]
    assert (plotly_js_source().parent / "plotly-cartesian.LICENSE").read_text().startswith("MIT License")
    assert {"scatter", "bar", "heatmap"} <= bundle_trace_types()


def test_xlsx_holds_the_report_tables_as_numbers(sample_batch):
    path = sample_batch.out_dir / f"{safe_file_name(TOWN)}.xlsx"
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                assert not (isinstance(cell.value, str) and cell.value.startswith("="))
    ranking = _sheet(wb, "综合排名")
    header = [c.value for c in ranking[1]]
    assert header[0] == "村（社区）" and "综合得分" in header and "镇内名次" in header
    rows = list(ranking.iter_rows(min_row=2, values_only=True))
    # the numbers equal the Comparison the report shows (its audit file beside the report)
    shown = Comparison.from_json(sample_batch.out_dir / f"{safe_file_name(TOWN)}.comparison.json")
    expected = shown.ranking.sort_values("rank")
    got = pd.DataFrame(rows, columns=header)
    assert list(got["村（社区）"]) == list(expected["village_name"])
    assert got["综合得分"].tolist() == pytest.approx(expected["score"].tolist(), rel=1e-12)
    assert got["镇内名次"].tolist() == expected["rank_in_town"].tolist()
    score_cell = ranking.cell(row=2, column=header.index("综合得分") + 1)
    assert isinstance(score_cell.value, float) and score_cell.number_format == "0.0"
    assert ranking.cell(row=2, column=1).data_type == "s"  # names as text
    income = _sheet(wb, "收入指标")
    head = [c.value for c in income[1]]
    col = head.index(catalog.label("income_total_yuan")) + 1
    assert income.cell(row=2, column=col).number_format == "#,##0"


def test_xlsx_neutralises_formula_like_names(tmp_path):
    from villagestudy.reports.display import Table
    from villagestudy.reports.spreadsheet import write_tables

    frame = pd.DataFrame({"income_total_yuan": [123456.0], "village_note": ["=HYPERLINK(\"x\")"]},
                         index=pd.Index(["=1+1"], name="v"))
    path = write_tables([("表", Table(frame, {}, "村（社区）"))], tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path).active
    values = [c.value for c in ws[2]]
    assert values[0] == "'=1+1" and values[1] == 123456.0 and values[2].startswith("'=")
    assert all(c.data_type != "f" for c in ws[2])


def test_pdf_prints_town_name_and_a_page_per_section(sample_batch, tmp_path):
    chromium_or_skip()
    from villagestudy.reports.pdf import html_to_pdf

    pdf = html_to_pdf(sample_batch.out_dir / f"{safe_file_name(TOWN)}.html", tmp_path / "town.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "银庄街道" in text
    pages = text.split("\f")
    sections = ("一、概况", "二、土地碎片化", "三、村集体经济收入", "四、基层治理", "五、综合排名", "六、统计分析",
                "附录")
    starts = [next((k for k, p in enumerate(pages) if s in p), None) for s in sections]
    assert None not in starts, dict(zip(sections, starts))
    assert starts == sorted(starts) and len(set(starts)) == len(sections)  # each section on a page of its own


def test_cli_pdf_flag_writes_pdf_and_xlsx(tmp_path):
    chromium_or_skip()
    study = write_tiny_study(tmp_path / "study")
    batch = run_reports(study, out=tmp_path / "out", towns=["440100001"], jobs=1, progress=False, pdf=True,
                        parameters={"uncertainty_runs": 20})
    assert batch.ok, [r.error for r in batch.failed]
    name = safe_file_name("440100001")
    assert (batch.out_dir / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert (batch.out_dir / f"{name}.xlsx").exists()
    index = (batch.out_dir / "index.html").read_text(encoding="utf-8")
    assert f'href="{name}.pdf"' in index and f'href="{name}.xlsx"' in index
