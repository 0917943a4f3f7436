"""The document library in the served page, in headless Chromium: upload, ask about it, cite it, remove it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import CORPUS, ROOT, start_qa_serve, stop
from tests.test_ui_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (`make test` installs it)")]

NOTE = """---
title: Pellagra, a clinic note
kind: clinic note
date: 2026-11-01
publisher: Example Nutrition Clinic
doi: 10.1234/pellagra.2026
---

# Pellagra

Pellagra is caused by a lack of niacin (vitamin B3) and shows as dermatitis, diarrhoea and dementia.

# Treatment

Pellagra is treated with nicotinamide by mouth, and the diet is corrected.
"""


def _serve(tmp_path, *extra):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    subprocess.run([sys.executable, "-m", "qa.app.cli", "index", "-q", "--corpus", str(corpus), "--index", str(index)], cwd=ROOT, check=True, capture_output=True)
    process, url = start_qa_serve(index, *extra)
    return process, url, corpus


def _upload(page, *files) -> float:
    """Add files in the Sources tab; seconds from the click until the page reports the first result line."""
    page.get_by_role("tab", name="Sources").click()
    page.locator("#qa-upload input[type=file]").set_input_files([str(f) for f in files])
    page.locator("#qa-add").click()
    started = time.perf_counter()
    page.locator("#qa-upload-result li").first.wait_for(timeout=180000)
    return time.perf_counter() - started


def _ask(page, question: str) -> str:
    """Ask in the Ask tab; the new answer's text once it is shown (with its source cards, or a decline, which has
    none: a server that has not yet loaded another's upload declines, and the caller asks again)."""
    page.get_by_role("tab", name="Ask").click()
    answers = page.locator("#qa-chat .qa-answer")
    before = answers.count()
    box = page.locator("#qa-question textarea").first
    box.fill(question)
    box.press("Enter")
    answers.nth(before).wait_for(timeout=60000)
    return answers.last.inner_text()


