"""Every supported format end to end (index -> ask -> cite), long articles, sidecar metadata, incremental indexing."""

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from qa.indexing.chunking import split_document
from qa.app.cli import main
from qa.render.citations import passage_in_context
from qa.ingest.documents import load_corpus
from qa.embed.encoders import DEFAULT_MODEL, load_encoder
from qa.indexing.build import build_index
from qa.pipeline import open_pipeline
from qa.settings import Settings
from qa.stores.index_folder import load_index

from .conftest import CORPUS, ROOT

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def formats_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats") / "index"
    report = build_index(FIXTURES / "formats", folder, DEFAULT_MODEL, progress=False)
    return folder, report


@pytest.fixture(scope="module")
def formats_pipeline(formats_index):
    return open_pipeline(Settings(index=formats_index[0]), check_corpus=False)


def _hit_in(pipeline, question, doc_id):
    for hit in pipeline.search(question, k=10):
        if hit.chunk.doc_id == doc_id:
            return hit
    raise AssertionError(f"no passage of {doc_id} for {question!r}")


def test_every_format_is_indexed_and_a_scanned_page_with_no_text_is_reported(formats_index):
    _, report = formats_index
    index = load_index(formats_index[0])
    assert {"neuropathy-html", "neuropathy-md", "neuropathy-pdf"} <= set(index.documents)
    assert sum(1 for d in index.documents.values() if d.source_path == "scifact-sample.jsonl") == 5
    assert [s.path for s in report.skipped] == ["scanned.pdf"] and "no text on any page, even read by OCR" in report.skipped[0].reason  # a picture, not text


def test_pdf_citations_give_the_page(formats_pipeline):
    hit = _hit_in(formats_pipeline, "MRI does not show damage to very small nerve fibers", "neuropathy-pdf")
    assert hit.chunk.page == 2 and hit.chunk.section == "When MRI May Not Show Neuropathy"
    document = formats_pipeline.index.documents["neuropathy-pdf"]
    assert document.kind == "patient leaflet (PDF)" and document.date == "March 2024"  # from the folder's metadata.json
    result = CliRunner().invoke(main, ["cite", hit.chunk.chunk_id, "--index", str(formats_pipeline.index.folder)])
    assert result.exit_code == 0 and "Page: 2" in result.output and "patient leaflet (PDF)" in result.output


def test_html_keeps_the_article_and_drops_the_page_around_it(formats_pipeline):
    document = formats_pipeline.index.documents["neuropathy-html"]
    assert document.title == "Can You See Neuropathy on an MRI Scan?" and document.date == "2024-03-02"
    for junk in ("Subscribe", "cookies", "Privacy policy", "analytics", "Related articles", "Ten foods"):
        assert junk not in document.text
    assert "Figure 1. MRI of the brachial plexus showing nerve thickening." in document.text  # caption kept
    hit = _hit_in(formats_pipeline, "nerve conduction studies and electromyography", "neuropathy-html")
    context = passage_in_context(formats_pipeline.index, hit.chunk.chunk_id)
    assert context.chunk.section == "Other Ways to Diagnose Neuropathy"


def test_markdown_headings_front_matter_and_syntax(formats_pipeline):
    document = formats_pipeline.index.documents["neuropathy-md"]
    assert document.kind == "consumer article" and document.date == "2024-03-02"
    assert document.publisher == "Example Neurology Clinic" and document.doi == "10.1234/neuro.2024.017"
    assert "Key points" in [s.heading for s in document.sections]
    assert "**" not in document.text and "## " not in document.text
    assert "- Small fiber neuropathy often looks normal on MRI." in document.text


def test_beir_records_are_documents_that_answer(formats_pipeline):
    record = next(d for d in formats_pipeline.index.documents.values() if d.source_path == "scifact-sample.jsonl")
    first_sentence = record.text.split("\n\n")[1].split(". ")[0]
    answer = formats_pipeline.ask(first_sentence)
    assert not answer.abstained and answer.citations[0].chunk.doc_id == record.doc_id


def test_a_long_article_chunks_along_its_numbered_headings():
    long_folder = FIXTURES / "long"
    document = load_corpus(long_folder).documents[0]
    headings = [s.heading for s in document.sections if s.heading]
    assert headings == ["1 Introduction", "2 Methods", "2.1 Study population", "2.2 Imaging protocol", "3 Results", "3.1 Primary outcomes",
                        "3.2 Secondary outcomes", "4 Discussion", "4.1 Limitations", "5 Conclusions"]
    encoder = load_encoder()
    chunks = split_document(document, 256, encoder.count_tokens)
    assert 60 <= len(chunks) <= 150
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert chunk.section in headings or chunk.section == ""
        assert encoder.count_tokens(f"{document.title}\n{chunk.section}\n{chunk.text}") <= 256
        section = next(s for s in document.sections if s.heading == chunk.section)
        assert section.start <= chunk.start and chunk.end <= section.end  # never across a heading


