"""Load a folder of documents into cleaned ``Document`` records.

Any folder may hold a ``metadata.json`` keyed by file name (see ``corpus/metadata.json``; for a .jsonl
file, by record id inside the file's entry). Fields missing there come from the file itself (Markdown
front matter, the HTML page's title and date, PDF metadata) or from the content (first title-like
line, a date printed near the top).
Files that cannot be read as text are skipped and reported, never silently indexed empty.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from qa.ingest.cleaning import clean
from qa.errors import QAError, UnusableFile
from qa.ingest.formats import SUFFIXES as FORMAT_SUFFIXES
from qa.ingest.formats import read_sources, unread_kind
from qa.types import Document

SUPPORTED_SUFFIXES = FORMAT_SUFFIXES
METADATA_FILE = "metadata.json"
DEFAULT_KIND = "document"


@dataclass(frozen=True)
class Skipped:
    path: str  # the file, or "file (record id)" for one record of a .jsonl file
    reason: str  # the whole message: what is wrong and what to do
    group: str = "other problems"  # the kind of problem, for a summary grouped by kind


@dataclass(frozen=True)
class Corpus:
    folder: str
    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]
    notes: tuple[str, ...] = ()  # e.g. "decoded as cp1252"
    files: int = 0  # document files found in the folder, skipped ones included


def doc_id_for(relative_path: str) -> str:
    """A stable slug: 'cardio/Heart Failure.pdf' -> 'cardio--heart-failure-pdf'; plain .txt files keep no suffix."""
    stem, dot, suffix = relative_path.rpartition(".")
    if not dot or "/" in suffix:
        stem, suffix = relative_path, ""
    name = stem if suffix.lower() in ("", "txt") else f"{stem}-{suffix}"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("/", "--")).strip("-")
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


def _metadata_for(folder: Path, relative: str, cache: dict[Path, dict]) -> dict:
    """Sidecar metadata for a file: the nearest metadata.json up from its folder that names it."""
    path = PurePosixPath(relative)
    for depth in range(len(path.parts) - 1, -1, -1):
        sidecar_folder = folder.joinpath(*path.parts[:depth])
        if sidecar_folder not in cache:
            cache[sidecar_folder] = _read_metadata(sidecar_folder)
        key = "/".join(path.parts[depth:])
        if key in cache[sidecar_folder]:
            return cache[sidecar_folder][key]
    return {}


def load_documents(path: Path, relative: str, metadata: dict | None = None, progress: bool = False) -> tuple[list[Document], list[str]]:
    """The documents in one file (a .jsonl file holds many) and notes about how it was read; ``progress``: a bar
    for the pages OCR reads."""
    meta = metadata or {}
    documents, notes = [], []
    for source in read_sources(path, relative, _ocr_bar if progress else None):
        if source.note:
            notes.append(source.note)
        record_meta = meta.get(source.key, {}) if source.key and isinstance(meta.get(source.key), dict) else meta
        title = record_meta.get("title") or source.title
        cleaned = clean(source.text, title=title)
        if not any(cleaned.text[s.start : s.end].strip() for s in cleaned.sections if s.kind == "body"):
            raise UnusableFile(f"{relative} has no text content: {_what_cleaning_left(cleaned)}; remove it or add content.", "files with no text content")
        doc_id = doc_id_for(f"{relative.rsplit('.', 1)[0]}--{source.key}.txt" if source.key else relative)
        date = record_meta["date"] if "date" in record_meta else (source.date or cleaned.date)
        identity = json.dumps([source.fingerprint, record_meta, source.title], sort_keys=True, default=str)
        documents.append(
            Document(
                doc_id=doc_id,
                title=cleaned.title,
                source_path=relative,
                kind=record_meta.get("kind") or source.kind or _default_kind(relative),
                date=date,
                text=cleaned.text,
                sections=cleaned.sections,
                references=cleaned.references,
                cited_reference_max=cleaned.cited_reference_max,
                publisher=record_meta.get("publisher") or source.publisher,
                doi=record_meta.get("doi") or source.doi,
                url=record_meta.get("url") or source.url,
                content_hash=hashlib.sha256(identity.encode()).hexdigest(),
                pages=cleaned.pages,
                titled=cleaned.titled,
                author=record_meta.get("author") or source.author,
                ocr_pages=source.ocr_pages,
            )
        )
    return documents, notes


def _what_cleaning_left(cleaned) -> str:
    """Why a cleaned document holds no text: what the cleaner removed, or what little there was."""
    if cleaned.removed:
        shown = ", ".join(repr(line[:40]) for line in cleaned.removed[:3]) + (" …" if len(cleaned.removed) > 3 else "")
        lines = "line" if len(cleaned.removed) == 1 else "lines"
        only_title = f" and a title ({cleaned.title!r})" if cleaned.titled and cleaned.title else ""
        return f"the cleaner removed {len(cleaned.removed)} {lines} of page furniture ({shown}){only_title}, and nothing else is there"
    if cleaned.titled and cleaned.title:
        return f"it holds only a title line ({cleaned.title!r})"
    return "it holds only headings or a reference list"


def _ocr_bar(relative: str, pages: list[int]):
    from tqdm import tqdm

    return tqdm(pages, desc=f"OCR {PurePosixPath(relative).name}", unit="page", leave=False)


def _default_kind(relative: str) -> str:
    return {".pdf": "PDF document", ".html": "web page", ".htm": "web page"}.get(PurePosixPath(relative).suffix.lower(), DEFAULT_KIND)


def list_document_files(folder: Path) -> list[Path]:
    """Supported files under the folder, hidden files and folders (such as .removed/) excluded."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def unread_files(folder: Path) -> list[Path]:
    """Files under the folder of a kind qa does not read (hidden ones and metadata.json aside): they are counted
    and named among the skipped files, never passed over in silence."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() not in SUPPORTED_SUFFIXES and p.name != METADATA_FILE
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def corpus_files(folder: Path) -> list[Path]:
    """The files whose content defines an index: the documents plus the metadata file."""
    files = list_document_files(folder)
    metadata = folder / METADATA_FILE
    return files + [metadata] if metadata.exists() else files


def hash_file(path: Path) -> str:
    return content_hash(path.read_bytes())


def load_corpus(folder: str | Path, progress: bool = False) -> Corpus:
    folder = Path(folder)
    if not folder.is_dir():
        raise QAError(f"corpus folder {str(folder)!r} does not exist; pass --corpus with a folder of documents ({', '.join(SUPPORTED_SUFFIXES)}).")
    files = [(path.relative_to(folder).as_posix(), path) for path in list_document_files(folder)]
    corpus = load_files(files, corpus_metadata(folder), str(folder), progress)
    unread = [Skipped(relative, *unread_kind(relative)) for relative in (p.relative_to(folder).as_posix() for p in unread_files(folder))]
    corpus = replace(corpus, skipped=corpus.skipped + tuple(unread), files=corpus.files + len(unread))
    if not corpus.documents:
        detail = re.sub(r":?\n\s*", "; ", skip_summary(corpus.skipped, len(files), limit=3)) if corpus.skipped else f"no {', '.join(SUPPORTED_SUFFIXES)} files"
        raise QAError(f"corpus folder {str(folder)!r} has no usable documents ({detail}); add documents.")
    return corpus


def corpus_metadata(folder: Path):
    """A lookup of each file's sidecar metadata (metadata.json files) in this folder."""
    cache: dict[Path, dict] = {}
    return lambda relative: _metadata_for(Path(folder), relative, cache)


