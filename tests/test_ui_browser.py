"""End to end in a real headless Chromium (Debian's package, driven by Playwright) against `qa serve` on loopback."""

import json
import os
import shutil
import statistics
import time

import pytest

from .conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "ui"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (`make test` installs it)"),
]


def _ask(page, question: str) -> float:
    """Type a question, press Enter; return milliseconds until the new answer's first characters show."""
    before = page.locator("#qa-chat .qa-answer").count()
    box = page.locator("#qa-question textarea").first
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#qa-chat .qa-answer').length > {before}", timeout=30000)
    elapsed = (time.perf_counter() - started) * 1000
    finished = "#qa-chat .qa-sources, #qa-chat .qa-abstained"  # an answer's cards, or an abstention
    page.wait_for_function(f"document.querySelectorAll('{finished}').length > {before}", timeout=30000)
    return elapsed


def test_ask_click_a_citation_and_follow_up(ui_server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(ui_server, wait_until="domcontentloaded")
        page.locator("#qa-question textarea").first.wait_for(timeout=30000)
        page.get_by_text("Examples").first.wait_for(timeout=30000)  # the example questions are shown
        page.screenshot(path=str(ARTIFACTS / "1-start.png"))

        timings = [_ask(page, "What does a negative head MRI mean in a patient with limb weakness?")]
        first_link = page.locator("#qa-chat a.qa-cite").first
        assert first_link.inner_text() == "[1]"
        page.screenshot(path=str(ARTIFACTS / "2-answer.png"))

        first_link.click()
        highlighted = page.locator("#qa-panel mark").first
        highlighted.wait_for(timeout=15000)
        assert len(highlighted.inner_text()) > 20
        panel = page.locator("#qa-panel").inner_text()
        assert "What does it mean if a patient has limb weakness" in panel and "guideline summary" in panel
        page.screenshot(path=str(ARTIFACTS / "3-citation-panel.png"))

        timings.append(_ask(page, "what about in children?"))
        assert "Searched for:" in page.locator("#qa-searched").inner_text()
        assert "enterovirus" in page.locator("#qa-chat .qa-answer").last.inner_text().lower()
        page.screenshot(path=str(ARTIFACTS / "4-follow-up.png"))

        page.get_by_role("button", name="Show whole document").click()
        page.locator("#qa-doc-quote").wait_for(timeout=15000)
        page.screenshot(path=str(ARTIFACTS / "5-whole-document.png"))

        timings.append(_ask(page, "What is the capital of France?"))
        assert "do not answer this question" in page.locator("#qa-chat .qa-answer").last.inner_text()
        assert "Closest passages, not an answer" in page.locator("#qa-chat").inner_text()
        timings += [_ask(page, question) for question in ("Can an MRI show small fiber neuropathy?", "How common were abnormal MRIs in ALS?")]
        for readme_question in ("What imaging for low back pain with leg weakness?", "What imaging should be ordered for low back pain with new weakness in the lower leg?"):
            timings.append(_ask(page, readme_question))
            assert "urgent MRI of the lumbar spine" in page.locator("#qa-chat .qa-answer").last.inner_text().split("[1]")[0]
        page.screenshot(path=str(ARTIFACTS / "6-abstention-and-more.png"), full_page=True)
        browser.close()
    warm = timings[1:]
    (ARTIFACTS / "timing.json").write_text(json.dumps({"enter_to_first_characters_ms": [round(t) for t in timings], "warm_median_ms": round(statistics.median(warm))}))
    print(f"Enter to first streamed characters, warm median: {statistics.median(warm):.0f} ms (all: {[round(t) for t in timings]})")
