"""The development suite: evidence located as spans, the metrics it adds, fixed splits, foreign questions,
and `qa eval --suite` end to end on a small suite of real documents."""

import json
import subprocess
import sys

import pytest

from qa.eval.scoring import token_f1
from qa.eval.gold import EvidenceSpan, GoldQuestion, holds_evidence, locate_evidence, resolve_documents
from qa.retrieve.retriever import score_fusion
from qa.eval.suite import cross_corpus_questions, load_suite
from qa.types import Document

from .conftest import ROOT


def _document(doc_id: str, text: str, source: str = "") -> Document:
    return Document(doc_id=doc_id, title="t", source_path=source or f"{doc_id}.txt", kind="k", date=None, text=text)


def test_evidence_is_found_across_case_whitespace_and_curly_quotes_and_mapped_to_the_original_text():
    text = "Intro.\n\nThe patient’s  MRI\nshowed   nothing. End."
    spans = locate_evidence("the patient's MRI showed nothing.", {"d": _document("d", text)})
    assert spans == (EvidenceSpan("d", 8, 44),)
    assert text[8:44] == "The patient’s  MRI\nshowed   nothing."


def test_a_passage_holds_evidence_when_it_has_at_least_half_of_it():
    gold = GoldQuestion("x", "q?", True, "", (), ("e",), spans=(EvidenceSpan("d", 100, 200),))
    assert holds_evidence("d", 90, 210, gold)  # all of it
    assert holds_evidence("d", 140, 400, gold)  # 60 of the 100 characters: a conclusion cut across passages
    assert not holds_evidence("d", 170, 400, gold)  # 30 of them
    assert holds_evidence("d", 120, 160, gold)  # a short passage that is wholly evidence
    assert not holds_evidence("other", 90, 210, gold)


def test_token_f1_matches_a_hand_computed_value():
    # answer tokens: mri of lumbar spine (article dropped); reference: urgent mri of lumbar spine
    # shared 4: precision 4/4, recall 4/5, F1 = 2 * 1 * 0.8 / 1.8
    assert token_f1("The MRI of the lumbar spine", "Urgent MRI of lumbar spine.") == pytest.approx(0.8889, abs=1e-4)
    assert token_f1("", "anything") == 0.0


def test_splits_are_fixed_per_question():
    assert GoldQuestion("q017", "", True, "", (), ()).split == "dev"
    assert GoldQuestion("u004", "", False, "", (), ()).split == "test"
    assert GoldQuestion("pubmedqa-1", "", True, "", (), (), given_split="train").split == "dev"
    assert GoldQuestion("pubmedqa-2", "", True, "", (), (), given_split="test").split == "test"
    hashed = [GoldQuestion(f"medquad-GHR-{n:07d}-1", "", True, "", (), ()).split for n in range(400)]
    assert hashed == [GoldQuestion(f"medquad-GHR-{n:07d}-1", "", True, "", (), ()).split for n in range(400)]
    assert 150 < hashed.count("dev") < 250


def test_gold_records_name_documents_by_file_stem_or_record_id():
    documents = {
        "ghr-0000009-md": _document("ghr-0000009-md", "x", "GHR-0000009.md"),
        "corpus-4983": _document("corpus-4983", "y", "corpus.jsonl"),
        "corpus-abc-1": _document("corpus-abc-1", "z", "corpus.jsonl"),
    }
    assert resolve_documents(["GHR-0000009", "4983", "ABC_1", "missing"], documents) == ("ghr-0000009-md", "corpus-4983", "corpus-abc-1")


def test_foreign_questions_are_unanswerable_deterministic_and_keep_their_split():
    own = tuple(GoldQuestion(f"a-{n}", f"question {n}?", True, "", (), ("e",)) for n in range(40))
    other = tuple(GoldQuestion(f"b-{n}", f"other {n}?", True, "", (), ("e",)) for n in range(40))
    chosen = cross_corpus_questions("a", {"a": own, "b": other}, per_split=5)
    assert len(chosen) == 10 and all(q.id.startswith("x:b:") and not q.answerable for q in chosen)
    assert {q.split for q in chosen} == {"dev", "test"}
    assert chosen == cross_corpus_questions("a", {"b": tuple(reversed(other)), "a": own}, per_split=5)


def test_min_max_score_fusion_matches_a_hand_computed_ranking():
    dense = {1: 0.8, 2: 0.6, 3: 0.4}  # scaled: 1.0, 0.5, 0.0
    lexical = {2: 10.0, 4: 2.0}  # scaled: 1.0, 0.0
    fused = score_fusion(dense, lexical, 0.5, "minmax")
    assert fused == pytest.approx({1: 0.5, 2: 0.75, 3: 0.0, 4: 0.0})


