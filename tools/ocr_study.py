"""Which OCR engine reads a scanned page: tesseract (Debian's package) against rapidocr-onnxruntime (its models in the
wheel), on pages made from known text (200 dpi, slightly rotated, a little noise, saved as an image-only PDF and
rendered back as `qa index` renders a scanned page). Prints each engine's character error rate against the text and
its seconds per page on this machine (median of the pages).

    python tools/ocr_study.py [--pages 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qa.ingest.ocr import OCR_DPI, read_page  # noqa: E402
from tests.fixtures.scans import scanned_pdf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def page_texts(count: int) -> list[str]:
    """Paragraphs of the seed documents, about a page's worth each."""
    words = " ".join((ROOT / "corpus" / "neuropathy-on-mri.txt").read_text(encoding="utf-8").split()[30:]).split()
    return [" ".join(words[i * 260 : (i + 1) * 260]) for i in range(count)]


def tesseract(image) -> str:
    """The product's own reading (qa/ingest/ocr.py), its cache kept empty so that every page is read."""
    return read_page(image).text


def rapidocr(image) -> str:
    import numpy as np
    from rapidocr_onnxruntime import RapidOCR

    engine = rapidocr.__dict__.setdefault("engine", RapidOCR())
    result, _ = engine(np.array(image.convert("RGB")))
    return "\n".join(line[1] for line in result or [])


def main() -> None:
    import os

    import pypdfium2 as pdfium

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3)
    arguments = parser.parse_args()
    texts = page_texts(arguments.pages)
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "scan.pdf"
        scanned_pdf(texts, pdf, dpi=200, angle=1.2)
        document = pdfium.PdfDocument(str(pdf))
        images = [document[i].render(scale=OCR_DPI / 72).to_pil() for i in range(len(document))]
    rapidocr(images[0])  # loads its models once, as a build would
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp()  # no page read before
    for name, engine in (("tesseract", tesseract), ("rapidocr-onnxruntime", rapidocr)):
        errors, seconds = [], []
        for text, image in zip(texts, images):
            started = time.perf_counter()
            read = engine(image)
            seconds.append(time.perf_counter() - started)
            errors.append(Levenshtein.normalized_distance(" ".join(text.split()), " ".join(read.split())))
        print(f"{name}: character error rate {statistics.mean(errors):.4f}, {statistics.median(seconds):.2f} s per page (median of {len(texts)})")


if __name__ == "__main__":
    main()
