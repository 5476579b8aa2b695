"""A batch report opened in headless Chromium with the network cut: maps and charts draw, Chinese renders."""
from __future__ import annotations

import pytest

from conftest import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip

pytestmark = pytest.mark.browser


def _open(page_path, screenshot):
    from playwright.sync_api import sync_playwright

    exe = chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
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
            page.wait_for_selector(".plotly-graph-div .main-svg", timeout=20_000)
            page.wait_for_timeout(1000)
            facts = page.evaluate("""() => ({
                plots: document.querySelectorAll('.plotly-graph-div').length,
                drawn: [...document.querySelectorAll('.plotly-graph-div')].filter(
                    d => d.querySelectorAll('.scatterlayer path, .barlayer path, .heatmaplayer image, .hm image').length > 0).length,
                title: document.querySelector('h1') ? document.querySelector('h1').getBoundingClientRect().width : 0,
                text: document.body.innerText.slice(0, 2000),
            })""")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / screenshot))
            return facts, errors, outside
        finally:
            browser.close()


def test_town_report_draws_offline(sample_batch):
    report = next(sample_batch.out_dir.glob("town_*.html"))
    facts, errors, outside = _open(report, "report_town.png")
    assert not errors, errors
    assert not outside, f"the report asked the internet for {outside}"
    assert facts["plots"] >= 8 and facts["drawn"] >= facts["plots"] - 1, facts
    assert "概况" in facts["text"] and facts["title"] > 100  # Chinese heading laid out with real glyphs


def test_index_page_opens(sample_batch):
    from playwright.sync_api import sync_playwright

    exe = chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto((sample_batch.out_dir / "index.html").as_uri())
        rows = page.locator("#towns tbody tr").count()
        links = page.locator("#towns a").count()
        page.screenshot(path=str(ARTIFACTS / "report_index.png"))
        browser.close()
    assert rows == 4 and links == 4
