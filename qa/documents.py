"""Load a folder of documents into cleaned ``Document`` records.

A folder may hold a ``metadata.json`` keyed by file name (see ``corpus/metadata.json``);
fields missing there come from the content (first title-like line, date printed in the page).
Files that cannot be read as text are skipped and reported, never silently indexed empty.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from qa.cleaning import clean
from qa.errors import QAError
from qa.types import Document

SUPPORTED_SUFFIXES = (".txt", ".md")
METADATA_FILE = "metadata.json"
DEFAULT_KIND = "document"


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    folder: str
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]
    notes: tuple[str, ...] = ()  # e.g. "decoded as cp1252"


def doc_id_for(relative_path: str) -> str:
    stem = relative_path.rsplit(".", 1)[0].lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem.replace("/", "--")).strip("-")
    return slug or "document"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_metadata(folder: Path) -> dict[str, dict]:
    path = folder / METADATA_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QAError(f"{path} is not valid JSON ({exc}); fix it or delete it to use defaults from the content.") from exc
    entries = data.get("documents", data) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise QAError(f"{path} must be an object mapping file names to metadata, like corpus/{METADATA_FILE}.")
    return entries


def decode_text(data: bytes, path: str) -> tuple[str, str | None]:
    """Decode bytes as UTF-8, else cp1252, else Latin-1; return the text and a note when not UTF-8."""
    if b"\x00" in data[:8192]:
        raise QAError(f"{path} looks binary (it contains NUL bytes); remove it or convert it to text.")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            return data.decode(encoding), f"{path}: not valid UTF-8, decoded as {encoding}"
        except UnicodeDecodeError:
            continue
    raise QAError(f"{path} could not be decoded as text.")  # unreachable: latin-1 decodes any bytes


def load_document(path: Path, relative: str, metadata: dict | None = None) -> tuple[Document, str | None]:
    data = path.read_bytes()
    text, note = decode_text(data, relative)
    meta = metadata or {}
    cleaned = clean(text, title=meta.get("title"))
    if not cleaned.text.strip() or len(cleaned.text.strip()) <= len(cleaned.title):
        raise QAError(f"{relative} has no text content after cleaning; remove it or add content.")
    document = Document(
        doc_id=doc_id_for(relative),
        title=cleaned.title,
        source_path=relative,
        kind=meta.get("kind") or DEFAULT_KIND,
        date=meta.get("date", cleaned.date) if "date" in meta else cleaned.date,
        text=cleaned.text,
        sections=cleaned.sections,
        references=cleaned.references,
        cited_reference_max=cleaned.cited_reference_max,
        publisher=meta.get("publisher"),
        doi=meta.get("doi"),
        url=meta.get("url"),
        content_hash=content_hash(data),
    )
    return document, note


def list_document_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


def corpus_files(folder: Path) -> list[Path]:
    """The files whose content defines an index: the documents plus the metadata file."""
    files = list_document_files(folder)
    metadata = folder / METADATA_FILE
    return files + [metadata] if metadata.exists() else files


def hash_file(path: Path) -> str:
    return content_hash(path.read_bytes())


def load_corpus(folder: str | Path) -> Corpus:
    folder = Path(folder)
    if not folder.is_dir():
        raise QAError(f"corpus folder {str(folder)!r} does not exist; pass --corpus with a folder of .txt or .md files.")
    metadata = _read_metadata(folder)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    notes: list[str] = []
    seen_hashes: dict[str, str] = {}
    for path in list_document_files(folder):
        relative = path.relative_to(folder).as_posix()
        try:
            if path.stat().st_size == 0:
                raise QAError(f"{relative} is empty")
            document, note = load_document(path, relative, metadata.get(relative))
        except QAError as exc:
            skipped.append(Skipped(relative, str(exc)))
            continue
        except OSError as exc:  # vanished or unreadable while we looked
            skipped.append(Skipped(relative, f"could not be read ({exc.strerror})"))
            continue
        if document.content_hash in seen_hashes:
            skipped.append(Skipped(relative, f"duplicate of {seen_hashes[document.content_hash]}"))
            continue
        seen_hashes[document.content_hash] = relative
        documents.append(document)
        if note:
            notes.append(note)
    if not documents:
        detail = "; ".join(f"{s.path}: {s.reason}" for s in skipped) or "no .txt or .md files"
        raise QAError(f"corpus folder {str(folder)!r} has no usable documents ({detail}); add .txt or .md files.")
    return Corpus(str(folder), tuple(documents), tuple(skipped), tuple(notes))
