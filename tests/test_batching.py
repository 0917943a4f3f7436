"""Micro-batching (qa/embed/batching.py): concurrent calls share one batched call, each gets its own result, a
failing batch fails every caller in it, and no batch is larger than allowed."""

from __future__ import annotations

import threading

import pytest

from qa.embed.batching import MicroBatcher


def _call_from_threads(batcher, items):
    results, errors = {}, {}

    def call(item):
        try:
            results[item] = batcher(item)
        except Exception as error:  # noqa: BLE001 - recorded for the assertion
            errors[item] = error

    threads = [threading.Thread(target=call, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


def test_concurrent_calls_share_batches_and_each_gets_its_own_result():
    sizes = []
    batcher = MicroBatcher(lambda items: (sizes.append(len(items)), [item * 2 for item in items])[1], window_s=0.2, max_items=4)
    results, errors = _call_from_threads(batcher, list(range(10)))
    assert not errors and results == {i: i * 2 for i in range(10)}
    assert sum(sizes) == 10 and max(sizes) <= 4 and len(sizes) < 10


def test_a_failing_batch_fails_every_caller_in_it_and_the_next_one_runs():
    def run(items):
        if -1 in items:
            raise RuntimeError("the model failed")
        return items

    batcher = MicroBatcher(run, window_s=0.2, max_items=8)
    _, errors = _call_from_threads(batcher, [-1, 1, 2])
    assert errors and all(str(e) == "the model failed" for e in errors.values())
    assert batcher(5) == 5


def test_a_bad_window_is_refused():
    with pytest.raises(ValueError, match="window_s >= 0 and max_items >= 1"):
        MicroBatcher(lambda items: items, window_s=-1)


def test_a_servers_concurrent_questions_share_the_encoder_and_get_the_answers_they_get_alone(pipeline, monkeypatch):
    """With query batching on (as `qa serve --batching` turns it on), questions asked at once from many threads are embedded
    in shared passes, and each gets the answer, citations and confidence it gets asked alone."""
    from qa.embed import query_batching
    from qa.eval.gold import load_gold
    from tests.conftest import ROOT

    questions = [q.question for q in load_gold(ROOT / "evals" / "gold.jsonl", pipeline.index.documents)][:12]

    def answered(question):
        answer = pipeline.ask(question)
        return answer.text, [(c.source, c.start, c.end, c.quote) for c in answer.citations], round(answer.confidence, 6)

    pipeline.retriever.clear_cache()
    alone = {question: answered(question) for question in questions}
    pipeline.retriever.clear_cache()
    monkeypatch.setattr(query_batching, "_enabled", True)
    monkeypatch.setattr(query_batching, "_batchers", {})
    monkeypatch.setattr(query_batching, "WINDOW_S", 0.2)  # wide, so that the threads' questions surely meet
    together, errors = _call_from_threads(answered, questions)
    pipeline.retriever.clear_cache()
    assert not errors and together == alone
    passes, embedded = query_batching.query_batches(pipeline.retriever.encoder)
    assert embedded == len(questions) and passes < len(questions)