def load_files(files: list[tuple[str, Path]], metadata=lambda relative: {}, label: str = "", progress: bool = False) -> Corpus:
    """(name in the library, file) pairs as documents; files that cannot be used are skipped with the reason;
    ``progress``: a bar for each scanned PDF's pages as OCR reads them."""
    documents: list[Document] = []
    skipped: list[Skipped] = []
    notes: list[str] = []
    seen: dict[str, str] = {}
    taken: set[str] = set()
    for relative, path in files:
        try:
            if path.stat().st_size == 0:
                raise UnusableFile(f"{relative} is empty", "empty files")
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise UnusableFile(*unread_kind(relative))
            loaded, file_notes = load_documents(path, relative, metadata(relative), progress)
        except UnusableFile as exc:
            skipped.append(Skipped(relative, str(exc), exc.group))
            continue
        except QAError as exc:
            skipped.append(Skipped(relative, str(exc)))
            continue
        except OSError as exc:  # vanished or unreadable while we looked
            skipped.append(Skipped(relative, f"could not be read ({exc.strerror})", "files that could not be read"))
            continue
        notes.extend(file_notes)
        for document in loaded:
            text_hash = content_hash(document.text.encode())
            where = relative if len(loaded) == 1 else f"{relative} ({document.doc_id})"
            if text_hash in seen:
                skipped.append(Skipped(where, f"duplicate of {seen[text_hash]}", "duplicates of another file"))
                continue
            if document.doc_id in taken:
                skipped.append(Skipped(where, f"its id {document.doc_id!r} is already taken; rename the file", "ids already taken; rename the files"))
                continue
            seen[text_hash] = relative
            taken.add(document.doc_id)
            documents.append(document)
    return Corpus(label, tuple(documents), tuple(skipped), tuple(notes), len(files))


def skip_summary(skipped: tuple[Skipped, ...] | list[Skipped], files: int, limit: int | None = 3) -> str:
    """"skipped 12 of 3,000 files", then one line per kind of problem, most common first, with the count and
    the first ``limit`` names (all of them, each with its whole reason, when ``limit`` is None)."""
    groups: dict[str, list[Skipped]] = {}
    for entry in skipped:
        groups.setdefault(entry.group, []).append(entry)
    lines = [f"skipped {len(skipped):,} of {files:,} file{'s' if files != 1 else ''}:"]
    for group, entries in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        if limit is None:
            lines.append(f"  {len(entries):,} {group}:")
            lines += [f"    {entry.path}: {entry.reason}" for entry in entries]
            continue
        names = ", ".join(entry.path for entry in entries[:limit])
        more = f" and {len(entries) - limit:,} more" if len(entries) > limit else ""
        lines.append(f"  {len(entries):,} {group}: {names}{more}" + (f" ({entries[0].reason})" if len(entries) == 1 else ""))
    return "\n".join(lines)
