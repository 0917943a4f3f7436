"""Retrieval quality on SciFact (BEIR layout): BM25, dense, hybrid and hybrid + sentence-level rescoring.

Every weight and parameter is tuned on the train split; the test split is only reported. Metrics are
computed by pytrec_eval (nDCG@10, recall@100, MRR@10). Document and sentence embeddings are cached on
disk keyed by model and text hash, so reruns only embed what is new.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from npy_files import save_npy, text_key

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "bench" / "scifact"
CACHE = ROOT / "bench" / "cache"
PUBLISHED = {"BM25 (BEIR paper)": 0.665, "BM25 (Anserini flat)": 0.679, "Contriever": 0.649, "bge-small-en-v1.5": 0.713, "bge-base-en-v1.5": 0.741}


@dataclass
class SciFact:
    doc_ids: list[str]
    titles: list[str]
    texts: list[str]
    queries: dict[str, dict[str, str]]  # split -> {qid: text}
    qrels: dict[str, dict[str, dict[str, int]]]  # split -> {qid: {doc_id: relevance}}


def load(quick: bool = False) -> SciFact:
    docs = [json.loads(line) for line in (DATA / "corpus.jsonl").open(encoding="utf-8")]
    queries, qrels = {}, {}
    for split, name in (("test", "queries.jsonl"), ("train", "queries_train.jsonl")):
        qrels[split] = {}
        for line in (DATA / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]:
            qid, doc_id, score = line.split("\t")
            qrels[split].setdefault(qid, {})[doc_id] = int(score)
        queries[split] = {q["_id"]: q["text"] for q in map(json.loads, (DATA / name).open(encoding="utf-8")) if q["_id"] in qrels[split]}
    if quick:  # a small, fixed slice: 40 test and 40 train claims over their judged documents plus 250 others
        for split in queries:
            keep = sorted(queries[split], key=int)[:40]
            queries[split] = {q: queries[split][q] for q in keep}
            qrels[split] = {q: qrels[split][q] for q in keep}
        judged = {d for split in qrels for rel in qrels[split].values() for d in rel}
        docs = [d for d in docs if d["_id"] in judged] + [d for d in docs if d["_id"] not in judged][:250]
    return SciFact([d["_id"] for d in docs], [d["title"] for d in docs], [d["text"] for d in docs], queries, qrels)


# ---- metrics ---------------------------------------------------------------------------------------

def evaluate(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    from qa.eval.suite import beir_metrics  # the same metrics the product's suite reports

    return beir_metrics(run, qrels)


def top(scores: np.ndarray, doc_ids: list[str], k: int = 100) -> dict[str, float]:
    order = np.argsort(-scores)[:k]
    return {doc_ids[i]: float(scores[i]) for i in order}


# ---- embeddings with an on-disk cache --------------------------------------------------------------

class EmbeddingCache:
    """Vectors keyed by (model, sha256 of the text), stored as two .npy files per model (no pickle)."""

    BLOCK = 512

    def __init__(self, encoder, name: str):
        self.encoder = encoder
        CACHE.mkdir(parents=True, exist_ok=True)
        self.vectors_path = CACHE / f"{name}.vectors.npy"
        self.keys_path = CACHE / f"{name}.keys.npy"
        self.rows: dict[bytes, int] = {}
        self.vectors = np.zeros((0, encoder.dimension), dtype=np.float32)
        if self.vectors_path.exists() and self.keys_path.exists():
            keys = np.load(self.keys_path, allow_pickle=False)
            self.vectors = np.load(self.vectors_path, allow_pickle=False)
            self.rows = {bytes(k): i for i, k in enumerate(keys)}

    def encode(self, texts: list[str], batch_size: int = 64, save: bool = True) -> tuple[np.ndarray, float, int]:
        """Vectors for the texts, seconds spent embedding, and how many were embedded (not cached)."""
        keys = [text_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self.rows}.items())
        seconds = 0.0
        # In blocks, saved as they finish when saving: an interrupted long run (all-mpnet-base-v2 embeds
        # about 1.4 SciFact abstracts/s here) resumes where it stopped.
        for start in range(0, len(missing), self.BLOCK):
            block = missing[start:start + self.BLOCK]
            started = time.perf_counter()
            fresh = self.encoder.encode([t for _, t in block], batch_size=batch_size)
            seconds += time.perf_counter() - started
            base = len(self.vectors)
            self.vectors = np.concatenate([self.vectors, fresh])
            for offset, (k, _) in enumerate(block):
                self.rows[k] = base + offset
            if save:
                self.save()
        return self.vectors[[self.rows[k] for k in keys]], seconds, len(missing)

    def save(self) -> None:
        # Vectors first, then keys: keys never name a row the vectors file lacks, even if stopped between.
        save_npy(self.vectors_path, self.vectors)
        save_npy(self.keys_path, np.array(sorted(self.rows, key=self.rows.get), dtype="S64"))


class LocalSentenceTransformer:
    """A sentence-transformers model from a local folder, for second stages the product does not load
    (the product's own encoders accept mean-pooled BERT models only; all-mpnet-base-v2 is MPNet)."""

    def __init__(self, path: Path, name: str):
        from sentence_transformers import SentenceTransformer

        self.model_name = name
        self._model = SentenceTransformer(str(path), device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False), dtype=np.float32)


