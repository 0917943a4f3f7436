"""Uploads through the page's code path (qa/library/uploads.py): real files, a real index, one line per file."""

from __future__ import annotations

import shutil
import threading

import pytest

from qa.settings import Settings
from qa.library.uploads import add_uploads, check, safe_name
from tests.conftest import CORPUS

NOTE = "# Pellagra\n\nPellagra is caused by a lack of niacin and shows as dermatitis, diarrhoea and dementia.\n"


@pytest.fixture
def library(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return Settings(corpus=corpus, index=tmp_path / "index")


def _file(tmp_path, name, data: bytes):
    path = tmp_path / "upload" / name.replace("/", "_")
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_path_in_the_name_never_leaves_the_corpus_folder():
    assert safe_name("../../x.md") == "x.md" and safe_name("C:\\docs\\y.txt") == "y.txt" and safe_name("/etc/z.html") == "z.html"


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("tool.exe", b"MZ...", ".exe file type; supported are"),
        ("empty.md", b"", "the file is empty"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data, not text, although it is named .txt"),
        (".hidden.md", b"# x\n\ntext", "not a usable file name"),
    ],
)
def test_bad_files_are_skipped_with_the_reason(tmp_path, name, data, reason):
    result = check(name, _file(tmp_path, name, data), Settings(corpus=tmp_path / "corpus", index=tmp_path / "index"))
    assert result.status == "skipped" and reason in result.detail


def test_over_the_size_limit_is_skipped(tmp_path):
    result = check("big.md", _file(tmp_path, "big.md", b"# Big\n\n" + b"word " * 300_000), Settings(corpus=tmp_path / "corpus", index=tmp_path / "index"), limit_mb=1)
    assert result.line() == "big.md: skipped (1.5 MB is over the 1 MB limit)"


def test_upload_indexes_the_new_document_and_refuses_a_clashing_name(tmp_path, library):
    from qa.pipeline import open_pipeline

    clash = _file(tmp_path, "neuropathy-on-mri.txt", b"Something else entirely about knees.")
    results = add_uploads([("../../pellagra.md", _file(tmp_path, "pellagra.md", NOTE.encode())), ("neuropathy-on-mri.txt", clash)], library, progress=False)
    assert [r.line() for r in results] == [
        "pellagra.md: added",
        "neuropathy-on-mri.txt: skipped (a different document with this name is already in the library; rename the file, or remove the old one first)",
    ]
    assert (library.corpus / "pellagra.md").read_text() == NOTE and not (tmp_path / "pellagra.md").exists()
    answer = open_pipeline(library).ask("What causes pellagra?")
    assert answer.citations[0].chunk.doc_id == "pellagra-md"
    again = add_uploads([("pellagra.md", _file(tmp_path, "pellagra.md", NOTE.encode()))], library, progress=False)
    assert again[0].line() == "pellagra.md: skipped (already in the library)"


def test_a_pdf_with_no_text_layer_is_skipped_and_not_left_in_the_corpus(tmp_path, library):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 50, 50, style="F")  # a drawing, no text
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    (result,) = add_uploads([("scan.pdf", path)], library, progress=False)
    assert result.status == "skipped" and "text" in result.detail
    assert not (library.corpus / "scan.pdf").exists()


def test_two_uploads_at_once_both_end_indexed(tmp_path, library):
    from qa.stores.index_folder import load_index

    add_uploads([], library, progress=False)
    first = _file(tmp_path, "a-note.md", b"# Alpha note\n\nAlpha fever is treated with rest and fluids.\n")
    second = tmp_path / "other" / "b-note.md"
    second.parent.mkdir()
    second.write_bytes(b"# Beta note\n\nBeta rash is treated with cool compresses.\n")
    outcomes = []
    threads = [threading.Thread(target=lambda f=f: outcomes.extend(add_uploads([(f.name, f)], library, progress=False))) for f in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.line() for r in outcomes) == ["a-note.md: added", "b-note.md: added"]
    assert {"a-note-md", "b-note-md"} <= set(load_index(library.index).documents)
