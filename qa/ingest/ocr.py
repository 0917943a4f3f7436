"""Reading a scanned page on this machine, offline: Tesseract OCR (Debian's `tesseract-ocr`, its English model
installed with it), run as a separate process on the page rendered at ``OCR_DPI``.

Tesseract was chosen over rapidocr-onnxruntime (whose models ship inside its wheel) by `tools/ocr_study.py`: on
pages made from known text at 200 dpi, slightly rotated, Tesseract's character error rate was 0.0003 against
rapidocr's 0.20 (its English lines lose the spaces between words) at about the same seconds per page (README).

A page is read into lines and paragraphs as Tesseract found them, with each word's box on the rendered page, so a
citation of an OCR'd page can be highlighted where the quote stands (qa/render/pdf_pages.py). Pages already read
are kept in the user's cache by the page image's SHA-256, so building an index again does not read them again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.files import write_atomically

OCR_DPI = 200  # a fax or an office scan; measured at this resolution (tools/ocr_study.py)
ENGINE = "tesseract --psm 3 -l eng"
TIMEOUT_S = 120
MIN_CONFIDENCE = 30  # Tesseract's word confidence (0-100) below which a "word" is taken for a speck


@dataclass(frozen=True)
class Word:
    text: str
    box: tuple[int, int, int, int]  # left, top, right, bottom, in pixels of the page rendered at OCR_DPI


@dataclass(frozen=True)
class ReadPage:
    text: str  # paragraphs separated by blank lines, lines by newlines
    words: tuple[Word, ...]


def tesseract_missing() -> str | None:
    """Why OCR cannot run here (one line naming the fix), or None when it can."""
    if shutil.which("tesseract") is None:
        return "Tesseract OCR is not installed; install it with `make ocr` (Debian's tesseract-ocr package) to read scanned pages"
    return None


def read_page(image) -> ReadPage:
    """The text on a page image (a PIL image rendered at OCR_DPI), read by Tesseract (kept in the user's cache)."""
    png = io.BytesIO()
    image.convert("L").save(png, format="PNG")
    data = png.getvalue()
    key = hashlib.sha256(ENGINE.encode() + data).hexdigest()
    kept = _read_cache(key)
    if kept is not None:
        return kept
    problem = tesseract_missing()
    if problem:
        raise QAError(problem + ".")
    try:
        done = subprocess.run(["tesseract", "stdin", "stdout", "--psm", "3", "-l", "eng", "tsv"], input=data, capture_output=True, timeout=TIMEOUT_S,
                              env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    except subprocess.TimeoutExpired:
        raise QAError(f"Tesseract OCR took over {TIMEOUT_S} s on one page; the page is left unread.") from None
    if done.returncode != 0:
        raise QAError(f"Tesseract OCR failed ({done.stderr.decode(errors='replace').strip()[:200]}); check `tesseract --version`.")
    page = page_from_tsv(done.stdout.decode("utf-8", errors="replace"))
    _write_cache(key, page)
    return page


def page_from_tsv(tsv: str) -> ReadPage:
    """Tesseract's TSV (one row per word, numbered by block, paragraph and line) as text and word boxes."""
    paragraphs: dict[tuple[int, int], dict[int, list[str]]] = {}
    words = []
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) < 12 or fields[0] != "5" or not fields[11].strip():
            continue
        if float(fields[10]) < MIN_CONFIDENCE:
            continue
        block, paragraph, line = int(fields[2]), int(fields[3]), int(fields[4])
        left, top, width, height = (int(v) for v in fields[6:10])
        text = fields[11].strip()
        paragraphs.setdefault((block, paragraph), {}).setdefault(line, []).append(text)
        words.append(Word(text, (left, top, left + width, top + height)))
    text = "\n\n".join("\n".join(" ".join(line) for _, line in sorted(lines.items())) for _, lines in sorted(paragraphs.items()))
    return ReadPage(text, tuple(words))


def ocr_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa-medical" / "ocr"


def _read_cache(key: str) -> ReadPage | None:
    try:
        data = json.loads((ocr_cache() / f"{key}.json").read_text(encoding="utf-8"))
        return ReadPage(data["text"], tuple(Word(w[0], tuple(w[1])) for w in data["words"]))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _write_cache(key: str, page: ReadPage) -> None:
    try:
        ocr_cache().mkdir(parents=True, exist_ok=True)
        write_atomically(ocr_cache() / f"{key}.json", json.dumps({"text": page.text, "words": [[w.text, list(w.box)] for w in page.words]}))
    except OSError:
        pass  # no cache to keep it in: read again next time
