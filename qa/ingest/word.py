"""Word documents (.docx), read with python-docx into the cleaner's plain form (qa/ingest/formats.py).

python-docx reads the document's own structure: each paragraph's style (Word's Title, Heading 1, 2, 3 …, list
styles and numbering), its tables cell by cell, and the core properties (title, author, last modified). Word's
Title becomes the document's title and its headings become sections, so a citation names the section it quotes;
list paragraphs become items; a table becomes its header row leading in to one item per row, the cells joined with
" | ", so each row is a unit a reader can quote with its header ("Severity | Symptoms | Treatment: Mild | Intermittent
tingling at night | Night splint").
"""

from __future__ import annotations

import io
import re
import zipfile

from qa.errors import UnusableFile

HEADING_STYLE = re.compile(r"^Heading \d$")
LIST_STYLE = re.compile(r"^List( (Bullet|Number|Continue|Paragraph))?( \d)?$")
CELL_SEPARATOR = " | "


def read_docx(data: bytes, relative: str):
    """The Word document as a Source (qa/ingest/formats.py)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from lxml.etree import XMLSyntaxError

    from qa.ingest.formats import Source, content_fingerprint

    try:
        document = docx.Document(io.BytesIO(data))
        parts = list(document.iter_inner_content())
        properties = document.core_properties
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as exc:
        raise UnusableFile(f"{relative} is not a readable Word document ({exc}); open it in Word and save it again as .docx.",
                           "unreadable Word documents; save them again as .docx") from None
    blocks: list[str] = []
    items: list[str] = []
    styled_title = None
    for part in parts:
        if isinstance(part, Table):
            _close(items, blocks)
            table = table_block(part)
            if table:
                blocks.append(table)
            continue
        text = re.sub(r"\s+", " ", part.text).strip()
        if not text:
            continue
        style = part.style.name if part.style is not None else ""
        if style == "Title":
            _close(items, blocks)
            styled_title = styled_title or text
            blocks.append(text)
        elif HEADING_STYLE.match(style):
            _close(items, blocks)
            blocks.append(f"# {text}")
        elif LIST_STYLE.match(style) or _numbered(part):
            items.append(f"- {text}")
        else:
            _close(items, blocks)
            blocks.append(text)
    _close(items, blocks)
    title = (properties.title or "").strip() or styled_title
    if title and title != styled_title:
        blocks.insert(0, title)
    modified = properties.modified or properties.created
    return Source("\n\n".join(blocks), content_fingerprint(data), title=title, date=modified.date().isoformat() if modified else None,
                  author=(properties.author or "").strip() or None, kind="Word document")


def table_block(table) -> str:
    """A table as its header row, leading in to one item per further row; each row's distinct cells joined by " | "."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:  # a merged cell appears once per grid column it spans
            text = re.sub(r"\s+", " ", cell.text).strip()
            if not cells or text != cells[-1]:
                cells.append(text)
        if any(cells):
            rows.append(CELL_SEPARATOR.join(cells))
    if not rows:
        return ""
    if len(rows) == 1:
        return rows[0]
    return "\n".join([f"{rows[0]}:", *(f"- {row}" for row in rows[1:])])  # the header row leads in to the rows, as a list's lead-in


def _numbered(paragraph) -> bool:
    """A paragraph Word numbers or bullets through direct formatting rather than a list style."""
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _close(items: list[str], blocks: list[str]) -> None:
    if items:
        blocks.append("\n".join(items))
        items.clear()
