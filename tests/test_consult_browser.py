"""`villagestudy consult` end to end: Voilà serves the panel, headless Chromium drives it offline.

Starts the CLI on a free port (its own process group, stopped in a finally),
opens the app with every request to a host other than 127.0.0.1 blocked,
moves a weight slider with the keyboard, types a new weak-village threshold,
and checks the ranking on screen (villages, order, ranks, scores to 1e-9) and the
list of villages missing the standard against ``villagestudy.evaluate`` of the same
scenario; checks the layout at 1280 x 720 (no horizontal scrolling). Checks the
first view (the ranking and map in the page as served, drawn before the widgets
connect, same numbers as ``evaluate``) and that the live panel replaces it. Saves
screenshots to tests/artifacts/.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import ARTIFACTS, CHROMIUM_ARGS, SAMPLE, chromium_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_S = 60


def _start_server(out_dir: Path):
    from villagestudy.consult.serve import free_port

    port = free_port()
    exe = Path(sys.executable).parent / "villagestudy"
    head = [str(exe)] if exe.exists() else [sys.executable, "-c",
                                            "import sys; from villagestudy.cli import main; sys.exit(main())"]
    cmd = [*head, "consult", str(SAMPLE), "--port", str(port), "--no-browser", "--out", str(out_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []

    def pump():
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    return proc, port, lines


def _stop_server(proc) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def _expected():
    """What evaluate() says for the app's first town and year: default, land x4, then 消薄 at 200,000 yuan."""
    from villagestudy import Scenario, evaluate, load_study

    study = load_study(SAMPLE)
    town = study.town_ids()[0]

    def shown(**changes):
        c = evaluate(study, Scenario(town=town, **changes)).for_town(town)
        ranked = c.ranked()
        m = c.missed
        return {"ids": ranked.index.tolist(), "ranks": ranked["rank"].astype(int).tolist(),
                "scores": ranked["score"].tolist(),
                "missed": set(m.loc[(m["standard_key"] == "weak_total_yuan") & (m["status"] == "missed"),
                                    "village_id"])}

    land4_200k = {"weights": {"land": 4.0}, "standards": {"weak_total_yuan": 200_000.0}}
    return {"town_name": study.town_name(town), "default": shown(), "land4": shown(weights={"land": 4.0}),
            "land4_200k": shown(**land4_200k), "town_scope": shown(scope="town", **land4_200k)}


def _on_screen(page) -> dict:
    rows = page.eval_on_selector_all(
        ".vs-consult-ranking tbody tr",
        "rows => rows.map(r => [r.dataset.villageId, r.dataset.rank, r.dataset.score, "
        "r.querySelector('.vs-score').textContent])")
    missed = page.eval_on_selector_all('.vs-std[data-standard="weak_total_yuan"] .vs-missed-villages li',
                                       "items => items.map(i => i.dataset.villageId)")
    return {"ids": [r[0] for r in rows], "ranks": [int(r[1]) for r in rows],
            "scores": [float(r[2]) for r in rows], "shown_scores": [r[3] for r in rows], "missed": set(missed)}


def _same(screen: dict, want: dict) -> bool:
    """The same villages in the same order, the same ranks, scores to 1e-9, the same missed list."""
    return (screen["ids"] == want["ids"] and screen["ranks"] == want["ranks"] and screen["missed"] == want["missed"]
            and all(abs(a - b) <= 1e-9 for a, b in zip(screen["scores"], want["scores"])))


def _first_view_on_screen(page) -> dict:
    rows = page.eval_on_selector_all(
        ".vs-first-view .vs-consult-ranking tbody tr",
        "rows => rows.map(r => [r.dataset.villageId, r.dataset.rank, r.dataset.score])")
    missed = page.eval_on_selector_all(
        '.vs-first-view .vs-std[data-standard="weak_total_yuan"] .vs-missed-villages li',
        "items => items.map(i => i.dataset.villageId)")
    return {"ids": [r[0] for r in rows], "ranks": [int(r[1]) for r in rows], "scores": [float(r[2]) for r in rows],
            "missed": set(missed)}


def _guard(page, outside: list):
    """Let requests to 127.0.0.1 through, refuse and record any other."""
    def guard(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)


