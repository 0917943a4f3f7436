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


def test_a_verdict_opener_is_not_scored_as_a_statement():
    """A yes/no answer opens with its verdict ("Yes.", "No." or "The documents do not settle this."), then its
    cited statements: the statements' citation figures are the same with and without the opener."""
    from qa.answer.base import VERDICT_TEXT
    from qa.types import Chunk, Citation

    sentence = "Plain radiographs cannot visualize discs or nerve roots."
    chunk = Chunk("guide#1", "guide", 1, "Imaging", 0, len(sentence), sentence)
    citation = Citation(1, chunk, "Guide", "guide.txt", sentence, 0, len(sentence), 1.0)
    gold = GoldQuestion("q1", "Can plain X-rays show a herniated disc?", True, "", (("radiographs",),), ("x",))
    plain = score(gold, Answer(gold.question, f"{sentence} [1]", (citation,), False))
    for verdict, opener in VERDICT_TEXT.items():
        opened = score(gold, Answer(gold.question, f"{opener} {sentence} [1]", (citation,), False, verdict=verdict))
        assert (opened.statements, opened.statements_supported, opened.citation_pairs, opened.citation_pairs_supported) == (1, 1, 1, 1)
        assert (opened.statements_supported, opened.citation_pairs_supported) == (plain.statements_supported, plain.citation_pairs_supported)
