import json

import pytest

from qa.errors import QAError
from qa.eval.scoring import score, summarise
from qa.eval.gold import GoldQuestion, load_gold
from qa.types import Answer

from .conftest import ROOT


def test_the_gold_set_loads_and_every_evidence_string_is_in_the_corpus(corpus):
    gold = load_gold(ROOT / "evals" / "gold.jsonl", {d.doc_id: d for d in corpus.documents})
    assert sum(q.answerable for q in gold) >= 20 and sum(not q.answerable for q in gold) >= 5
    assert {q.split for q in gold} == {"dev", "test"}


def test_a_wrong_evidence_string_fails_loudly(corpus, tmp_path):
    path = tmp_path / "gold.jsonl"
    record = {"id": "x1", "question": "q?", "answerable": True, "answer": "a", "key_facts": [["a"]], "evidence": ["not in any document"]}
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(QAError, match=r"x1.*'not in any document'"):
        load_gold(path, {d.doc_id: d for d in corpus.documents})


def test_key_facts_are_groups_of_alternatives():
    gold = GoldQuestion("q1", "q?", True, "", (("mri",), ("48 hours", "two days")), ("x",))
    full = score(gold, Answer("q?", "An MRI within two days [1]", (), False))
    half = score(gold, Answer("q?", "An MRI soon [1]", (), False))
    abstained = score(gold, Answer("q?", "The documents do not answer this question.", (), True))
    assert (full.facts_matched, half.facts_matched, abstained.facts_matched) == (2, 1, 0)
    summary = summarise([full, half])
    assert summary["key_fact_recall"] == pytest.approx(0.75) and summary["all_facts_rate"] == pytest.approx(0.5)