def mpnet_cache() -> EmbeddingCache:
    from models import mpnet_path

    return EmbeddingCache(LocalSentenceTransformer(mpnet_path(), "all-mpnet-base-v2"), "scifact-mpnet-docs")


def document_texts(data: SciFact) -> list[str]:
    return [f"{t}\n{x}" for t, x in zip(data.titles, data.texts)]


# ---- retrievers ------------------------------------------------------------------------------------

def bm25_scores(data: SciFact, k1: float, b: float):
    import bm25s

    from qa.text import index_terms

    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.index([index_terms(f"{t} {x}") or [""] for t, x in zip(data.titles, data.texts)], show_progress=False)

    def score(query: str) -> np.ndarray:
        terms = [t for t in index_terms(query) if t in retriever.vocab_dict]
        return retriever.get_scores(terms) if terms else np.zeros(len(data.doc_ids), dtype=np.float32)

    return score


def normalise(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def rrf(*score_arrays: np.ndarray, k: int = 60) -> np.ndarray:
    fused = np.zeros_like(score_arrays[0], dtype=np.float64)
    for scores in score_arrays:
        ranks = np.empty(len(scores), dtype=np.int64)
        ranks[np.argsort(-scores)] = np.arange(1, len(scores) + 1)
        fused += 1.0 / (k + ranks)
    return fused


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")


def sentences_of(title: str, text: str) -> list[str]:
    return [title] + [s for s in _SENTENCE.split(text) if len(s) > 20]


# ---- second stages: score a query's candidate documents (indices into the corpus) -------------------

def _prepared(seconds: float, embedded: int) -> dict:
    return {"seconds": round(seconds, 1), "embedded_now": embedded, "items_per_s": round(embedded / seconds, 1) if embedded else None}


class SentenceStage:
    """The best-matching sentence (or the title) of each candidate, by MiniLM cosine."""

    name = "sentence-level MiniLM (max over sentences)"
    depths = (20,)

    def __init__(self, data: SciFact, encoder, query_vectors):
        self.data, self.query_vectors = data, query_vectors
        self.cache = EmbeddingCache(encoder, "scifact-minilm-sentences")

    def prepare(self, wanted: list[int]) -> dict:
        _, seconds, embedded = self.cache.encode([s for c in wanted for s in sentences_of(self.data.titles[c], self.data.texts[c])])
        return _prepared(seconds, embedded)

    def score(self, split: str, qid: str, text: str, candidates: np.ndarray) -> np.ndarray:
        query = self.query_vectors[split][qid]
        best = []
        for c in candidates:
            vectors, _, _ = self.cache.encode(sentences_of(self.data.titles[c], self.data.texts[c]), save=False)
            best.append(float((vectors @ query).max()))
        return np.array(best)


class MaxSimStage:
    """Late interaction: mean over query word pieces of the best cosine to any of the document's word pieces."""

    name = "MaxSim over MiniLM token embeddings"
    depths = (20,)

    def __init__(self, data: SciFact):
        from late_interaction import TokenCache, TokenEncoder

        self.texts = document_texts(data)
        self.encoder = TokenEncoder()
        self.cache = TokenCache(self.encoder, "scifact-minilm-tokens")

    def prepare(self, wanted: list[int]) -> dict:
        return _prepared(*self.cache.ensure([self.texts[c] for c in wanted]))

    def score(self, split: str, qid: str, text: str, candidates: np.ndarray) -> np.ndarray:
        from late_interaction import maxsim

        query_tokens = self.encoder.encode([text])[0]
        return np.array([maxsim(query_tokens, self.cache.get(self.texts[c])) for c in candidates])


class MpnetStage:
    """Cosine between all-mpnet-base-v2 embeddings of the query and the document (768-d, 12 layers)."""

    name = "all-mpnet-base-v2"
    depths = (20, 100)

    def __init__(self, data: SciFact):
        self.texts = document_texts(data)
        self.cache = mpnet_cache()

    def prepare(self, wanted: list[int]) -> dict:
        _, seconds, embedded = self.cache.encode([self.texts[c] for c in wanted], batch_size=16)
        return _prepared(seconds, embedded)

    def score(self, split: str, qid: str, text: str, candidates: np.ndarray) -> np.ndarray:
        query = self.cache.encoder.encode([text])[0]
        vectors, _, _ = self.cache.encode([self.texts[c] for c in candidates], save=False)
        return vectors @ query


# ---- the experiment --------------------------------------------------------------------------------

def _backend_quality(data: SciFact, doc_texts, doc_vectors, runs_for, bm25_for, best_alpha: float, quick: bool, log) -> dict:
    """The same model through other runtimes (ONNX Runtime, OpenVINO; fp32 and int8): does quality hold?"""
    import onnx_backends

    backend_quality = {}
    runtimes = onnx_backends.backends()
    if quick:  # the product's backend only; every runtime still runs in the throughput section
        runtimes = {name: make for name, make in runtimes.items() if name.startswith("onnxruntime fp32")}
    for backend, make in runtimes.items():
        started = time.perf_counter()
        other = make()
        cache_name = f"scifact-{re.sub(r'[^a-z0-9]+', '-', backend.lower()).strip('-')}-{other.fingerprint}-docs"
        vectors, backend_seconds, backend_embedded = EmbeddingCache(other, cache_name).encode(doc_texts)
        agreement = float((vectors * doc_vectors).sum(1).mean())
        if "fp32" in backend and agreement < 0.9999:
            raise RuntimeError(f"{backend} vectors differ from sentence-transformers' (mean cosine {agreement:.5f}); the export is broken")
        other_queries = {qid: v for qid, v in zip(data.queries["test"], other.encode(list(data.queries["test"].values())))}
        dense_run = runs_for("test", lambda qid, text: vectors @ other_queries[qid])
        fused_run = runs_for("test", lambda qid, text: best_alpha * normalise(vectors @ other_queries[qid]) + (1 - best_alpha) * normalise(bm25_for("test", qid, text)))
        backend_quality[backend] = {"dense": evaluate(dense_run, data.qrels["test"]), f"score fusion (alpha={best_alpha})": evaluate(fused_run, data.qrels["test"]),
                                    "mean_cosine_to_reference": round(agreement, 5), **_prepared(backend_seconds, backend_embedded)}
        log(f"{backend}: {backend_quality[backend]} ({time.perf_counter() - started:.0f} s)")
    return backend_quality


def _second_stages(data: SciFact, first_stage, first_stage_name: str, stages: list, results: dict, quick: bool, log) -> dict:
    """Second stages: rescore the first stage's top candidates and blend, beta * first + (1 - beta) * second (both
    min-max normalised over the candidates); depth and beta tuned on train. Adds each blend's test figures to ``results``."""
    first_scores = {split: {qid: first_stage(split)(qid, text) for qid, text in data.queries[split].items()} for split in ("train", "test")}
    candidates = {split: {qid: np.argsort(-scores)[:100] for qid, scores in by_query.items()} for split, by_query in first_scores.items()}
    if quick:
        log("quick run: the all-mpnet-base-v2 stage is left out (it embeds about 1.9 abstracts/s on 2 cores)")
    else:
        stages.append(MpnetStage(data))
    second_stage = {}
    for stage in stages:
        started = time.perf_counter()
        wanted = {int(c) for split in candidates for ranked in candidates[split].values() for c in ranked[: max(stage.depths)]}
        prepare = stage.prepare(sorted(wanted))
        stage_scores = {split: {qid: stage.score(split, qid, text, candidates[split][qid][: max(stage.depths)])
                                for qid, text in data.queries[split].items()} for split in candidates}
        scoring_ms = 1000 * (time.perf_counter() - started - prepare["seconds"]) / sum(len(q) for q in candidates.values())

        def blended(split, depth, beta):
            out = {}
            for qid, first in first_scores[split].items():
                ranked = candidates[split][qid]
                top_k = ranked[:depth]
                second = stage_scores[split][qid][:depth]
                final = {data.doc_ids[c]: 10.0 + beta * f + (1 - beta) * g for c, f, g in zip(top_k, normalise(first[top_k]), normalise(second))}
                for rank, c in enumerate(ranked[depth:]):
                    final[data.doc_ids[c]] = float(first[c]) / (1 + rank)  # below every rescored candidate
                out[qid] = final
            return out

        grid = [(d, b) for d in stage.depths for b in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)]
        train = {(d, b): evaluate(blended("train", d, b), data.qrels["train"])["ndcg@10"] for d, b in grid}
        depth, beta = max(train, key=train.get)
        name = f"{first_stage_name} + {stage.name} rescoring of top {depth} (beta={beta})"
        results[name] = {"test": evaluate(blended("test", depth, beta), data.qrels["test"]), "stage": stage.name}
        alone = {qid: {data.doc_ids[c]: float(v) for c, v in zip(candidates["test"][qid], stage_scores["test"][qid])} for qid in data.queries["test"]}
        second_stage[stage.name] = {"depth": depth, "beta": beta, "train_ndcg10": {f"depth={d},beta={b}": v for (d, b), v in train.items()},
                                    "test_alone_on_candidates": evaluate(alone, data.qrels["test"]), "scoring_ms_per_query": round(scoring_ms, 2), **prepare}
        log(f"{stage.name}: depth {depth}, beta {beta}, test {results[name]['test']} ({time.perf_counter() - started:.0f} s)")
    return second_stage


