"""A question's terms as the answerer weighs them against an index.

Content words (question framing such as "what", "patient", "recommended" left out), stemmed, each
weighted by the index's IDF; a word the index never uses is looked up as the start of one it does
("lab" -> "laboratory"); abbreviations the documents define count in both spellings; words after
"besides", "other than" are excluded. Words no document uses in any spelling are kept apart: they cannot
tell units apart, but how much of the question they make up tells whether the documents answer it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer.questions import EXCLUSION, FOCUS, content_words, question_shape
from qa.answer.unit_table import UnitTable
from qa.retrieve.lexicon import Lexicon
from qa.text import content_terms, english_zipf, index_terms

# A follow-up searched with the question before it: "what about in children? (limb weakness with ...)".
FOLLOW_UP_CONTEXT = re.compile(r"^(.*\S)\s*\(([^()]+)\)\s*$", re.S)
PREFIX_MATCH = 0.7  # weight of a library word that an unknown question word is the start of
RARE_WORD_ZIPF = 3.0  # below this frequency in general English a word is a name, drug or gene


@dataclass(frozen=True)
class QuestionTerms:
    question: str
    weights: dict[str, float]  # terms the index uses -> weight (IDF)
    excluded: frozenset[str]  # terms the question sets aside ("besides MRI")
    bigrams: frozenset[tuple[str, str]]  # consecutive content-term pairs
    focus: frozenset[str]  # the term after "what"/"which": the kind of thing asked for (a follow-up: its own words)
    follow_up: bool  # searched with the question before it, in parentheses
    shape: frozenset[str]  # "numeric", "comparison", "condition", "reason", "yes-no"
    unknown: tuple[str, ...]  # content words no document uses in any spelling, as typed
    rare_unknown: tuple[str, ...]  # ... of those, the ones that are rare in English too (names, drugs, genes, typos)
    known_weight: float  # total weight of the content terms the index uses
    unknown_weight: float  # total weight of the unknown words (each weighs as a term no unit uses)

    @property
    def unknown_share(self) -> float:
        total = self.known_weight + self.unknown_weight
        return self.unknown_weight / total if total else 0.0


def is_rare_word(word: str) -> bool:
    return english_zipf(word) < RARE_WORD_ZIPF


def question_terms(question: str, table: UnitTable, lexicon: Lexicon) -> QuestionTerms:
    vocabulary = table.vocabulary
    excluded = frozenset(t for phrase in EXCLUSION.findall(question) for t in index_terms(phrase))
    base = [t for t in content_terms(question) if t not in excluded]
    terms = base + sorted(table.expand(set(base)) - set(base) - excluded)
    weights = {t: table.weight(t) for t in terms if t in vocabulary}
    unknown: list[str] = []
    for word in dict.fromkeys(content_words(question)):
        stemmed = index_terms(word)
        if not stemmed or stemmed[0] in vocabulary or stemmed[0] in excluded:
            continue
        alternates = [index_terms(w)[0] for w in lexicon.starting_with(word) if w != word and index_terms(w)] if len(word) >= 3 else []
        for alternate in alternates:
            weights.setdefault(alternate, PREFIX_MATCH * table.weight(alternate))
        if word not in lexicon and not alternates:
            unknown.append(word)
    return QuestionTerms(
        question=question,
        weights=weights,
        excluded=excluded,
        bigrams=frozenset(zip(base, base[1:])),
        focus=_focus(question) & set(weights),
        follow_up=bool(FOLLOW_UP_CONTEXT.match(question)),
        shape=frozenset(question_shape(question)),
        unknown=tuple(unknown),
        rare_unknown=tuple(w for w in unknown if is_rare_word(w)),
        known_weight=sum(table.weight(t) for t in base if t in vocabulary),
        unknown_weight=len(unknown) * table.unknown_idf,
    )


def _focus(question: str) -> frozenset[str]:
    """What the question is about: the word after "what"/"which" ("what symptoms ..."); for a follow-up
    searched with the question before it in parentheses ("and in children? (limb weakness ...)"), its own
    words, which say what is new."""
    follow_up = FOLLOW_UP_CONTEXT.match(question)
    if follow_up:
        return frozenset(content_terms(follow_up.group(1)))
    focus_match = FOCUS.search(question)
    return frozenset(index_terms(focus_match.group(1))) if focus_match else frozenset()
