"""Turn a scraped page's text into clean, structured text.

The output text is canonical: blocks separated by one blank line; the title first; headings
on their own line; list items as ``- item`` (nested ``  - item``) or ``1. item``; the
reference list as ``1. entry`` lines under its heading. Every offset in the system points
into this text, so cleaning runs once, at load time.

What is dropped: site navigation, government banners, personalisation prompts, review-status
banners, disclaimers and calls to action (qa/ingest/boilerplate.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.ingest.boilerplate import drop_boilerplate
from qa.types import Reference, Section
from qa.units import RAW_BULLET
from qa.units import TRAILING_REFERENCES

REFERENCE_HEADING = re.compile(r"^(references|bibliography|works cited|sources|literature cited)$", re.IGNORECASE)
# Labels that open an entry in a reference list laid out as label / title / source lines.
_REFERENCE_LABELS = re.compile(r"^(guideline|research|review|article|book|website|study|trial)$", re.IGNORECASE)
DATE_LINE = re.compile(r"^(last updated|updated|published|reviewed|posted)\b", re.IGNORECASE)
PAGE_LINE = re.compile(r"^<<page (\d+)>>$")
MARKDOWN_HEADING = re.compile(r"^#+\s+(\S.*)$")
EMPTY_HEADING = re.compile(r"^\s*#+\s*$")  # a Markdown heading with no words: nothing to keep
# "2 Methods", "2.1 Patient selection": numbered headings of full-text articles without Markdown.
NUMBERED_HEADING = re.compile(r"^\d+(\.\d+)*\.?\s+[A-Z][^.:;]{1,70}$")
# A title is a short line on its own; PubMedQA's question titles run to over 30 words.
TITLE_MAX_WORDS = 40
TITLE_MAX_CHARS = 250
# A given title (metadata, front matter) is looked for as a line among the first blocks: a scraped page
# prints it after its banners, sometimes twice.
TITLE_SEARCH_BLOCKS = 6
OPENING_TITLE_CHARS = 80  # an untitled document is listed by its opening words, up to this long


@dataclass(frozen=True)
class CleanText:
    title: str
    text: str
    sections: tuple[Section, ...]
    references: tuple[Reference, ...]
    cited_reference_max: int
    date: str | None
    pages: tuple[tuple[int, int], ...] = ()  # (offset where the page starts, page number), PDFs only
    # False when the document has no title of its own (none given, no title line): ``title`` is then its
    # opening words, shortened, for display only, and ``text`` starts with the body.
    titled: bool = True
    removed: tuple[str, ...] = ()  # non-blank lines dropped as page furniture (navigation, banners ...)


@dataclass
class _Block:
    kind: str  # "title" | "heading" | "paragraph" | "list" | "references"
    lines: list[str]


def normalise_whitespace(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\t", "    ").replace("\ufeff", "")
    text = re.sub(r"[\u200b\u200c\u200d\u2060]", "", text)
    # Control characters other than newline carry no content and break terminals.
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 90 or len(stripped.split()) > 14:
        return False
    if RAW_BULLET.match(line) or DATE_LINE.match(stripped):
        return False
    if stripped[-1] in ".,;:" or not (stripped[0].isupper() or stripped[0].isdigit()):
        return False
    return not TRAILING_REFERENCES.search(stripped)


def _unmark(line: str) -> str:
    match = MARKDOWN_HEADING.match(line.strip())
    return match.group(1).strip() if match else line.strip()


def _looks_like_title(line: str) -> bool:
    """A line that can stand as a document's title: short, not a sentence, list item, date or citation.
    One word ("Force") and a question ("Is X impaired ...?") both qualify; "The trial ended." does not."""
    words = line.split()
    return (
        1 <= len(words) <= TITLE_MAX_WORDS
        and len(line) <= TITLE_MAX_CHARS
        and line[-1] not in ".,;:"
        and not RAW_BULLET.match(line)
        and not DATE_LINE.match(line)
        and not TRAILING_REFERENCES.search(line)
    )


def _raw_blocks(lines: list[str]) -> list[list[str]]:
    """Blocks of lines between blank lines, split where prose turns into a list or back, as the cleaned
    text lays them out (so that cleaning the cleaned text again finds the same blocks)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    in_list = False
    for line in lines:
        if not line.strip():
            if current:
                blocks.append(current)
            current, in_list = [], False
            continue
        is_item = bool(RAW_BULLET.match(line)) or (in_list and line.startswith(" "))  # an indented line continues an item
        if current and is_item != in_list:
            blocks.append(current)
            current = []
        current.append(line)
        in_list = is_item
    if current:
        blocks.append(current)
    return blocks


