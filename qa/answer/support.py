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

from qa.indexing.chunking import sentence_spans
from qa.render.citations import CITATION_MARKER
from qa.ingest.cleaning import TRAILING_REFERENCES
from qa.text import has_negation, index_terms, numbers

MIN_OVERLAP = 0.6
_VERDICT = re.compile(r"^\s*(yes|no)\.\s*", re.IGNORECASE)
_ITEM = re.compile(r"^(-|\d{1,3}[.)])\s+")


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
    """Each sentence of the source; each list item also with the lead-in line it belongs to."""
    lines = []  # (stripped line, its start, its end) in the source
    offset = 0
    for line in source.split("\n"):
        leading = len(line) - len(line.lstrip())
        lines.append((line, offset + leading, offset + len(line.rstrip())))
        offset += len(line) + 1
    windows: list[_Window] = []
    lead_in: tuple[str, int] | None = None
    for line, start, end in lines:
        stripped = line.strip()
        if not stripped:
            continue
        is_item = bool(_ITEM.match(stripped))
        sentences = [_Window(stripped[s:e], start + s, start + e) for s, e in sentence_spans(stripped, 0, len(stripped))]
        windows += sentences or [_Window(stripped, start, end)]
        if is_item and lead_in:
            windows.append(_Window(f"{lead_in[0]} {_ITEM.sub('', stripped)}", lead_in[1], end))
        elif not is_item:
            lead_in = (stripped, start)
    # A lead-in (a paragraph or an item ending in ':') with everything indented under it, so that
    # "testing: copper levels, autoimmune markers" is judged against the nested list it summarises.
    for number, (line, start, end) in enumerate(lines):
        if _strip_references(line.strip()).endswith(":"):
            depth = len(line) - len(line.lstrip())
            block, block_end = [line.strip()], end
            for following, _, following_end in lines[number + 1 :]:
                if not following.strip():
                    continue
                if len(following) - len(following.lstrip()) <= depth and not (depth == 0 and _ITEM.match(following.strip()) and not _ITEM.match(line.strip())):
                    break
                block.append(_ITEM.sub("", following.strip()))
                block_end = following_end
            windows.append(_Window(" ".join(block), start, block_end))
    return windows or [_Window(source, 0, len(source))]


def _strip_references(line: str) -> str:
    found = TRAILING_REFERENCES.search(line)
    return line[: found.start()] if found else line


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
