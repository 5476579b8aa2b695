"""Batch reports opened in headless Chromium with the network cut, read as an official reads them.

Every test reads the page's *visible* text (``innerText``, all sections unfolded) or the
drawn charts: numbers for people, every label in the report's language, real
citations, no JSON, town names in titles, nothing wider than the page, and a
report copied alone into an empty folder still drawing every chart.
"""
from __future__ import annotations

import re
import shutil

import pytest

from conftest import ARTIFACTS, CHROMIUM_ARGS, SAMPLE, chromium_or_skip
from villagestudy.reports import run_reports
from villagestudy.reports.render import bundle_trace_types

pytestmark = pytest.mark.browser

SCIENTIFIC = re.compile(r"(?<![0-9A-Za-z])\d+(?:\.\d+)?[eE][+-]?\d+(?![0-9A-Za-z])")  # not inside hex ids
#: English words that used to leak into Chinese reports: table headers, provenance, appendix
LEAKED_ENGLISH = ["rank_in_town", "rank_p05", "rank_p95", "rank_median", "estimate", "std_error", "p_value",
                  "term", "study", "data fingerprint", "package version", "parameters", "made", "structure",
                  "imputation", "normalisation", "aggregation", "weights", "minmax", "arithmetic", "Indicator",
                  "Unit", "Definition", "Source", "Village", "Provenance", "share", "yuan", "None", "null",
                  "true", "false", "NaN", "nan"]
JSON_LIKE = re.compile(r'\{\s*"|"\s*:\s*[\[{"\d]')
TOWN_CODE = re.compile(r"\b\d{9}\b")
UNFOLD = """() => {
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    if (window.Plotly) { document.querySelectorAll('.js-plotly-plot').forEach(gd => window.Plotly.Plots.resize(gd)); }
}"""
FACTS = """() => {
    const page = document.documentElement.clientWidth;
    const scrollable = el => { for (let e = el; e; e = e.parentElement) {
        if (e.classList && e.classList.contains('vs-table-wrap')) { return true; } } return false; };
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    return {
        text: document.body.innerText,
        h1: document.querySelector('h1') ? document.querySelector('h1').innerText : '',
        titles: plots.map(gd => (gd.layout && gd.layout.title && gd.layout.title.text) || ''),
        plots: plots.length,
        drawn: plots.filter(gd => gd.querySelector('.main-svg') &&
            gd.querySelectorAll('.scatterlayer path, .barlayer path, .heatmaplayer image, .hm image').length > 0).length,
        types: [...new Set(plots.flatMap(gd => (gd.data || []).map(t => t.type || 'scatter')))],
        registered: window.Plotly ? Object.keys(window.Plotly.PlotSchema.get().traces) : [],
        scrollWidth: document.documentElement.scrollWidth,
        wide: [...document.querySelectorAll('body *')].filter(e => !scrollable(e.parentElement) &&
            e.getBoundingClientRect().right > page + 1).map(e => e.tagName + '.' + e.className).slice(0, 5),
    };
}"""


def _read(page_path, screenshot: str | None = None, width: int = 1280):
    """Open ``page_path`` offline, unfold every section, return (facts, console errors, requests refused)."""
    from playwright.sync_api import sync_playwright

    exe = chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            errors, outside = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def guard(route):
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", guard)
            page.goto(page_path.as_uri())
            page.evaluate(UNFOLD)
            page.wait_for_timeout(1500)
            facts = page.evaluate(FACTS)
            if screenshot:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / screenshot), full_page=False)
            return facts, errors, outside
        finally:
            browser.close()


@pytest.fixture(scope="module")
def english_batch(tmp_path_factory):
    """One town of the sample in English."""
    return run_reports(SAMPLE, out=tmp_path_factory.mktemp("reports_en"), towns=["041252690"], lang="en",
                       jobs=1, progress=False, parameters={"uncertainty_runs": 50})


@pytest.fixture(scope="module")
def read_zh(sample_batch):
    report = sorted(sample_batch.out_dir.glob("town_*.html"))[0]
    return _read(report, "report_town.png")


