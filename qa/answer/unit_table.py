"""What the answerer knows about an index's units before any question is asked.

For every unit (sentence, list item, lead-in): its stemmed terms read with its context (qa/units.py),
abbreviations the documents define expanded both ways; its own terms and term pairs; whether it gives a
figure; where it stands in its document. For every passage: its heading's and its document title's terms.
And the index's inverse document frequencies over units. Built once per loaded index, shared by every
question, never changed afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.stores import Index
from qa.text import defined_abbreviations, index_terms, numbers
from qa.units import UnitLinks, link_units, read_with_context


@dataclass(frozen=True)
class UnitTable:
    index: Index
    links: UnitLinks
    context_terms: tuple[frozenset[str], ...]  # per unit: its terms read with its context, abbreviations expanded
    own_terms: tuple[frozenset[str], ...]  # per unit: the terms of its own text
    bigrams: tuple[frozenset[tuple[str, str]], ...]  # per unit: consecutive term pairs of its own text
    has_number: np.ndarray  # per unit: it gives a figure
    position: np.ndarray  # per unit: where it starts in its document, 0 (opening) to 1 (end)
    first_in_chunk: np.ndarray  # per unit: it opens its passage
    heading_terms: tuple[frozenset[str], ...]  # per passage: its section heading's terms
    title_terms: tuple[frozenset[str], ...]  # per passage: its document title's terms
    chunk_terms: tuple[frozenset[str], ...]  # per passage: the terms of all its units
    idf: dict[str, float]
    unknown_idf: float  # the weight of a term no unit uses
    abbreviations: dict[str, frozenset[str]]
    vocabulary: frozenset[str]  # every term of a unit, a heading or a title

    def expand(self, terms: set[str]) -> set[str]:
        """The terms plus, for each abbreviation the documents define, its long form's terms, and vice versa."""
        extra: set[str] = set()
        for short, long_terms in self.abbreviations.items():
            if short in terms:
                extra |= long_terms
            elif long_terms and long_terms <= terms:
                extra.add(short)
        return terms | extra

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unknown_idf)


def build_unit_table(index: Index) -> UnitTable:
    units = index.units
    links = link_units(units)
    abbreviations = {short: frozenset(long) for short, long in defined_abbreviations(d.text for d in index.documents.values()).items()}
    table = UnitTable(index, links, (), (), (), np.zeros(0, bool), np.zeros(0), np.zeros(0, bool), (), (), (), {}, 0.0, abbreviations, frozenset())
    own = tuple(frozenset(index_terms(u.text)) for u in units)
    context = tuple(frozenset(table.expand(set(index_terms(read_with_context(units, links, i))))) for i in range(len(units)))
    bigrams = []
    for unit in units:
        terms = index_terms(unit.text)
        bigrams.append(frozenset(zip(terms, terms[1:])))
    frequency: dict[str, int] = {}
    for terms in context:
        for term in terms:
            frequency[term] = frequency.get(term, 0) + 1
    total = max(len(context), 1)
    chunk_terms = []
    for chunk in index.chunks:
        held: set[str] = set()
        for position in index.units_by_chunk.get(chunk.chunk_id, ()):
            held |= own[position]
        chunk_terms.append(frozenset(held or index_terms(chunk.text)))
    heading_terms = tuple(frozenset(index_terms(c.section)) for c in index.chunks)
    title_terms = tuple(frozenset(index_terms(index.documents[c.doc_id].search_title)) for c in index.chunks)
    return UnitTable(
        index=index,
        links=links,
        context_terms=context,
        own_terms=own,
        bigrams=tuple(bigrams),
        has_number=np.array([bool(numbers(u.text)) for u in units], dtype=bool),
        position=np.array([u.start / max(len(index.documents[u.doc_id].text), 1) for u in units], dtype=np.float64),
        first_in_chunk=np.array([i == 0 or units[i - 1].chunk_id != u.chunk_id for i, u in enumerate(units)], dtype=bool),
        heading_terms=heading_terms,
        title_terms=title_terms,
        chunk_terms=tuple(chunk_terms),
        idf={t: math.log(1 + total / df) for t, df in frequency.items()},
        unknown_idf=math.log(1 + total),
        abbreviations=abbreviations,
        vocabulary=frozenset(frequency).union(*heading_terms, *title_terms),
    )
