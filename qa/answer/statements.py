"""From a chosen unit to the statement an answer quotes: the unit read as a reader needs it.

* A list item comes with its lead-in ("CT is an acceptable alternative when: MRI access is delayed").
* A lead-in never stands alone: it brings its items, cut to the best-scoring ones when the list is long.
* When the list rather than one item answers (short items, several strong ones, a list question, a list
  under a heading the question names), the whole list is the statement; a nested list climbs to its
  parent list when the parent is what was asked about.
* A "This procedure ..." sentence comes with the sentence it refers to.
Every statement keeps the span it quotes, so its citation opens exactly that text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer.unit_table import UnitTable
from qa.types import Unit

STRONG_SIBLING = 0.8  # an item scoring this share of the chosen one counts as another answer in the same list
SHORT_ITEM = 40  # characters; shorter items make sense only as part of their list
HEADING_ASKED = 2  # question terms a list's heading must hold for the list to be answered whole
MIN_WORDS = 3  # a sentence shorter than this ("2015 Jul.", "Figure 2.") says nothing on its own
KEYWORDS_LINE = re.compile(r"^(key ?words|mesh terms|abbreviations)\s*:", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def can_stand(unit: Unit, heading: str, title: str) -> bool:
    """Whether a unit can be quoted as a statement: never a keywords line, never a heading (the passage's
    section heading or the document's title, or a short line in title case with no closing punctuation),
    never a line mostly of figures and punctuation, never a sentence of fewer than MIN_WORDS words; an item or
    a lead-in is read with its list."""
    text = unit.text.strip()
    bare = text.rstrip(".").strip().lower()
    if KEYWORDS_LINE.match(text) or bare in (heading.strip().lower(), title.strip().lower()):
        return False
    if unit.kind != "sentence":
        return True
    words = text.split()
    if sum(c.isalpha() for c in text) < 0.5 * sum(not c.isspace() for c in text):
        return False  # mostly figures and punctuation: a reference line ("2015 Jul;52(1):137-9. doi: ..."), a table row
    long_words = [w for w in _WORD.findall(text) if len(w) > 3]
    heading_like = text[-1] not in ".!?:;" and len(words) <= 12 and long_words and sum(w[0].isupper() for w in long_words) >= 0.6 * len(long_words)
    return len(words) >= MIN_WORDS and not heading_like


@dataclass(frozen=True)
class Statement:
    text: str
    unit_positions: tuple[int, ...]  # the units it quotes (lead-in included)
    doc_id: str
    chunk_id: str
    start: int  # the span it quotes in the document's text
    end: int
    score: float


class StatementBuilder:
    def __init__(self, table: UnitTable, max_chars: int):
        self.table = table
        self.units = table.index.units
        self.max_chars = max_chars

    def statement_for(self, position: int, scores: dict[int, float], list_question: bool, question_terms: set[str]) -> Statement:
        unit = self.units[position]
        links = self.table.links
        if unit.list_id >= 0 and self._whole_list_answers(position, scores, list_question, question_terms):
            list_id = unit.list_id
            lead = links.list_lead_in.get((unit.doc_id, list_id))
            while lead is not None and self.units[lead].list_id >= 0 and self._whole_list_answers(lead, scores, list_question, question_terms):
                list_id = self.units[lead].list_id  # a nested list climbs to its parent when the parent is asked about
                lead = links.list_lead_in.get((unit.doc_id, list_id))
            return self.list_statement(unit.doc_id, list_id, scores)
        if unit.kind == "lead-in" and unit.introduces >= 0:
            return self.list_statement(unit.doc_id, unit.introduces, scores)
        text = _sentence(unit.text)
        score = scores.get(position, 0.0)
        lead = links.lead_in.get(position) if unit.kind == "item" else None
        if lead is not None:  # "MRI access is delayed" means nothing without "CT is an acceptable alternative when:"
            lead_in = self.units[lead]
            return Statement(f"{lead_in.text} {_lower_first(text)}", (lead, position), unit.doc_id, lead_in.chunk_id, lead_in.start, unit.end, score)
        before = links.antecedent.get(position)
        if before is not None:  # "This procedure is ..." is unreadable without the sentence naming it
            antecedent = self.units[before]
            return Statement(f"{antecedent.text} {text}", (before, position), unit.doc_id, unit.chunk_id, antecedent.start, unit.end, score)
        return Statement(text, (position,), unit.doc_id, unit.chunk_id, unit.start, unit.end, score)

    def list_statement(self, doc_id: str, list_id: int, scores: dict[int, float]) -> Statement:
        """A list as one statement: its lead-in (if any) and its items, cut to the best items if long."""
        links = self.table.links
        lead_position = links.list_lead_in.get((doc_id, list_id))
        lead_in = self.units[lead_position] if lead_position is not None else None
        parts = []
        for p in links.lists.get((doc_id, list_id), ()):
            unit = self.units[p]
            text = unit.text.rstrip(".")
            if unit.kind == "lead-in" and unit.introduces >= 0:
                children = [self.units[c].text.rstrip(".") for c in links.lists.get((doc_id, unit.introduces), ())]
                text = f"{text} {', '.join(_lower_first(c) for c in children)}" if children else text
            parts.append((p, text))
        budget = self.max_chars - (len(lead_in.text) if lead_in else 0)
        if sum(len(t) + 2 for _, t in parts) > budget:  # keep the best-scoring items, in document order
            kept, used = set(), 0
            for p, t in sorted(parts, key=lambda pt: -scores.get(pt[0], 0.0)):
                if used + len(t) + 2 <= budget or not kept:
                    kept.add(p)
                    used += len(t) + 2
            parts = [pt for pt in parts if pt[0] in kept]
        body = "; ".join(_lower_first(t) for _, t in parts)
        text = f"{lead_in.text} {body}." if lead_in else f"{body[0].upper()}{body[1:]}."
        positions = [p for p, _ in parts]
        first = lead_in or self.units[positions[0]]
        last = self.units[positions[-1]]
        nested = links.lists.get((doc_id, last.introduces), ()) if last.introduces >= 0 else ()
        end = max([last.end, *(self.units[c].end for c in nested)])
        covered = ([lead_position] if lead_position is not None else []) + positions
        return Statement(text, tuple(covered), doc_id, first.chunk_id, first.start, end, max(scores.get(p, 0.0) for p in covered))

    def _whole_list_answers(self, position: int, scores: dict[int, float], list_question: bool, question_terms: set[str]) -> bool:
        """Whether the list this unit belongs to, rather than the unit alone, answers the question."""
        unit: Unit = self.units[position]
        links = self.table.links
        score = scores.get(position, 0.0)
        has_lead_in = (unit.doc_id, unit.list_id) in links.list_lead_in
        siblings = [p for p in links.lists.get((unit.doc_id, unit.list_id), ()) if p != position]
        strong_siblings = sum(1 for p in siblings if scores.get(p, 0.0) >= STRONG_SIBLING * score)
        # A list under a heading the question names ("Step 3: Laboratory Testing") is answered whole.
        heading_asked = len(self.table.heading_terms[self.table.index.chunk_positions[unit.chunk_id]] & question_terms) >= HEADING_ASKED
        return (
            (unit.kind == "item" and len(unit.text) < SHORT_ITEM)
            or strong_siblings >= 2
            or (not has_lead_in and heading_asked)
            or (list_question and (has_lead_in or strong_siblings >= 1))
        )

    def terms_of(self, statement: Statement) -> set[str]:
        terms: set[str] = set()
        for position in statement.unit_positions:
            terms |= self.table.context_terms[position]
        return terms


def _sentence(text: str) -> str:
    return text if text[-1] in ".!?" else text + "."


def _lower_first(text: str) -> str:
    # "Saddle anesthesia" -> "saddle anesthesia" inside a sentence, but keep acronyms such as "MRI".
    return text[0].lower() + text[1:] if len(text) > 1 and text[0].isupper() and not text[1].isupper() else text
