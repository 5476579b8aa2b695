"""Open the offline HTML in headless Chromium with the network blocked: the figures must draw.

Skipped only when Debian's chromium is absent from /usr/bin/chromium. Screenshots go to
``tests/artifacts/`` (git-ignored) for a person to look at.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import villagestudy as vs
from villagestudy import catalog
from villagestudy.study import Study
from villagestudy.viz import income_composition, village_map, write_html

from conftest import skip_unless_ci, write_tiny_study

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
EVIL = "<script>alert(1)</script>"
INDICATOR = "social_workers_per_10k"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        skip_unless_ci("Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tiny = vs.load_study(write_tiny_study(tmp_path_factory.mktemp("browser") / "tiny"))
    villages = tiny.villages.copy()
    villages.loc[1, "village_name"] = EVIL
    return Study.from_frames(towns=tiny.towns, villages=villages, boundaries=tiny.boundaries, income=tiny.income,
                             settings=tiny.settings)


class Page:
    """A page opened with every non-file request blocked and every problem recorded."""

    def __init__(self, browser, path: Path):
        self.context = browser.new_context(viewport={"width": 1100, "height": 720}, locale="zh-CN")
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed: list[str] = []
        self.blocked: list[str] = []
        self.dialogs: list[str] = []

        def route(r):
            url = r.request.url
            if url.startswith(("file:", "data:", "blob:")):
                r.continue_()
            else:
                self.blocked.append(url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))

        def dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.wait_for_selector(".main-svg", timeout=20_000)
        self.page.wait_for_function("() => document.querySelector('.js-plotly-plot')?._fullLayout !== undefined")
        self.page.evaluate("() => document.fonts.ready.then(() => true)")

    def assert_clean(self):
        assert self.console_errors == [], self.console_errors
        assert self.page_errors == [], self.page_errors
        assert self.failed == [], self.failed
        assert self.blocked == [], f"the page tried the network: {self.blocked}"
        assert self.dialogs == [], f"a script ran: {self.dialogs}"

    def close(self):
        self.context.close()


def test_map_draws_offline_with_chinese_text(browser, study, tmp_path):
    table = study.villages.set_index("village_id")[["village_name", "town_id"]].copy()
    table[INDICATOR] = [22.2, 12.0, np.nan]
    fig = village_map(study, table, INDICATOR)
    no_data_hover = [k for k, tr in enumerate(fig.data) if tr.name == "无数据" and tr.hovertext is not None][0]
    path = write_html(fig, tmp_path / "map.html", plotlyjs="inline")
    pg = Page(browser, path)
    try:
        page = pg.page
        assert page.locator(".main-svg").count() >= 1
        assert page.locator(".scatterlayer path").count() > 0
        fills = page.eval_on_selector_all(".scatterlayer path.js-fill", "els => els.map(e => e.getAttribute('d'))")
        assert len(fills) >= 3 and all(d and len(d) > 20 for d in fills)  # 2 coloured villages + no data
        # the colourbar title is the catalog's Chinese label, drawn with real glyphs
        title = page.locator(".cbtitle text").first
        label = catalog.label(INDICATOR, "zh")
        assert label in title.text_content()
        box = title.bounding_box()
        assert box and max(box["width"], box["height"]) > 6 * len(label)  # not zero-width glyphs
        assert page.evaluate("() => document.fonts.check('12px \"Noto Sans CJK SC\"')")
        widths = page.evaluate("""() => { const c = document.createElement('canvas').getContext('2d');
            c.font = '16px "Noto Sans CJK SC"'; return ['村', '镇', '社'].map(ch => c.measureText(ch).width); }""")
        assert all(w > 8 for w in widths)
        legend = page.eval_on_selector_all(".legendtext", "els => els.map(e => e.textContent)")
        assert "无数据" in legend and "未达标准" in legend
        # the malicious name is shown as text and did not run
        labels = page.eval_on_selector_all(".scatterlayer .textpoint text", "els => els.map(e => e.textContent)")
        assert EVIL in labels and "甲村" in labels
        assert page.evaluate("() => document.querySelectorAll('script:not([type]), script[type=\"text/javascript\"]')"
                             ".length") == 2  # plotly.js and the figure's own script: nothing injected
        # hover on the village without data says so
        page.evaluate(f"""() => {{ const gd = document.querySelector('.js-plotly-plot');
            Plotly.Fx.hover(gd, [{{curveNumber: {no_data_hover}, pointNumber: 0}}]); }}""")
        page.wait_for_selector(".hoverlayer .hovertext", timeout=5_000)
        hover = page.locator(".hoverlayer .hovertext").first.text_content()
        assert "丙社区" in hover and "无数据" in hover
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.mouse.move(0, 0)
        page.screenshot(path=str(ARTIFACTS / "viz_map.png"), full_page=True)
        pg.assert_clean()
    finally:
        pg.close()


def test_chart_draws_offline(browser, study, tmp_path):
    fig = income_composition(study, 2023)
    path = write_html([fig], tmp_path / "chart.html", plotlyjs="inline")
    pg = Page(browser, path)
    try:
        page = pg.page
        assert page.locator(".main-svg").count() >= 1
        assert page.locator(".barlayer path").count() >= 10
        assert page.locator(".scatterlayer path").count() > 0  # the total markers
        ticks = page.eval_on_selector_all(".xtick text", "els => els.map(e => e.textContent)")
        assert "甲村" in ticks and EVIL in ticks
        title = page.locator(".gtitle").first
        assert "村集体经济收入构成" in title.text_content() and title.bounding_box()["width"] > 100
        legend = page.eval_on_selector_all(".legendtext", "els => els.map(e => e.textContent)")
        assert "经营收入" in legend and "投资收益" in legend
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "viz_chart.png"), full_page=True)
        pg.assert_clean()
    finally:
        pg.close()