def test_a_suite_file_with_a_missing_corpus_is_refused_with_the_path(tmp_path):
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"corpora": [{"name": "gone", "corpus": "nowhere", "questions": "q.jsonl"}]}))
    from qa.errors import QAError

    with pytest.raises(QAError, match="'gone' is missing"):
        load_suite(suite)


@pytest.mark.slow
def test_qa_eval_suite_indexes_asks_and_reports_every_corpus(tmp_path):
    """Two answer corpora (the seed articles and three consumer pages) and one BEIR retrieval corpus."""
    pages = tmp_path / "pages"
    pages.mkdir()
    facts = {
        "gout": "Gout is a form of arthritis caused by uric acid crystals in a joint.",
        "shingles": "Shingles is a painful rash caused by the varicella zoster virus.",
        "anemia": "Anemia is a condition in which the blood lacks healthy red blood cells.",
    }
    for name, fact in facts.items():
        (pages / f"{name}.md").write_text(f"---\ntitle: {name}\n---\n# {name}\n\n## Overview\n\n{fact} It is common in adults.\n")
    (tmp_path / "pages.jsonl").write_text(
        "".join(json.dumps({"id": f"p-{n}", "question": f"What is {name}?", "answerable": True, "answer": fact, "evidence": [fact], "doc_id": name}) + "\n"
                for n, (name, fact) in enumerate(facts.items()))
    )
    beir = tmp_path / "beir"
    beir.mkdir()
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "title": k, "text": v}) + "\n" for k, v in facts.items()))
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "1", "text": "uric acid crystals in a joint"}) + "\n")
    (beir / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\tgout\t1\n")
    seed_gold = tmp_path / "seed.jsonl"
    seed_gold.write_text("".join(line + "\n" for line in (ROOT / "evals" / "gold.jsonl").read_text().splitlines()[:8]))
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"cache": "cache", "corpora": [
        {"name": "seed", "corpus": str(ROOT / "corpus"), "questions": "seed.jsonl", "cross_questions": 2},
        {"name": "pages", "corpus": "pages", "questions": "pages.jsonl", "cross_questions": 2},
        {"name": "beir", "corpus": "beir/corpus.jsonl", "beir": {"test": ["beir/queries.jsonl", "beir/qrels.tsv"]}},
    ]}))
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "qa.app.cli", "eval", "--suite", str(suite), "--out", str(out), "-q"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "macro average, test" in result.stdout
    report = json.loads((out / "report.json").read_text())
    pages_records = [r for split in report["corpora"]["pages"]["splits"].values() for r in split["records"]]
    own = [r for r in pages_records if r["id"].startswith("p-")]
    typos = [r for r in pages_records if r["id"].startswith("t:")]
    foreign = [r for r in pages_records if r["id"].startswith("x:")]
    assert len(own) + len(typos) + len(foreign) == len(pages_records)
    assert len(own) == 3 and all(r["right_document"] and r["evidence_in_passage"] for r in own)
    assert foreign and all(not r["answerable"] for r in foreign)
    # Each answerable question with a word of six letters or more is asked again with one typo in it.
    originals = {r["id"]: r for r in own}
    assert typos and all(t["answerable"] and t["id"][2:] in originals for t in typos)
    for typo in typos:
        typed, clean = typo["question"].split(), originals[typo["id"][2:]]["question"].split()
        assert len(typed) == len(clean) and sum(a != b for a, b in zip(typed, clean)) == 1
    assert report["corpora"]["beir"]["beir"]["test.hybrid"]["ndcg@10"] == 1.0
    markdown = (out / "report.md").read_text()
    assert "## pages" in markdown and "## Macro average over corpora" in markdown and (out / "suite.png").stat().st_size > 1000
    # A second run reuses the cached indexes.
    again = subprocess.run([sys.executable, "-m", "qa.app.cli", "eval", "--suite", str(suite), "--out", str(tmp_path / "run2"), "-q"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "index up to date" in again.stderr and "built in" not in again.stderr


def test_a_message_copy_holds_the_question_under_a_subject_line_and_goes_with_its_original():
    from qa.eval.messages import as_message, message_copies
    from qa.eval.suite import kind_of, original_id

    question = GoldQuestion("q7", "What are the treatments for Parasites - Angiostrongyliasis ?", True, "", (), ("e",), given_split="test")
    (copy,) = message_copies([question, GoldQuestion("u1", "Who won?", False, "", (), ())])
    subject, body = copy.question.split("\n", 1)
    assert subject == "Angiostrongyliasis" and question.question in body and copy.question == as_message(question.question, "q7")
    assert (copy.id, copy.split, kind_of(copy.id), original_id(copy.id)) == ("m:q7", "test", "message", "q7")
    assert (kind_of("t:q7"), original_id("t:q7"), kind_of("x:medquad:q7"), original_id("x:medquad:q7")) == ("typo", "q7", "foreign", "x:medquad:q7")
