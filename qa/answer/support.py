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

from qa.chunking import sentence_spans
from qa.citations import CITATION_MARKER
from qa.cleaning import TRAILING_REFERENCES
from qa.text import has_negation, index_terms, numbers

MIN_OVERLAP = 0.6
_VERDICT = re.compile(r"^\s*(yes|no)\.\s*", re.IGNORECASE)
_ITEM = re.compile(r"^(-|\d{1,3}[.)])\s+")


@dataclass(frozen=True)
class Statement:
    text: str
    citations: tuple[int, ...]  # the [n] markers right after it


def split_statements(answer: str) -> list[Statement]:
    """'A [1] B [2][3] C' -> A cites 1, B cites 2 and 3, C cites nothing."""
    statements: list[Statement] = []
    text: str | None = None
    cited: list[int] = []
    cursor = 0
    for match in CITATION_MARKER.finditer(answer):
        between = answer[cursor : match.start()].strip()
        if between:  # new text starts a new statement; markers with only spaces between share one
            if text is not None:
                statements.append(Statement(text, tuple(cited)))
            text, cited = between, []
        cited.append(int(match.group(1)))
        cursor = match.end()
    if text is not None:
        statements.append(Statement(text, tuple(cited)))
    tail = answer[cursor:].strip()
    if tail:
        statements.append(Statement(tail, ()))
    return statements


def supports(source: str, statement: str) -> bool:
    """Whether every part of the statement is supported by some single window of the source."""
    claim = _VERDICT.sub("", statement)  # a leading "Yes."/"No." restates the evidence's own polarity
    windows = _windows(source)
    return all(any(_sentence_supports(window, part) for window in windows) for part in _claim_parts(claim))


def _claim_parts(claim: str) -> list[str]:
    """Sentences of the claim, and the '; '-joined items of a list statement, judged one by one."""
    parts = [claim[s:e] for s, e in sentence_spans(claim, 0, len(claim))] or [claim]
    return [piece for part in parts for piece in part.split("; ") if piece.strip()]


def _windows(source: str) -> list[str]:
    """Each sentence of the source; each list item also with the lead-in line it belongs to."""
    windows = []
    lead_in = ""
    for line in source.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        is_item = bool(_ITEM.match(stripped))
        windows += [stripped[s:e] for s, e in sentence_spans(stripped, 0, len(stripped))] or [stripped]
        if is_item and lead_in:
            windows.append(f"{lead_in} {_ITEM.sub('', stripped)}")
        elif not is_item:
            lead_in = stripped
    # A lead-in (a paragraph or an item ending in ':') with everything indented under it, so that
    # "testing: copper levels, autoimmune markers" is judged against the nested list it summarises.
    lines = source.split("\n")
    for number, line in enumerate(lines):
        if _strip_references(line.strip()).endswith(":"):
            depth = len(line) - len(line.lstrip())
            block = [line.strip()]
            for following in lines[number + 1 :]:
                if not following.strip():
                    continue
                if len(following) - len(following.lstrip()) <= depth and not (depth == 0 and _ITEM.match(following.strip()) and not _ITEM.match(line.strip())):
                    break
                block.append(_ITEM.sub("", following.strip()))
            windows.append(" ".join(block))
    return windows or [source]


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
