"""Misspelt question words corrected to the library's own words, when the match is clear.

A question word is looked up only when the library never uses it (in any inflection) and it is not a
common English word (a paraphrase the documents word differently is not a typo). Its candidates are
the library's words within a small Damerau-Levenshtein distance (one edit for words up to seven
letters, two for longer ones; rapidfuzz). A candidate counts only when the question's other words
support it: it appears in a passage together with at least one of them. The nearest supported
candidate wins when it is unique (a tie is broken by how many of the question's words it appears
with, never by chance); otherwise the word is left as typed. So "zanamavir" becomes "zanamivir" beside
"carrageenan", while "staph" does not become "stage".

A question with no other word the library knows has nothing to support a candidate: a unique
candidate one edit away is then taken for a word of six letters or more.

A word English knows (wordfreq has it at all) is a real word, not a typo, unless a candidate is far more
common (REAL_WORD_MARGIN on the Zipf scale, ten times): "neuropathic" stays as typed beside "neuropathy",
while "perscription" or "recieve", misspellings common enough to be counted, are still corrected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from qa.retrieve.lexicon import Lexicon
from qa.text import QUESTION_FRAMING, STOPWORDS, english_zipf, words
from qa.types import Correction

MIN_LENGTH = 5  # shorter words are left alone: too many library words lie one edit from them
COMMON_WORD_ZIPF = 3.5  # at or above this frequency in English a word is a real word, not a typo
REAL_WORD_MARGIN = 1.0  # a word English knows is corrected only to one at least this much more common (Zipf)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")


@dataclass(frozen=True)
class Query:
    """A question as typed and as searched: with its corrections applied."""

    typed: str
    text: str
    corrections: tuple[Correction, ...] = ()


def _common(word: str) -> bool:
    return english_zipf(word) >= COMMON_WORD_ZIPF


def max_distance(word: str) -> int:
    return 1 if len(word) <= 7 else 2


class Speller:
    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon

    def correct(self, question: str) -> Query:
        content = [w for w in dict.fromkeys(words(question)) if w not in STOPWORDS and w not in QUESTION_FRAMING]
        unknown = [w for w in content if w.isalpha() and len(w) >= MIN_LENGTH and w not in self.lexicon and not _common(w)]
        if not unknown:
            return Query(question, question)
        known = [w for w in content if w in self.lexicon.counts]
        corrections = []
        for word in unknown:
            corrected = self._best_candidate(word, known)
            if corrected is not None:
                corrections.append(Correction(word, corrected))
        return Query(question, apply_corrections(question, corrections), tuple(corrections))

    def candidates(self, word: str) -> list[tuple[str, int]]:
        """Library words within the distance allowed for ``word``, nearest first."""
        from rapidfuzz import process
        from rapidfuzz.distance import DamerauLevenshtein

        limit = max_distance(word)
        pool = self.lexicon.near_lengths(len(word), limit)
        found = process.extract(word, pool, scorer=DamerauLevenshtein.distance, score_cutoff=limit, limit=None)
        return sorted(((choice, int(distance)) for choice, distance, _ in found), key=lambda item: (item[1], item[0]))

    def _best_candidate(self, word: str, known: list[str]) -> str | None:
        candidates = self.candidates(word)
        typed_zipf = english_zipf(word)
        if typed_zipf > 0:  # a real word is not taken for a typo of a word about as common as itself
            candidates = [(c, d) for c, d in candidates if english_zipf(c) >= typed_zipf + REAL_WORD_MARGIN]
        if not candidates:
            return None
        if not known:
            nearest = [c for c, d in candidates if d == 1]
            return nearest[0] if len(nearest) == 1 and len(word) >= 6 and len(candidates) == 1 else None
        support = {c: self._support(c, known) for c, _ in candidates}
        supported = [(d, -support[c], c) for c, d in candidates if support[c] > 0]
        if not supported:
            return None
        supported.sort()
        if len(supported) > 1 and supported[1][:2] == supported[0][:2]:
            return None  # two candidates equally near and equally supported: not clear
        return supported[0][2]

    def _support(self, candidate: str, known: list[str]) -> int:
        """How many of the question's known words share a passage with the candidate."""
        rows = self.lexicon.passages_with(candidate)
        return sum(1 for other in known if np.intersect1d(rows, self.lexicon.passages_with(other), assume_unique=True).size)


def apply_corrections(question: str, corrections: list[Correction] | tuple[Correction, ...]) -> str:
    by_word = {c.typed: c.corrected for c in corrections}
    if not by_word:
        return question

    def replace(match: re.Match) -> str:
        typed = match.group(0)
        corrected = by_word.get(words(typed)[0] if words(typed) else "")
        if corrected is None:
            return typed
        return corrected.capitalize() if typed[0].isupper() and not typed.isupper() else corrected

    return _WORD.sub(replace, question)