def _parse_references(blocks: list[list[str]]) -> list[str]:
    lines = [line.strip() for block in blocks for line in block]
    if lines and all(RAW_BULLET.match(line) for line in lines):
        # Numbered or bulleted entries; scraped lists often number every entry "1.", so renumber.
        return [RAW_BULLET.match(line).group("body").strip() for line in lines]
    entries: list[list[str]] = []
    label: str | None = None
    for line in lines:
        if _REFERENCE_LABELS.match(line):
            label = line
            entries.append([])
            continue
        if not entries or label is None:
            entries.append([])
            label = ""
        entries[-1].append(line)
    rendered = []
    for parts in entries:
        if parts:
            text = " ".join(p if p[-1] in ".?!" else p + "." for p in parts)
            rendered.append(text)
    return rendered


def _classify(raw_blocks: list[list[str]], title: str | None) -> list[_Block]:
    blocks: list[_Block] = [_Block("title", [title])] if title else []
    in_references = False
    reference_blocks: list[list[str]] = []
    for raw in raw_blocks:
        first = raw[0].strip()
        if in_references:
            if len(raw) == 1 and (REFERENCE_HEADING.match(first) or PAGE_LINE.match(first)):
                continue
            reference_blocks.append(raw)
            continue
        if len(raw) == 1 and REFERENCE_HEADING.match(first):
            in_references = True
            blocks.append(_Block("heading", [first]))
            continue
        if len(raw) == 1 and PAGE_LINE.match(first):
            blocks.append(_Block("page", [PAGE_LINE.match(first).group(1)]))
            continue
        if len(raw) == 1 and MARKDOWN_HEADING.match(first):
            heading = MARKDOWN_HEADING.match(first).group(1).strip()
            if REFERENCE_HEADING.match(heading):
                in_references = True
            blocks.append(_Block("heading", [heading]))
            continue
        if len(raw) == 1 and (_is_heading(raw[0]) or (NUMBERED_HEADING.match(first) and len(first.split()) <= 9)):
            blocks.append(_Block("heading", [first]))
            continue
        # A block may hold paragraph lines and list items; paragraphs are joined (hard wraps undone).
        paragraph: list[str] = []
        items: list[str] = []
        for line in raw:
            if RAW_BULLET.match(line):
                if paragraph:
                    _add_paragraph(blocks, paragraph)
                    paragraph = []
                items.append(line)
            elif items and line.startswith(" "):
                items[-1] = items[-1] + " " + line.strip()  # a wrapped item continues
            else:
                if items:
                    _add_list(blocks, items)
                    items = []
                paragraph.append(line.strip())
        if paragraph:
            _add_paragraph(blocks, paragraph)
        if items:
            _add_list(blocks, items)
    _demote_empty_headings(blocks)
    if reference_blocks:
        entries = _parse_references(reference_blocks)
        blocks.append(_Block("references", [f"{i}. {entry}" for i, entry in enumerate(entries, 1)]))
    return blocks


def _add_paragraph(blocks: list[_Block], lines: list[str]) -> None:
    """Hard-wrapped lines joined into one paragraph; one that reads as a list item once joined ("-" then
    "text") is that item, as it will read in the cleaned text."""
    text = " ".join(lines)
    if RAW_BULLET.match(text):
        _add_list(blocks, [text])
    else:
        blocks.append(_Block("paragraph", [text]))


def _add_list(blocks: list[_Block], items: list[str]) -> None:
    """Items split by blank lines in the source belong to one list."""
    if blocks and blocks[-1].kind == "list":
        blocks[-1].lines.extend(items)
    else:
        blocks.append(_Block("list", items))


def _demote_empty_headings(blocks: list[_Block]) -> None:
    """A short line that heads nothing (another heading or the end follows it: a byline, a parent heading,
    a closing remark) is text, so it is indexed with the passages instead of labelling an empty section."""
    content = [b for b in blocks if b.kind != "page"]
    for block, following in zip(content, [*content[1:], None]):
        if block.kind == "heading" and not REFERENCE_HEADING.match(block.lines[0]) and (following is None or following.kind == "heading"):
            block.kind = "paragraph"


def _render_list(lines: list[str]) -> list[str]:
    matches = [RAW_BULLET.match(line) for line in lines]
    indents = sorted({len(m.group("indent")) for m in matches})
    rendered = []
    for m in matches:
        level = indents.index(len(m.group("indent")))
        marker = m.group("marker")
        marker = marker if marker[0].isdigit() else "-"
        rendered.append("  " * level + f"{marker} {m.group('body').strip()}")
    return rendered


def clean(raw: str, title: str | None = None, find_title: bool = True) -> CleanText:
    """Clean a scraped page or a plain text. ``title``: the document's title from metadata, if any; else
    the first line is the title when it looks like one (see ``_find_title_line``), unless ``find_title``
    is False (the text is known to have none)."""
    kept, removed = drop_boilerplate(normalise_whitespace(raw).split("\n"), _is_heading)
    raw_blocks = _raw_blocks(["" if EMPTY_HEADING.match(line) else line for line in kept])
    title = (title or "").strip()
    found = _find_title_line(raw_blocks, title) if title or find_title else None
    if found is not None:
        title = title or _unmark(raw_blocks[found[0]][0])
        raw_blocks = raw_blocks[: found[0]] + raw_blocks[found[1] :]
    titled = bool(title)
    blocks = _classify(raw_blocks, title if titled else None)
    text, sections, references, pages = _layout(blocks)
    if not titled:
        title = opening_words(text)
    cited_max = _cited_reference_max(text, sections, references)
    return CleanText(title, text, sections, references, cited_max, find_printed_date(text), pages, titled, tuple(removed))


