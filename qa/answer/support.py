"""A model-free check that a cited passage supports the statement it follows.

A source supports a statement when each part of it (a sentence, or one item of a "lead-in: a; b" list
statement) has a window of the source (a sentence, or a list item read with its lead-in) that:
* it contains at least ``MIN_OVERLAP`` of the statement's content words (stemmed, stopwords dropped),
* every number the statement gives appears in it, and
* both negate or neither does ("not", "no", "never", "without" ...), so "MRI does not show X" never
  supports "MRI shows X".
It is deliberately strict and simple: it judges any answerer (the extractive default or an LLM plug-in)
the same way, and its verdicts are unit-tested on crafted supported and unsupported pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer.base import CITATION_MARKER
from qa.types import Unit
from qa.units import link_units, parse_units, read_with_context, sentence_spans
from qa.text import has_negation, index_terms, numbers

MIN_OVERLAP = 0.6
_VERDICT = re.compile(r"^\s*(yes|no)\.\s*", re.IGNORECASE)


@dataclass(frozen=True)
class MarkedStatement:
    text: str
    citations: tuple[int, ...]  # the [n] markers right after it


def split_statements(answer: str) -> list[MarkedStatement]:
    """'A [1] B [2][3] C' -> A cites 1, B cites 2 and 3, C cites nothing."""
    statements: list[MarkedStatement] = []
    text: str | None = None
    cited: list[int] = []
    cursor = 0
    for match in CITATION_MARKER.finditer(answer):
        between = answer[cursor : match.start()].strip()
        if between:  # new text starts a new statement; markers with only spaces between share one
            if text is not None:
                statements.append(MarkedStatement(text, tuple(cited)))
            text, cited = between, []
        cited.append(int(match.group(1)))
        cursor = match.end()
    if text is not None:
        statements.append(MarkedStatement(text, tuple(cited)))
    tail = answer[cursor:].strip()
    if tail:
        statements.append(MarkedStatement(tail, ()))
    return statements


def supports(source: str, statement: str) -> bool:
    """Whether every part of the statement is supported by some single window of the source."""
    return supporting_span(source, statement) is not None


def supporting_span(source: str, statement: str) -> tuple[int, int] | None:
    """The span of the source (offsets into it) covering the windows that support each part of the
    statement, or None when some part has no supporting window. It is what a citation quotes."""
    claim = _VERDICT.sub("", statement)  # a leading "Yes."/"No." restates the evidence's own polarity
    windows = _windows(source)
    found = []
    for part in _claim_parts(claim):
        window = next((w for w in windows if _sentence_supports(w.text, part)), None)
        if window is None:
            return None
        found.append(window)
    if not found:
        return None
    return min(w.start for w in found), max(w.end for w in found)


def _claim_parts(claim: str) -> list[str]:
    """Sentences of the claim, and the '; '-joined items of a list statement, judged one by one."""
    parts = [claim[s:e] for s, e in sentence_spans(claim, 0, len(claim))] or [claim]
    return [piece for part in parts for piece in part.split("; ") if piece.strip()]


@dataclass(frozen=True)
class _Window:
    text: str
    start: int  # span in the source it was read from
    end: int


def _windows(source: str) -> list[_Window]:
    """Each sentence of the source, and each unit read with its context (qa/units.py): an item with its
    lead-in, a lead-in with its items ("testing: copper levels; autoimmune markers"), a "This ..." sentence
    with the one before it."""
    spans, _ = parse_units(source, 0, len(source))
    units = tuple(Unit("", "", span.kind, span.start, span.end, source[span.start : span.end], span.list_id, span.introduces) for span in spans)
    links = link_units(units)
    windows: list[_Window] = []
    for position, unit in enumerate(units):
        windows += [_Window(source[s:e], s, e) for s, e in sentence_spans(source, unit.start, unit.end)]
        context = links.context(position)
        if len(context) > 1:
            windows.append(_Window(read_with_context(units, links, position), units[context[0]].start, max(units[p].end for p in context)))
    return windows or [_Window(source, 0, len(source))]


def _sentence_supports(window: str, claim: str) -> bool:
    window_terms = set(index_terms(window))
    if not _overlaps(claim, window_terms) or not numbers(claim) <= numbers(window):
        return False
    # A "not" elsewhere in the passage must not count: polarity is compared sentence to sentence.
    if has_negation(claim) != has_negation(window):
        return False
    # "Lead-in: items": the items are the content, so they must be found too, not carried by the lead-in.
    head, colon, tail = claim.rpartition(": ")
    return not colon or _overlaps(tail, window_terms)


def _overlaps(claim: str, window_terms: set[str]) -> bool:
    claim_terms = set(index_terms(claim))
    return bool(claim_terms) and len(claim_terms & window_terms) / len(claim_terms) >= MIN_OVERLAP
