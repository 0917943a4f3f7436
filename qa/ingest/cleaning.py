"""Turn a scraped page's text into clean, structured text.

The output text is canonical: blocks separated by one blank line; the title first; headings
on their own line; list items as ``- item`` (nested ``  - item``) or ``1. item``; the
reference list as ``1. entry`` lines under its heading. Every offset in the system points
into this text, so cleaning runs once, at load time.

What is dropped: site navigation, government banners, personalisation prompts, review-status
banners, disclaimers and calls to action (``BOILERPLATE_LINES`` and ``DROP_BLOCK_HEADINGS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.types import Reference, Section
from qa.units import RAW_BULLET
from qa.units import TRAILING_REFERENCES

# Whole lines that are page furniture, matched case-insensitively after stripping.
BOILERPLATE_LINES = [
    r"skip to main (page )?content",
    r"u\.s\. flag",
    r"an official website of the united states government",
    r"dot gov",
    r"the \.gov means it.s official\.?",
    r"federal government websites often end in \.gov or \.mil\..*",
    r"https",
    r"the site is secure\.?",
    r"the https:// ensures that you are connecting to the official website.*",
    r"access keys .*",
    r"affiliations",
    r"medical advisory board.*reviewed for accuracy.*",
    r"educational purpose only.*",
    r"article review status",
    r"submitted",
    r"under review",
    r"approved",
    r"personali[sz]e",
    r"help us tailor your experience",
    r"which best describes you\?.*",
    r"pubmed disclaimer",
    r"figure",
    r"view editorial policy",
    r"(full text links|cite|share|save|email|send to|display options|actions)",
]
_BOILERPLATE = re.compile(r"^(?:" + "|".join(BOILERPLATE_LINES) + r")$", re.IGNORECASE)

# A heading whose block is dropped together with the paragraphs up to the next heading.
DROP_BLOCK_HEADINGS = re.compile(
    r"^(professional medical disclaimer|medical disclaimer|disclaimer|have a follow-up question\?)$", re.IGNORECASE
)
# A heading after which nothing is content (PubMed's trailing panels).
DROP_REST_HEADINGS = re.compile(
    r"^(publication types|mesh terms|substances|related information|linkout - more resources|similar articles|cited by)$",
    re.IGNORECASE,
)
REFERENCE_HEADING = re.compile(r"^(references|bibliography|works cited|sources|literature cited)$", re.IGNORECASE)
_SUFFIX_NOISE = re.compile(r"(View editorial policy|\s+- PubMed|\s+- PMC|\s+- DOI)$")
# Labels that open an entry in a reference list laid out as label / title / source lines.
_REFERENCE_LABELS = re.compile(r"^(guideline|research|review|article|book|website|study|trial)$", re.IGNORECASE)
DATE_LINE = re.compile(r"^(last updated|updated|published|reviewed|posted)\b", re.IGNORECASE)
PAGE_LINE = re.compile(r"^<<page (\d+)>>$")
MARKDOWN_HEADING = re.compile(r"^#+\s+(\S.*)$")
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
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _drop_boilerplate(lines: list[str]) -> tuple[list[str], list[str]]:
    """The lines kept (blank ones as ""), and the non-blank lines dropped as page furniture."""
    kept: list[str] = []
    dropped: list[str] = []
    skipping_block = False
    for number, line in enumerate(lines):
        stripped = _SUFFIX_NOISE.sub("", line.strip()).strip()
        if DROP_REST_HEADINGS.match(stripped):
            dropped += [rest.strip() for rest in lines[number:] if rest.strip()]
            break
        if DROP_BLOCK_HEADINGS.match(stripped):
            skipping_block = True
            dropped.append(stripped)
            continue
        if skipping_block:
            if stripped and _is_heading(stripped) and not DROP_BLOCK_HEADINGS.match(stripped):
                skipping_block = False
            else:
                if stripped:
                    dropped.append(stripped)
                continue
        if _BOILERPLATE.match(stripped):
            dropped.append(stripped)
            continue
        # Orphan punctuation left where a link was removed: ". 2015 Jul;52(1):137-9."
        stripped_line = re.sub(r"^\.\s+(?=\d)", "", line.strip())
        indent = line[: len(line) - len(line.lstrip())]
        kept.append(indent + _SUFFIX_NOISE.sub("", stripped_line) if stripped else "")
    return kept, dropped


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
                    blocks.append(_Block("paragraph", [" ".join(paragraph)]))
                    paragraph = []
                items.append(line)
            elif items and line.startswith(" "):
                items[-1] = items[-1] + " " + line.strip()  # a wrapped item continues
            else:
                if items:
                    blocks.append(_Block("list", items))
                    items = []
                paragraph.append(line.strip())
        if paragraph:
            blocks.append(_Block("paragraph", [" ".join(paragraph)]))
        if items:
            # Items split by blank lines in the source belong to one list.
            if blocks and blocks[-1].kind == "list":
                blocks[-1].lines.extend(items)
            else:
                blocks.append(_Block("list", items))
    _demote_empty_headings(blocks)
    if reference_blocks:
        entries = _parse_references(reference_blocks)
        blocks.append(_Block("references", [f"{i}. {entry}" for i, entry in enumerate(entries, 1)]))
    return blocks


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


def clean(raw: str, title: str | None = None) -> CleanText:
    """Clean a scraped page or a plain text. ``title``: the document's title from metadata, if any; else
    the first line is the title when it looks like one (see ``_find_title_line``)."""
    kept, removed = _drop_boilerplate(normalise_whitespace(raw).split("\n"))
    raw_blocks = _raw_blocks(kept)
    title = (title or "").strip()
    found = _find_title_line(raw_blocks, title)
    if found is not None:
        title = title or _unmark(raw_blocks[found[0]][0])
        raw_blocks = raw_blocks[: found[0]] + raw_blocks[found[1] :]
    titled = bool(title)
    if not titled:
        title = opening_words(raw_blocks)
    blocks = _classify(raw_blocks, title if titled else None)
    text, sections, references, pages = _layout(blocks)
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


def opening_words(raw_blocks: list[list[str]]) -> str:
    """An untitled document's display title: its first words, cut at a word and marked with an ellipsis."""
    content = _content_blocks(raw_blocks)
    if not content:
        return ""
    first = " ".join(_unmark(line) for line in raw_blocks[content[0]])
    first = RAW_BULLET.sub(lambda m: m.group("body"), first)
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
