"""Every file in, nothing silently lost: plain notes and abstracts without a title line are indexed whole,
a first line that is a sentence stays in the body, and skipped files are reported grouped and counted."""

import re
import string
import tempfile
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.app.cli import main
from qa.indexing.chunking import split_document
from qa.ingest.documents import load_corpus

WORD = st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=12)
ENDING = st.sampled_from([".", "?", "!", ":", ";", ",", "", " 3", "..."])


@st.composite
def sentences(draw, min_words=3, max_words=25):
    words = draw(st.lists(WORD, min_size=min_words, max_size=max_words))
    return words[0].capitalize() + " " + " ".join(words[1:]) + draw(st.sampled_from([".", ".", ".", "?", "!"]))


@st.composite
def plain_documents(draw):
    """1 to 20 paragraphs of sentences, hard-wrapped or not; maybe a title line; any punctuation at the
    end of the first line."""
    paragraphs = []
    for _ in range(draw(st.integers(1, 20))):
        body = " ".join(draw(st.lists(sentences(), min_size=1, max_size=6)))
        if draw(st.booleans()):  # hard-wrapped, as pasted from an e-mail or a PDF
            body = re.sub(r"(.{40,70}?) ", lambda m: m.group(1) + "\n", body)
        paragraphs.append(body)
    first_line, _, rest = paragraphs[0].partition("\n")
    paragraphs[0] = re.sub(r"[.?!]?$", draw(ENDING), first_line, count=1) + ("\n" + rest if rest else "")
    if draw(st.booleans()):
        title_words = draw(st.lists(WORD, min_size=1, max_size=10))
        paragraphs.insert(0, " ".join(w.capitalize() for w in title_words) + draw(st.sampled_from(["", "?", ":", "."])))
    return "\n\n".join(paragraphs) + "\n"


def passage_words(document) -> Counter:
    """Every word the document's passages are searched with: their text, section heading and title."""
    found: Counter = Counter()
    for chunk in split_document(document):
        found.update(re.findall(r"[a-z]+", f"{document.search_title} {chunk.section} {chunk.text}".lower()))
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_documents(), st.sampled_from([".txt", ".md"]))
def test_every_plain_file_yields_a_document_whose_passages_hold_its_words(text, suffix):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / f"note{suffix}").write_text(text, encoding="utf-8")
        corpus = load_corpus(folder)
    assert len(corpus.documents) == 1 and not corpus.skipped
    document = corpus.documents[0]
    wanted = Counter(re.findall(r"[a-z]+", text.lower()))
    held = passage_words(document)
    matched = sum(min(count, held[word]) for word, count in wanted.items())
    assert matched >= 0.99 * sum(wanted.values()), (document.title, document.text[:300])


def test_a_one_paragraph_abstract_is_indexed_and_titled_by_its_opening_words(tmp_path):
    abstract = (
        "Patients transported by helicopter often require advanced airway management. The purpose of this study was to "
        "determine whether the in-flight environment impairs oral endotracheal intubation. Intubation took longer in flight."
    )
    (tmp_path / "abstract.txt").write_text(abstract + "\n")
    document = load_corpus(tmp_path).documents[0]
    assert not document.titled and document.title == "Patients transported by helicopter often require advanced airway management…"
    assert document.text.startswith("Patients transported by helicopter")  # the opening words stay in the body
    assert abstract in "".join(chunk.text for chunk in split_document(document))


def test_a_first_line_that_is_a_sentence_stays_in_the_body(tmp_path):
    (tmp_path / "notes.txt").write_text("The trial ended early.\nPatients were randomised to two arms.\n\nOutcomes were similar.\n")
    document = load_corpus(tmp_path).documents[0]
    assert "The trial ended early." in " ".join(chunk.text for chunk in split_document(document))


def test_a_title_line_on_its_own_is_still_a_title(tmp_path):
    (tmp_path / "force.txt").write_text("Force\n\nA force is any interaction that changes the motion of an object.\n")
    (tmp_path / "question.txt").write_text("Is oral intubation impaired in the helicopter environment?\n\nIntubation took longer in flight.\n")
    documents = {d.doc_id: d for d in load_corpus(tmp_path).documents}
    assert documents["force"].title == "Force" and documents["force"].titled
    assert documents["question"].title == "Is oral intubation impaired in the helicopter environment?"
    assert "Force" not in " ".join(c.text for c in split_document(documents["force"]))  # the title line itself is not body