def _browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def test_upload_then_ask_about_it_cite_it_and_remove_it(tmp_path):
    from playwright.sync_api import sync_playwright

    note = tmp_path / "pellagra-note.md"
    note.write_text(NOTE)
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    process, url, corpus = _serve(tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page(viewport={"width": 1366, "height": 1000})
            page.goto(url, wait_until="domcontentloaded")
            seconds = _upload(page, note, binary)
            result = page.locator("#qa-upload-result").inner_text()
            assert "pellagra-note.md: added" in result
            assert "photo.txt: skipped (binary data, not text, although it is named .txt)" in result
            page.screenshot(path=str(ARTIFACTS / "library-1-uploaded.png"))
            table = page.locator("#qa-sources-table").inner_text()
            assert "Pellagra, a clinic note" in table and "Example Nutrition Clinic" in table
            print(f"upload to searchable, Markdown page: {seconds:.1f} s")

            assert "nicotinamide" in _ask(page, "How is pellagra treated?")
            page.locator("#qa-chat a.qa-cite").first.click()
            page.locator("#qa-panel mark").first.wait_for(timeout=15000)
            assert "Pellagra, a clinic note" in page.locator("#qa-panel").inner_text()
            page.screenshot(path=str(ARTIFACTS / "library-2-cited.png"))

            page.get_by_role("tab", name="Sources").click()
            page.locator("#qa-remove-choice input").fill("Pellagra")
            page.get_by_role("option", name="Pellagra, a clinic note").click()
            page.locator("#qa-remove").click()
            page.get_by_text("Tick the box to confirm the removal first.").wait_for(timeout=15000)
            page.locator("#qa-remove-confirm input").check()
            page.locator("#qa-remove").click()
            page.get_by_text("Removed pellagra-note-md").wait_for(timeout=60000)
            page.screenshot(path=str(ARTIFACTS / "library-3-removed.png"))
            assert "Pellagra, a clinic note" not in page.locator("#qa-sources-table").inner_text()
            browser.close()
    finally:
        stop(process)
    assert not (corpus / "pellagra-note.md").exists() and list((corpus / ".removed").rglob("pellagra-note.md"))
    assert not (corpus / "photo.txt").exists()


def test_read_only_page_has_no_upload_or_remove(tmp_path):
    from playwright.sync_api import sync_playwright

    process, url, _ = _serve(tmp_path, "--read-only")
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page()
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_role("tab", name="Sources").click()
            page.locator("#qa-sources-table").wait_for(timeout=30000)
            assert page.locator("#qa-upload").count() == 0 or not page.locator("#qa-upload").is_visible()
            assert page.locator("#qa-remove").count() == 0 or not page.locator("#qa-remove").is_visible()
            browser.close()
    finally:
        stop(process)


def ten_page_pdf(path):
    """A 10-page PDF, one topic per page; page 7 alone says how scurvy is treated."""
    from fpdf import FPDF

    topics = ["rickets", "beriberi", "goitre", "anaemia", "kwashiorkor", "marasmus", "scurvy", "night blindness", "pellagra", "osteomalacia"]
    pdf = FPDF()
    pdf.set_title("Nutritional disorders, a clinic leaflet")
    pdf.set_font("helvetica", size=11)
    for number, topic in enumerate(topics, 1):
        pdf.add_page()
        pdf.set_font("helvetica", "B", 14)
        pdf.cell(0, 10, f"{number}. {topic.capitalize()}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        body = (
            f"{topic.capitalize()} is a nutritional disorder seen in clinics that serve people with poor diets. "
            f"This page describes how {topic} presents and how it is found on examination. " * 6
        )
        if topic == "scurvy":
            body += "Scurvy is treated with ascorbic acid, 300 mg a day by mouth for one month, and a diet rich in fruit. "
        pdf.multi_cell(0, 6, body)
    pdf.output(str(path))


def test_upload_a_ten_page_pdf_and_see_the_cited_page_highlighted(tmp_path):
    from playwright.sync_api import sync_playwright

    leaflet = tmp_path / "nutrition-leaflet.pdf"
    ten_page_pdf(leaflet)
    process, url, corpus = _serve(tmp_path)
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page(viewport={"width": 1366, "height": 1000})
            page.goto(url, wait_until="domcontentloaded")
            seconds = _upload(page, leaflet)
            assert "nutrition-leaflet.pdf: added" in page.locator("#qa-upload-result").inner_text()
            print(f"upload to searchable, 10-page PDF: {seconds:.1f} s")
            assert "ascorbic acid" in _ask(page, "How is scurvy treated?")
            page.locator("#qa-chat a.qa-cite").first.click()
            image = page.locator("#qa-panel img.qa-page")
            image.wait_for(timeout=30000)
            assert image.get_attribute("alt").startswith("Page 7 of")
            assert page.locator("#qa-panel a.qa-text-link").count() == 1
            page.screenshot(path=str(ARTIFACTS / "library-4-pdf-page.png"))
            browser.close()
    finally:
        stop(process)


def _two_servers_on_a_library(uri: str, prefix: str, tmp_path):
    """The seed corpus as a library in Milvus, a 10-page PDF to upload, and two `qa serve` processes on it."""
    subprocess.run([sys.executable, "-m", "qa.app.cli", "index", "-q", "--store", "milvus", "--milvus-uri", uri, "--milvus-collection", prefix,
                    "--corpus", str(CORPUS)], cwd=ROOT, check=True, capture_output=True)
    leaflet = tmp_path / "nutrition-leaflet.pdf"
    ten_page_pdf(leaflet)
    servers = [start_qa_serve(None, "--milvus-uri", uri, "--milvus-collection", prefix) for _ in range(2)]
    return leaflet, servers


def test_two_servers_on_one_library_an_upload_on_one_is_answered_on_the_other(tmp_path, lite_server):
    """Two `qa serve` processes on one Milvus (no index folder, no corpus folder): a PDF uploaded in one page is
    answered, cited and shown as its page in the other, which loads only the new document."""
    from playwright.sync_api import sync_playwright

    leaflet, ((first, first_url), (second, second_url)) = _two_servers_on_a_library(lite_server, "shared", tmp_path)
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            uploader, asker = browser.new_page(viewport={"width": 1366, "height": 1000}), browser.new_page(viewport={"width": 1366, "height": 1000})
            uploader.goto(first_url, wait_until="domcontentloaded")
            asker.goto(second_url, wait_until="domcontentloaded")
            _upload(uploader, leaflet)
            assert "nutrition-leaflet.pdf: added" in uploader.locator("#qa-upload-result").inner_text()
            uploaded = time.perf_counter()
            deadline, answer = uploaded + 60, ""
            while time.perf_counter() < deadline and "ascorbic acid" not in answer:
                answer = _ask(asker, "How is scurvy treated?")
            print(f"upload on one server to an answer from the other: {time.perf_counter() - uploaded:.1f} s")
            assert "ascorbic acid" in answer
            asker.locator("#qa-chat .qa-card a.qa-cite").first.click()  # the cited answer's (a decline's closest passages have no card)
            image = asker.locator("#qa-panel img.qa-page")
            image.wait_for(timeout=30000)
            assert image.get_attribute("alt").startswith("Page 7 of")
            asker.screenshot(path=str(ARTIFACTS / "library-5-second-server.png"))
            browser.close()
    finally:
        stop(first)
        stop(second)


def test_a_server_killed_mid_upload_leaves_the_other_answering_from_a_whole_library(tmp_path, lite_server):
    """Kill the uploading server while it indexes: the other answers from the library as it was or as it is
    after the upload, and every document the library lists has all its rows."""
    from playwright.sync_api import sync_playwright

    from qa.pipeline import open_pipeline
    from qa.settings import Settings

    leaflet, ((doomed, doomed_url), (survivor, survivor_url)) = _two_servers_on_a_library(lite_server, "killed", tmp_path)
    seed = {p.name for p in CORPUS.iterdir() if p.suffix == ".txt"}
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page(viewport={"width": 1366, "height": 1000})
            page.goto(doomed_url, wait_until="domcontentloaded")
            page.get_by_role("tab", name="Sources").click()
            page.locator("#qa-upload input[type=file]").set_input_files([str(leaflet)])
            page.locator("#qa-add").click()
            time.sleep(3)  # indexing: the PDF is being embedded, or its rows written
            doomed.kill()
            doomed.wait(timeout=20)
            library = open_pipeline(Settings(milvus_uri=lite_server, milvus_collection="killed"))  # loads only whole documents
            assert {d.source_path for d in library.index.documents.values()} in (seed, seed | {"nutrition-leaflet.pdf"})
            other = browser.new_page(viewport={"width": 1366, "height": 1000})
            other.goto(survivor_url, wait_until="domcontentloaded")
            assert "MRI" in _ask(other, "What imaging for low back pain with leg weakness?")
            browser.close()
    finally:
        stop(doomed)
        stop(survivor)


def _log_in(page, url: str, name: str, password: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.locator("input[type=text], input[name=username]").first.fill(name)
    page.locator("input[type=password]").first.fill(password)
    page.get_by_role("button", name="Login").click()
    page.locator("#qa-question textarea").first.wait_for(timeout=60000)


def _remove_as(url: str, name: str, password: str, doc_id: str) -> str:
    """The remove handler called directly over HTTP (Gradio's queue), logged in as ``name``; the line it returns."""
    import json
    import uuid

    import requests

    session = requests.Session()
    assert session.post(f"{url}login", data={"username": name, "password": password}).status_code == 200
    config = session.get(f"{url}config").json()
    elem_ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    remove = next(d["id"] for d in config["dependencies"] if any(elem_ids.get(t[0]) == "qa-remove" for t in d["targets"]))
    session_hash = uuid.uuid4().hex
    session.post(f"{url}gradio_api/queue/join", json={"data": [doc_id, True], "fn_index": remove, "session_hash": session_hash, "event_data": None, "trigger_id": None})
    with session.get(f"{url}gradio_api/queue/data", params={"session_hash": session_hash}, stream=True, timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith(b"data:") and b"process_completed" in line:
                return json.loads(line[5:])["output"]["data"][0]
    raise AssertionError("the remove call never completed")


def test_accounts_with_roles_a_reader_asks_an_editor_also_adds_and_removes(tmp_path):
    """`qa serve --users FILE`: a wrong password is refused; a reader asks and sees no library controls, and a remove
    request sent straight to the server as a reader is refused; an editor uploads a Word file and removes it. No
    password is in any process's command line."""
    from playwright.sync_api import sync_playwright

    from qa.app.accounts import UsersFile
    from tests.test_documents_kept import protocol_docx

    users = tmp_path / "users.json"
    UsersFile(users).add("rita", "reader", "reader passphrase")
    UsersFile(users).add("ed", "editor", "editor passphrase")
    word = protocol_docx(tmp_path / "carpal-tunnel-protocol.docx")
    process, url, corpus = _serve(tmp_path, "--users", str(users))
    try:
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            try:
                command_line = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            assert "passphrase" not in command_line
        import requests

        assert requests.post(f"{url}login", data={"username": "rita", "password": "wrong passphrase"}).status_code != 200
        assert _remove_as(url, "rita", "reader passphrase", "neuropathy-on-mri").startswith("Only editors may add or remove documents")
        assert (corpus / "neuropathy-on-mri.txt").exists()
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            reader = browser.new_context().new_page()
            _log_in(reader, url, "rita", "reader passphrase")
            assert "MRI" in _ask(reader, "What imaging for low back pain with leg weakness?")
            reader.get_by_role("tab", name="Sources").click()
            reader.locator("#qa-sources-table").wait_for(timeout=30000)
            assert not reader.locator("#qa-upload").is_visible() and not reader.locator("#qa-remove").is_visible()
            reader.screenshot(path=str(ARTIFACTS / "library-6-reader.png"))
            editor = browser.new_context().new_page()
            _log_in(editor, url, "ed", "editor passphrase")
            _upload(editor, word)
            assert "carpal-tunnel-protocol.docx: added" in editor.locator("#qa-upload-result").inner_text()
            assert "Carpal tunnel syndrome: clinic protocol" in editor.locator("#qa-sources-table").inner_text()
            editor.locator("#qa-remove-choice input").fill("Carpal")
            editor.get_by_role("option", name="Carpal tunnel syndrome: clinic protocol").click()
            editor.locator("#qa-remove-confirm input").check()
            editor.locator("#qa-remove").click()
            editor.get_by_text("Removed carpal-tunnel-protocol-docx").wait_for(timeout=60000)
            browser.close()
    finally:
        stop(process)