def test_first_view_is_served_and_drawn_before_the_widgets_connect(tmp_path):
    """The page as served holds the first view; with Voilà's JavaScript refused it is all there is, complete."""
    exe = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    proc, port, lines = _start_server(tmp_path / "scenarios")
    try:
        expected = _expected()
        _wait_for(lambda: any(line.startswith("Consultation app:") for line in lines) or proc.poll() is not None,
                  30, "the server address")
        assert proc.poll() is None, "".join(lines)
        url = f"http://127.0.0.1:{port}/"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                outside, page_errors, requested = [], [], []
                page.on("pageerror", lambda e: page_errors.append(str(e)))
                page.on("request", lambda r: requested.append(r.url))
                _guard(page, outside)
                page.route("**/voila/static/voila.js", lambda route: route.abort())  # no widgets, ever
                response = page.goto(url, wait_until="domcontentloaded")
                served = response.text()
                # in the page as served: the first view with its ranking rows, not left to any JavaScript
                assert 'class="vs-consult vs-zh vs-first-view"' in served
                assert served.count("<tr data-village-id=") == len(expected["default"]["ids"])
                for drawn in (".vs-first-view .vs-first-map .js-plotly-plot .main-svg",
                              ".vs-first-view .js-plotly-plot .scatterlayer path"):
                    page.wait_for_selector(drawn, timeout=TIMEOUT_S * 1000)

                shown = _first_view_on_screen(page)
                assert _same(shown, expected["default"]), (shown, expected["default"])  # evaluate()'s numbers
                assert expected["town_name"] in page.locator(".vs-first-view .gtitle").text_content()
                from villagestudy.i18n import t

                assert page.inner_text(".vs-first-view .vs-fv-notice").strip() == t("consult_first_view", "zh")
                assert page.locator("#loading").count() == 0  # the view replaces Voilà's spinner
                assert page.locator(".vs-consult:not(.vs-first-view)").count() == 0  # no live panel without widgets
                # the map fits its column at 1280 x 720 and starts on the first screen
                box = page.locator(".vs-first-view .js-plotly-plot").first.bounding_box()
                assert box and box["x"] + box["width"] <= 1280 + 0.5 and box["y"] < 720 and box["height"] >= 250, box
                assert page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth") <= 0
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "consult_first_view_1280x720.png"))
                assert not outside, f"the page asked the internet for {outside}"
                assert not page_errors, page_errors
                # the page's plotly.js is the package's bundle, served by the app; jupyterlab-plotly is not loaded
                assert any("/static/villagestudy-plotly.js" in u for u in requested), requested
                assert not any("jupyterlab-plotly" in u for u in requested)
            finally:
                browser.close()
    finally:
        _stop_server(proc)


