"""The words an index's passages use: how often each occurs and in which passages.

Built once per loaded index from its passages, section headings and document titles. The spelling
corrector looks up unknown question words here, and the answerer asks whether a word appears anywhere
in the library before it names it as missing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from qa.text import stem, words
from qa.types import Chunk, Document


@dataclass(frozen=True)
class Lexicon:
    counts: dict[str, int]  # surface word (lower case, as qa.text.words spells it) -> occurrences
    postings: dict[str, np.ndarray]  # surface word -> sorted positions of the passages that use it
    stems: frozenset[str]  # the stems of every surface word
    by_length: dict[int, tuple[str, ...]]  # surface words grouped by length, for near-miss lookups
    ordered: tuple[str, ...]  # surface words in alphabetical order, for prefix lookups

    def __contains__(self, word: str) -> bool:
        return word in self.counts or stem(word) in self.stems

    def passages_with(self, word: str) -> np.ndarray:
        return self.postings.get(word, _EMPTY)

    def starting_with(self, prefix: str) -> list[str]:
        """Library words that begin with ``prefix`` ("lab" -> "laboratory", "labs")."""
        from bisect import bisect_left

        found = []
        for word in self.ordered[bisect_left(self.ordered, prefix) :]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found

    def near_lengths(self, length: int, spread: int) -> list[str]:
        return [w for n in range(length - spread, length + spread + 1) for w in self.by_length.get(n, ())]


_EMPTY = np.zeros(0, dtype=np.int64)


def build_lexicon(chunks: tuple[Chunk, ...], documents: dict[str, Document]) -> Lexicon:
    counts: Counter[str] = Counter()
    postings: dict[str, list[int]] = {}
    for position, chunk in enumerate(chunks):
        document = documents[chunk.doc_id]
        found = words(f"{document.search_title} {chunk.section} {chunk.text}")
        counts.update(found)
        for word in set(found):
            postings.setdefault(word, []).append(position)
    by_length: dict[int, list[str]] = {}
    for word in counts:
        if word.isalpha():
            by_length.setdefault(len(word), []).append(word)
    return Lexicon(
        counts=dict(counts),
        postings={w: np.asarray(p, dtype=np.int64) for w, p in postings.items()},
        stems=frozenset(stem(w) for w in counts),
        by_length={n: tuple(ws) for n, ws in by_length.items()},
        ordered=tuple(sorted(counts)),
    )
