import pytest

from qa.render.citations import cited_reference_numbers, parse_span, passage_in_context
from qa.errors import QAError


def _chunk_with(pipeline, text):
    return next(c for c in pipeline.index.chunks if text in c.text)


def test_context_surrounds_and_marks_the_quote(pipeline):
    chunk = _chunk_with(pipeline, "Pediatric Patients")
    document = pipeline.index.documents[chunk.doc_id]
    start = document.text.index("In children with limb weakness")
    context = passage_in_context(pipeline.index, chunk.chunk_id, (start, start + 40))
    assert context.quote == document.text[start : start + 40]
    assert context.before.endswith("Pediatric Patients: ") and "Failing to consider spinal pathology" in context.before
    assert "Next Steps" in context.after


def test_references_map_to_the_documents_list_and_gaps_are_stated(pipeline):
    chunk = _chunk_with(pipeline, "Acute Limb Weakness")
    context = passage_in_context(pipeline.index, chunk.chunk_id)
    assert [r.number for r in context.references] == [1]
    assert context.references[0].text.startswith("Guideline Directed Topic Overview")
    assert context.missing_references == (4, 6)
    assert "only 3 entries" in context.reference_note


def test_a_passage_without_reference_numbers_has_none(pipeline):
    chunk = _chunk_with(pipeline, "small fiber neuropathy")
    context = passage_in_context(pipeline.index, chunk.chunk_id)
    assert context.references == () and context.missing_references == () and context.reference_note is None


def test_reference_numbers_are_read_from_line_ends():
    assert cited_reference_numbers("MRI is preferred: 1\n- No radiation 1, 4\n- (n = 8).\nType 2") == [1, 2, 4]


@pytest.mark.parametrize("chunk_id", ["nope", "../../etc/passwd", "/etc/passwd", "neuropathy-on-mri#999"])
def test_unknown_or_path_like_ids_are_refused(pipeline, chunk_id):
    with pytest.raises(QAError, match="unknown chunk id"):
        passage_in_context(pipeline.index, chunk_id)


def test_spans_are_validated(pipeline):
    chunk = pipeline.index.chunks[0]
    with pytest.raises(QAError, match="START-END"):
        parse_span("10-5")
    with pytest.raises(QAError, match="outside passage"):
        passage_in_context(pipeline.index, chunk.chunk_id, (chunk.end + 1, chunk.end + 5))
