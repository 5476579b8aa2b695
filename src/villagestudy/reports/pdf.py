"""Print a report to PDF (A4) with headless Chromium, for officials who file paper.

Charts are plotly SVG, so they stay vectors in the PDF. Every folded section
is opened and every chart redrawn at the width of an A4 page before printing;
the print CSS puts each section on a new page. The page is opened with every
network request refused: a report must print from its own file.
"""
from __future__ import annotations

from pathlib import Path

from .._atomic import atomic_path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]
#: CSS pixels across the printable width of A4 (210 mm - 2 x 12 mm margins, at 96 px per inch)
A4_PRINT_WIDTH_PX = 700


def _launch(p):
    kwargs = {"args": CHROMIUM_ARGS}
    if Path(CHROMIUM).exists():
        kwargs["executable_path"] = CHROMIUM
    return p.chromium.launch(**kwargs)


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, *, timeout_ms: int = 60_000) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4, backgrounds, sections on new pages); atomically."""
    from playwright.sync_api import sync_playwright  # optional dependency: only for --pdf

    src = Path(html_path).resolve()
    target = Path(pdf_path)
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport={"width": A4_PRINT_WIDTH_PX, "height": 1000})
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                       else route.abort())
            page.goto(src.as_uri(), wait_until="load", timeout=timeout_ms)
            page.emulate_media(media="print")
            page.evaluate("""() => {
                document.querySelectorAll('details').forEach(d => { d.open = true; });
                if (window.Plotly) {
                    document.querySelectorAll('.js-plotly-plot').forEach(gd => window.Plotly.Plots.resize(gd));
                }
            }""")
            page.wait_for_timeout(300)
            with atomic_path(target, suffix=".pdf") as tmp:
                page.pdf(path=str(tmp), format="A4", print_background=True, prefer_css_page_size=True,
                         margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"})
        finally:
            browser.close()
    return target
