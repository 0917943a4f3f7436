"""FAISS at scale: build time, size, single-query latency and recall@10 against exact search.

Vectors are synthetic, 384-d and L2-normalised, from a fixed seed: points around 2,000 random centres
(real sentence embeddings are clustered; uniform random vectors would be an unrealistic worst case).
Queries are perturbed database points. No model is needed.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

DIMENSION = 384
QUERIES = 200


def vectors(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, DIMENSION)).astype(np.float32)
    base = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks, to bound temporary memory
        stop = min(n, start + 100_000)
        base[start:stop] = centres[rng.integers(0, len(centres), stop - start)] + 0.6 * rng.standard_normal((stop - start, DIMENSION)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = base[rng.integers(0, n, QUERIES)] + 0.3 * rng.standard_normal((QUERIES, DIMENSION)).astype(np.float32) / np.sqrt(DIMENSION) * 4
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return base, queries.astype(np.float32)


def _measure(index, queries: np.ndarray, truth: np.ndarray) -> dict:
    index.search(queries[:5], 10)  # warm
    latencies, found = [], []
    for query in queries:
        started = time.perf_counter()
        _, rows = index.search(query[None, :], 10)
        latencies.append((time.perf_counter() - started) * 1000)
        found.append(rows[0])
    recall = statistics.mean(len(set(f) & set(t)) / 10 for f, t in zip(found, truth))
    latencies.sort()
    return {"p50_ms": round(latencies[len(latencies) // 2], 3), "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 3), "recall@10": round(recall, 4)}


def run(sizes: list[int], log=print) -> list[dict]:
    rows = []
    for n in sizes:
        rows += _run_size(n, log)  # one size at a time: its vectors and indexes are freed on return
    return rows


def _run_size(n: int, log) -> list[dict]:
    import faiss

    base, queries = vectors(n)
    flat = faiss.IndexFlatIP(DIMENSION)
    started = time.perf_counter()
    flat.add(base)
    flat_build = time.perf_counter() - started
    _, truth = flat.search(queries, 10)
    nlist = int(4 * np.sqrt(n))
    sample = base[np.random.default_rng(1).choice(n, min(n, 40 * nlist), replace=False)]

    def hnsw():
        index = faiss.IndexHNSWFlat(DIMENSION, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(base)
        return index

    def ivf_flat():
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIMENSION), DIMENSION, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(sample)
        index.add(base)
        return index

    def ivf_pq():
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(DIMENSION), DIMENSION, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(sample)
        refined = faiss.IndexRefineFlat(index)  # exact re-ranking of the PQ shortlist
        refined.add(base)
        refined.k_factor = 4
        return refined

    candidates = [
        ("flat (exact)", lambda: flat, []),
        ("HNSW32", hnsw, [("efSearch", v) for v in (16, 32, 64, 128)]),
        ("IVF-Flat", ivf_flat, [("nprobe", v) for v in (4, 8, 16, 32)]),
        ("IVF-PQ48 + exact refine", ivf_pq, [("nprobe", v) for v in (4, 8, 16, 32)]),
    ]
    rows = []
    for name, build, settings in candidates:
        started = time.perf_counter()
        index = build()
        build_seconds = flat_build if index is flat else time.perf_counter() - started
        size_mb = round(faiss.serialize_index(index).nbytes / 2**20, 1)
        for knob, value in settings or [(None, None)]:
            if knob == "efSearch":
                index.hnsw.efSearch = value
            elif knob == "nprobe":
                faiss.extract_index_ivf(index).nprobe = value
            row = {"n": n, "index": name, "setting": f"{knob}={value}" if knob else "", "build_s": round(build_seconds, 2), "size_mb": size_mb,
                   **_measure(index, queries, truth)}
            rows.append(row)
            log(f"  {row}")
    return rows


def choose_index_rule(rows: list[dict]) -> str:
    """The rule the store follows (qa/stores/faiss_bm25.py: FLAT_INDEX_LIMIT, choose_faiss_index), stated with the measurements behind it."""
    def find(n, index, setting=""):
        return next((r for r in rows if r["n"] == n and r["index"] == index and r["setting"] == setting), None)

    parts = ["exact flat search up to 50,000 vectors; IVF-Flat (nlist = 4*sqrt(n), nprobe 16) above"]
    for n in (100_000, 1_000_000):
        flat, ivf, hnsw = find(n, "flat (exact)"), find(n, "IVF-Flat", "nprobe=16"), find(n, "HNSW32", "efSearch=128")
        if flat and ivf:
            parts.append(f"at {n:,} flat takes {flat['p50_ms']} ms per query, IVF-Flat {ivf['p50_ms']} ms (p95 {ivf['p95_ms']}) at recall@10 {ivf['recall@10']}"
                         + (f", HNSW32 efSearch 128 {hnsw['p50_ms']} ms at recall@10 {hnsw['recall@10']}" if hnsw else ""))
    parts.append("IVF recall depends on the vectors being clustered, as sentence embeddings are; nprobe can be raised if a corpus is not")
    return "; ".join(parts)
