"""Split cleaned documents into chunks (what retrieval ranks) and units (what answers quote).

Chunks follow the document's structure: one section's paragraphs and lists, packed up to
what the embedding model reads (``max_tokens`` word pieces including the title and section
prefix that is embedded with them). A list stays with its lead-in sentence. Oversized blocks
split at item, then sentence, then word boundaries. Invariant: ``doc.text[c.start:c.end] == c.text``.

Units are the sentences, list items and list lead-ins inside chunks, with the document's own
trailing reference numbers ("... spasticity) 1") left out of their span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from qa.ingest.cleaning import DATE_LINE, find_printed_date
from qa.units import CLEAN_ITEM, parse_units, sentence_spans, strip_reference_numbers
from qa.errors import QAError
from qa.types import Chunk, Document, Unit

TokenCounter = Callable[[str], int]


def approximate_tokens(text: str) -> int:
    """Rough word-piece count (about 4 characters each) for when no tokenizer is at hand."""
    return len(text) // 4 + 2


def embedding_prefix(title: str, section: str) -> str:
    """What is embedded (and BM25-indexed) before a chunk's own text."""
    head = f"{title}\n" if title else ""
    return f"{head}{section}\n" if section else head


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    is_list: bool


def _blocks(text: str, start: int, end: int) -> list[_Block]:
    """Paragraph and list blocks of a section body; a lead-in ending with ':' joins its list."""
    blocks: list[_Block] = []
    position = start
    for piece in text[start:end].split("\n\n"):
        piece_start, piece_end = position, position + len(piece)
        position = piece_end + 2
        if not piece.strip():
            continue
        if DATE_LINE.match(piece.strip()) and "\n" not in piece.strip() and len(piece) < 80 and find_printed_date(piece):
            continue  # "Last updated: May 1, 2025" belongs to the metadata, not to an answerable passage
        is_list = bool(CLEAN_ITEM.match(piece.split("\n", 1)[0]))
        if is_list and blocks and not blocks[-1].is_list and _ends_with_colon(text[blocks[-1].start : blocks[-1].end]):
            blocks[-1] = _Block(blocks[-1].start, piece_end, True)
        else:
            blocks.append(_Block(piece_start, piece_end, is_list))
    return blocks


def _ends_with_colon(line: str) -> bool:
    return strip_reference_numbers(line.rstrip()).endswith(":")


def _split_oversized(text: str, block: _Block, fits: Callable[[int, int], bool], budget: int) -> list[tuple[int, int]]:
    """Split a block that does not fit: at lines (list items), then sentences, then words."""
    pieces: list[tuple[int, int]] = []
    if block.is_list:
        units, cursor = [], block.start
        for line in text[block.start : block.end].split("\n"):
            units.append((cursor, cursor + len(line)))
            cursor += len(line) + 1
    else:
        units = sentence_spans(text, block.start, block.end)
    current: tuple[int, int] | None = None
    for unit_start, unit_end in units:
        if current and fits(current[0], unit_end):
            current = (current[0], unit_end)
            continue
        if current:
            pieces.append(current)
        if fits(unit_start, unit_end):
            current = (unit_start, unit_end)
            continue
        current = None  # a single sentence too long for the model: split between words
        pieces.extend(_split_between_words(text, unit_start, unit_end, fits, budget))
    if current:
        pieces.append(current)
    return pieces


# A word piece spans at most about 20 characters, so a piece that fits the budget is never longer
# than this many characters per token: it bounds the search window on very long lines.
MAX_CHARS_PER_TOKEN = 20


def _split_between_words(text: str, start: int, end: int, fits: Callable[[int, int], bool], budget: int) -> list[tuple[int, int]]:
    """Greedy pieces that fit, each found by binary search over word ends within a bounded window
    (a few token counts of at most a few kB per piece, so a multi-megabyte single line stays fast)."""
    from bisect import bisect_right

    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    word_ends = [w[1] for w in words]
    pieces = []
    first = 0
    while first < len(words):
        window_end = words[first][0] + budget * MAX_CHARS_PER_TOKEN
        low, high = first, max(first, bisect_right(word_ends, window_end) - 1)  # the last word end that still fits
        while low < high:
            middle = (low + high + 1) // 2
            if fits(words[first][0], word_ends[middle]):
                low = middle
            else:
                high = middle - 1
        pieces.append((words[first][0], word_ends[low]))  # a single over-long "word" stands alone
        first = low + 1
    return pieces


def split_document(document: Document, max_tokens: int = 256, count_tokens: TokenCounter = approximate_tokens) -> tuple[Chunk, ...]:
    if max_tokens < 32:
        raise QAError(f"max_tokens must be at least 32 word pieces. Currently, max_tokens is {max_tokens}.")
    text = document.text
    chunks: list[Chunk] = []
    for section in document.sections:
        if section.kind != "body":
            continue
        budget = max_tokens - count_tokens(embedding_prefix(document.search_title, section.heading)) + 2
        budget = max(budget, 16)

        def fits(start: int, end: int) -> bool:
            return count_tokens(text[start:end]) <= budget

        pieces: list[tuple[int, int]] = []
        current: tuple[int, int] | None = None
        for block in _blocks(text, section.start, section.end):
            if current and fits(current[0], block.end):
                current = (current[0], block.end)
                continue
            if current:
                pieces.append(current)
            if fits(block.start, block.end):
                current = (block.start, block.end)
            else:
                parts = _split_oversized(text, block, fits, budget)
                pieces.extend(parts[:-1])
                current = parts[-1] if parts else None
        if current:
            pieces.append(current)
        for start, end in pieces:
            ordinal = len(chunks)
            chunks.append(Chunk(f"{document.doc_id}#{ordinal}", document.doc_id, ordinal, section.heading, start, end, text[start:end], document.page_at(start)))
    return tuple(chunks)


def split_units(document: Document, chunks: tuple[Chunk, ...]) -> tuple[Unit, ...]:
    """Sentences, list items and lead-ins of each chunk, in document order (qa/units.py)."""
    units: list[Unit] = []
    list_counter = 0
    text = document.text
    for chunk in chunks:
        spans, list_counter = parse_units(text, chunk.start, chunk.end, list_counter)
        for span in spans:
            units.append(Unit(chunk.chunk_id, document.doc_id, span.kind, span.start, span.end, text[span.start : span.end], span.list_id, span.introduces))
    return tuple(units)
