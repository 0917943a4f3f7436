"""The two stores side by side, through the product's own store code (qa/stores/).

* Synthetic clustered vectors (bench/scale.py's generator) at 100k and 1M: each store built by the code
  `qa index` runs (FAISS: choose_faiss_index; Milvus Lite: a library's passages collection, the same FLAT/IVF
  rule), then single-query latency and recall@10 against exact search, build time, size on disk, and the
  process's resident memory after the build.
* The seed corpus as an index folder and as a library in Milvus (`qa index --store faiss|milvus`) through
  the product's pipeline: the gold set's answers (same top citation?) and `ask` latency per store.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# Milvus Lite answers a query at 100,000 vectors in about a second (a Python engine), so it gets fewer.
MILVUS_QUERIES = 30


def run(quick: bool, sizes: list[int] | None = None, log=print) -> dict:
    """Section 4b. The quick run (CI's smoke test) uses 5,000 vectors; the full run 100,000 and 1,000,000."""
    from datetime import datetime, timezone

    from scale import QUERIES

    started = time.perf_counter()
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "synthetic": synthetic(sizes or ([5_000] if quick else [100_000, 1_000_000]), log),
        "seed": seed_corpus(log),
        "queries": {"faiss": QUERIES, "milvus": MILVUS_QUERIES},
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


def _measure(search, queries: np.ndarray, truth: np.ndarray) -> dict:
    for query in queries[:5]:
        search(query)  # warm
    latencies, recalls = [], []
    for query, expected in zip(queries, truth):
        started = time.perf_counter()
        found = search(query)
        latencies.append((time.perf_counter() - started) * 1000)
        recalls.append(len(set(found) & set(expected.tolist())) / 10)
    latencies.sort()
    return {"p50_ms": round(latencies[len(latencies) // 2], 3), "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 3), "recall@10": round(statistics.mean(recalls), 4)}


def synthetic(sizes: list[int], log=print) -> list[dict]:
    import faiss

    from scale import vectors
    from qa.stores.faiss_bm25 import choose_faiss_index
    from qa.stores.milvus import MilvusSearch, connect
    from qa.stores.milvus_library import flat_or_ivf
    from qa.stores.milvus_schema import create

    rows = []
    for n in sizes:
        base, queries = vectors(n)
        exact = faiss.IndexFlatIP(base.shape[1])
        exact.add(base)
        _, truth = exact.search(queries, 10)
        del exact
        with tempfile.TemporaryDirectory() as scratch:
            before = _rss_mb()
            started = time.perf_counter()
            index, kind = choose_faiss_index(base)
            build = time.perf_counter() - started
            faiss.write_index(index, str(Path(scratch) / "vectors.faiss"))
            faiss_row = {"store": "faiss", "vectors": n, "index": kind, "build_s": round(build, 1), "disk_mb": _folder_mb(Path(scratch)), "rss_added_mb": round(_rss_mb() - before, 1)}
            faiss_row.update(_measure(lambda q: index.search(q[None, :], 10)[1][0].tolist(), queries, truth))
            log(f"stores: faiss {n:,}: {faiss_row}")
            del index
            lite = Path(scratch) / "bench.milvus.db"
            keys = [f"v{i}" for i in range(n)]
            before = _rss_mb()
            started = time.perf_counter()
            client = connect(str(lite))
            create(client, "bench_passages", "passages", base.shape[1], n)
            for start in range(0, n, 5000):
                client.insert("bench_passages", [{"key": keys[i], "doc_key": "bench", "position": i, "record": "{}", "terms": "_", "vector": base[i].tolist()}
                                                 for i in range(start, min(n, start + 5000))])
            store = MilvusSearch(client, str(lite), "bench_passages", keys, base.shape[1])
            store.dense(queries[0], 10)  # the index is built lazily on the first search
            build = time.perf_counter() - started
            facts = {"index_type": flat_or_ivf(n)["index_type"].lower()}
            milvus_row = {"store": "milvus-lite", "vectors": n, "index": facts["index_type"], "build_s": round(build, 1), "disk_mb": _folder_mb(lite), "rss_added_mb": round(_rss_mb() - before, 1)}
            milvus_row.update(_measure(lambda q: list(store.dense(q, 10)), queries[:MILVUS_QUERIES], truth[:MILVUS_QUERIES]))
            log(f"stores: milvus-lite {n:,}: {milvus_row}")
            store.close()
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(lite))
        rows += [faiss_row, milvus_row]
    return rows


def _search_cpu_ms(pipeline, questions: list[str], passes: int = 3) -> float:
    """This process's CPU per hybrid search (the questions' vectors already cached): what the store's client
    costs a server, apart from the answer."""
    for question in questions:
        pipeline.retriever.embed_query(question)  # cached from here on
    started = time.process_time()
    for _ in range(passes):
        for question in questions:
            pipeline.retriever.search(question, "hybrid", 8)
    return round((time.process_time() - started) * 1000 / (passes * len(questions)), 2)


def seed_corpus(log=print) -> dict:
    from qa.indexing.build import build_index
    from qa.indexing.library_build import build_library
    from qa.ingest.documents import corpus_metadata, list_document_files
    from qa.pipeline import open_pipeline
    from qa.settings import Settings
    from qa.stores.milvus_library import MilvusLibrary

    questions = [json.loads(line)["question"] for line in (ROOT / "evals" / "gold.jsonl").read_text().splitlines() if line.strip()]
    scratch = Path(tempfile.mkdtemp())
    lite = str(scratch / "library.milvus.db")
    try:
        answers, result = {}, {}
        for kind in ("faiss", "milvus"):
            started = time.perf_counter()
            if kind == "faiss":
                build_index(ROOT / "corpus", scratch / "index", Settings().model, progress=False)
                settings = Settings(index=scratch / "index")
            else:
                library = MilvusLibrary(lite, "seed")
                files = [(p.relative_to(ROOT / "corpus").as_posix(), p) for p in list_document_files(ROOT / "corpus")]
                build_library(library, files, Settings().model, progress=False, metadata=corpus_metadata(ROOT / "corpus"))
                settings = Settings(milvus_uri=lite, milvus_collection="seed")
            build = time.perf_counter() - started
            pipeline = open_pipeline(settings, check_corpus=False)
            pipeline.ask(questions[0])
            latencies, tops = [], []
            for question in questions:
                pipeline.retriever.clear_cache()
                started = time.perf_counter()
                answer = pipeline.ask(question)
                latencies.append((time.perf_counter() - started) * 1000)
                tops.append(answer.citations[0].chunk.chunk_id if answer.citations else None)
            answers[kind] = tops
            search_cpu = _search_cpu_ms(pipeline, questions)
            pipeline.index.search.close()
            latencies.sort()
            result[kind] = {"build_s": round(build, 1), "ask_p50_ms": round(latencies[len(latencies) // 2], 1), "ask_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
                            "search_cpu_ms": search_cpu}
            log(f"stores: seed corpus through {kind}: {result[kind]}")
        result["questions"] = len(questions)
        result["same_top_citation"] = round(sum(a == b for a, b in zip(answers["faiss"], answers["milvus"])) / len(questions), 4)
        return result
    finally:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(lite)
        shutil.rmtree(scratch, ignore_errors=True)
