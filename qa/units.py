"""Sentence units and the context each one is read with: the one set of rules that the indexer (what is
embedded), the answerer (what is scored and quoted) and the support check (what a statement is judged
against) all use.

A unit is a sentence, a list item, or a list lead-in (the line ending in ':' that a list follows).
Read on its own, a unit can mean little, so each is read with its context:

* a lead-in with the items of the list it introduces;
* an item with the lead-in of its list ("CT is an acceptable alternative when:" + "MRI access is
  delayed"); so is a nested lead-in whose own list lies in another passage;
* a sentence opening with "This", "It", "Such" ... with the sentence before it.

Also here: the list-item patterns, one per kind of text they read, side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from qa.types import Unit

# A bullet or number opening a line of a source file, as people type them ("•", "-", "*", "–", "1.", "2)").
RAW_BULLET = re.compile(r"^(?P<indent>\s*)(?P<marker>[•\-*–·▪◦]|\d{1,3}[.)])\s+(?P<body>\S.*)$")
# A list item in cleaned text, which writes every item as "- item" or "1. item" (nested: indented by two).
CLEAN_ITEM = re.compile(r"^(?P<indent> *)(?P<marker>-|\d{1,3}[.)]) (?P<body>.*)$")
# A bullet a language model put before a line of its reply.
MODEL_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
# Reference numbers a sentence ends with: "... spasticity) 1" or "... conditions: 1, 2".
TRAILING_REFERENCES = re.compile(r"(?<=[^\s\d])\s+(\d{1,2}(?:\s*,\s*\d{1,2})*)\s*$")

_ABBREVIATIONS = {"vs", "e.g", "i.e", "dr", "al", "fig", "figs", "approx", "no", "st", "mr", "ms", "mrs", "cf", "ca", "ref"}
_SENTENCE_END = re.compile(r"[.!?][\"”')\]]?\s+(?=[A-Z0-9(\"“\[])")
_ONLY_REFERENCE_NUMBERS = re.compile(r"^\d{1,2}(?:\s*,\s*\d{1,2})*$")
_ANAPHOR = re.compile(r"^(this|these|that|those|it|they|such)\b", re.IGNORECASE)


def strip_reference_numbers(text: str) -> str:
    found = TRAILING_REFERENCES.search(text)
    return text[: found.start()] if found else text


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans within text[start:end], skipping splits after common abbreviations."""
    spans = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        before = text[cursor : match.start()]
        last_word = re.split(r"[\s(]", before)[-1]
        if last_word.lower() in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isupper()):
            continue  # "vs.", "e.g.", "et al.", an initial such as "P."

        closing = 2 if match.group(0)[1:2] in {'"', "”", "'", ")", "]"} else 1
        spans.append((cursor, match.start() + closing))
        cursor = match.end()
    spans.append((cursor, end))
    return [(s, e) for s, e in (trim(text, s, e) for s, e in spans) if e > s]


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@dataclass(frozen=True)
class UnitSpan:
    """A unit found in a text, before it belongs to a chunk."""

    kind: str  # "sentence" | "item" | "lead-in"
    start: int
    end: int
    list_id: int = -1
    introduces: int = -1


def parse_units(text: str, start: int, end: int, first_list_id: int = 0) -> tuple[list[UnitSpan], int]:
    """The units of text[start:end], in order, and the last list id used: lists are numbered from
    ``first_list_id + 1`` (pass the returned id on to number the next part of the same document)."""
    units: list[UnitSpan] = []
    list_counter = first_list_id
    stack: list[tuple[int, int]] = []  # (indent, list id) of the lists open at this line, for nesting
    pending_lead_in: int | None = None  # the lead-in waiting for its list (across a blank line)
    cursor = start
    for line in text[start:end].split("\n"):
        line_start = cursor
        cursor += len(line) + 1
        if not line.strip():
            stack = []
            continue
        item = CLEAN_ITEM.match(line)
        if item:
            indent = len(item.group("indent"))
            while stack and stack[-1][0] > indent:
                stack.pop()
            if not stack or stack[-1][0] < indent:
                list_counter += 1
                stack.append((indent, list_counter))
                opener = pending_lead_in if pending_lead_in is not None else (len(units) - 1 if units and units[-1].kind == "lead-in" and units[-1].introduces == -1 else None)
                if opener is not None:
                    units[opener] = _with(units[opener], introduces=list_counter)
            pending_lead_in = None
            body_start = line_start + item.start("body")
            s, e = trim(text, body_start, body_start + len(strip_reference_numbers(item.group("body"))))
            if e > s:
                units.append(UnitSpan("lead-in" if text[e - 1] == ":" else "item", s, e, list_id=stack[-1][1]))
            continue
        stack = []
        for s, e in sentence_spans(text, line_start, line_start + len(strip_reference_numbers(line))):
            if not _ONLY_REFERENCE_NUMBERS.match(text[s:e]):
                units.append(UnitSpan("sentence", s, e))
        if units and text[units[-1].end - 1] == ":":
            units[-1] = _with(units[-1], kind="lead-in")
            pending_lead_in = len(units) - 1
    return units, list_counter


def _with(unit: UnitSpan, **changes) -> UnitSpan:
    from dataclasses import replace

    return replace(unit, **changes)


@dataclass(frozen=True)
class UnitLinks:
    """How the units of an index (or of one text) refer to each other, by position in their sequence."""

    lead_in: dict[int, int]  # a unit in a list -> the lead-in of that list
    items: dict[int, tuple[int, ...]]  # a lead-in -> the units of the list it introduces, in order
    antecedent: dict[int, int]  # a "This ..." sentence -> the sentence before it
    lists: dict[tuple[str, int], tuple[int, ...]]  # (document, list id) -> its units, in order
    list_lead_in: dict[tuple[str, int], int]  # (document, list id) -> the lead-in introducing it

    def context(self, position: int) -> tuple[int, ...]:
        """The units read with this one, itself included, in reading order."""
        if position in self.items:
            return (position, *self.items[position])
        if position in self.lead_in:
            return (self.lead_in[position], position)
        if position in self.antecedent:
            return (self.antecedent[position], position)
        return (position,)


def link_units(units: Sequence[Unit]) -> UnitLinks:
    """Links between units; list ids are unique within a document, so lists are keyed by document too."""
    lead_of: dict[tuple[str, int], int] = {}
    members: dict[tuple[str, int], list[int]] = {}
    for position, unit in enumerate(units):
        if unit.kind == "lead-in" and unit.introduces >= 0:
            lead_of[(unit.doc_id, unit.introduces)] = position
        if unit.list_id >= 0:
            members.setdefault((unit.doc_id, unit.list_id), []).append(position)
    lead_in = {p: lead_of[key] for key, positions in members.items() if key in lead_of for p in positions}
    items = {lead: tuple(members.get(key, ())) for key, lead in lead_of.items()}
    antecedent = {
        i: i - 1
        for i, u in enumerate(units)
        if u.kind == "sentence" and i > 0 and _ANAPHOR.match(u.text) and units[i - 1].chunk_id == u.chunk_id and units[i - 1].kind == "sentence"
    }
    return UnitLinks(lead_in, items, antecedent, {k: tuple(v) for k, v in members.items()}, lead_of)


def read_with_context(units: Sequence[Unit], links: UnitLinks, position: int) -> str:
    """The unit's text with its context: "lead-in item", "lead-in item; item", "before. This ..."."""
    context = links.context(position)
    if position in links.items:
        return f"{units[position].text} {'; '.join(units[p].text for p in context[1:])}".rstrip()
    return " ".join(units[p].text for p in context)
