"""Score the system against the gold set: retrieval, answers, citations, abstention, latency.

Metric definitions (also printed in every report):
"""

from __future__ import annotations

import re
import statistics
import sys
from dataclasses import asdict, dataclass, field

from qa.eval.gold import GoldQuestion, evidence_passages, holds_evidence, normalise_text, span_overlap
from qa.answer.base import CITATION_MARKER, statements_text
from qa.answer.support import split_statements, supports
from qa.types import Answer

METRICS = {
    "recall@k": "share of the gold evidence passages (passages holding a gold evidence span) found in the top k retrieved (trec_eval recall_k)",
    "success@k": "share of answerable questions with at least one evidence passage in the top k (trec_eval success_k)",
    "mrr": "mean reciprocal rank of the first evidence passage in the top 10 (trec_eval recip_rank)",
    "key_fact_recall": "share of a question's key-fact groups with at least one alternative in the answer, averaged over answerable questions (0 when abstaining)",
    "all_facts_rate": "share of answerable questions whose answer matches every key-fact group",
    "evidence_cited": "share of answerable questions with a citation whose passage holds a gold evidence span (contains it, or half of it when it spans passages)",
    "evidence_cited_quote": "share of answerable questions with a citation whose quote overlaps a gold evidence span by at least half of the shorter of the two",
    "right_document_cited": "share of answerable questions with a citation into a document the gold record names",
    "answer_f1": "token F1 between the answer (markers removed) and the short reference answer (the best of the accepted answers), averaged over answerable questions (0 when abstaining)",
    "answer_contained": "share of answerable questions whose answer (markers removed) contains a reference answer string (case and whitespace aside)",
    "evidence_top_k_cited": "among answerable questions with an evidence passage in the k passages retrieved for the answer, the share that cite one",
    "median_citations": "median number of citations of non-abstaining answers",
    "verdict_accuracy": "share of questions with a labelled yes/no/maybe decision whose answer opens with that verdict (maybe: 'The documents do not settle this'; a decline counts as wrong)",
    "verdict_contradicted": "among answers that open with Yes or No, the share whose first statement, read alone by the reader against the question, says the other (a 'No.' before a sentence that says yes)",
    "span_holds_answer": "share of answerable questions with short reference answers whose marked answer span contains one (case and whitespace aside)",
    "citation_precision": "share of (statement, citation) pairs where the cited quote or passage supports the statement (model-free check in qa/answer/support.py)",
    "citation_recall": "share of answer statements that carry at least one supporting citation",
    "abstention_precision": "share of abstentions that were on questions the documents do not answer",
    "abstention_recall": "share of unanswerable questions on which the system abstained",
    "false_abstention": "share of answerable questions on which the system abstained",
    "answer_chars": "median length of non-abstaining answers in characters, citation markers included",
    "latency": "p50/p95 per stage in milliseconds, from each answer's timings",
    "llm_answer_rate": "LLM runs: share of non-abstaining answers written by the LLM (the rest fell back to the extractive answer)",
    "statements_dropped": "LLM runs: share of the statements the model wrote that no cited passage supported (dropped, or marked)",
    "tokens_per_s": "LLM runs: tokens the model wrote per second of its calls (reading the prompt included), over all questions",
}
__doc__ += "\n".join(f"* {name}: {text};" for name, text in METRICS.items())
RETRIEVAL_DEPTH = 10
VERDICT_OF_DECISION = {"yes": "yes", "no": "no", "maybe": "unclear"}
RETRIEVAL_KS = (1, 3, 5, 10)


@dataclass(frozen=True)
class EvalRecord:
    id: str
    question: str
    split: str
    answerable: bool
    documents: tuple[str, ...]
    abstained: bool
    answer: str
    facts_matched: int
    facts_total: int
    missing_facts: tuple[str, ...]
    evidence_in_passage: bool
    evidence_in_quote: bool
    length: int
    right_document: bool
    answer_f1: float
    cited_chunks: tuple[str, ...]
    citation_pairs: int
    citation_pairs_supported: int
    statements: int
    statements_supported: int
    retrieval: dict = field(default_factory=dict)  # mode -> {"recall_5": ..., "recip_rank": ...}
    timings_ms: dict = field(default_factory=dict)
    answerer: str = "extractive"
    evidence_retrieved: bool = False  # an evidence passage is among the k passages the answer weighed
    answer_contained: bool = False
    citations: int = 0
    confidence: float | None = None  # the answerer's confidence that the documents answer (None if it gives none)
    generated_tokens: int = 0
    statements_written: int = 0  # by the LLM, kept or not (0 for the extractive answerer)
    statements_rejected: int = 0
    verdict_correct: bool | None = None  # None: the question has no labelled decision
    verdict_contradicted: bool | None = None  # None: the answer opens with no Yes or No
    span_holds_answer: bool | None = None  # None: the question has no short reference answer