@pytest.fixture(scope="module")
def read_en(english_batch):
    assert english_batch.ok, [r.error for r in english_batch.failed]
    report = next(english_batch.out_dir.glob("town_*.html"))
    return _read(report, "report_town_en.png")


@pytest.fixture(params=["zh", "en"])
def read(request):
    return request.param, request.getfixturevalue(f"read_{request.param}")


def test_report_draws_offline_without_errors(read):
    _, (facts, errors, outside) = read
    assert not errors, errors
    assert not outside, f"the report asked the internet for {outside}"
    assert facts["plots"] >= 8 and facts["drawn"] == facts["plots"], facts["plots"]


def test_no_scientific_notation_and_no_json(read):
    _, (facts, _, _) = read
    text = facts["text"]
    assert not SCIENTIFIC.findall(text), SCIENTIFIC.findall(text)[:5]
    assert not JSON_LIKE.search(text), text[JSON_LIKE.search(text).start() - 80:][:200]


def test_no_internal_document_names(read):
    _, (facts, _, _) = read
    assert "DOMAIN" not in facts["text"] and not re.search(r"seed", facts["text"], re.I)
    assert "Januszewski" in facts["text"] and "Landscape Ecology" in facts["text"]  # the literature, cited


def test_chinese_report_has_no_english_labels(read_zh):
    facts, _, _ = read_zh
    # citations of English-language literature are English by nature: read the page without them
    text = facts["text"].split("参考文献")[0]
    leaked = [w for w in LEAKED_ENGLISH if re.search(rf"(?<![A-Za-z_]){re.escape(w)}(?![A-Za-z_])", text)]
    assert not leaked, leaked
    identifiers = re.findall(r"[A-Za-z]{2,}_[A-Za-z_]{2,}", text)  # column names such as rank_in_town
    assert not identifiers, identifiers


def test_english_report_is_in_english(read_en):
    facts, _, _ = read_en
    assert "Key findings" in facts["text"] and "Rank in town" in facts["text"]
    assert "要点" not in facts["text"] and "估计系数" not in facts["text"]


def test_titles_name_towns_not_codes(read):
    lang, (facts, _, _) = read
    assert not TOWN_CODE.search(facts["h1"])
    coded = [t for t in facts["titles"] if TOWN_CODE.search(t)]
    assert not coded, coded
    assert any(("银庄街道" if lang == "zh" else "竹塘镇") in t for t in facts["titles"])


def test_nothing_wider_than_the_page_at_1280(read):
    _, (facts, _, _) = read
    assert facts["scrollWidth"] <= 1280
    assert not facts["wide"], facts["wide"]


def test_every_trace_type_is_in_the_shipped_bundle(read):
    _, (facts, _, _) = read
    assert set(facts["types"]) <= set(facts["registered"]), set(facts["types"]) - set(facts["registered"])
    assert set(facts["types"]) <= bundle_trace_types()
    assert {"scatter", "bar", "heatmap"} <= set(facts["types"])


def test_a_report_copied_alone_draws_every_chart(sample_batch, tmp_path):
    """As an official receives it by e-mail: one file in an empty folder, no network."""
    report = sorted(sample_batch.out_dir.glob("town_*.html"))[-1]
    alone = tmp_path / "inbox" / report.name
    alone.parent.mkdir()
    shutil.copyfile(report, alone)
    assert list(alone.parent.iterdir()) == [alone]
    facts, errors, outside = _read(alone)
    assert not errors and not outside, (errors, outside)
    assert facts["plots"] >= 8 and facts["drawn"] == facts["plots"]


def test_index_page_opens(sample_batch):
    from playwright.sync_api import sync_playwright

    exe = chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((sample_batch.out_dir / "index.html").as_uri())
        rows = page.locator("#towns tbody tr").count()
        reports = page.locator("#towns a[href$='.html']").count()
        sheets = page.locator("#towns a[href$='.xlsx']").count()
        text = page.inner_text("body")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report_index.png"))
        browser.close()
    assert rows == 4 and reports == 4 and sheets == 4
    assert not JSON_LIKE.search(text) and "parameters" not in text