def test_sidecar_metadata_in_a_subfolder(tmp_path):
    (tmp_path / "cardiology").mkdir()
    shutil.copy(FIXTURES / "formats" / "neuropathy.md", tmp_path / "cardiology" / "note.md")
    (tmp_path / "cardiology" / "metadata.json").write_text(json.dumps({"documents": {"note.md": {"title": "A sidecar title", "kind": "review"}}}))
    document = load_corpus(tmp_path).documents[0]
    assert (document.doc_id, document.title, document.kind, document.date) == ("cardiology-note-md", "A sidecar title", "review", "2024-03-02")


def _vectors_of(index_folder, doc_id):
    index = load_index(index_folder)
    rows = [i for i, c in enumerate(index.chunks) if c.doc_id == doc_id]
    return index.search.vectors()[rows]


def test_incremental_index_embeds_only_what_changed(tmp_path, index_dir):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)
    before = _vectors_of(index, "neuropathy-on-mri")

    shutil.copy(FIXTURES / "formats" / "neuropathy.pdf", corpus / "leaflet.pdf")
    report = build_index(corpus, index, DEFAULT_MODEL, progress=False)
    assert report.added == ("leaflet-pdf",) and len(report.unchanged) == 4 and not report.updated and not report.removed
    assert np.array_equal(_vectors_of(index, "neuropathy-on-mri"), before)  # reused, not re-embedded

    path = corpus / "neuropathy-on-mri.txt"
    path.write_text(path.read_text() + "\nA closing remark about nerve ultrasound.\n")
    report = build_index(corpus, index, DEFAULT_MODEL, progress=False)
    assert report.updated == ("neuropathy-on-mri",) and len(report.unchanged) == 4

    (corpus / "leaflet.pdf").unlink()
    report = build_index(corpus, index, DEFAULT_MODEL, progress=False)
    assert report.removed == ("leaflet-pdf",) and "leaflet-pdf" not in load_index(index).documents


def test_add_and_remove_keep_corpus_and_index_in_step(tmp_path, index_dir):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)
    runner = CliRunner()
    added = runner.invoke(main, ["add", "-q", str(FIXTURES / "formats" / "neuropathy.md"), "--corpus", str(corpus), "--index", str(index)])
    assert added.exit_code == 0, added.output
    assert "added 1, updated 0, removed 0, unchanged 4" in added.output and (corpus / "neuropathy.md").exists()
    listed = json.loads(runner.invoke(main, ["docs", "--json", "--index", str(index)]).output)
    assert {"doc_id": "neuropathy-md", "chunks": listed[-1]["chunks"]}.items() <= next(r for r in listed if r["doc_id"] == "neuropathy-md").items()

    clash = tmp_path / "neuropathy.md"
    clash.write_text("# Different\n\nOther content entirely.\n")
    refused = runner.invoke(main, ["add", str(clash), "--corpus", str(corpus), "--index", str(index)])
    assert refused.exit_code == 1 and "neuropathy.md is already in the library with other content" in refused.output

    removed = runner.invoke(main, ["remove", "neuropathy-md", "--corpus", str(corpus), "--index", str(index)])
    assert removed.exit_code == 0 and "removed 1" in removed.output
    assert not (corpus / "neuropathy.md").exists() and list((corpus / ".removed").rglob("neuropathy.md"))
    assert "neuropathy-md" not in load_index(index).documents
    unknown = runner.invoke(main, ["remove", "no-such-doc", "--corpus", str(corpus), "--index", str(index)])
    assert unknown.exit_code == 1 and "qa docs" in unknown.output


def test_a_pdf_citation_panel_shows_the_page_with_the_quote_highlighted(formats_pipeline):
    import base64
    import io
    import re

    from PIL import Image

    from qa.app import web_logic

    hit = _hit_in(formats_pipeline, "MRI does not show damage to very small nerve fibers", "neuropathy-pdf")
    document = formats_pipeline.index.documents["neuropathy-pdf"]
    start = document.text.index("MRI typically does not show damage")
    panel = web_logic.citation_panel_html(formats_pipeline.index, hit.chunk.chunk_id, (start, start + 60))
    match = re.search(r'<img class="qa-page" alt="Page 2 of [^"]+" src="data:image/png;base64,([^"]+)"', panel)
    assert match and 'href="#qa-text-view"' in panel and "<mark" in panel  # the text view stays below
    image = Image.open(io.BytesIO(base64.b64decode(match.group(1)))).convert("RGB")
    pixels = np.asarray(image)
    highlighted = int(((pixels[..., 0] > 240) & (pixels[..., 1] > 220) & (pixels[..., 2] < 200)).sum())  # yellow over white
    assert highlighted > 2000  # the yellow box over the quote, on a white page with black text
    other = formats_pipeline.index.documents["neuropathy-md"]
    md_hit = next(c for c in formats_pipeline.index.chunks if c.doc_id == other.doc_id)
    assert "qa-page" not in web_logic.citation_panel_html(formats_pipeline.index, md_hit.chunk_id)  # other formats unchanged
