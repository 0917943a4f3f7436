"""The signals the answerer weighs, computed for every unit of the retrieved passages (candidates) and for
the question as a whole. A fitted model (qa/answer/model.py) turns them into a ranking of the candidates
and a confidence that the documents answer; nothing here decides anything.

Per candidate unit (UNIT_SIGNALS): how close it is to the question (cosine, alone and against the best
candidate), where retrieval put its passage (cosine, BM25, fused score, rank), how much of the question's
weighted terms it holds (itself, with its context, its heading, its title, its whole passage, term pairs),
what it is (item, lead-in, length, place in the document, a summary or conclusion), and whether it has
what the question's shape asks for (a figure for "how many", a date for "when", a name for "who" ...).

Per question (QUESTION_SIGNALS): the best candidate's probability and closeness, how much of the question
the best passages cover, and how much of it no document uses at all.

"terms_read" is the share of the question's weighted terms a reader finds in the unit as shown: in the
unit with its context, its section heading, or its document's title.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from qa.answer.query import QuestionTerms
from qa.answer.unit_table import UnitTable
from qa.text import QUESTION_FRAMING, STOPWORDS, content_terms, has_negation, numbers, words
from qa.types import Hit

UNIT_SIGNALS = (
    "dense", "dense_gap", "dense_rank", "passage_dense", "passage_bm25", "passage_fused", "passage_rank",
    "terms_own", "terms_context", "terms_heading", "terms_title", "terms_read", "terms_passage", "term_pairs", "terms_rank", "focus",
    "echo", "log_chars", "position", "first_in_passage", "item", "lead_in", "summary", "title_question",
    "figure_asked", "figure_missing", "cue_asked", "answer_type", "new_names", "excluded", "meta",
)
QUESTION_SIGNALS = (
    "top_score", "top_share", "second_share", "top_dense", "max_dense", "max_passage_dense", "top_terms",
    "coverage_passage", "coverage_top3", "unknown_share", "rare_unknown", "common_unknown", "content_terms", "figure_missing", "yes_no",
    "names_missing", "numbers_missing", "negation_mismatch", "dense_contrast", "passage_contrast", "bm25_contrast",
)

# A passage's own summary: its heading or first words say so ("Conclusion:", "Direct Recommendation").
SUMMARY = re.compile(
    r"^(direct recommendations?|recommendations?|conclusions?|summary|bottom line|key (points|messages|takeaways)|in summary|in conclusion|answer)\b", re.IGNORECASE
)
META_DISCOURSE = re.compile(r"^(this (article|page|review|summary) (explores|describes|discusses|covers)|in this article)", re.IGNORECASE)
# Words that show a sentence has what a "why", "when ...", comparison question asks for.
CUES = {
    "comparison": re.compile(r"\b(while|whereas|unlike|compared|versus|vs\.|than|differentiates|rather than)\b", re.IGNORECASE),
    "condition": re.compile(r"\b(when|if|reserved for|in cases|unless|once|after|until)\b", re.IGNORECASE),
    "reason": re.compile(r"\b(because|reasons?|due to|since|as a result|so that|in order to|to (?:investigate|identify|evaluate|assess|detect|rule out|exclude|determine|confirm|prevent))\b", re.IGNORECASE),
}
# What a wh-question asks for, and how a sentence shows it has one.
ANSWER_TYPES = (
    (re.compile(r"^\s*(when|what year|in what year|which year|what date|what century|what decade)\b", re.IGNORECASE), re.compile(r"\b(1[0-9]{3}|20[0-9]{2}|[0-9]{1,2}(st|nd|rd|th) century|January|February|March|April|May|June|July|August|September|October|November|December)\b")),
    (re.compile(r"^\s*(how (many|much|long|often|far|old|large|big|high)|what (percentage|proportion|number|amount|share))\b", re.IGNORECASE), re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|half|twice|dozen)\b", re.IGNORECASE)),
    (re.compile(r"^\s*(who|whom|whose)\b", re.IGNORECASE), re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+")),
    (re.compile(r"^\s*where\b", re.IGNORECASE), re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+|\b(in|at|near|from) the\b")),
)
_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z-]+")
TITLE_QUESTION_OVERLAP = 0.6  # a question sharing this share of content terms with a title, both ways, restates it


@dataclass(frozen=True)
class Candidates:
    """The units of the retrieved passages, in retrieval order, with their signals (rows of ``values``)."""

    positions: tuple[int, ...]  # index into Index.units
    hit_numbers: tuple[int, ...]  # index into the hits the unit came from
    values: np.ndarray  # len(positions) x len(UNIT_SIGNALS)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, UNIT_SIGNALS.index(name)]


def unit_signals(table: UnitTable, terms: QuestionTerms, vector: np.ndarray, hits: tuple[Hit, ...]) -> Candidates:
    index = table.index
    positions: list[int] = []
    hit_numbers: list[int] = []
    for number, hit in enumerate(hits):
        for position in index.units_by_chunk.get(hit.chunk.chunk_id, ()):
            positions.append(position)
            hit_numbers.append(number)
    if not positions:
        return Candidates((), (), np.zeros((0, len(UNIT_SIGNALS))))
    dense = index.unit_vectors[positions] @ vector
    total = sum(terms.weights.values()) or 1.0
    top_bm25 = max((h.bm25 or 0.0 for h in hits), default=0.0) or 1.0
    top_fused = max((h.score for h in hits), default=0.0) or 1.0
    own_title = _title_question_documents(table, terms, hits)
    asked_type = next((shows for asks, shows in ANSWER_TYPES if asks.search(terms.question)), None)
    question_names = {w.lower() for w in _CAPITALISED.findall(terms.question)}
    rows = []
    for row, (position, number) in enumerate(zip(positions, hit_numbers)):
        hit, unit = hits[number], index.units[position]
        chunk_row = index.chunk_positions[hit.chunk.chunk_id]
        heading, title, passage = table.heading_terms[chunk_row], table.title_terms[chunk_row], table.chunk_terms[chunk_row]
        own, context = table.own_terms[position], table.context_terms[position]
        shape_cues = [CUES[s] for s in terms.shape if s in CUES]
        figure_asked = "numeric" in terms.shape
        rows.append((
            float(dense[row]),
            0.0,  # dense_gap, filled below
            0.0,  # dense_rank, filled below
            float(hit.dense or 0.0),
            float(hit.bm25 or 0.0) / top_bm25,
            float(hit.score) / top_fused,
            1.0 - number / max(len(hits), 1),
            _share(terms.weights, own, total),
            _share(terms.weights, context, total),
            _share(terms.weights, heading, total),
            _share(terms.weights, title, total),
            _share(terms.weights, context | heading | title, total),
            _share(terms.weights, passage | heading | title, total),
            len(terms.bigrams & table.bigrams[position]) / len(terms.bigrams) if terms.bigrams else 0.0,
            0.0,  # terms_rank, filled below
            1.0 if terms.focus and terms.focus <= context else 0.0,
            len(own & set(terms.weights)) / len(own) if own else 0.0,
            math.log1p(len(unit.text)),
            float(table.position[position]),
            float(table.first_in_chunk[position]),
            1.0 if unit.kind == "item" else 0.0,
            1.0 if unit.kind == "lead-in" else 0.0,
            1.0 if SUMMARY.match(hit.chunk.section) or SUMMARY.match(unit.text) else 0.0,
            1.0 if hit.chunk.doc_id in own_title else 0.0,
            1.0 if figure_asked and table.has_number[position] else 0.0,
            1.0 if figure_asked and not table.has_number[position] else 0.0,
            1.0 if any(cue.search(unit.text) for cue in shape_cues) else 0.0,
            1.0 if asked_type is not None and asked_type.search(unit.text) else 0.0,
            math.log1p(len({w.lower() for w in _CAPITALISED.findall(unit.text)} - question_names)),
            1.0 if terms.excluded & own else 0.0,
            1.0 if META_DISCOURSE.match(unit.text) else 0.0,
        ))
    values = np.array(rows, dtype=np.float64)
    columns = {name: i for i, name in enumerate(UNIT_SIGNALS)}
    values[:, columns["dense_gap"]] = values[:, columns["dense"]] - values[:, columns["dense"]].max()
    values[:, columns["dense_rank"]] = _rank_share(values[:, columns["dense"]])
    values[:, columns["terms_rank"]] = _rank_share(values[:, columns["terms_context"]])
    return Candidates(tuple(positions), tuple(hit_numbers), values)


def question_signals(
    table: UnitTable, terms: QuestionTerms, candidates: Candidates, scores: np.ndarray, probabilities: np.ndarray, hits: tuple[Hit, ...],
) -> np.ndarray:
    """The question's signals (QUESTION_SIGNALS) once its candidates are scored by the ranker (``scores``, and
    their softmax ``probabilities``)."""
    index = table.index
    order = np.argsort(-probabilities, kind="stable")
    best = order[0]
    best_chunk = candidates.hit_numbers[best]
    second = next((probabilities[i] for i in order[1:] if candidates.hit_numbers[i] != best_chunk), 0.0)
    all_weights = dict(terms.weights)
    total = (sum(all_weights.values()) or 0.0) + terms.unknown_weight

    def coverage(hit_numbers: list[int]) -> float:
        held: set[str] = set()
        for number in hit_numbers:
            row = index.chunk_positions[hits[number].chunk.chunk_id]
            held |= table.chunk_terms[row] | table.heading_terms[row] | table.title_terms[row]
        return sum(w for t, w in all_weights.items() if t in held) / total if total else 0.0

    top_hits = sorted(set(candidates.hit_numbers))[:3]
    return np.array([
        float(scores[best]),
        _logit(probabilities[best]),
        _logit(second),
        candidates.column("dense")[best],
        candidates.column("dense").max(),
        max((h.dense or 0.0) for h in hits),
        candidates.column("terms_context")[best],
        coverage([best_chunk]),
        coverage(top_hits),
        terms.unknown_share,
        float(len(terms.rare_unknown)),
        float(len(terms.unknown) - len(terms.rare_unknown)),  # ordinary English words no document uses: a topic it lacks
        math.log1p(len(terms.weights)),
        candidates.column("figure_missing")[best],
        1.0 if "yes-no" in terms.shape else 0.0,
        *_mismatches(table, terms, candidates.positions[best], hits[best_chunk]),
        *_contrasts(candidates, hits),
    ], dtype=np.float64)


def _contrasts(candidates: Candidates, hits: tuple[Hit, ...]) -> tuple[float, float, float]:
    """How far the best stands out from the rest of what was retrieved (the median): the best unit's cosine,
    the best passage's cosine, the best passage's BM25 (as a ratio). An answer stands out; a question the
    library does not cover finds many passages about equally (un)related."""
    dense = candidates.column("dense")
    passages = np.array([h.dense or 0.0 for h in hits])
    bm25 = np.array([h.bm25 or 0.0 for h in hits])
    return (
        float(dense.max() - np.median(dense)),
        float(passages.max() - np.median(passages)),
        float(bm25.max() / np.median(bm25)) if np.median(bm25) > 0 else 0.0,
    )


def _mismatches(table: UnitTable, terms: QuestionTerms, position: int, hit: Hit) -> tuple[float, float, float]:
    """What the question pins down that the best passage does not: the share of the question's names
    (capitalised words past its first) it never uses, whether a number of the question is missing from it,
    and whether the question and the best unit differ in negation."""
    document = table.index.documents[hit.chunk.doc_id]
    passage = f"{document.search_title} {hit.chunk.section} {hit.chunk.text}"
    held = {w.lower() for w in _CAPITALISED.findall(passage)} | set(words(passage))
    names = {w.lower() for w in _CAPITALISED.findall(terms.question[1:])} - STOPWORDS - QUESTION_FRAMING
    missing_names = len([n for n in names if n not in held]) / len(names) if names else 0.0
    missing_numbers = 1.0 if numbers(terms.question) - numbers(passage) else 0.0
    negation = 1.0 if has_negation(terms.question) != has_negation(table.index.units[position].text) else 0.0
    return missing_names, missing_numbers, negation


def _share(weights: dict[str, float], held: frozenset[str] | set[str], total: float) -> float:
    return sum(w for t, w in weights.items() if t in held) / total


def _rank_share(values: np.ndarray) -> np.ndarray:
    """1 for the highest value, falling evenly to 0 for the lowest."""
    if len(values) < 2:
        return np.ones(len(values))
    ranks = np.empty(len(values))
    ranks[np.argsort(-values, kind="stable")] = np.arange(len(values))
    return 1.0 - ranks / (len(values) - 1)


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _title_question_documents(table: UnitTable, terms: QuestionTerms, hits: tuple[Hit, ...]) -> set[str]:
    """Documents whose title the question restates (a question asked in the words of an article's title)."""
    asked = set(content_terms(terms.question))
    found = set()
    for hit in hits:
        title = set(content_terms(table.index.documents[hit.chunk.doc_id].search_title))
        if asked and title and len(asked & title) >= TITLE_QUESTION_OVERLAP * max(len(asked), len(title)):
            found.add(hit.chunk.doc_id)
    return found