_TOKEN = re.compile(r"[a-z0-9]+")
_ARTICLES = frozenset({"a", "an", "the"})


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style token F1: lower case, punctuation and articles dropped."""
    got = [t for t in _TOKEN.findall(answer.lower()) if t not in _ARTICLES]
    want = [t for t in _TOKEN.findall(reference.lower()) if t not in _ARTICLES]
    if not got or not want:
        return 0.0
    counts: dict[str, int] = {}
    for token in want:
        counts[token] = counts.get(token, 0) + 1
    shared = 0
    for token in got:
        if counts.get(token, 0) > 0:
            shared += 1
            counts[token] -= 1
    if not shared:
        return 0.0
    precision, recall = shared / len(got), shared / len(want)
    return 2 * precision * recall / (precision + recall)


def retrieval_scores(pipeline, questions: list[GoldQuestion], mode: str) -> dict[str, dict[str, float]]:
    """trec_eval metrics per answerable question for one retrieval mode, computed by pytrec_eval."""
    import pytrec_eval

    qrels = {q.id: {cid: 1 for cid in evidence_passages(q, pipeline.index.chunks)} for q in questions if q.answerable}
    qrels = {qid: rel for qid, rel in qrels.items() if rel}
    run = {}
    for question in questions:
        if question.id in qrels:
            hits = pipeline.retriever.search(question.question, mode, RETRIEVAL_DEPTH)
            run[question.id] = {h.chunk.chunk_id: 1.0 / h.rank for h in hits} or {"none": 0.0}
    ks = ",".join(str(k) for k in RETRIEVAL_KS)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank", f"recall.{ks}", f"success.{ks}"})
    return evaluator.evaluate(run)


def contradicted(answer: Answer) -> bool | None:
    """Whether the answer's Yes or No disagrees with its first statement as the verdict reader reads that statement
    alone against the question as it was answered (corrected, a message's focus; its own yes or no; its "unclear"
    disagrees with neither); None without a Yes or No."""
    if answer.abstained or answer.verdict not in ("yes", "no") or not answer.statements:
        return None
    from qa.answer.reader import verdict_reader
    from qa.answer.reading import statement_reading

    reading = statement_reading(verdict_reader(), answer.searched or answer.question, answer.statements[0].text)
    return reading.verdict in ("yes", "no") and reading.verdict != answer.verdict


def score(gold: GoldQuestion, answer: Answer, retrieval: dict | None = None) -> EvalRecord:
    answer_text = normalise_text(CITATION_MARKER.sub(" ", answer.text))
    matched_groups = [group for group in gold.key_facts if any(normalise_text(alt) in answer_text for alt in group)]
    in_passage = any(holds_evidence(c.chunk.doc_id, c.chunk.start, c.chunk.end, gold) for c in answer.citations)
    in_quote = any(
        span_overlap(c.start, c.end, span) >= 0.5 * min(c.end - c.start, span.end - span.start) > 0
        for c in answer.citations
        for span in gold.spans
        if span.doc_id == c.chunk.doc_id
    )
    right_document = any(c.chunk.doc_id in gold.documents for c in answer.citations)
    references = [a for a in dict.fromkeys((gold.answer, *gold.answers)) if a]
    f1 = 0.0 if answer.abstained or not references else max(token_f1(answer_text, reference) for reference in references)
    contained = not answer.abstained and any(normalise_text(reference) in answer_text for reference in references)
    statements = [] if answer.abstained else split_statements(statements_text(answer))
    by_n = {c.n: c for c in answer.citations}
    pairs = supported_pairs = supported_statements = 0
    for statement in statements:
        backed = False
        for n in statement.citations:
            pairs += 1
            citation = by_n.get(n)
            if citation and (supports(citation.quote, statement.text) or supports(citation.chunk.text, statement.text)):
                supported_pairs += 1
                backed = True
        supported_statements += backed
    span = answer.statements[answer.answer_span[0]].text[answer.answer_span[1] : answer.answer_span[2]] if answer.answer_span else ""
    return EvalRecord(
        verdict_correct=(not answer.abstained and answer.verdict == VERDICT_OF_DECISION.get(gold.decision)) if gold.decision else None,
        verdict_contradicted=contradicted(answer),
        span_holds_answer=(bool(span) and any(normalise_text(a) in normalise_text(span) for a in gold.answers)) if gold.answerable and gold.answers else None,
        id=gold.id,
        question=gold.question,
        split=gold.split,
        answerable=gold.answerable,
        documents=gold.documents,
        abstained=answer.abstained,
        answer=answer.text,
        facts_matched=0 if answer.abstained else len(matched_groups),
        facts_total=len(gold.key_facts),
        missing_facts=tuple(" / ".join(g) for g in gold.key_facts if answer.abstained or g not in matched_groups),
        evidence_in_passage=in_passage,
        evidence_in_quote=in_quote,
        length=len(answer.text),
        right_document=right_document,
        answer_f1=round(f1, 4),
        cited_chunks=tuple(c.chunk.chunk_id for c in answer.citations),
        citation_pairs=pairs,
        citation_pairs_supported=supported_pairs,
        statements=len(statements),
        statements_supported=supported_statements,
        retrieval=retrieval or {},
        timings_ms=dict(answer.timings_ms),
        answerer=answer.answerer,
        evidence_retrieved=any(holds_evidence(h.chunk.doc_id, h.chunk.start, h.chunk.end, gold) for h in answer.hits),
        answer_contained=contained,
        citations=len(answer.citations),
        confidence=getattr(answer, "confidence", None),
        generated_tokens=answer.generated_tokens,
        statements_written=len(answer.statements) if answer.answerer.startswith("llm:") else answer.rejected_statements,
        statements_rejected=answer.rejected_statements,
    )


def all_retrieval_scores(pipeline, questions: list[GoldQuestion]) -> dict[str, dict]:
    return {m: retrieval_scores(pipeline, questions, m) for m in ("dense", "bm25", "hybrid")}


def run_evaluation(
    pipeline, questions: list[GoldQuestion], mode: str, k: int, progress: bool = True, retrieval: dict | None = None, answerer: str = "extractive"
) -> list[EvalRecord]:
    """Every question through the same path as `qa ask`, plus retrieval metrics for every mode."""
    from tqdm import tqdm

    retrieval = retrieval or all_retrieval_scores(pipeline, questions)
    # One unmeasured question first: it pays the one-off lazy imports (wordfreq, LangChain's chain).
    pipeline.ask("What is the weather like?", mode=mode, k=k, answerer=answerer)
    records = []
    for question in tqdm(questions, desc=f"Evaluating {answerer} {mode} k={k}", unit="q", disable=not progress, file=sys.stderr, leave=False):
        pipeline.retriever.clear_cache()  # latency as for a question never seen before
        answer = pipeline.ask(question.question, mode=mode, k=k, answerer=answerer)
        per_mode = {m: scores[question.id] for m, scores in retrieval.items() if question.id in scores}
        records.append(score(question, answer, per_mode))
    return records


def _share(items, predicate) -> float | None:
    return round(sum(1 for r in items if predicate(r)) / len(items), 4) if items else None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 3)


def summarise(records: list[EvalRecord], mode: str = "hybrid") -> dict:
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    answered = [r for r in records if not r.abstained]
    abstained = [r for r in records if r.abstained]
    with_facts = [r for r in answerable if r.facts_total]
    pairs = sum(r.citation_pairs for r in answered)
    statements = sum(r.statements for r in answered)
    summary: dict = {
        "questions": len(records),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "key_fact_recall": round(statistics.mean(r.facts_matched / r.facts_total for r in with_facts), 4) if with_facts else None,
        "all_facts_rate": _share(with_facts, lambda r: r.facts_matched == r.facts_total),
        "evidence_cited": _share(answerable, lambda r: r.evidence_in_passage),
        "evidence_cited_quote": _share(answerable, lambda r: r.evidence_in_quote),
        "right_document_cited": _share([r for r in answerable if r.documents], lambda r: r.right_document),
        "answer_f1": round(statistics.mean(r.answer_f1 for r in answerable), 4) if answerable else None,
        "answer_contained": _share(answerable, lambda r: r.answer_contained),
        "evidence_top_k_cited": _share([r for r in answerable if r.evidence_retrieved], lambda r: r.evidence_in_passage),
        "citation_precision": round(sum(r.citation_pairs_supported for r in answered) / pairs, 4) if pairs else None,
        "citation_recall": round(sum(r.statements_supported for r in answered) / statements, 4) if statements else None,
        "abstention_precision": _share(abstained, lambda r: not r.answerable),
        "abstention_recall": _share(unanswerable, lambda r: r.abstained),
        "false_abstention": _share(answerable, lambda r: r.abstained),
        "median_answer_chars": statistics.median(r.length for r in answered) if answered else None,
        "median_citations": statistics.median(r.citations for r in answered) if answered else None,
        "verdict_accuracy": _share([r for r in records if r.verdict_correct is not None], lambda r: r.verdict_correct),
        "verdict_contradicted": _share([r for r in records if r.verdict_contradicted is not None], lambda r: r.verdict_contradicted),
        "span_holds_answer": _share([r for r in records if r.span_holds_answer is not None], lambda r: r.span_holds_answer),
    }
    generating = [r for r in records if r.generated_tokens]
    if generating:
        written = sum(r.statements_written for r in generating)
        seconds = sum(r.timings_ms.get("llm", 0) for r in generating) / 1000
        summary["llm_answer_rate"] = _share(answered, lambda r: r.answerer.startswith("llm:"))
        summary["statements_dropped"] = round(sum(r.statements_rejected for r in generating) / written, 4) if written else None
        summary["tokens_per_s"] = round(sum(r.generated_tokens for r in generating) / seconds, 1) if seconds else None
    for mode_name in ("dense", "bm25", "hybrid"):
        scored = [r.retrieval[mode_name] for r in answerable if mode_name in r.retrieval]
        if scored:
            for k in RETRIEVAL_KS:
                summary[f"retrieval.{mode_name}.recall@{k}"] = round(statistics.mean(s[f"recall_{k}"] for s in scored), 4)
                summary[f"retrieval.{mode_name}.success@{k}"] = round(statistics.mean(s[f"success_{k}"] for s in scored), 4)
            summary[f"retrieval.{mode_name}.mrr"] = round(statistics.mean(s["recip_rank"] for s in scored), 4)
    stages = sorted({stage for r in records for stage in r.timings_ms})
    for stage in stages:
        values = [r.timings_ms[stage] for r in records if stage in r.timings_ms]
        summary[f"latency.{stage}.p50"] = _percentile(values, 0.5)
        summary[f"latency.{stage}.p95"] = _percentile(values, 0.95)
    return summary


def per_document(records: list[EvalRecord]) -> dict[str, dict]:
    table: dict[str, dict] = {}
    for doc_id in sorted({d for r in records for d in r.documents}):
        rows = [r for r in records if doc_id in r.documents and r.answerable]
        table[doc_id] = {
            "questions": len(rows),
            "key_fact_recall": round(statistics.mean(r.facts_matched / r.facts_total for r in rows if r.facts_total), 4) if rows else None,
            "evidence_cited": _share(rows, lambda r: r.evidence_in_passage),
            "false_abstention": _share(rows, lambda r: r.abstained),
        }
    return table


def outcome(record: EvalRecord) -> str:
    """One word per question, for comparing runs."""
    if not record.answerable:
        return "abstained (right)" if record.abstained else "answered (wrong)"
    if record.abstained:
        return "abstained (wrong)"
    if record.facts_matched == record.facts_total and record.evidence_in_passage:
        return "correct"
    return "partial" if record.facts_matched or record.evidence_in_passage else "wrong"


def what_went_wrong(record: EvalRecord, mode: str) -> str:
    if not record.answerable:
        return "answered a question the documents do not answer" if not record.abstained else ""
    problems = []
    if record.abstained:
        problems.append("abstained although the documents answer it")
    if record.missing_facts:
        problems.append("missing key facts: " + "; ".join(record.missing_facts))
    retrieval = record.retrieval.get(mode, {})
    if retrieval and retrieval.get("success_10", 1.0) == 0:
        problems.append("no evidence passage in the top 10 retrieved")
    elif not record.evidence_in_passage and not record.abstained:
        rank = retrieval.get("recip_rank")
        problems.append(f"evidence retrieved (rank {round(1 / rank) if rank else '?'}) but not cited")
    if record.citation_pairs > record.citation_pairs_supported:
        problems.append(f"{record.citation_pairs - record.citation_pairs_supported} citation(s) that do not support their statement")
    return "; ".join(problems)


def badness(record: EvalRecord) -> float:
    if not record.answerable:
        return 1.0 if not record.abstained else 0.0
    value = 1.0 if record.abstained else 1 - record.facts_matched / max(record.facts_total, 1)
    return value + (0.0 if record.evidence_in_passage else 0.5) + 0.1 * (record.citation_pairs - record.citation_pairs_supported)


def best_configuration(runs: dict[str, list[EvalRecord]]) -> str:
    """The configuration that wins on the dev split: key-fact recall, then evidence cited, then citation precision."""

    def key(name: str) -> tuple:
        summary = summarise([r for r in runs[name] if r.split == "dev"])
        return tuple(summary.get(m) or 0.0 for m in ("key_fact_recall", "evidence_cited", "citation_precision"))

    return max(runs, key=key)


def check_floors(summary: dict, floors: dict[str, float], ceilings: dict[str, float] | None = None) -> list[str]:
    """Headline metrics below their recorded floor (or above their ceiling), each as a readable line."""
    failures = []
    for name, floor in floors.items():
        value = summary.get(name)
        if value is None or value < floor:
            failures.append(f"{name} = {value} is below its floor {floor}")
    for name, ceiling in (ceilings or {}).items():
        value = summary.get(name)
        if value is None or value > ceiling:
            failures.append(f"{name} = {value} is above its ceiling {ceiling}")
    return failures


def records_to_json(records: list[EvalRecord]) -> list[dict]:
    return [asdict(r) for r in records]