def run(quick: bool = False, log=print) -> dict:
    import sys

    sys.path.insert(0, str(ROOT))
    from qa.embed.encoders import DEFAULT_MODEL, SentenceTransformerEncoder, load_encoder, onnx_available

    data = load(quick)
    encoder = SentenceTransformerEncoder()  # the reference implementation, for documents and claims
    # Sentences (many more texts) go through the product's index encoder when exported: ONNX Runtime gives the
    # same vectors to 1e-4 (checked on load; the runtime comparison below measures cosine 1.0), 2.5x faster.
    sentence_encoder = load_encoder(DEFAULT_MODEL, "onnx") if onnx_available() else encoder
    docs = EmbeddingCache(encoder, "scifact-minilm-docs")
    doc_texts = document_texts(data)
    doc_vectors, embed_seconds, embedded = docs.encode(doc_texts)
    log(f"SciFact: {len(doc_texts)} documents ({embedded} embedded now, {embed_seconds:.0f} s)")
    query_vectors = {split: dict(zip(qs, encoder.encode(list(qs.values())))) for split, qs in data.queries.items()}

    def runs_for(split: str, scorer) -> dict[str, dict[str, float]]:
        return {qid: top(scorer(qid, text), data.doc_ids) for qid, text in data.queries[split].items()}

    # BM25: k1 and b tuned on train.
    grid = [(0.9, 0.4), (1.2, 0.75), (1.2, 0.4), (1.5, 0.75)]
    bm25_by_params = {params: bm25_scores(data, *params) for params in grid}
    train_bm25 = {p: evaluate(runs_for("train", lambda q, t, s=s: s(t)), data.qrels["train"])["ndcg@10"] for p, s in bm25_by_params.items()}
    best_params = max(train_bm25, key=train_bm25.get)
    bm25 = bm25_by_params[best_params]
    cache_bm25: dict[tuple[str, str], np.ndarray] = {}

    def bm25_for(split, qid, text):
        if (split, qid) not in cache_bm25:
            cache_bm25[(split, qid)] = bm25(text)
        return cache_bm25[(split, qid)]

    def dense_for(split, qid):
        return doc_vectors @ query_vectors[split][qid]

    def score_fusion(alpha):
        return lambda split: (lambda qid, text: alpha * normalise(dense_for(split, qid)) + (1 - alpha) * normalise(bm25_for(split, qid, text)))

    systems = {
        "bm25": lambda split: (lambda qid, text: bm25_for(split, qid, text)),
        "dense (all-MiniLM-L6-v2)": lambda split: (lambda qid, text: dense_for(split, qid)),
        "hybrid, RRF (k=60)": lambda split: (lambda qid, text: rrf(dense_for(split, qid), bm25_for(split, qid, text))),
    }
    alphas = [round(a, 1) for a in np.arange(0.0, 1.01, 0.1)]
    train_alpha = {a: evaluate(runs_for("train", score_fusion(a)("train")), data.qrels["train"])["ndcg@10"] for a in alphas}
    best_alpha = max(train_alpha, key=train_alpha.get)
    systems[f"hybrid, score fusion (alpha={best_alpha})"] = score_fusion(best_alpha)

    results = {name: {"test": evaluate(runs_for("test", make("test")), data.qrels["test"])} for name, make in systems.items()}
    first_stage_name = max((n for n in results if n.startswith("hybrid")), key=lambda n: evaluate(runs_for("train", systems[n]("train")), data.qrels["train"])["ndcg@10"])

    backend_quality = _backend_quality(data, doc_texts, doc_vectors, runs_for, bm25_for, best_alpha, quick, log)
    second_stage = _second_stages(data, systems[first_stage_name], first_stage_name, [SentenceStage(data, sentence_encoder, query_vectors), MaxSimStage(data)], results, quick, log)

    return {
        "documents": len(data.doc_ids),
        "queries": {split: len(q) for split, q in data.queries.items()},
        "quick": quick,
        "tuned_on_train": {"bm25_k1_b": list(best_params), "bm25_train_ndcg10": {f"k1={k},b={b}": v for (k, b), v in train_bm25.items()}, "score_fusion_alpha": best_alpha,
                           "alpha_train_ndcg10": train_alpha, "first_stage": first_stage_name},
        "second_stages": second_stage,
        "backend_quality": backend_quality,
        "systems": results,
        "published_ndcg10": PUBLISHED,
        "corpus_embedding": {"seconds": round(embed_seconds, 1), "embedded_now": embedded, "docs_per_s": round(embedded / embed_seconds, 1) if embedded else None},
    }
