"""The index folder: manifest, chunk/unit records, and the search backend they point to.

Layout::

    index/manifest.json       how it was built: model, dimension, chunking, corpus fingerprint, files, store
    index/documents.jsonl     cleaned documents (text, sections, references)
    index/chunks.jsonl        chunk records; line i is position i of the search backend
    index/units.jsonl         answer units (sentences, list items, lead-ins)
    index/unit_vectors.npy    unit embeddings, row i = units.jsonl line i
    index/vectors.faiss       chunk embeddings (inner product on normalised vectors)
    index/bm25/               bm25s index (JSON + .npy, no pickle)

A library kept whole in Milvus (qa/stores/milvus_library.py) needs no folder at all.

Writes go to a sibling temporary folder renamed into place under an exclusive lock, so a
crash never leaves a half-written index. Nothing here is ever unpickled.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from qa.errors import IndexMissingError, QAError, StaleIndexError
from qa.stores import Index
from qa.stores.faiss_bm25 import FILES as FAISS_FILES
from qa.stores.faiss_bm25 import FaissSearch
from qa.types import Chunk, Document, Reference, Section, Unit

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Bump when cleaning, chunking, the embedded texts or the text analysis (BM25 terms) change: an index of another
# pipeline version is refused when loaded, and rebuilt in full by `qa index` instead of reusing its vectors.
PIPELINE_VERSION = 6  # 6: comparative adjectives indexed as their base (qa/text.adjective_base)
DATA_FILES = ("documents.jsonl", "chunks.jsonl", "units.jsonl", "unit_vectors.npy")


@dataclass(frozen=True)
class CorpusChanges:
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def describe(self) -> str:
        parts = [f"{label}: {', '.join(paths)}" for label, paths in (("added", self.added), ("changed", self.changed), ("removed", self.removed)) if paths]
        return "; ".join(parts)


def file_sha256(path: Path) -> str:
    """A file's SHA-256, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_jsonl(path: Path, records) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@contextmanager
