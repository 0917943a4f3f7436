"""Each library's decline threshold on its own scale (qa/answer/library_scale.py): found from the probe
questions, never below the answer model's, kept beside the index and found again when that copy is damaged."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

from qa.answer.base import NO_ANSWER
from qa.answer.library_scale import CACHE_FILE, load_probes
from qa.pipeline import open_pipeline
from qa.settings import Settings

from tests.conftest import CORPUS

QUESTION = "What imaging for low back pain with leg weakness?"


def _copy(index_dir, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(index_dir, folder)
    (folder / CACHE_FILE).unlink(missing_ok=True)
    return folder


def test_a_library_finds_its_threshold_once_and_never_below_the_models(index_dir, tmp_path):
    folder = _copy(index_dir, tmp_path)
    pipeline = open_pipeline(Settings(corpus=CORPUS, index=folder))
    kept = json.loads((folder / CACHE_FILE).read_text(encoding="utf-8"))
    assert pipeline.answerer.library_threshold == kept["threshold"] >= pipeline.answerer.model.threshold
    assert kept["probes"] == len(load_probes().questions)  # every probe reached some passage of the seed library

    # A later process reads it instead of asking the probes again: what is kept is what it uses.
    (folder / CACHE_FILE).write_text(json.dumps({**kept, "threshold": 0.5}), encoding="utf-8")
    assert open_pipeline(Settings(corpus=CORPUS, index=folder)).answerer.library_threshold == 0.5


def test_a_damaged_or_foreign_copy_is_found_again(index_dir, tmp_path):
    folder = _copy(index_dir, tmp_path)
    found = open_pipeline(Settings(corpus=CORPUS, index=folder)).answerer.library_threshold
    for damaged in ("{not json", json.dumps({"key": "another index", "threshold": 0.9, "probe_quantile_confidence": 0.9, "probes": 200})):
        (folder / CACHE_FILE).write_text(damaged, encoding="utf-8")
        assert open_pipeline(Settings(corpus=CORPUS, index=folder)).answerer.library_threshold == found


def test_the_answer_declines_below_the_librarys_threshold_and_a_fitted_model_keeps_its_own(pipeline):
    hits = pipeline.retriever.search(QUESTION, "hybrid", 8)
    answerer = pipeline.answerer
    saved = answerer.library_threshold
    try:
        answerer.library_threshold = 1.0  # a library on which no answer is sure enough
        assert answerer.answer(QUESTION, hits).text.startswith(NO_ANSWER)
        terms, candidates = answerer.signals(QUESTION, hits)
        other = replace(answerer.model)  # a model handed in, as `qa fit` does
        assert not answerer.compose(QUESTION, hits, answerer.weigh(terms, candidates, hits, other), 0.0, other).abstained
    finally:
        answerer.library_threshold = saved
    assert not answerer.answer(QUESTION, hits).abstained


def test_qa_fit_opens_libraries_without_their_own_scale(index_dir):
    assert open_pipeline(Settings(corpus=CORPUS, index=index_dir), own_scale=False).answerer.library_threshold == 0.0


def test_a_library_with_no_folder_keeps_its_threshold_in_the_user_cache(pipeline, tmp_path, monkeypatch):
    """A library kept in Milvus has no index folder: its threshold is kept in the user's cache under the same
    key, and the next process that opens that version reads it there."""
    from qa.answer.library_scale import library_scale, user_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    asked = []
    correct = lambda question: asked.append(question) or question  # noqa: E731
    found = library_scale(pipeline.answerer, pipeline.retriever, correct, "hybrid", 8, "a milvus library, version 3", None)
    kept = list(user_cache().glob(f"*/{CACHE_FILE}"))
    assert len(kept) == 1 and json.loads(kept[0].read_text(encoding="utf-8"))["threshold"] == found.threshold
    assert len(asked) == len(load_probes().questions)

    asked.clear()
    assert library_scale(pipeline.answerer, pipeline.retriever, correct, "hybrid", 8, "a milvus library, version 3", None) == found
    assert not asked  # read, not asked again
    library_scale(pipeline.answerer, pipeline.retriever, correct, "hybrid", 8, "a milvus library, version 4", None)
    assert asked and len(list(user_cache().glob(f"*/{CACHE_FILE}"))) == 2  # another version: found and kept apart


def test_the_user_cache_keeps_only_the_latest_thresholds(pipeline, tmp_path, monkeypatch):
    """Every commit to a Milvus library is a new key; the cache keeps the most recently written few, the new one among them."""
    import os

    from qa.answer import library_scale as scale

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(scale, "KEPT_IN_USER_CACHE", 3)
    for n in range(5):
        old = scale.user_cache() / f"old-{n}"
        old.mkdir(parents=True)
        os.utime(old, (1_000_000 + n, 1_000_000 + n))
    scale.library_scale(pipeline.answerer, pipeline.retriever, lambda q: q, "hybrid", 8, "a milvus library, version 9", None)
    left = sorted(f.name for f in scale.user_cache().iterdir())
    assert len(left) == 3 and {"old-4", "old-3"} <= set(left) and len(list(scale.user_cache().glob(f"*/{CACHE_FILE}"))) == 1


def test_a_library_that_answers_the_probes_is_held_no_stricter_than_their_cap(pipeline):
    """Probes the library answers (here the seed's own gold questions) would set a threshold that declines most
    of its questions; the cap holds it at the strictest threshold the suite has measured."""
    from qa.answer.library_scale import Probes, find_scale
    from qa.eval.gold import load_gold

    from tests.conftest import ROOT

    answered = tuple(q.question for q in load_gold(ROOT / "evals" / "gold.jsonl", pipeline.index.documents) if q.answerable)[:40]
    shipped = load_probes()
    capped = find_scale(pipeline.answerer, pipeline.retriever, lambda q: q, "hybrid", 8, Probes(answered, shipped.quantile, "answered", shipped.cap))
    assert capped.probe_quantile_confidence > shipped.cap and capped.threshold == shipped.cap
    assert 0 < shipped.cap < 0.5
