"""What a file reader gives the cleaner: one ``Source`` per document, its text in the cleaner's plain form (blocks
separated by blank lines, headings as ``# Heading``, items as ``- item``, pages marked with ``PAGE_MARKER``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

PAGE_MARKER = "<<page {}>>"  # a line of its own; the cleaner turns these into page offsets


@dataclass(frozen=True)
class Source:
    """One document's worth of text from a file (a .jsonl file yields many)."""

    text: str
    fingerprint: str  # hash of the bytes this document came from
    key: str | None = None  # the record id inside a multi-document file
    title: str | None = None
    date: str | None = None
    kind: str | None = None
    url: str | None = None
    publisher: str | None = None
    doi: str | None = None
    note: str | None = None  # e.g. "decoded as cp1252"
    author: str | None = None
    ocr_pages: tuple[int, ...] = ()  # pages whose text was read by OCR (a scanned PDF's)


def content_fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
