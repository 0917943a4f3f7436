"""The reader's part in an answer (qa/answer/reader.py): which candidates it reads, how its score joins the
feature ranker's, and what it says about the chosen statements (the answer span, the yes/no verdict).

The fitted ranker orders every candidate unit by its signals; the reader then reads the best ``count`` that
can stand as statements (one batch), and the fitted combination of the two scores (``rerank`` in
model.json) orders those. A candidate the reader did not read is never quoted while it reads any.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np

from qa.answer.base import CITATION_MARKER
from qa.answer.reader import Passage, Reader, Reading, passage_for
from qa.answer.signals import Candidates
from qa.answer.statements import can_stand
from qa.answer.unit_table import UnitTable

@dataclass(frozen=True)
class Read:
    """The candidates the reader read (rows of Candidates, best ranked first) and what it read in each."""

    rows: tuple[int, ...]
    readings: tuple[Reading, ...]

    def reading_for(self, row: int) -> Reading | None:
        return self.readings[self.rows.index(row)] if row in self.rows else None

    @property
    def top(self) -> float:
        """The highest reader score: how surely some candidate answers."""
        return max((r.score for r in self.readings), default=-10.0)


NOTHING_READ = Read((), ())


_STANDING: "weakref.WeakKeyDictionary[UnitTable, dict[int, bool]]" = weakref.WeakKeyDictionary()  # per table: unit -> can stand
_STANDING_LOCK = threading.Lock()


def standing_rows(table: UnitTable, candidates: Candidates) -> list[int]:
    """The candidate rows that can stand as statements (qa/answer/statements.py); each unit's answer is kept with its
    table, as the table's units never change."""
    index = table.index
    with _STANDING_LOCK:
        known = _STANDING.setdefault(table, {})
    rows = []
    for row, position in enumerate(candidates.positions):
        if position not in known:
            unit = index.units[position]
            known[position] = can_stand(unit, index.chunk(unit.chunk_id).section, index.documents[unit.doc_id].title)
        if known[position]:
            rows.append(row)
    return rows


def rows_to_read(table: UnitTable, candidates: Candidates, rank_scores: np.ndarray, count: int) -> tuple[int, ...]:
    """The ``count`` best-ranked candidate rows that can stand as statements, best first."""
    standing = set(standing_rows(table, candidates))
    return tuple([int(r) for r in np.argsort(-rank_scores, kind="stable") if int(r) in standing][:count])


def read_rows(reader: Reader, question: str, table: UnitTable, candidates: Candidates, rows: tuple[int, ...]) -> Read:
    """The reader over the given candidate rows, in one batch (as an answer reads them)."""
    if not rows:
        return NOTHING_READ
    passages = [passage_for(table.index, table.links, candidates.positions[r]) for r in rows]
    return Read(tuple(rows), tuple(reader.read(question, passages)))


def read_candidates(reader: Reader, question: str, table: UnitTable, candidates: Candidates, rank_scores: np.ndarray, count: int) -> Read:
    """The reader over the ``count`` best-ranked candidates that can stand, in one batch."""
    return read_rows(reader, question, table, candidates, rows_to_read(table, candidates, rank_scores, count))


def combined_scores(read: Read, rank_scores: np.ndarray, rerank) -> np.ndarray:
    """Every candidate's score: the read ones by the fitted combination of reader and ranker, the others
    below all of them (-inf); the ranker's own scores when nothing was read."""
    if not read.rows:
        return rank_scores
    combined = np.full(len(rank_scores), -np.inf)
    values = np.array([[reading.score, rank_scores[row]] for row, reading in zip(read.rows, read.readings)])
    combined[list(read.rows)] = rerank.score(values)
    return combined


def bold_span(statement_text: str, unit_text: str, reading: Reading) -> tuple[int, int] | None:
    """Where the reader's answer span stands in a statement's text (which may add a lead-in before the
    unit, or lower its first letter), or None when it cannot be found there."""
    span = unit_text[reading.span[0] : reading.span[1]].strip().rstrip(".")
    if not span or span == unit_text.strip().rstrip("."):
        return None  # the whole statement: nothing to pick out
    at = statement_text.find(span)
    if at < 0:
        at = statement_text.lower().find(span.lower())
    if at < 0:
        return None
    start, end = at, at + len(span)
    while start > 0 and statement_text[start - 1].isalnum():  # whole words only: never "deficit**s"
        start -= 1
    while end < len(statement_text) and statement_text[end].isalnum():
        end += 1
    return start, end


def statement_reading(reader: Reader, question: str, statement_text: str) -> Reading:
    """The statement as the user sees it (its citation markers dropped), read alone against the question: what a
    Yes or No opening the answer must agree with."""
    return reader.read(question, [Passage("", "", CITATION_MARKER.sub("", statement_text).strip())])[0]
