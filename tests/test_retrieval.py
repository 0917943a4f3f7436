import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.retrieve.retriever import reciprocal_rank_fusion, score_fusion

# A dozen questions, phrased as users ask them, and the document that holds each answer.
ROUTES = [
    ("What scan for low back pain with new leg weakness?", "imaging-low-back-pain-leg-weakness"),
    ("Which red flags suggest cauda equina syndrome?", "imaging-low-back-pain-leg-weakness"),
    ("Is a plain x-ray enough for suspected nerve root compression?", "imaging-low-back-pain-leg-weakness"),
    ("Brain MRI came back normal but the arm is weak, where else to look?", "limb-weakness-negative-head-mri"),
    ("What blood tests for unexplained limb weakness?", "limb-weakness-negative-head-mri"),
    ("How does functional weakness present on examination?", "limb-weakness-negative-head-mri"),
    ("Limb weakness in a child with a normal brain scan", "limb-weakness-negative-head-mri"),
    ("Does small fibre neuropathy show up on MRI?", "neuropathy-on-mri"),
    ("What does an EMG measure compared with nerve conduction?", "neuropathy-on-mri"),
    ("When is a nerve biopsy needed?", "neuropathy-on-mri"),
    ("How often is muscle MRI abnormal in ALS?", "als-mmn-nerve-muscle-mri-abstract"),
    ("Does multifocal motor neuropathy cause muscle atrophy on MRI?", "als-mmn-nerve-muscle-mri-abstract"),
]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_questions_reach_the_right_document(pipeline, mode):
    wrong = []
    for question, doc_id in ROUTES:
        hits = pipeline.search(question, mode=mode, k=3)
        if not hits or hits[0].chunk.doc_id != doc_id:
            wrong.append((question, hits[0].chunk.doc_id if hits else None))
    # Measured: hybrid 12/12, dense 12/12, BM25 9/12 (it misses paraphrases with no shared words).
    # The fused default may miss none; a single retriever must keep at least 9 of 12.
    allowed = 0 if mode == "hybrid" else 3
    assert len(wrong) <= allowed, wrong


def test_hits_are_ranked_and_scored(pipeline):
    hits = pipeline.search("nerve conduction studies", mode="hybrid", k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert all(h.dense is not None or h.bm25 is not None for h in hits)


def test_bm25_finds_nothing_for_words_no_document_uses(pipeline):
    assert pipeline.search("zzyzx qwertyuiop", mode="bm25", k=3) == ()


def test_reciprocal_rank_fusion_by_hand():
    # Row 7 is 1st and 2nd: 1/61 + 1/62; row 3 is 2nd in the first list only: 1/62; row 9 is 1st in the second: 1/61.
    fused = reciprocal_rank_fusion([{7: 0.9, 3: 0.5}, {9: 4.0, 7: 2.0}], k=60)
    assert fused[7] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 62) and fused[9] == pytest.approx(1 / 61)


def test_score_fusion_by_hand():
    fused = score_fusion({1: 0.8, 2: 0.4}, {2: 10.0, 3: 5.0}, dense_weight=0.5)
    assert fused == pytest.approx({1: 0.4, 2: 0.2 + 0.5, 3: 0.25})


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 7)), max_size=60))
def test_query_vectors_keep_the_most_recently_used(operations):
    """The query-vector cache behaves as an LRU of its size: what it returns is what was put, and what it
    drops is the least recently used."""
    from collections import OrderedDict

    from qa.retrieve.retriever import QueryVectors

    cache, reference = QueryVectors(size=3), OrderedDict()
    for is_put, n in operations:
        question = f"q{n}"
        if is_put:
            cache.put(question, np.full(2, n, dtype=np.float32))
            reference[question] = n
            reference.move_to_end(question)
            while len(reference) > 3:
                reference.popitem(last=False)
        else:
            got = cache.get(question)
            assert (got is None) == (question not in reference)
            if got is not None:
                assert got[0] == reference[question]
                reference.move_to_end(question)
    assert len(cache) == len(reference) <= 3


def test_questions_embedded_ahead_are_not_embedded_again(pipeline, monkeypatch):
    retriever = pipeline.retriever
    retriever.clear_cache()
    vectors = retriever.embed_ahead(["first question ahead", "second question ahead"])
    monkeypatch.setattr(retriever.encoder, "encode", lambda *a, **k: pytest.fail("embedded again"))
    assert all(np.array_equal(retriever.embed_query(q), v) for q, v in vectors.items())
    retriever.clear_cache()