def test_only_the_title_line_is_taken_out_of_the_body(tmp_path):
    text = "Aspirin\n\nAspirin is an analgesic.\n\nAspirin\n\nIt also thins the blood.\n"
    (tmp_path / "aspirin.txt").write_text(text)
    document = load_corpus(tmp_path).documents[0]
    passages = " ".join(f"{c.section} {c.text}" for c in split_document(document))
    assert document.title == "Aspirin" and "Aspirin is an analgesic." in passages and "It also thins the blood." in passages
    assert document.text.count("Aspirin") == 3  # the repeat further down stays


def test_a_pdf_whose_first_line_is_a_sentence_keeps_it(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Helicopter transport delays intubation in most crews.\nThe effect was larger at night than by day.")
    pdf.output(str(tmp_path / "study.pdf"))
    document = load_corpus(tmp_path).documents[0]
    assert "Helicopter transport delays intubation in most crews." in " ".join(c.text for c in split_document(document))


def test_html_without_a_title_keeps_its_opening_text(tmp_path):
    page = (
        "<html><body><main><p>Shingles is a painful rash caused by the varicella zoster virus, the virus of chickenpox.</p>"
        "<p>It usually appears on one side of the body as a band of blisters and heals within four weeks.</p></main></body></html>"
    )
    (tmp_path / "shingles.html").write_text(page)
    document = load_corpus(tmp_path).documents[0]
    assert "Shingles is a painful rash" in " ".join(c.text for c in split_document(document))


def test_front_matter_is_yaml(tmp_path):
    (tmp_path / "quote.md").write_text('---\ntitle: "He said \\"stop\\""\ndate: 2025-11-07\nkind: note\n---\nThe patient was told to stop the drug at once.\n')
    document = load_corpus(tmp_path).documents[0]
    assert document.title == 'He said "stop"' and document.date == "2025-11-07" and document.kind == "note"
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody text here.\n")
    skipped = load_corpus(tmp_path).skipped
    assert [s.path for s in skipped] == ["broken.md"] and "not valid YAML" in skipped[0].reason


def test_a_file_of_page_furniture_only_says_what_the_cleaner_removed(tmp_path):
    (tmp_path / "good.txt").write_text("Ordinary text about migraine and its treatment.\n")
    (tmp_path / "banner.txt").write_text("Skip to main page content\n\nShare\n\nPersonalize\n")
    skipped = load_corpus(tmp_path).skipped
    assert len(skipped) == 1 and "the cleaner removed 3 lines of page furniture ('Skip to main page content', 'Share', 'Personalize')" in skipped[0].reason


def test_qa_index_summarises_skips_and_lists_them_all_with_v(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(6):
        (corpus / f"abstract-{n}.txt").write_text(f"Finding {n}: vitamin D level {n} was measured in every patient of the cohort.\n")
    for n in range(5):
        (corpus / f"empty-{n}.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x00\x01binary")
    result = CliRunner().invoke(main, ["index", "-q", "--corpus", str(corpus), "--index", str(tmp_path / "index")])
    assert result.exit_code == 0, result.output
    assert "Indexed 6 documents" in result.output
    assert "Skipped 6 of 12 files:" in result.output
    assert "  5 empty files: empty-0.txt, empty-1.txt, empty-2.txt and 2 more" in result.output
    assert "  1 binary data, not text: binary.txt (binary.txt looks binary" in result.output
    assert "-v lists every skipped file" in result.output
    verbose = CliRunner().invoke(main, ["index", "-q", "-v", "--corpus", str(corpus), "--index", str(tmp_path / "index")])
    assert verbose.exit_code == 0 and all(f"    empty-{n}.txt: empty-{n}.txt is empty" in verbose.output for n in range(5))
    assert "unchanged 6" in verbose.output  # nothing new: an incremental run exits 0


def test_a_folder_with_nothing_usable_exits_non_zero_with_the_grouped_reasons(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(4):
        (corpus / f"empty-{n}.txt").write_bytes(b"")
    result = CliRunner().invoke(main, ["index", "-q", "--corpus", str(corpus), "--index", str(tmp_path / "index")])
    assert result.exit_code == 1
    assert "has no usable documents (skipped 4 of 4 files; 4 empty files: empty-0.txt, empty-1.txt, empty-2.txt and 1 more)" in result.output