def index_lock(folder: Path) -> Iterator[None]:
    """Exclusive lock for writers of ``folder``; a second writer is refused, not queued."""
    lock_path = folder.parent / f".{folder.name}.lock"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("w")
    except OSError as exc:
        raise QAError(f"cannot write the index at {str(folder)!r} ({exc.strerror}); choose a writable --index folder.") from exc
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise QAError(f"another `qa index` is writing {str(folder)!r}; wait for it to finish and try again.") from exc
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def write_index(
    folder: Path,
    documents: tuple[Document, ...],
    chunks: tuple[Chunk, ...],
    units: tuple[Unit, ...],
    chunk_vectors: np.ndarray,
    unit_vectors: np.ndarray,
    bm25_tokens: list[list[str]],
    manifest: dict,
) -> dict:
    """Write every file into a temporary sibling folder, then swap it into place. Returns the manifest."""
    if len(chunks) != len(chunk_vectors) or len(units) != len(unit_vectors):
        raise QAError("internal error: vectors and records differ in count; the index was not written.")
    folder = Path(folder)
    # Callers hold index_lock, so any staging folder left here is from a build that was killed.
    for leftover in folder.parent.glob(f".{folder.name}.tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    try:
        staging.mkdir(parents=True)
        _write_jsonl(staging / "documents.jsonl", (asdict(d) for d in documents))
        _write_jsonl(staging / "chunks.jsonl", (asdict(c) for c in chunks))
        _write_jsonl(staging / "units.jsonl", (asdict(u) for u in units))
        np.save(staging / "unit_vectors.npy", np.ascontiguousarray(unit_vectors, dtype=np.float32), allow_pickle=False)
        from qa.stores.faiss_bm25 import write_files

        backend = {"store": {"kind": "faiss"}, "faiss": write_files(staging, chunk_vectors, bm25_tokens)}
        extra_files = [*FAISS_FILES, *sorted(p.relative_to(staging).as_posix() for p in (staging / "bm25").iterdir())]
        manifest = {
            **manifest,
            "format_version": FORMAT_VERSION,
            **backend,
            "files": {name: {"bytes": (staging / name).stat().st_size, "sha256": file_sha256(staging / name)} for name in [*DATA_FILES, *extra_files]},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _swap_into_place(staging, folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise QAError(f"could not write the index at {str(folder)!r} ({exc.strerror or exc}); the previous index is unchanged.") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _swap_into_place(staging: Path, folder: Path) -> None:
    # A directory cannot be atomically replaced by rename, so the old one is moved aside first;
    # load_index() restores it if a crash lands between the two renames.
    backup = folder.parent / f".{folder.name}.old"
    if backup.exists():
        shutil.rmtree(backup)
    if folder.exists():
        os.rename(folder, backup)
    os.rename(staging, folder)
    shutil.rmtree(backup, ignore_errors=True)
    _fsync_dir(folder.parent)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(folder: Path) -> dict:
    folder = Path(folder)
    backup = folder.parent / f".{folder.name}.old"
    if not folder.exists() and (backup / MANIFEST).exists():
        os.rename(backup, folder)  # a build died between its two renames: the previous index is intact
    path = folder / MANIFEST
    if not path.exists():
        raise IndexMissingError(f"no index at {str(folder)!r}; build it with `qa index --index {folder}`.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QAError(f"{path} is corrupted ({exc}); rebuild the index with `qa index`.") from exc
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise QAError(f"{path} is from an incompatible version of qa; rebuild the index with `qa index`.")
    return manifest


def require_pipeline(manifest: dict, label: str, fix: str) -> None:
    """An index analysed by another version of the pipeline would be searched with terms it does not hold."""
    version = manifest.get("pipeline_version")
    if version != PIPELINE_VERSION:
        raise StaleIndexError(f"{label} was built by pipeline version {version} and this qa reads version {PIPELINE_VERSION} (its cleaning, chunking or text analysis changed); {fix}.")


def load_index(folder: str | Path, expected_model: str | None = None, verify_checksums: bool = True) -> Index:
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("store", {}).get("kind") == "milvus":
        store = manifest["store"]
        raise QAError(
            f"the index at {str(folder)!r} keeps its passages in Milvus and the rest in this folder, a layout this version replaced: rebuild the "
            f"library in Milvus with `qa index --store milvus --milvus-uri {store.get('uri', 'URI')} --milvus-collection NAME`, then run with --milvus-uri."
        )
    embedding = manifest.get("embedding", {})
    if expected_model and embedding.get("model") != expected_model:
        raise StaleIndexError(
            f"the index at {str(folder)!r} was built with embedding model {embedding.get('model')!r}, "
            f"but the settings ask for {expected_model!r}; rebuild it with `qa index`."
        )
    require_pipeline(manifest, f"the index at {str(folder)!r}", "rebuild it with `qa index` (or `make index`)")
    for name, facts in manifest.get("files", {}).items():
        path = folder / name
        if not path.exists():
            raise QAError(f"index file {str(path)!r} is missing; rebuild the index with `qa index`.")
        if path.stat().st_size != facts["bytes"] or (verify_checksums and file_sha256(path) != facts["sha256"]):
            raise QAError(f"index file {str(path)!r} is corrupted (size or checksum differs); rebuild it with `qa index`.")
    try:
        documents = {}
        for record in _read_jsonl(folder / "documents.jsonl"):
            record["sections"] = tuple(Section(**s) for s in record["sections"])
            record["references"] = tuple(Reference(**r) for r in record["references"])
            record["pages"] = tuple(tuple(p) for p in record.get("pages", ()))
            documents[record["doc_id"]] = Document(**record)
        chunks = tuple(Chunk(**record) for record in _read_jsonl(folder / "chunks.jsonl"))
        units = tuple(Unit(**record) for record in _read_jsonl(folder / "units.jsonl"))
        unit_vectors = np.load(folder / "unit_vectors.npy", allow_pickle=False)
        search = FaissSearch.load(folder, manifest)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise QAError(f"the index at {str(folder)!r} could not be read ({exc}); rebuild it with `qa index`.") from exc
    if search.count != len(chunks) or search.dimension != embedding.get("dimension") or len(unit_vectors) != len(units):
        raise QAError(f"the index at {str(folder)!r} is inconsistent (row counts or dimension differ); rebuild it with `qa index`.")
    return Index.assemble(folder, manifest, documents, chunks, units, unit_vectors, search)


def file_stat(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_size, info.st_mtime_ns]


def corpus_changes(manifest: dict, corpus_folder: Path, current_files: list[Path], hash_file) -> CorpusChanges:
    """Compare the corpus on disk with the one the index was built from.

    Files whose size and mtime match the manifest are taken as unchanged without reading them.
    """
    recorded: dict[str, dict] = manifest.get("corpus", {}).get("files", {})
    current = {p.relative_to(corpus_folder).as_posix(): p for p in current_files}
    added = sorted(set(current) - set(recorded))
    removed = sorted(set(recorded) - set(current))
    changed = []
    for name in sorted(set(current) & set(recorded)):
        if file_stat(current[name]) == recorded[name]["stat"]:
            continue
        if hash_file(current[name]) != recorded[name]["sha256"]:
            changed.append(name)
    return CorpusChanges(tuple(added), tuple(changed), tuple(removed))


def require_fresh(manifest: dict, corpus_folder: Path, current_files: list[Path], hash_file) -> None:
    changes = corpus_changes(manifest, corpus_folder, current_files, hash_file)
    if changes.any:
        raise StaleIndexError(
            f"the corpus in {str(corpus_folder)!r} changed since the index was built ({changes.describe()}); "
            "rebuild it with `qa index`."
        )
