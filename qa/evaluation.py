"""Score answers against the gold set (DESIGN §8).

Metrics, each in one sentence:
* key-fact recall: the share of a question's key-fact groups with at least one alternative in the answer text;
* all-facts rate: the share of answerable questions whose answer matches every key-fact group;
* evidence cited (passage): the share of answerable questions with a citation whose passage contains a gold evidence string;
* evidence cited (quote): the same, but the quoted sentence(s) must contain it;
* abstention recall: the share of unanswerable questions the system abstained on;
* false abstention: the share of answerable questions the system abstained on;
* answer length: characters of the answer text, citation markers included.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.types import Answer, Document


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    answer: str
    key_facts: tuple[tuple[str, ...], ...]
    evidence: tuple[str, ...]
    documents: tuple[str, ...] = ()

    @property
    def split(self) -> str:
        """A fixed split: odd-numbered ids are dev (tune here), even-numbered are test (report here)."""
        digits = re.sub(r"\D", "", self.id)
        return "dev" if digits and int(digits) % 2 == 1 else "test"


@dataclass(frozen=True)
class EvalRecord:
    id: str
    question: str
    answerable: bool
    abstained: bool
    answer: str
    facts_matched: int
    facts_total: int
    evidence_in_passage: bool
    evidence_in_quote: bool
    length: int
    cited_chunks: tuple[str, ...]
    timings_ms: dict


def load_gold(path: str | Path, documents: dict[str, Document]) -> tuple[GoldQuestion, ...]:
    path = Path(path)
    if not path.exists():
        raise QAError(f"gold file {str(path)!r} does not exist; pass --gold with a JSONL file like evals/gold.jsonl.")
    texts = [_normalise(d.text) for d in documents.values()]
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            question = GoldQuestion(
                id=str(record["id"]),
                question=record["question"],
                answerable=bool(record["answerable"]),
                answer=record.get("answer", ""),
                key_facts=tuple(tuple(group) for group in record.get("key_facts", [])),
                evidence=tuple(record.get("evidence", [])),
                documents=tuple(record.get("documents", [])),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QAError(f"{path}:{number} is not a valid gold record ({exc}); see DESIGN §8 for the fields.") from exc
        for evidence in question.evidence:
            if not any(_normalise(evidence) in text for text in texts):
                raise QAError(f"{path}:{number} ({question.id}): evidence {evidence!r} is not in any cleaned document; fix the string.")
        if question.answerable and not question.evidence:
            raise QAError(f"{path}:{number} ({question.id}) is answerable but lists no evidence.")
        questions.append(question)
    return tuple(questions)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'")).strip().lower()


def score(gold: GoldQuestion, answer: Answer) -> EvalRecord:
    answer_text = _normalise(re.sub(r"\[\d+\]", " ", answer.text))
    matched = sum(1 for group in gold.key_facts if any(_normalise(alt) in answer_text for alt in group))
    evidence = [_normalise(e) for e in gold.evidence]
    in_passage = any(e in _normalise(c.chunk.text) for c in answer.citations for e in evidence)
    in_quote = any(e in _normalise(c.quote) or _normalise(c.quote) in e for c in answer.citations for e in evidence)
    return EvalRecord(
        id=gold.id,
        question=gold.question,
        answerable=gold.answerable,
        abstained=answer.abstained,
        answer=answer.text,
        facts_matched=matched if not answer.abstained else 0,
        facts_total=len(gold.key_facts),
        evidence_in_passage=in_passage,
        evidence_in_quote=in_quote,
        length=len(answer.text),
        cited_chunks=tuple(c.chunk.chunk_id for c in answer.citations),
        timings_ms=dict(answer.timings_ms),
    )


def summarise(records: list[EvalRecord]) -> dict:
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    answered = [r for r in answerable if not r.abstained]

    def share(items, predicate) -> float | None:
        return round(sum(1 for r in items if predicate(r)) / len(items), 4) if items else None

    return {
        "questions": len(records),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "key_fact_recall": round(statistics.mean(r.facts_matched / r.facts_total for r in answerable if r.facts_total), 4) if answerable else None,
        "all_facts_rate": share(answerable, lambda r: r.facts_total and r.facts_matched == r.facts_total),
        "evidence_cited_passage": share(answerable, lambda r: r.evidence_in_passage),
        "evidence_cited_quote": share(answerable, lambda r: r.evidence_in_quote),
        "abstention_recall": share(unanswerable, lambda r: r.abstained),
        "false_abstention": share(answerable, lambda r: r.abstained),
        "median_answer_chars": statistics.median(r.length for r in answered) if answered else None,
        "median_total_ms": statistics.median(r.timings_ms.get("total", 0.0) for r in records) if records else None,
    }
