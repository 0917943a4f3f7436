"""From a citation to its passage in context and to the document's own references."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.errors import QAError
from qa.stores import Index
from qa.types import Chunk, Document, Reference
from qa.units import TRAILING_REFERENCES

CONTEXT_CHARS = 600  # surrounding text shown on each side of the passage, cut at a paragraph break


@dataclass(frozen=True)
class PassageContext:
    document: Document
    chunk: Chunk
    context_start: int  # the span shown: surrounding paragraphs plus the passage
    context_end: int
    quote_start: int  # the span marked as quoted (the chunk itself when no quote is given)
    quote_end: int
    references: tuple[Reference, ...]  # entries of the document's list that the passage points to
    missing_references: tuple[int, ...]  # numbers the passage cites that the list does not hold

    @property
    def before(self) -> str:
        return self.document.text[self.context_start : self.quote_start]

    @property
    def quote(self) -> str:
        return self.document.text[self.quote_start : self.quote_end]

    @property
    def after(self) -> str:
        return self.document.text[self.quote_end : self.context_end]

    @property
    def reference_note(self) -> str | None:
        if not self.missing_references:
            return None
        listed = len(self.document.references)
        numbers = ", ".join(str(n) for n in self.missing_references)
        if not listed:
            return f"The passage cites reference(s) {numbers}, but the document as captured has no reference list."
        return (
            f"The passage cites reference(s) {numbers}, but the document's reference list as captured has only "
            f"{listed} entr{'y' if listed == 1 else 'ies'}; those numbers cannot be resolved."
        )


def parse_span(span: str | None) -> tuple[int, int] | None:
    """"1234-1301" -> (1234, 1301)."""
    if span is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[-:]\s*(\d+)\s*", span)
    if not match or int(match.group(1)) >= int(match.group(2)):
        raise QAError(f"span must look like START-END with START < END, e.g. 1234-1301. Currently, span is {span!r}.")
    return int(match.group(1)), int(match.group(2))


def cited_reference_numbers(text: str) -> list[int]:
    """Reference numbers a passage's lines end with ("... spasticity) 1", "... conditions: 1, 2")."""
    found: list[int] = []
    for line in text.split("\n"):
        match = TRAILING_REFERENCES.search(line)
        if match:
            found.extend(int(n) for n in re.findall(r"\d+", match.group(1)))
    return sorted(set(found))


def passage_in_context(index: Index, chunk_id: str, span: tuple[int, int] | None = None) -> PassageContext:
    chunk = index.chunk(chunk_id)
    document = index.documents[chunk.doc_id]
    quote_start, quote_end = span if span else (chunk.start, chunk.end)
    if not (chunk.start <= quote_start < quote_end <= chunk.end):
        raise QAError(f"span {quote_start}-{quote_end} is outside passage {chunk_id} ({chunk.start}-{chunk.end}); use the span printed with the citation.")
    text = document.text
    context_start = max(0, chunk.start - CONTEXT_CHARS)
    paragraph = text.find("\n\n", context_start, chunk.start)
    context_start = paragraph + 2 if paragraph >= 0 else context_start
    context_end = min(len(text), chunk.end + CONTEXT_CHARS)
    paragraph = text.rfind("\n\n", chunk.end, context_end)
    context_end = paragraph if paragraph >= 0 else context_end
    has_list = any(s.kind == "references" for s in document.sections) or bool(document.references)
    numbers = cited_reference_numbers(chunk.text) if has_list else []
    by_number = {r.number: r for r in document.references}
    return PassageContext(
        document=document,
        chunk=chunk,
        context_start=context_start,
        context_end=context_end,
        quote_start=quote_start,
        quote_end=quote_end,
        references=tuple(by_number[n] for n in numbers if n in by_number),
        missing_references=tuple(n for n in numbers if n not in by_number),
    )
