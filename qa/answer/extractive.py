"""The default answerer: extractive, grounded, cited, and willing to decline.

For the units (sentences, list items, lead-ins) of the retrieved passages it computes their signals
(qa/answer/signals.py); the fitted model (qa/answer/model.py) ranks them and gives its confidence that
the documents answer the question. Below the model's threshold it declines (qa/answer/decline.py).
Otherwise the best unit becomes the first statement, and up to two more follow when they score close to
it and add a question term it lacks (qa/answer/statements.py); each statement cites what it quotes. A
yes/no question gets "Yes."/"No." only when the evidence restates every content word of the question.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from qa.answer.decline import decline_text
from qa.answer.model import AnswerModel, load_answer_model, softmax
from qa.answer.query import QuestionTerms, question_terms
from qa.answer.questions import LIST_ASK, YES_NO_START
from qa.answer.signals import Candidates, question_signals, unit_signals
from qa.answer.statements import Statement, StatementBuilder
from qa.answer.unit_table import build_unit_table
from qa.retrieve.lexicon import Lexicon
from qa.stores import Index
from qa.text import content_terms, has_negation, index_terms
from qa.types import Answer, Citation, Hit
from qa.types import Statement as CheckedStatement


MIN_WORDS = 3  # a sentence shorter than this is not a statement


@dataclass(frozen=True)
class Weighed:
    """A question's candidates with the model's verdicts: each unit's probability, the confidence."""

    terms: QuestionTerms
    candidates: Candidates
    probabilities: np.ndarray
    confidence: float


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

    def weigh(self, terms: QuestionTerms, candidates: Candidates, hits: tuple[Hit, ...], model: AnswerModel | None = None) -> Weighed:
        model = model or self.model
        scores = model.rank.score(candidates.values)
        probabilities = softmax(scores)
        question = question_signals(self.table, terms, candidates, scores, probabilities, hits)
        return Weighed(terms, candidates, probabilities, float(model.decline.probability(question)[0]))

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
        statements = self.choose_statements(question, weighed, model)
        citations, parts = [], []
        for n, statement in enumerate(statements, 1):
            document = self.index.documents[statement.doc_id]
            quote = document.text[statement.start : statement.end]
            citations.append(Citation(n, self.index.chunk(statement.chunk_id), document.title, document.source_path, quote, statement.start, statement.end, round(statement.score, 4)))
            parts.append(f"{statement.text} [{n}]")
        text = " ".join(parts)
        verdict = self._yes_no(question, statements[0])
        if verdict:
            text = f"{verdict} {text}"
        checked = tuple(CheckedStatement(s.text, (n,), True) for n, s in enumerate(statements, 1))  # quotes: supported by construction
        return Answer(question, text, tuple(citations), False, {"answer": _ms(started)}, hits, checked, confidence=confidence)

    def choose_statements(self, question: str, weighed: Weighed, model: AnswerModel) -> list[Statement]:
        """The best candidate, then up to ``max_statements`` in all that score within ``keep_ratio`` of it,
        add a question term not yet covered, repeat nothing already quoted and keep the answer short."""
        builder = StatementBuilder(self.table, model.max_chars)
        positions = weighed.candidates.positions
        order = [i for i in np.argsort(-weighed.probabilities, kind="stable") if self._can_stand(positions[i])] or [int(np.argmax(weighed.probabilities))]
        if weighed.terms.follow_up:  # a follow-up is answered by what speaks to its own words, when anything does
            focused = weighed.candidates.column("focus")
            order = [i for i in order if focused[i]] or order
        scores = {positions[i]: float(weighed.probabilities[i]) for i in order}
        list_question = bool(LIST_ASK.search(question))
        asked = set(weighed.terms.weights)
        best = builder.statement_for(positions[order[0]], scores, list_question, asked)
        chosen, covered, used = [best], set(best.unit_positions), len(best.text)
        answered = builder.terms_of(best) & asked
        best_probability = weighed.probabilities[order[0]]
        for i in order[1:]:
            if len(chosen) >= model.max_statements or weighed.probabilities[i] < model.keep_ratio * best_probability:
                break
            if positions[i] in covered or self._redundant(positions[i], covered):
                continue
            statement = builder.statement_for(positions[i], scores, list_question, asked)
            new_terms = (builder.terms_of(statement) & asked) - answered
            if not new_terms or used + len(statement.text) > model.max_chars or set(statement.unit_positions) & covered:
                continue
            chosen.append(statement)
            covered |= set(statement.unit_positions)
            answered |= new_terms
            used += len(statement.text)
        return chosen

    def _can_stand(self, position: int) -> bool:
        """A sentence of fewer than MIN_WORDS words ("2015 Jul.", "Figure 2.") says nothing on its own; an item
        or a lead-in is read with its list."""
        unit = self.index.units[position]
        return unit.kind != "sentence" or len(unit.text.split()) >= MIN_WORDS

    def _redundant(self, position: int, covered: set[int], cosine: float = 0.88) -> bool:
        vectors = self.index.unit_vectors
        return any(float(vectors[position] @ vectors[c]) >= cosine for c in covered)

    def _yes_no(self, question: str, statement: Statement) -> str | None:
        """'Yes.'/'No.' only when the evidence restates every content word of a plain yes/no question."""
        if not YES_NO_START.match(question.strip()) or has_negation(question) or " or " in question.lower():
            return None
        evidence = self.index.units[statement.unit_positions[0]].text
        if not set(content_terms(question)) <= set(index_terms(evidence)):
            return None
        return "No." if has_negation(evidence) else "Yes."


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
