"""PDF files: the text layer of each page with pypdf (layout mode keeps paragraph breaks), and OCR for the pages that
have none (qa/ingest/ocr.py): a scanned guideline, a faxed letter, a photocopied article. Pages are marked so that
citations can say "p. 3"; the pages read by OCR are listed on the document, so that the page says so.

OCR runs only on a page without text (fewer than ``MIN_TEXT_CHARACTERS`` letters and digits in its text layer), one
page at a time with a progress bar (a scanned page takes seconds). A page OCR finds no text on is left out and said
in a note (`qa index` prints it; the page's upload line too); a file where no page has text at all is skipped.
"""

from __future__ import annotations

import io
import re

from qa.errors import QAError, UnusableFile
from qa.ingest.sources import PAGE_MARKER, Source, content_fingerprint

MIN_TEXT_CHARACTERS = 20


def read_pdf(data: bytes, relative: str, progress=None) -> Source:
    """The PDF as one Source; ``progress``: a callable given (relative, pages to read by OCR) that returns an
    iterable wrapper, as tqdm does (None: no progress bar)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnusableFile(f"{relative} is an encrypted PDF; save an unencrypted copy to index it.", "encrypted PDFs; save unencrypted copies")
        pages = [(page.extract_text(extraction_mode="layout") or "") for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise UnusableFile(f"{relative} is not a readable PDF ({exc}); re-export it or remove it.", "unreadable PDFs; re-export them") from exc
    scanned = [number for number, text in enumerate(pages, 1) if len(re.findall(r"\w", text)) < MIN_TEXT_CHARACTERS]
    unread: list[int] = []
    if scanned:
        read, unread = _ocr_pages(data, relative, scanned, progress)
        pages = [read.get(number, text) for number, text in enumerate(pages, 1)]
    if not any(p.strip() for p in pages):
        raise UnusableFile(f"{relative} has no text on any page, even read by OCR (blank or picture-only pages?); check the scan.",
                           "PDFs with no text, even by OCR")
    parts = []
    for number, text in enumerate(pages, 1):
        lines = [line.strip() for line in text.splitlines()]
        parts.append(f"{PAGE_MARKER.format(number)}\n\n" + "\n".join(lines))
    body = "\n\n".join(parts)
    if title:
        body = f"{title}\n\n{body}"
    note = None
    if unread:
        note = f"{relative}: OCR found no text on page{'s' if len(unread) > 1 else ''} {', '.join(map(str, unread))} of {len(pages)} (blank or picture-only?); those pages are not indexed"
    ocr_pages = tuple(n for n in scanned if n not in unread)
    return Source(body, content_fingerprint(data), title=title, note=note, ocr_pages=ocr_pages, kind="scanned PDF" if ocr_pages else None)


def _ocr_pages(data: bytes, relative: str, numbers: list[int], progress) -> tuple[dict[int, str], list[int]]:
    """The OCR text of each page in ``numbers`` that has any, and the pages where OCR found none."""
    import pypdfium2 as pdfium

    from qa.ingest.ocr import OCR_DPI, read_page, tesseract_missing

    problem = tesseract_missing()
    if problem:
        raise UnusableFile(f"{relative} has {len(numbers)} scanned page{'s' if len(numbers) > 1 else ''} without a text layer, and {problem}.",
                           "scanned PDFs, and no OCR installed (make ocr)")
    document = pdfium.PdfDocument(data)
    read, unread = {}, []
    try:
        steps = progress(relative, numbers) if progress else numbers
        for number in steps:
            image = document[number - 1].render(scale=OCR_DPI / 72).to_pil()
            try:
                text = read_page(image).text
            except QAError as exc:
                raise UnusableFile(f"{relative}, page {number}: {exc}", "scanned pages OCR could not read") from None
            if len(re.findall(r"\w", text)) >= MIN_TEXT_CHARACTERS:
                read[number] = text
            else:
                unread.append(number)
    finally:
        document.close()
    return read, unread