def _content_blocks(raw_blocks: list[list[str]]) -> list[int]:
    return [i for i, block in enumerate(raw_blocks) if not (len(block) == 1 and PAGE_LINE.match(block[0].strip()))]


def _find_title_line(raw_blocks: list[list[str]], given: str) -> tuple[int, int] | None:
    """The blocks [first, end) that are the document's title line (and its immediate repeats), or None.

    With a given title: the first one-line block among the leading ones that reads the same. Without:
    the first block, when it is one line that looks like a title and more text follows it. A first line
    that runs on in its paragraph, or reads as a sentence, stays in the body."""
    content = _content_blocks(raw_blocks)
    if given:
        candidates = [i for i in content[:TITLE_SEARCH_BLOCKS] if len(raw_blocks[i]) == 1 and _unmark(raw_blocks[i][0]) == given]
        if not candidates:
            return None
        first = candidates[0]
    else:
        if len(content) < 2 or len(raw_blocks[content[0]]) != 1 or not _looks_like_title(_unmark(raw_blocks[content[0]][0])):
            return None
        first = content[0]
    line = _unmark(raw_blocks[first][0])
    end = first + 1
    while end < len(raw_blocks) and len(raw_blocks[end]) == 1 and _unmark(raw_blocks[end][0]) == line:
        end += 1  # a page that prints its title twice (PubMed)
    return first, end


def opening_words(text: str) -> str:
    """An untitled document's display title: the first words of its cleaned text, cut at a word and marked
    with an ellipsis."""
    first = " ".join(RAW_BULLET.sub(lambda m: m.group("body"), line).strip() for line in text.strip().split("\n\n", 1)[0].split("\n"))
    if len(first) <= OPENING_TITLE_CHARS:
        return first
    cut = first[:OPENING_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return f"{cut}…"


def _layout(blocks: list[_Block]) -> tuple[str, tuple[Section, ...], tuple[Reference, ...], tuple[tuple[int, int], ...]]:
    """The canonical text of the blocks, with its sections, the reference list and page offsets."""
    parts: list[str] = []
    offset = 0
    sections: list[Section] = []
    open_heading: tuple[str, int, str] = ("", 0, "body")  # text before the first heading
    references: list[Reference] = []
    pages: list[tuple[int, int]] = []

    def close_section(end: int) -> None:
        if end > open_heading[1]:
            sections.append(Section(open_heading[0], open_heading[1], end, open_heading[2]))

    for block in blocks:
        if block.kind == "page":
            pages.append((offset + (2 if parts else 0), int(block.lines[0])))
            continue
        block_text = "\n".join(_render_list(block.lines) if block.kind == "list" else block.lines)
        start = offset + (2 if parts else 0)
        if block.kind == "heading":
            close_section(start - 2 if parts else start)
            kind = "references" if REFERENCE_HEADING.match(block_text) else "body"
            open_heading = (block_text, start + len(block_text) + 2, kind)
        elif block.kind == "title":
            open_heading = ("", start + len(block_text) + 2, "body")
        elif block.kind == "references":
            for line in block.lines:
                number, _, entry = line.partition(". ")
                references.append(Reference(int(number), entry))
        parts.append(block_text)
        offset = start + len(block_text)
    text = "\n\n".join(parts) + "\n"
    close_section(len(text) - 1)
    return text, tuple(sections), tuple(references), tuple(pages)


def _cited_reference_max(text: str, sections: tuple[Section, ...], references: tuple[Reference, ...]) -> int:
    """The highest reference number the body cites (more than the list holds: the list is incomplete)."""
    cited_max = 0
    if references or any(s.kind == "references" for s in sections):
        for section in sections:
            if section.kind != "body":
                continue
            for line in text[section.start : section.end].split("\n"):
                found = TRAILING_REFERENCES.search(line)
                if found:
                    cited_max = max([cited_max, *(int(n) for n in re.findall(r"\d+", found.group(1)))])
    return cited_max


_MONTHS = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"


def find_printed_date(text: str) -> str | None:
    """The date as printed near the top of the page, if any ("August 23, 2025", "2015 Jul")."""
    head = text[:1500]
    for pattern in (
        rf"(?:Last updated|Updated|Published|Reviewed):?\s*({_MONTHS}\.? \d{{1,2}}, \d{{4}})",
        rf"\b({_MONTHS}\.? \d{{1,2}}, \d{{4}})\b",
        rf"\b(\d{{4}} {_MONTHS}(?: \d{{1,2}})?)\b",
    ):
        found = re.search(pattern, head)
        if found:
            return found.group(1)
    return None
