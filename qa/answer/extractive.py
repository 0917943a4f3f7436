"""The default answerer: extractive, grounded, cited, and willing to decline.

For the units (sentences, list items, lead-ins) of the retrieved passages it computes their signals
(qa/answer/signals.py); the fitted ranker (qa/answer/model.py) orders them, the reader (qa/answer/reader.py)
reads the best few against the question, and the fitted combination of the two picks the statements
(qa/answer/reading.py). The fitted decline model gives the confidence that the documents answer; below its
threshold the answerer declines (qa/answer/decline.py). Otherwise the
best-read unit becomes the first statement, and up to two more follow when they score close to it and add a
question term it lacks, or, adding none, score closer still (the fitted follow_ratio: "... similar in frequency
(ALS 58%, MMN 63%)" after the conclusion that names every term asked) (qa/answer/statements.py); each
statement cites what it quotes, the reader's answer
span is marked in the first, and a yes/no question opens with the reader's verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from qa.answer.base import VERDICT_TEXT
from qa.answer.decline import decline_text
from qa.answer.model import AnswerModel, load_answer_model, softmax
from qa.answer.query import QuestionTerms, question_terms
from qa.answer.questions import LIST_ASK, YES_NO_START, asks_yes_no
from qa.answer.reader import READER_ROLES, Passage, Reader, Reading, shipped_reader
from qa.answer.reading import NOTHING_READ, Read, bold_span, combined_scores, read_candidates, standing_rows, statement_reading
from qa.answer.signals import Candidates, question_signals, unit_signals
from qa.answer.statements import Statement, StatementBuilder
from qa.answer.unit_table import build_unit_table
from qa.errors import QAError
from qa.retrieve.lexicon import Lexicon
from qa.stores import Index
from qa.text import content_terms, has_negation, index_terms
from qa.types import Answer, Citation, Hit
from qa.types import Statement as CheckedStatement



@dataclass(frozen=True)
class Weighed:
    """A question's candidates with the model's verdicts: each unit's probability, the confidence."""

    terms: QuestionTerms
    candidates: Candidates
    probabilities: np.ndarray
    confidence: float
    read: Read = NOTHING_READ


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, index: Index, embed_query: Callable[[str], np.ndarray], lexicon: Lexicon, model: AnswerModel | None = None):
        self.index = index
        self.embed_query = embed_query
        self.lexicon = lexicon
        self._model = model
        self.table = build_unit_table(index)

    @property
    def model(self) -> AnswerModel:
        """The fitted model, read on first use (so that `qa fit` can build an answerer before there is one)."""
        if self._model is None:
            self._model = load_answer_model()
        return self._model

    def signals(self, question: str, hits: tuple[Hit, ...]) -> tuple[QuestionTerms, Candidates]:
        terms = question_terms(question, self.table, self.lexicon)
        return terms, unit_signals(self.table, terms, self.embed_query(question), hits)

    def reader_for(self, model: AnswerModel) -> Reader | None:
        """The reader, when the model was fitted with one; it must be the reader the model was fitted with."""
        return fitted_reader(model, "reader") if model.rerank is not None else None

    def opening_verdict(self, question: str, weighed: Weighed, chosen: list[tuple[int, Statement]], model: AnswerModel) -> Reading | None:
        """The reading whose verdict opens a yes/no answer, when the answer's verdict is read (the question asks yes
        or no and the reader read the candidate the answer opens with): the verdict reader's, of the first
        statement as the user sees it, alone, so that a Yes or No never contradicts the statement it stands before
        (evals/README.md, *A verdict reads the statement it opens*). None when the verdict is not read."""
        first_row, first = chosen[0]
        if weighed.read.reading_for(first_row) is None or not asks_yes_no(question):
            return None
        return statement_reading(fitted_reader(model, "verdict_reader"), question, first.text)

    def warm(self) -> None:
        """Loads the readers the model reads with and runs each once, so that a server's first question (and its
        first yes/no question) does not wait for them."""
        model = self.model
        for role in READER_ROLES if model.rerank is not None else ():
            fitted_reader(model, role).read("Is it warm?", [Passage("", "", "It is warm.")])

    def read(self, terms: QuestionTerms, candidates: Candidates, rank_scores: np.ndarray, model: AnswerModel) -> Read:
        reader = self.reader_for(model)
        if reader is None:
            return NOTHING_READ
        return read_candidates(reader, terms.question, self.table, candidates, rank_scores, model.read_count)

    def weigh(self, terms: QuestionTerms, candidates: Candidates, hits: tuple[Hit, ...], model: AnswerModel | None = None, read: Read | None = None) -> Weighed:
        """The candidates' probabilities and the confidence; ``read``: readings already made (by `qa fit`)."""
        model = model or self.model
        rank_scores = model.rank.score(candidates.values)
        read = self.read(terms, candidates, rank_scores, model) if read is None else read
        probabilities, question = self.question_values(terms, candidates, hits, model, rank_scores, read)
        return Weighed(terms, candidates, probabilities, float(model.decline.probability(question)[0]), read)

    def question_values(self, terms: QuestionTerms, candidates: Candidates, hits: tuple[Hit, ...], model: AnswerModel, rank_scores: np.ndarray, read: Read):
        """The candidates' probabilities (the ranker's scores joined with the reader's) and the question's
        signals, which are the ranker's view: the decline model is fitted on every dev question, and a
        reader's view of them exists only for the half it was not trained on (evals/README.md)."""
        ranked = softmax(rank_scores)
        question = question_signals(self.table, terms, candidates, rank_scores, ranked, hits)
        if model.rerank is None or not read.rows:
            return ranked, question
        return softmax(combined_scores(read, rank_scores, model.rerank)), question

    def answer(self, question: str, hits: tuple[Hit, ...]) -> Answer:
        started = time.perf_counter()
        terms, candidates = self.signals(question, hits)
        if not candidates.positions:
            return Answer(question, decline_text(terms), (), True, {"answer": _ms(started)}, hits)
        return self.compose(question, hits, self.weigh(terms, candidates, hits), started)

    def stream(self, question: str, hits: tuple[Hit, ...]):
        yield self.answer(question, hits)

    def compose(self, question: str, hits: tuple[Hit, ...], weighed: Weighed, started: float, model: AnswerModel | None = None) -> Answer:
        """The answer from the weighed candidates: a decline below the threshold, else cited statements."""
        model = model or self.model
        confidence = round(weighed.confidence, 4)
        if weighed.confidence < model.threshold:
            return Answer(question, decline_text(weighed.terms), (), True, {"answer": _ms(started)}, hits, confidence=confidence)
        chosen = self.choose_statements(question, weighed, model)
        citations, parts = [], []
        for n, (_, statement) in enumerate(chosen, 1):
            document = self.index.documents[statement.doc_id]
            quote = document.text[statement.start : statement.end]
            citations.append(Citation(n, self.index.chunk(statement.chunk_id), document.title, document.source_path, quote, statement.start, statement.end, round(statement.score, 4)))
            parts.append(f"{statement.text} [{n}]")
        text = " ".join(parts)
        first_row, first = chosen[0]
        reading = weighed.read.reading_for(first_row)
        said = self.opening_verdict(question, weighed, chosen, model)
        verdict = None
        if said is not None:
            verdict = said.verdict if said.verdict_probability >= model.verdict_threshold else "unclear"
        elif reading is None:
            verdict = self._restated_verdict(question, first)
        if verdict:
            text = f"{VERDICT_TEXT[verdict]} {text}"
        span = bold_span(first.text, self.index.units[weighed.candidates.positions[first_row]].text, reading) if reading is not None else None
        checked = tuple(CheckedStatement(s.text, (n,), True) for n, (_, s) in enumerate(chosen, 1))  # quotes: supported by construction
        return Answer(question, text, tuple(citations), False, {"answer": _ms(started)}, hits, checked, confidence=confidence,
                      verdict=verdict, answer_span=(0, *span) if span else None)

    def choose_statements(self, question: str, weighed: Weighed, model: AnswerModel) -> list[tuple[int, Statement]]:
        """The best candidate, then up to ``max_statements`` in all that score within ``keep_ratio`` of it,
        add a question term not yet covered (or, adding none, score within ``follow_ratio`` of it), repeat
        nothing already quoted and keep the answer short; each with its candidate row."""
        builder = StatementBuilder(self.table, model.max_chars)
        positions = weighed.candidates.positions
        order = self.statement_order(weighed)
        scores = {positions[i]: float(weighed.probabilities[i]) for i in order}
        list_question = bool(LIST_ASK.search(question))
        asked = set(weighed.terms.weights)
        best = builder.statement_for(positions[order[0]], scores, list_question, asked)
        chosen, covered, used = [(order[0], best)], set(best.unit_positions), len(best.text)
        answered = builder.terms_of(best) & asked
        best_probability = weighed.probabilities[order[0]]
        for i in order[1:]:
            if len(chosen) >= model.max_statements or weighed.probabilities[i] < model.keep_ratio * best_probability:
                break
            if positions[i] in covered or self._redundant(positions[i], covered):
                continue
            statement = builder.statement_for(positions[i], scores, list_question, asked)
            new_terms = (builder.terms_of(statement) & asked) - answered
            follows = bool(new_terms) or (model.follow_ratio is not None and weighed.probabilities[i] >= model.follow_ratio * best_probability)
            if not follows or used + len(statement.text) > model.max_chars or set(statement.unit_positions) & covered:
                continue
            chosen.append((i, statement))
            covered |= set(statement.unit_positions)
            answered |= new_terms
            used += len(statement.text)
        return chosen

    def statement_order(self, weighed: Weighed) -> list[int]:
        """The candidate rows that may be quoted, best first: the first leads the answer (and gives its verdict)."""
        standing = set(standing_rows(self.table, weighed.candidates))
        ranked = [int(i) for i in np.argsort(-weighed.probabilities, kind="stable")]
        order = [i for i in ranked if i in standing and weighed.probabilities[i] > 0] or ranked[:1]
        if weighed.terms.follow_up:  # a follow-up is answered by what speaks to its own words, when anything does
            focused = weighed.candidates.column("focus")
            order = [i for i in order if focused[i]] or order
        return order

    def _restated_verdict(self, question: str, statement: Statement) -> str | None:
        """Without the reader: "yes"/"no" only when the evidence restates every content word of a plain yes/no
        question ("no" when it negates it)."""
        if not YES_NO_START.match(question.strip()) or has_negation(question) or " or " in question.lower():
            return None
        evidence = self.index.units[statement.unit_positions[0]].text
        if not set(content_terms(question)) <= set(index_terms(evidence)):
            return None
        return "no" if has_negation(evidence) else "yes"

    def _redundant(self, position: int, covered: set[int], cosine: float = 0.88) -> bool:
        vectors = self.index.unit_vectors
        return any(float(vectors[position] @ vectors[c]) >= cosine for c in covered)


def fitted_reader(model: AnswerModel, role: str) -> Reader:
    """The shipped reader in ``role`` (READER_ROLES), which must be the one the model was fitted with in that role."""
    reader = shipped_reader(READER_ROLES[role])
    fitted_with = model.fitted.get(role, {}).get("manifest_sha256")
    if fitted_with and fitted_with != reader.manifest["sha256"]:
        raise QAError(f"the answer model was fitted with another {role.replace('_', ' ')} (SHA-256 {fitted_with[:12]}…) than {reader.path} "
                      f"({reader.manifest['sha256'][:12]}…); refit its reader part with `make fit-reader` (qa fit --reader-only).")
    return reader


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