def test_consult_app_in_chromium_offline(tmp_path):
    exe = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    out_dir = tmp_path / "scenarios"
    proc, port, lines = _start_server(out_dir)
    try:
        expected = _expected()  # computed while the server starts
        assert expected["land4"]["ids"] != expected["default"]["ids"], "land x4 must change the sample's ranking"
        assert expected["land4_200k"]["missed"] > expected["land4"]["missed"], "200,000 yuan must add weak villages"
        url = f"http://127.0.0.1:{port}/"
        _wait_for(lambda: any(line.startswith("Consultation app:") for line in lines) or proc.poll() is not None,
                  30, "the server address")
        assert proc.poll() is None, "".join(lines)
        assert f"Consultation app: {url}\n" in lines, "".join(lines)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                outside, page_errors, console_errors, requested = [], [], [], []
                page.on("pageerror", lambda e: page_errors.append(str(e)))
                page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
                page.on("request", lambda r: requested.append(r.url))
                _guard(page, outside)
                page.goto(url, wait_until="domcontentloaded")
                # the first view comes first, then the live panel replaces it once it has drawn its own map
                page.wait_for_selector(".vs-first-view .js-plotly-plot .main-svg", timeout=TIMEOUT_S * 1000)
                page.wait_for_selector(".vs-consult:not(.vs-first-view) .vs-map .js-plotly-plot .main-svg",
                                       timeout=TIMEOUT_S * 1000)
                page.wait_for_selector(".vs-first-view", state="detached", timeout=TIMEOUT_S * 1000)
                assert page.locator(".vs-consult").count() == 1
                page.wait_for_selector(".vs-consult-ranking tbody tr[data-village-id]", timeout=TIMEOUT_S * 1000)

                def ranking():
                    return _on_screen(page)["ids"]

                screen = _on_screen(page)
                assert _same(screen, expected["default"]), (screen, expected["default"])
                from villagestudy.viz._geom import fmt_number

                assert screen["shown_scores"] == [fmt_number(v) for v in expected["default"]["scores"]]
                assert page.locator('.vs-scope-note[data-scope="study"]').count() == 1  # the scope is on screen
                # the map really draws (plotly.js from the local jupyterlab-plotly extension)
                page.wait_for_selector(".vs-map .js-plotly-plot .scatterlayer path", timeout=20_000)
                assert expected["town_name"] in page.locator(".vs-map .gtitle").text_content()

                # at 1280 x 720 the ranking, the map and the missed list need no horizontal scrolling
                page.wait_for_timeout(300)
                overflow = page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 1280 px"
                for sel in (".vs-consult-ranking", ".vs-map .js-plotly-plot", ".vs-consult-missed"):
                    box_ = page.locator(sel).first.bounding_box()
                    assert box_ and box_["x"] >= 0 and box_["x"] + box_["width"] <= 1280 + 0.5, (sel, box_)
                    wide = page.eval_on_selector(sel, "e => e.scrollWidth - e.clientWidth")
                    assert wide <= 1, f"{sel} scrolls sideways by {wide}px"
                for sel in (".vs-consult-ranking", ".vs-map .js-plotly-plot .scatterlayer path", ".vs-consult-missed"):
                    page.wait_for_selector(sel, timeout=20_000)
                    assert page.locator(sel).first.bounding_box()["y"] < 720, f"{sel} starts below the first screen"
                # the map is drawn at its height, not collapsed to nothing by its container
                assert page.locator(".vs-map .js-plotly-plot").first.bounding_box()["height"] >= 250
                # thresholds read as in the reports (10.0万元, 50.0%), not as raw 100000 / 0.5
                shown = page.locator(".vs-std-shown").all_text_contents()
                assert any("万元" in s for s in shown) and any(s.endswith("%") for s in shown), shown
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "consult_app_1280x720.png"))
                page.set_viewport_size({"width": 1400, "height": 1900})

                # weight slider: keyboard on the noUiSlider handle, 1.0 -> 4.0 in steps of 0.5
                handle = page.locator(".vs-w-land .noUi-handle")
                handle.focus()
                for _ in range(6):
                    handle.press("ArrowRight")
                _wait_for(lambda: page.inner_text(".vs-w-land .widget-readout").strip() == "4.0", 10,
                          "the land slider at 4.0")
                _wait_for(lambda: _same(_on_screen(page), expected["land4"]), 20,
                          "the ranking of evaluate() with land weighing 4")
                shares = page.eval_on_selector_all(".vs-shares [data-share]", "s => s.map(e => +e.dataset.share)")
                assert shares == [67, 17, 16] and sum(shares) == 100

                # threshold: type into the input and press Enter
                box = page.locator(".vs-std-weak_total_yuan input")
                box.fill("200000")
                box.press("Enter")
                _wait_for(lambda: _same(_on_screen(page), expected["land4_200k"]), 20,
                          "evaluate()'s missed list at 200,000 yuan")
                assert "200,000" in page.inner_text('.vs-std[data-standard="weak_total_yuan"] .vs-std-head')

                # the scope: this town only, as evaluate() with scope "town"
                page.click('.vs-scope button:has-text("仅本镇")')
                _wait_for(lambda: _same(_on_screen(page), expected["town_scope"]), 20,
                          "evaluate()'s ranking with scope town")
                assert page.locator('.vs-scope-note[data-scope="town"]').count() == 1

                # save the scenario from the page
                page.click("button.vs-save")
                _wait_for(lambda: page.locator(".vs-saved-path").count() > 0, 15, "the saved path")
                saved_text = page.inner_text(".vs-saved-path")
                files = sorted(p.name for p in out_dir.glob("scenario_*"))
                assert len(files) == 2 and any(f.endswith(".json") for f in files), files
                assert re.search(r"scenario_town_\w+_\d{4}_[\d-]+\.json", saved_text)

                page.wait_for_timeout(300)
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "consult_app.png"))
                assert not outside, f"the app asked the internet for {outside}"
                assert not page_errors, page_errors
                assert not console_errors, console_errors
                assert not any("jupyterlab-plotly" in u for u in requested)  # the page's own plotly.js draws
            finally:
                browser.close()
    finally:
        _stop_server(proc)
    assert proc.poll() is not None
