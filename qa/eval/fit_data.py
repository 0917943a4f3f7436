"""The examples the answer model is fitted and checked on: every question the development suite asks an
answer corpus (its own, their typo'd copies, other corpora's), searched through the product's own path
(spelling correction, retrieval), with the answerer's signals for each candidate unit and a label saying
whether that unit holds the question's gold evidence."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass

import numpy as np

from qa.answer.query import QuestionTerms
from qa.answer.signals import Candidates
from qa.eval.gold import GoldQuestion, span_overlap
from qa.eval.suite import Suite, corpus_questions, kind_of, library_family, original_id, suite_index
from qa.types import Hit


@dataclass(frozen=True)
class Example:
    corpus: str
    kind: str  # "own", "typo", "message" or "foreign"
    gold: GoldQuestion
    searched: str  # the question as searched (corrections applied)
    hits: tuple[Hit, ...]
    terms: QuestionTerms
    candidates: Candidates
    labels: np.ndarray  # per candidate: it holds the gold evidence

    @property
    def split(self) -> str:
        return self.gold.split


@dataclass
class CorpusExamples:
    name: str
    pipeline: object  # the corpus's qa.pipeline.Pipeline, whose answerer composes the answers
    examples: list[Example]
    family: str = ""  # the library it leaves a cross-validation fold with (libraries asked the same questions share one); "" its own name

    @property
    def library(self) -> str:
        return self.family or self.name


def read_half(corpus: str, question_id: str) -> str:
    """Which half of the suite's dev questions a question belongs to: "reader" (the reader trains on it) or
    "fit" (the answer model's reader-dependent parts are fitted on it). Fitting on questions the reader never
    saw keeps the reader's in-sample confidence out of the combination and the decline. A typo'd copy goes
    with its original; fixed per question by the SHA-256 of corpus and id."""
    return half_of(question_key(corpus, question_id))


def question_key(corpus: str, question_id: str) -> str:
    """A question's key: "corpus:id", a copy's (typo'd, message) id without its prefix (so that it goes with its original)."""
    return f"{corpus}:{original_id(question_id)}"


def corpus_of(question_key: str) -> str:
    """The corpus of a question's key (`question_key`)."""
    return question_key.split(":", 1)[0]


def half_of(question_key: str) -> str:
    """`read_half` of a question's key (`question_key`)."""
    return "reader" if hashlib.sha256(question_key.encode()).digest()[0] % 2 == 0 else "fit"


def holds_gold_evidence(start: int, end: int, doc_id: str, gold: GoldQuestion) -> bool:
    """A unit holds the evidence when it overlaps an evidence span by half of the shorter of the two."""
    return any(span.doc_id == doc_id and span_overlap(start, end, span) >= 0.5 * min(end - start, span.end - span.start) > 0 for span in gold.spans)


def collect_examples(
    suite: Suite, settings, splits: tuple[str, ...] = ("dev",), names: tuple[str, ...] = (), progress: bool = True, log=None, correct_spelling: bool = True
) -> list[CorpusExamples]:
    """The examples of every answer corpus of the suite (or those named), for the given splits
    (``correct_spelling`` False: questions searched as typed, for the ablation)."""
    from tqdm import tqdm

    from qa.pipeline import open_pipeline

    log = log or (lambda message: print(message, file=sys.stderr))
    collected = []
    for corpus in suite.corpora:
        if not corpus.questions or (names and corpus.name not in names):
            continue
        index, _ = suite_index(corpus, suite.cache, settings.model, progress)
        pipeline = open_pipeline(settings.with_overrides(index=index), check_corpus=False)
        asked = [q for q in corpus_questions(suite, corpus, pipeline.index.documents).all() if q.split in splits]
        examples = []
        for gold in tqdm(asked, desc=f"Signals: {corpus.name}", unit="q", disable=not progress, file=sys.stderr, leave=False):
            searched = pipeline.query(gold.question).text if correct_spelling else gold.question
            hits = pipeline.retriever.search(searched, settings.mode, settings.k)
            terms, candidates = pipeline.answerer.signals(searched, hits)
            units = pipeline.index.units
            labels = np.array([holds_gold_evidence(units[p].start, units[p].end, units[p].doc_id, gold) for p in candidates.positions], dtype=bool)
            examples.append(Example(corpus.name, kind_of(gold.id), gold, searched, hits, terms, candidates, labels))
        log(f"{corpus.name}: {len(examples)} questions, {sum(len(e.candidates.positions) for e in examples)} candidate units")
        collected.append(CorpusExamples(corpus.name, pipeline, examples, library_family(suite.corpora, corpus.name)[0]))
    return collected
