"""Where the passage vectors and the BM25 statistics live, behind one interface (``ChunkSearch``).

* ``faiss_bm25``: a FAISS index and a bm25s index, files in the index folder (the default).
* ``milvus``: a library's passages collection with dense vectors and Milvus's own BM25, in Milvus Lite (a
  path ending in .db, whose data folder it names) or on a Milvus server or cluster by URI.

An ``Index`` is what every query reads: from an index folder (qa/stores/index_folder.py, with the FAISS
files) or from a library kept whole in Milvus (qa/stores/milvus_library.py, loaded by qa/stores/library_index.py).
The retriever and the answerers never know which one it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import QAError
from qa.types import Chunk, Document, Unit


class ChunkSearch(Protocol):
    kind: str
    dimension: int
    count: int  # passages it holds for this index

    def dense(self, vector: np.ndarray, depth: int) -> dict[int, float]:
        """Passage positions (rows of Index.chunks) and inner products, best first, at most ``depth``."""
        ...

    def lexical(self, terms: list[str], depth: int) -> dict[int, float]:
        """Passage positions and BM25 scores for analysed query terms (qa.text.index_terms), best first."""
        ...

    def vectors(self) -> np.ndarray:
        """Every passage vector, in position order (an incremental build reuses the unchanged ones)."""
        ...

    def close(self) -> None: ...


@dataclass
class Index:
    """A loaded index; heavy members are shared read-only by every query."""

    folder: Path | None  # the index folder; None for a library kept whole in a store
    manifest: dict
    documents: dict[str, Document]
    chunks: tuple[Chunk, ...]
    units: tuple[Unit, ...]
    unit_vectors: np.ndarray
    search: "ChunkSearch"  # qa.stores: the FAISS files or a Milvus collection
    chunk_positions: dict[str, int]
    units_by_chunk: dict[str, tuple[int, ...]]
    files: "SourceFiles | None" = None  # where source files are read from (default: the corpus folder)

    @property
    def model_name(self) -> str:
        return self.manifest["embedding"]["model"]

    @property
    def dimension(self) -> int:
        return int(self.manifest["embedding"]["dimension"])

    @property
    def store_kind(self) -> str:
        return self.manifest.get("store", {}).get("kind", "faiss")

    def chunk(self, chunk_id: str) -> Chunk:
        position = self.chunk_positions.get(chunk_id)
        if position is None:
            raise QAError(f"unknown chunk id {chunk_id!r}; ids look like 'doc-id#3' (see `qa search` output).")
        return self.chunks[position]


    @classmethod
    def assemble(cls, folder: Path | None, manifest: dict, documents: dict[str, Document], chunks, units, unit_vectors: np.ndarray, search, files=None) -> "Index":
        """An index from its records, with the lookups every query uses (positions of chunks, units per chunk)."""
        units_by_chunk: dict[str, list[int]] = {}
        for position, unit in enumerate(units):
            units_by_chunk.setdefault(unit.chunk_id, []).append(position)
        return cls(
            folder=folder, manifest=manifest, documents=documents, chunks=tuple(chunks), units=tuple(units), unit_vectors=unit_vectors, search=search,
            chunk_positions={c.chunk_id: i for i, c in enumerate(chunks)}, units_by_chunk={k: tuple(v) for k, v in units_by_chunk.items()}, files=files,
        )

    def source_file(self, relative: str) -> Path | None:
        """A local path to a document's source file (a PDF's page view), or None when it is not at hand."""
        if self.files is not None:
            return self.files.local_path(relative)
        path = Path(self.manifest["corpus"]["folder"]) / relative
        return path if path.is_file() else None


class SourceFiles(Protocol):
    def local_path(self, relative: str) -> Path | None: ...
