import string

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.indexing.chunking import embedding_prefix, split_document, split_units
from qa.ingest.cleaning import clean
from qa.ingest.documents import doc_id_for
from qa.types import Document


def _document(raw: str) -> Document:
    cleaned = clean(raw)
    return Document(doc_id_for("t.txt"), cleaned.title, "t.txt", "document", None, cleaned.text, cleaned.sections, cleaned.references)


def test_chunks_slice_the_document_exactly(corpus):
    for document in corpus.documents:
        chunks = split_document(document)
        assert chunks
        for chunk in chunks:
            assert document.text[chunk.start : chunk.end] == chunk.text
            assert chunk.chunk_id == f"{document.doc_id}#{chunk.ordinal}"


def test_chunks_fit_the_model_with_their_prefix(corpus, pipeline):
    encoder = pipeline.retriever.encoder
    for document in corpus.documents:
        for chunk in split_document(document, 256, encoder.count_tokens):
            assert encoder.count_tokens(embedding_prefix(document.title, chunk.section) + chunk.text) <= 256, chunk.chunk_id


def test_a_list_stays_with_its_lead_in(corpus):
    back = next(d for d in corpus.documents if d.doc_id == "imaging-low-back-pain-leg-weakness")
    chunk = next(c for c in split_document(back) if "Saddle anesthesia" in c.text)
    assert "evaluate for additional neurologic deficits that indicate emergent conditions:" in chunk.text
    assert "Severe sensory loss or reflex changes" in chunk.text


def test_units_leave_out_the_documents_reference_numbers(corpus):
    limb = next(d for d in corpus.documents if d.doc_id == "limb-weakness-negative-head-mri")
    units = split_units(limb, split_document(limb))
    item = next(u for u in units if u.text.startswith("MRI of the cervical"))
    assert item.text.endswith("(hyperreflexia, spasticity)")  # the trailing " 1" is a reference, not content
    for unit in units:
        assert limb.text[unit.start : unit.end] == unit.text


def test_lead_ins_and_items_are_linked(corpus):
    limb = next(d for d in corpus.documents if d.doc_id == "limb-weakness-negative-head-mri")
    units = split_units(limb, split_document(limb))
    lead_in = next(u for u in units if u.text == "The pathology likely exists elsewhere in the neurological pathway:")
    assert lead_in.kind == "lead-in"
    items = [u.text for u in units if u.list_id == lead_in.introduces]
    assert items == ["Spinal cord", "Peripheral nerves", "Neuromuscular junction", "Muscle"]


def test_an_oversized_paragraph_is_split_within_the_budget():
    sentence = "Peripheral nerve imaging shows thickening of the plexus in several patients. "
    document = _document("A title line\n\nHeading\n\n" + sentence * 80 + "\n")
    chunks = split_document(document, max_tokens=64)
    assert len(chunks) > 5
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) // 4 + 2 <= 64


def test_a_single_line_without_sentence_breaks_is_split_between_words():
    document = _document("Title words\n\nHeading\n\n" + "word " * 3000 + "\n")
    chunks = split_document(document, max_tokens=64)
    assert len(chunks) > 10 and all(document.text[c.start : c.end] == c.text for c in chunks)


text_alphabet = string.ascii_letters + string.digits + " .,:;-•\n()?'’é"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=text_alphabet, min_size=1, max_size=2500), st.integers(min_value=32, max_value=300))
def test_chunks_are_ordered_and_disjoint_and_units_lie_inside_their_chunk(raw, max_tokens):
    document = _document(raw)
    chunks = split_document(document, max_tokens=max_tokens)
    for before, after in zip(chunks, chunks[1:]):
        assert before.start < before.end <= after.start, (before, after)
    bounds = {c.chunk_id: (c.start, c.end) for c in chunks}
    units = split_units(document, chunks)
    for unit in units:
        start, end = bounds[unit.chunk_id]
        assert start <= unit.start < unit.end <= end and unit.text.strip() == unit.text
    assert [u.start for u in units] == sorted(u.start for u in units)
    for before, after in zip(units, units[1:]):
        assert before.end <= after.start
