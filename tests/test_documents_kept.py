"""The documents a clinic keeps: Word files read with their structure, scanned PDFs read by OCR on this machine,
and every other file counted and named among the skipped ones."""

from __future__ import annotations

import shutil

import pytest

from qa.app import web_logic
from qa.embed.encoders import DEFAULT_MODEL
from qa.indexing.build import build_index
from qa.ingest.documents import load_corpus
from qa.pipeline import open_pipeline
from qa.settings import Settings
from tests.fixtures.scans import scanned_pdf

from .conftest import CORPUS

pytestmark = pytest.mark.slow

REFERRAL = ("Referral letter from the gout clinic. The patient reports three attacks of gout in the left big toe this year. "
            "Serum uric acid was 9.1 mg/dL at the last visit.\n\nWe recommend starting allopurinol at 100 mg daily once the current attack has "
            "settled, with colchicine cover for the first three months.")
FOLLOW_UP = "Page two of the letter. Book a follow-up visit after six weeks to recheck the uric acid level and adjust the dose towards a target below 6 mg/dL."


def protocol_docx(path):
    """A Word protocol: Title, Heading 1 sections, paragraphs, a bulleted list and a table, with core properties."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Carpal tunnel syndrome: clinic protocol"
    document.core_properties.author = "Hand Clinic, Riverside Hospital"
    document.add_paragraph("Carpal tunnel syndrome: clinic protocol", style="Title")
    document.add_paragraph("Assessment", style="Heading 1")
    document.add_paragraph("Every patient with numbness in the thumb, index and middle fingers is examined with Phalen's test and Tinel's sign at the first visit.")
    document.add_paragraph("Nerve conduction studies are ordered when symptoms last longer than six weeks.", style="List Bullet")
    document.add_paragraph("Ultrasound of the wrist is an alternative when nerve conduction studies are unavailable.", style="List Bullet")
    document.add_paragraph("Treatment by severity", style="Heading 1")
    document.add_paragraph("Every patient is offered a wrist splint before any injection or surgery is considered.")
    rows = [("Severity", "Symptoms", "Treatment"), ("Mild", "Intermittent tingling at night", "Night splint"),
            ("Moderate", "Daily numbness", "Splint and steroid injection"), ("Severe", "Constant numbness and thenar wasting", "Surgical release")]
    table = document.add_table(rows=len(rows), cols=3)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(path)
    return path


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kept")
    corpus = folder / "corpus"
    corpus.mkdir()
    protocol_docx(corpus / "carpal-tunnel-protocol.docx")
    scanned_pdf([REFERRAL, FOLLOW_UP], corpus / "gout-referral.pdf", dpi=200, angle=1.0)
    shutil.copy(CORPUS / "neuropathy-on-mri.txt", corpus)
    report = build_index(corpus, folder / "index", DEFAULT_MODEL, progress=False)
    return open_pipeline(Settings(corpus=corpus, index=folder / "index")), report


def test_a_word_file_and_a_two_page_scan_are_indexed_with_nothing_skipped(kept):
    pipeline, report = kept
    assert report.skipped == () and report.documents == 3
    word = pipeline.index.documents["carpal-tunnel-protocol-docx"]
    assert (word.title, word.author, word.kind) == ("Carpal tunnel syndrome: clinic protocol", "Hand Clinic, Riverside Hospital", "Word document")
    assert [s.heading for s in word.sections if s.kind == "body"][:2] == ["Assessment", "Treatment by severity"]
    assert "- Mild | Intermittent tingling at night | Night splint" in word.text  # a table row stays a row a reader can quote
    scan = pipeline.index.documents["gout-referral-pdf"]
    assert scan.ocr_pages == [1, 2] and scan.kind == "scanned PDF"
    assert "allopurinol at 100 mg daily" in scan.text and "target below 6 mg/dL" in scan.text


def test_a_question_answered_only_in_the_word_file_cites_it_from_its_section(kept):
    pipeline, _ = kept
    answer = pipeline.ask("When are nerve conduction studies ordered for carpal tunnel syndrome?")
    first = answer.citations[0]
    assert first.chunk.doc_id == "carpal-tunnel-protocol-docx" and first.chunk.section == "Assessment"
    assert "longer than six weeks" in first.quote


def test_a_question_answered_only_in_the_scan_cites_its_page_one_highlighted_and_says_it_was_read_by_ocr(kept):
    pipeline, _ = kept
    answer = pipeline.ask("What was the gout patient's serum uric acid level?")
    first = answer.citations[0]
    assert first.chunk.doc_id == "gout-referral-pdf" and "9.1 mg/dL" in first.quote
    assert pipeline.index.documents["gout-referral-pdf"].page_at(first.start) == 1
    panel = web_logic.citation_panel_html(pipeline.index, first.chunk.chunk_id, (first.start, first.end))
    assert 'alt="Page 1 of' in panel and "read by OCR" in panel and "data:image/png;base64," in panel


def test_files_of_other_kinds_are_counted_and_named_and_a_blank_scanned_page_is_said(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "neuropathy-on-mri.txt", corpus)
    (corpus / "handout.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old Word file")
    (corpus / "doses.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
    scanned_pdf([REFERRAL, ""], corpus / "letter.pdf", dpi=200, angle=0.5)
    loaded = load_corpus(corpus)
    reasons = {s.path: s.reason for s in loaded.skipped}
    assert loaded.files == 4 and set(reasons) == {"handout.doc", "doses.xlsx"}
    assert "save it as .docx" in reasons["handout.doc"] and ".xlsx files are not read" in reasons["doses.xlsx"]
    assert any("OCR found no text on page 2 of 2" in note for note in loaded.notes)
    assert next(d for d in loaded.documents if d.source_path == "letter.pdf").ocr_pages == (1,)
