"""A PDF page as an image with a quote highlighted where it stands on the page (rendered with pypdfium2).

The quote comes from the cleaned text, which can differ from the page's own text layer in spacing,
line breaks and hyphenation, so both are compared as letters and digits only, and each matched
character's box on the page is painted. A page read by OCR has no text layer: the quote is found among the words OCR
read on the page image (their boxes kept with the reading, qa/ingest/ocr.py). Rendered pages are cached in memory
(by file, its modification time, page and quote).
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path

from qa.errors import QAError

SCALE = 1.6  # pixels per PDF point: about 1,000 px wide for an A4 or letter page
HIGHLIGHT = (255, 213, 79, 110)  # translucent yellow, as the text view's <mark>
_KEEP = re.compile(r"[0-9a-z]")


def highlighted_page(pdf: Path, page_number: int, quote: str, scanned: bool = False) -> bytes | None:
    """PNG bytes of page ``page_number`` (1-based) with ``quote`` highlighted; None if the file or page is
    missing or the quote cannot be found on that page (the caller then shows the text view only). ``scanned``:
    the page's text was read by OCR, so the quote is found among the words OCR read on the page image."""
    try:
        stamp = pdf.stat().st_mtime_ns
    except OSError:
        return None
    return _render(str(pdf), stamp, page_number, quote, scanned)


@lru_cache(maxsize=64)
def _render(pdf: str, _stamp: int, page_number: int, quote: str, scanned: bool) -> bytes | None:
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError:
        return None
    try:
        if not 1 <= page_number <= len(document):
            return None
        page = document[page_number - 1]
        if scanned:
            from qa.ingest.ocr import OCR_DPI, read_page

            image = page.render(scale=OCR_DPI / 72).to_pil()  # as `qa index` read it: the same image, its reading kept
            try:
                words = read_page(image).words
            except QAError:
                return None
            boxes = _line_boxes([(letter, word.box) for word in words for letter in _KEEP.findall(word.text.lower())], quote)
            image = image.convert("RGBA")
        else:
            height = page.get_height()
            textpage = page.get_textpage()
            boxes = _line_boxes(list(_layer_letters(textpage, height)), quote)
            image = page.render(scale=SCALE).to_pil().convert("RGBA")
        if not boxes:
            return None
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for left, top, right, bottom in boxes:
            draw.rectangle([left - 1, top - 1, right + 1, bottom + 1], fill=HIGHLIGHT)
        shown = Image.alpha_composite(image, overlay).convert("RGB")
        if scanned:
            shown = shown.resize((round(page.get_width() * SCALE), round(page.get_height() * SCALE)), Image.LANCZOS)
        output = io.BytesIO()
        shown.save(output, format="PNG", optimize=True)
        return output.getvalue()
    finally:
        document.close()


def _layer_letters(textpage, height: float):
    """Each letter or digit of the page's text layer with its box in pixels of the page rendered at SCALE."""
    for index in range(textpage.count_chars()):
        char = textpage.get_text_range(index, 1).lower()
        if _KEEP.fullmatch(char or ""):
            left, bottom, right, top = textpage.get_charbox(index)  # PDF units, origin at the bottom left
            yield char, (left * SCALE, (height - top) * SCALE, right * SCALE, (height - bottom) * SCALE)


def _line_boxes(letters: list[tuple[str, tuple[float, float, float, float]]], quote: str) -> list[tuple[float, float, float, float]]:
    """One box per line of the page that the quote covers, given the page's letters and digits in reading order with
    their boxes (left, top, right, bottom; top downwards). The quote comes from the cleaned text, which can differ
    from the page's in spacing, line breaks and hyphenation, so both are compared as letters and digits only."""
    page_text = "".join(letter for letter, _ in letters)
    wanted = "".join(_KEEP.findall(quote.lower()))
    if not wanted:
        return []
    start = page_text.find(wanted)
    if start < 0:  # the quote runs onto the next page: highlight the part on this one
        head = wanted[: max(20, len(wanted) // 2)]
        start = page_text.find(head)
        if start < 0:
            return []
        wanted = page_text[start:][: len(wanted)]
    lines: list[list[float]] = []
    for _, (left, top, right, bottom) in letters[start : start + len(wanted)]:
        if lines and abs(lines[-1][3] - bottom) < 0.5 * (bottom - top + 1) and left >= lines[-1][0] - 1:
            line = lines[-1]
            line[0], line[1], line[2], line[3] = min(line[0], left), min(line[1], top), max(line[2], right), max(line[3], bottom)
        else:
            lines.append([left, top, right, bottom])
    return [tuple(line) for line in lines]
