"""Where the passage vectors and the BM25 statistics live, behind one interface (``ChunkSearch``).

* ``faiss_bm25``: a FAISS index and a bm25s index, files in the index folder (the default).
* ``milvus``: a Milvus collection with dense vectors and Milvus's own BM25, in Milvus Lite (a local
  data folder) or on a Milvus server or cluster by URI.

The index folder (qa/stores/index_folder.py) always keeps the manifest, the documents, the passage and sentence
records and the sentence vectors; the manifest's "store" entry says which search backend holds the
passage vectors, so every command finds it. The retriever and the answerers never know which one it is.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


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
