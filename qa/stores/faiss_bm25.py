"""The default search backend: FAISS (inner product) and bm25s, as files in the index folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Chosen from `make bench` (bench/RESULTS.md, section 4): exact search costs ~7 ms per query at 100,000
# vectors and ~61 ms at 1,000,000. Above this size an IVF-Flat index with nlist = 4*sqrt(n) and
# nprobe = 16 answers in ~0.1-0.4 ms at recall@10 1.0 on clustered vectors, where HNSW32 (efSearch 128)
# fell to recall 0.81 at 1,000,000.
FLAT_INDEX_LIMIT = 50_000
IVF_NPROBE = 16
FILES = ("vectors.faiss",)  # plus everything under bm25/
BM25_K1, BM25_B = 1.2, 0.75  # the Milvus store uses the same, so both rank alike


def choose_faiss_index(vectors: np.ndarray, flat_limit: int = FLAT_INDEX_LIMIT):
    """A filled FAISS index for the vectors, and its type name for the manifest."""
    import faiss

    count, dimension = vectors.shape
    if count <= flat_limit:
        index = faiss.IndexFlatIP(dimension)
        index.add(vectors)
        return index, "flat"
    nlist = int(4 * np.sqrt(count))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).choice(count, min(count, 40 * nlist), replace=False)]
    index.train(sample)
    index.add(vectors)
    index.nprobe = IVF_NPROBE
    return index, f"ivf-flat-{nlist}"


def write_files(folder: Path, chunk_vectors: np.ndarray, bm25_tokens: list[list[str]]) -> dict:
    """Write vectors.faiss and bm25/ into ``folder``; the manifest's "faiss" entry."""
    import bm25s
    import faiss

    faiss_index, index_type = choose_faiss_index(np.ascontiguousarray(chunk_vectors, dtype=np.float32))
    faiss.write_index(faiss_index, str(folder / "vectors.faiss"))
    bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    bm25.index([tokens or [""] for tokens in bm25_tokens], show_progress=False)
    bm25.save(str(folder / "bm25"))
    return {"index_type": index_type, "metric": "inner_product", "rows": len(chunk_vectors), **({"nprobe": IVF_NPROBE} if index_type != "flat" else {})}


class FaissSearch:
    kind = "faiss"

    def __init__(self, faiss_index, bm25):
        self.faiss_index = faiss_index
        self.bm25 = bm25
        self.dimension = faiss_index.d
        self.count = faiss_index.ntotal

    @classmethod
    def load(cls, folder: Path, manifest: dict) -> "FaissSearch":
        import bm25s
        import faiss

        faiss_index = faiss.read_index(str(folder / "vectors.faiss"))
        if "nprobe" in manifest.get("faiss", {}):
            faiss.extract_index_ivf(faiss_index).nprobe = int(manifest["faiss"]["nprobe"])
        return cls(faiss_index, bm25s.BM25.load(str(folder / "bm25"), allow_pickle=False))

    def dense(self, vector: np.ndarray, depth: int) -> dict[int, float]:
        scores, rows = self.faiss_index.search(vector[None, :].astype(np.float32), min(depth, self.count))
        return {int(r): float(s) for r, s in zip(rows[0], scores[0]) if r >= 0}

    def lexical(self, terms: list[str], depth: int) -> dict[int, float]:
        terms = [t for t in terms if t in self.bm25.vocab_dict]
        if not terms:
            return {}
        scores = self.bm25.get_scores(terms)
        top = np.argsort(-scores)[:depth]
        return {int(r): float(scores[r]) for r in top if scores[r] > 0}

    def vectors(self) -> np.ndarray:
        return self.faiss_index.reconstruct_n(0, self.count)

    def close(self) -> None:
        pass
