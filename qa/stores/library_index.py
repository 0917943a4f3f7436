"""An ``Index`` read from a library kept whole in Milvus, and brought up to date when another server commits.

Loading reads the latest committed manifest and the rows of the documents it lists. ``committed_version``
checks the version (one small query); when it moved, loading again with the previous index fetches only the
rows of documents that are new or changed, keeps those of unchanged documents, and drops the removed ones;
the passage search then goes through the new manifest's row keys. A server answers from the old index until
the new one is complete.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np

from qa.errors import QAError, StaleIndexError
from qa.files import write_atomically
from qa.stores import Index
from qa.stores.index_folder import require_pipeline
from qa.stores.milvus import MilvusSearch
from qa.stores.milvus_library import MilvusLibrary, doc_key


class LibraryFiles:
    """Source files fetched from the library on first use and kept in a temporary folder (for page views)."""

    def __init__(self, library: MilvusLibrary, files: dict[str, dict]):
        self.library, self.files = library, files
        self.folder = Path(tempfile.mkdtemp(prefix="qa-library-files-"))
        self._lock = threading.Lock()

    def local_path(self, relative: str) -> Path | None:
        facts = self.files.get(relative)
        if facts is None:
            return None
        path = self.folder / facts["sha256"] / Path(relative).name
        with self._lock:
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(path, self.library.read_file(facts["sha256"]))
        return path


def load_library_index(library: MilvusLibrary, expected_model: str | None = None, previous: Index | None = None) -> Index:
    """The library as the latest commit lists it; rows of documents ``previous`` already holds are reused."""
    manifest = library.current()
    if manifest is None or not manifest["documents"]:
        raise QAError(f"{library.label} holds no library yet; build one with `qa index --store milvus --milvus-uri {library.uri}` or add documents with `qa add`.")
    require_pipeline(manifest, library.label, "build the library again under another --milvus-collection")
    embedding = manifest["embedding"]
    if expected_model and embedding["model"] != expected_model:
        raise StaleIndexError(f"{library.label} holds vectors of {embedding['model']!r}, but the settings ask for {expected_model!r}; use another --milvus-collection.")
    kept = _by_document(previous) if previous is not None else {}
    wanted = {doc: doc_key(doc, facts["hash"]) for doc, facts in sorted(manifest["documents"].items())}
    missing = [key for key in wanted.values() if key not in kept]
    fetched_documents = library.documents(missing)
    fetched_passages = library.passages(missing)
    fetched_units = library.units(missing)
    documents, chunks, keys, units, vectors = {}, [], [], [], []
    for doc, key in wanted.items():
        if key in kept:
            document, doc_chunks, doc_keys, doc_units, doc_vectors = kept[key]
        else:
            if key not in fetched_documents:
                raise QAError(f"{library.label} lists document {doc!r} but lacks its rows; rebuild the library with `qa index --store milvus`.")
            document = fetched_documents[key]
            passage_rows = sorted(fetched_passages.get(key, []), key=lambda row: row[0])
            doc_chunks, doc_keys = [row[2] for row in passage_rows], [row[1] for row in passage_rows]
            unit_rows = sorted(fetched_units.get(key, []), key=lambda row: row[0])
            doc_units, doc_vectors = [row[1] for row in unit_rows], [row[2] for row in unit_rows]
        documents[doc] = document
        chunks += doc_chunks
        keys += doc_keys
        units += doc_units
        vectors += list(doc_vectors)
    dimension = int(embedding["dimension"])
    search = MilvusSearch(library.client, library.uri, library.name("passages"), keys, dimension)
    return _index(library, manifest, documents, chunks, units, np.asarray(vectors, dtype=np.float32).reshape(len(units), dimension), search)


def _index(library: MilvusLibrary, manifest: dict, documents, chunks, units, unit_vectors: np.ndarray, search: MilvusSearch) -> Index:
    facts = {
        **manifest,
        "corpus": {"folder": f"milvus:{library.prefix}", "files": manifest["files"]},
        "store": {"kind": "milvus-library", "uri": library.uri, "collection": library.prefix, "version": manifest["version"]},
    }
    return Index.assemble(None, facts, documents, chunks, units, unit_vectors, search, LibraryFiles(library, manifest["files"]))


def _by_document(index: Index) -> dict[str, tuple]:
    """Per document key: the document, its chunks and their row keys, its units and their vectors."""
    chunks: dict[str, list] = {}
    for chunk, key in zip(index.chunks, index.search.keys):
        chunks.setdefault(chunk.doc_id, []).append((chunk, key))
    units: dict[str, list] = {}
    for unit, vector in zip(index.units, index.unit_vectors):
        units.setdefault(unit.doc_id, []).append((unit, vector))
    found = {}
    for doc_id, document in index.documents.items():
        found[doc_key(doc_id, document.content_hash)] = (
            document, [c for c, _ in chunks.get(doc_id, [])], [k for _, k in chunks.get(doc_id, [])],
            [u for u, _ in units.get(doc_id, [])], [v for _, v in units.get(doc_id, [])],
        )
    return found


def committed_version(library: MilvusLibrary) -> int | None:
    """The version readers would load now (a cheap query of the commit rows)."""
    commits = library.commits()
    return commits[0]["version"] if commits else None
