"""`villagestudy consult` end to end: Voilà serves the panel, headless Chromium drives it offline.

Starts the CLI on a free port (its own process group, stopped in a finally),
opens the app with every request to a host other than 127.0.0.1 blocked,
moves a weight slider with the keyboard, types a new weak-village threshold,
and checks the ranking and the list of villages missing the standard against
the library computed here for the same values. Saves a screenshot to
tests/artifacts/consult_app.png.
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
    """What the library says, for the app's first town and year."""
    from villagestudy import load_study
    from villagestudy.metrics import compute_indicators
    from villagestudy.metrics.standards import missed_standards
    from villagestudy.ranking import rank_villages

    study = load_study(SAMPLE)
    town = study.town_ids()[0]
    sub = study.for_towns(town)
    table = compute_indicators(sub, study.default_year)

    def order(weights):
        r = rank_villages(table, weights=weights, uncertainty=False).table["rank"].astype(float)
        return r.sort_values(kind="mergesort").index.tolist()

    def missed(threshold):
        t = compute_indicators(sub, study.default_year, weak_total_yuan=threshold)
        m = missed_standards(t, study.settings.replace(weak_total_yuan=threshold))
        return set(m.loc[(m["standard_key"] == "weak_total_yuan") & (m["status"] == "missed"), "village_id"])

    return {"town_name": study.town_name(town), "order_1": order({"land": 1, "income": 1, "governance": 1}),
            "order_4": order({"land": 4, "income": 1, "governance": 1}),
            "missed_100k": missed(100_000), "missed_200k": missed(200_000)}


def test_consult_app_in_chromium_offline(tmp_path):
    exe = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    out_dir = tmp_path / "scenarios"
    proc, port, lines = _start_server(out_dir)
    try:
        expected = _expected()  # computed while the server starts
        assert expected["order_4"] != expected["order_1"], "land x4 must change the sample's ranking"
        assert expected["missed_200k"] > expected["missed_100k"], "200,000 yuan must add weak villages"
        url = f"http://127.0.0.1:{port}/"
        _wait_for(lambda: any(line.startswith("Consultation app:") for line in lines) or proc.poll() is not None,
                  30, "the server address")
        assert proc.poll() is None, "".join(lines)
        assert f"Consultation app: {url}\n" in lines, "".join(lines)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1900})
                outside, page_errors = [], []
                page.on("pageerror", lambda e: page_errors.append(str(e)))

                def guard(route):
                    if urlparse(route.request.url).hostname == "127.0.0.1":
                        route.continue_()
                    else:
                        outside.append(route.request.url)
                        route.abort()

                page.route("**/*", guard)
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_selector(".vs-consult-ranking tbody tr[data-village-id]", timeout=TIMEOUT_S * 1000)

                def ranking():
                    return page.eval_on_selector_all(".vs-consult-ranking tbody tr",
                                                     "rows => rows.map(r => r.dataset.villageId)")

                def missed():
                    return set(page.eval_on_selector_all(
                        '.vs-std[data-standard="weak_total_yuan"] .vs-missed-villages li',
                        "items => items.map(i => i.dataset.villageId)"))

                assert ranking() == expected["order_1"]
                assert missed() == expected["missed_100k"]
                # the map really draws (plotly.js from the local jupyterlab-plotly extension)
                page.wait_for_selector(".vs-map .js-plotly-plot .scatterlayer path", timeout=20_000)
                assert expected["town_name"] in page.locator(".vs-map .gtitle").text_content()

                # weight slider: keyboard on the noUiSlider handle, 1.0 -> 4.0 in steps of 0.5
                handle = page.locator(".vs-w-land .noUi-handle")
                handle.focus()
                for _ in range(6):
                    handle.press("ArrowRight")
                _wait_for(lambda: page.inner_text(".vs-w-land .widget-readout").strip() == "4.0", 10,
                          "the land slider at 4.0")
                _wait_for(lambda: ranking() == expected["order_4"], 20, "the ranking with land weighing 4")
                shares = page.eval_on_selector_all(".vs-shares [data-share]", "s => s.map(e => +e.dataset.share)")
                assert shares == [67, 17, 16] and sum(shares) == 100

                # threshold: type into the input and press Enter
                box = page.locator(".vs-std-weak_total_yuan input")
                box.fill("200000")
                box.press("Enter")
                _wait_for(lambda: missed() == expected["missed_200k"], 20, "the missed list at 200,000 yuan")
                assert "200,000" in page.inner_text('.vs-std[data-standard="weak_total_yuan"] .vs-std-head')
                assert ranking() == expected["order_4"]  # a standard does not move the ranking

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
            finally:
                browser.close()
    finally:
        _stop_server(proc)
    assert proc.poll() is not None
    assert time.monotonic() - started < 90
