"""What the answerer knows about an index's units before any question is asked.

For every unit (sentence, list item, lead-in): its stemmed terms read with its context (qa/units.py),
abbreviations the documents define expanded both ways; its own terms and term pairs; whether it gives a
figure; where it stands in its document. For every passage: its heading's and its document title's terms.
And the index's inverse document frequencies over units. Built once per loaded index, shared by every
question, never changed afterwards.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.stores import Index
from qa.text import defined_abbreviations, index_terms, numbers
from qa.units import UnitLinks, link_units, read_with_context


class ComputedTerms(Sequence):
    """Terms per unit or per passage, computed when a question asks for them rather than held: held as sets
    for every unit, they were most of a loaded server's memory (about 2 GB per 100,000 passages), while a
    question reads those of its 8 passages only. The last rows asked for are remembered (a pure function's
    memo, bounded), since one question reads the same rows several times."""

    def __init__(self, count: int, compute: Callable[[int], frozenset], remembered: int = 8192):
        self._count, self._compute = count, functools.lru_cache(maxsize=remembered)(compute)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, row: int) -> frozenset:  # type: ignore[override]
        if not -self._count <= row < self._count:
            raise IndexError(f"row {row} is outside 0..{self._count - 1}")
        return self._compute(row % self._count)


@dataclass(frozen=True, eq=False)  # one per loaded index, compared (and kept in weak maps) by identity
class UnitTable:
    index: Index
    links: UnitLinks
    context_terms: Sequence[frozenset[str]]  # per unit: its terms read with its context, abbreviations expanded
    own_terms: Sequence[frozenset[str]]  # per unit: the terms of its own text
    bigrams: Sequence[frozenset[tuple[str, str]]]  # per unit: consecutive term pairs of its own text
    has_number: np.ndarray  # per unit: it gives a figure
    position: np.ndarray  # per unit: where it starts in its document, 0 (opening) to 1 (end)
    first_in_chunk: np.ndarray  # per unit: it opens its passage
    heading_terms: Sequence[frozenset[str]]  # per passage: its section heading's terms
    title_terms: Sequence[frozenset[str]]  # per passage: its document title's terms
    chunk_terms: Sequence[frozenset[str]]  # per passage: the terms of all its units
    idf: dict[str, float]
    unknown_idf: float  # the weight of a term no unit uses
    abbreviations: dict[str, frozenset[str]]
    vocabulary: frozenset[str]  # every term of a unit, a heading or a title

    def expand(self, terms: set[str]) -> set[str]:
        return expand_abbreviations(self.abbreviations, terms)

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unknown_idf)


def expand_abbreviations(abbreviations: dict[str, frozenset[str]], terms: set[str]) -> set[str]:
    """The terms plus, for each abbreviation the documents define, its long form's terms, and vice versa."""
    extra: set[str] = set()
    for short, long_terms in abbreviations.items():
        if short in terms:
            extra |= long_terms
        elif long_terms and long_terms <= terms:
            extra.add(short)
    return terms | extra


def build_unit_table(index: Index) -> UnitTable:
    units, chunks = index.units, index.chunks
    links = link_units(units)
    abbreviations = {short: frozenset(long) for short, long in defined_abbreviations(d.text for d in index.documents.values()).items()}

    def own(position: int) -> frozenset[str]:
        return frozenset(index_terms(units[position].text))

    def context(position: int) -> frozenset[str]:
        return frozenset(expand_abbreviations(abbreviations, set(index_terms(read_with_context(units, links, position)))))

    def bigrams(position: int) -> frozenset[tuple[str, str]]:
        terms = index_terms(units[position].text)
        return frozenset(zip(terms, terms[1:]))

    def chunk_terms(row: int) -> frozenset[str]:
        held: set[str] = set()
        for position in index.units_by_chunk.get(chunks[row].chunk_id, ()):
            held |= own(position)
        return frozenset(held or index_terms(chunks[row].text))

    def heading(row: int) -> frozenset[str]:
        return frozenset(index_terms(chunks[row].section))

    def title(row: int) -> frozenset[str]:
        return frozenset(index_terms(index.documents[chunks[row].doc_id].search_title))

    frequency: dict[str, int] = {}
    for position in range(len(units)):
        for term in context(position):
            frequency[term] = frequency.get(term, 0) + 1
    vocabulary = set(frequency)
    for row in range(len(chunks)):
        vocabulary |= heading(row) | title(row)
    total = max(len(units), 1)
    return UnitTable(
        index=index,
        links=links,
        context_terms=ComputedTerms(len(units), context),
        own_terms=ComputedTerms(len(units), own),
        bigrams=ComputedTerms(len(units), bigrams),
        has_number=np.array([bool(numbers(u.text)) for u in units], dtype=bool),
        position=np.array([u.start / max(len(index.documents[u.doc_id].text), 1) for u in units], dtype=np.float64),
        first_in_chunk=np.array([i == 0 or units[i - 1].chunk_id != u.chunk_id for i, u in enumerate(units)], dtype=bool),
        heading_terms=ComputedTerms(len(chunks), heading),
        title_terms=ComputedTerms(len(chunks), title),
        chunk_terms=ComputedTerms(len(chunks), chunk_terms),
        idf={t: math.log(1 + total / df) for t, df in frequency.items()},
        unknown_idf=math.log(1 + total),
        abbreviations=abbreviations,
        vocabulary=frozenset(vocabulary),
    )
