"""A PDF page as an image with a quote highlighted where it stands on the page (rendered with pypdfium2).

The quote comes from the cleaned text, which can differ from the page's own text layer in spacing,
line breaks and hyphenation, so both are compared as letters and digits only, and each matched
character's box on the page is painted. Rendered pages are cached in memory (by file, its modification
time, page and quote).
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path

SCALE = 1.6  # pixels per PDF point: about 1,000 px wide for an A4 or letter page
HIGHLIGHT = (255, 213, 79, 110)  # translucent yellow, as the text view's <mark>
_KEEP = re.compile(r"[0-9a-z]")


def highlighted_page(pdf: Path, page_number: int, quote: str) -> bytes | None:
    """PNG bytes of page ``page_number`` (1-based) with ``quote`` highlighted; None if the file or page is
    missing or the quote cannot be found on that page (the caller then shows the text view only)."""
    try:
        stamp = pdf.stat().st_mtime_ns
    except OSError:
        return None
    return _render(str(pdf), stamp, page_number, quote)


@lru_cache(maxsize=64)
def _render(pdf: str, _stamp: int, page_number: int, quote: str) -> bytes | None:
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
        boxes = _quote_boxes(page.get_textpage(), quote)
        if not boxes:
            return None
        image = page.render(scale=SCALE).to_pil().convert("RGBA")
        height = page.get_height()
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for left, bottom, right, top in boxes:  # PDF units, origin at the bottom left
            draw.rectangle([left * SCALE - 1, (height - top) * SCALE - 1, right * SCALE + 1, (height - bottom) * SCALE + 1], fill=HIGHLIGHT)
        output = io.BytesIO()
        Image.alpha_composite(image, overlay).convert("RGB").save(output, format="PNG", optimize=True)
        return output.getvalue()
    finally:
        document.close()


def _quote_boxes(textpage, quote: str) -> list[tuple[float, float, float, float]]:
    """One box per line of the page that the quote covers."""
    count = textpage.count_chars()
    kept: list[int] = []  # page character index of each kept (letter or digit) character
    letters = []
    for index in range(count):
        char = textpage.get_text_range(index, 1).lower()
        if _KEEP.fullmatch(char or ""):
            kept.append(index)
            letters.append(char)
    page_text = "".join(letters)
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
    for index in kept[start : start + len(wanted)]:
        left, bottom, right, top = textpage.get_charbox(index)
        if lines and abs(lines[-1][1] - bottom) < 0.5 * (top - bottom + 1) and left >= lines[-1][0] - 1:
            line = lines[-1]
            line[0], line[1], line[2], line[3] = min(line[0], left), min(line[1], bottom), max(line[2], right), max(line[3], top)
        else:
            lines.append([left, bottom, right, top])
    return [tuple(line) for line in lines]
