"""Rank chunks for a question: dense (FAISS), BM25 (bm25s) or hybrid (fused; score fusion by default, RRF on request)."""

from __future__ import annotations

import time
import threading
from collections import OrderedDict

import numpy as np

from qa.embed.encoders import Encoder
from qa.embed.query_batching import encode_query
from qa.errors import QAError
from qa.settings import RETRIEVAL_MODES
from qa.stores import Index
from qa.text import index_terms
from qa.types import Hit

RRF_K = 60  # the constant from Cormack et al. (2009); larger flattens the rank weights
FUSIONS = ("rrf", "score")
# How score fusion puts the channels on one scale: "max" keeps cosine as it is and divides BM25 by the
# query's best BM25 score; "minmax" maps each channel's candidates onto [0, 1].
NORMALISATIONS = ("max", "minmax")
# Each ranked list looks this deep before fusion, so a chunk ranked low by one retriever can still surface.
CANDIDATE_DEPTH = 50


class QueryVectors:
    """The most recently used questions' vectors (``size`` of them), shared by a server's threads; filled one
    question at a time as questions are searched, or many at once by Retriever.embed_ahead."""

    def __init__(self, size: int = 1024):
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, question: str) -> np.ndarray | None:
        with self._lock:
            vector = self._vectors.get(question)
            if vector is not None:
                self._vectors.move_to_end(question)
            return vector

    def put(self, question: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[question] = vector
            self._vectors.move_to_end(question)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def __len__(self) -> int:
        return len(self._vectors)


class Retriever:
    def __init__(
        self,
        index: Index,
        encoder: Encoder,
        fusion: str = "score",
        dense_weight: float = 0.5,
        sentence_channel: bool = True,
        normalise: str = "minmax",
    ):
        """Defaults chosen on the development suite (evals/README.md): score fusion of min-max-scaled dense
        (a passage's cosine or its best sentence's, whichever is higher) and BM25, weighted equally; the only
        fusion at or above its best single channel in evidence hit@5 on every corpus."""
        if fusion not in FUSIONS:
            raise QAError(f"fusion must be one of {', '.join(FUSIONS)}. Currently, fusion is {fusion!r}.")
        if encoder.model_name != index.model_name or encoder.dimension != index.dimension:
            raise QAError(
                f"the index was built with {index.model_name!r} ({index.dimension} dimensions) but the encoder is "
                f"{encoder.model_name!r} ({encoder.dimension}); rebuild the index with `qa index`."
            )
        self.index = index
        self.encoder = encoder
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.sentence_channel = sentence_channel
        if normalise not in NORMALISATIONS:
            raise QAError(f"normalise must be one of {', '.join(NORMALISATIONS)}. Currently, normalise is {normalise!r}.")
        self.normalise = normalise
        self._vectors = QueryVectors()

    def embed_ahead(self, questions: list[str], known: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Embed questions about to be searched in one pass of the encoder (far faster than one by one), except
        those whose vectors are ``known`` (from this model); returns every one's vector."""
        known = known or {}
        missing = [q for q in questions if q not in known]
        vectors = {**{q: known[q] for q in questions if q in known}, **dict(zip(missing, self.encoder.encode(missing) if missing else []))}
        for question, vector in vectors.items():
            self._vectors.put(question, vector)
        return vectors

    def embed_query(self, question: str) -> np.ndarray:
        vector = self._vectors.get(question)
        if vector is None:
            vector = encode_query(self.encoder, question)
            self._vectors.put(question, vector)
        return vector

    def clear_cache(self) -> None:
        """Forget cached query embeddings (so a measurement sees a question for the first time)."""
        self._vectors.clear()

    def dense_scores(self, question: str, depth: int) -> dict[int, float]:
        return self.index.search.dense(self.embed_query(question), min(depth, len(self.index.chunks)))

    def sentence_scores(self, question: str, depth: int) -> dict[int, float]:
        """Each chunk scored by its best-matching unit (sentence or list item) against the question.

        A long chunk's single vector blurs the one sentence that answers; this channel does not.
        """
        vector = self.embed_query(question)
        unit_scores = self.index.unit_vectors @ vector
        best: dict[int, float] = {}
        for position in np.argsort(-unit_scores)[: depth * 4]:
            row = self.index.chunk_positions[self.index.units[position].chunk_id]
            if row not in best:
                best[row] = float(unit_scores[position])
            if len(best) >= depth:
                break
        return best

    def bm25_scores(self, question: str, depth: int) -> dict[int, float]:
        return self.index.search.lexical(index_terms(question), depth)

    def search(self, question: str, mode: str = "hybrid", k: int = 5) -> tuple[Hit, ...]:
        return self.search_timed(question, mode, k)[0]

    def search_timed(self, question: str, mode: str = "hybrid", k: int = 5) -> tuple[tuple[Hit, ...], dict[str, float]]:
        """Ranked hits and this call's per-stage milliseconds (returned, not stored: sessions share the retriever)."""
        if mode not in RETRIEVAL_MODES:
            raise QAError(f"retrieval mode must be one of {', '.join(RETRIEVAL_MODES)}. Currently, mode is {mode!r}.")
        if k <= 0:
            raise QAError(f"k must be greater than 0. Currently, k is {k}.")
        timings: dict[str, float] = {}
        depth = max(k, CANDIDATE_DEPTH)
        dense: dict[int, float] = {}
        sentences: dict[int, float] = {}
        lexical: dict[int, float] = {}
        if mode in ("dense", "hybrid"):
            started = time.perf_counter()
            self.embed_query(question)
            timings["embed"] = _ms(started)
            started = time.perf_counter()
            dense = self.dense_scores(question, depth)
            if mode == "hybrid" and self.sentence_channel:
                sentences = self.sentence_scores(question, depth)
            timings["dense"] = _ms(started)
        if mode in ("bm25", "hybrid"):
            started = time.perf_counter()
            lexical = self.bm25_scores(question, depth)
            timings["bm25"] = _ms(started)
        started = time.perf_counter()
        if mode == "dense":
            fused = dense
        elif mode == "bm25":
            fused = lexical
        elif self.fusion == "rrf":
            fused = reciprocal_rank_fusion([dense, lexical] + ([sentences] if sentences else []))
        else:
            best_dense = {row: max(score, sentences.get(row, score)) for row, score in dense.items()}
            fused = score_fusion(best_dense, lexical, self.dense_weight, self.normalise)
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        timings["fusion"] = _ms(started)
        hits = tuple(Hit(self.index.chunks[row], rank, score, dense.get(row), lexical.get(row)) for rank, (row, score) in enumerate(ranked, 1))
        return hits, timings


def reciprocal_rank_fusion(rankings: list[dict[int, float]], k: int = RRF_K) -> dict[int, float]:
    fused: dict[int, float] = {}
    for scores in rankings:
        for rank, (row, _) in enumerate(sorted(scores.items(), key=lambda item: (-item[1], item[0])), 1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    return fused


def score_fusion(dense: dict[int, float], lexical: dict[int, float], dense_weight: float, normalise: str = "max") -> dict[int, float]:
    """Weighted sum of the two channels' scores on a common scale (see NORMALISATIONS); a candidate
    missing from a channel's list scores that channel's floor (0 after scaling)."""
    if normalise == "minmax":
        dense, lexical = _minmax(dense), _minmax(lexical)
    else:
        top = max(lexical.values(), default=0.0) or 1.0
        lexical = {r: v / top for r, v in lexical.items()}
    rows = set(dense) | set(lexical)
    return {r: dense_weight * dense.get(r, 0.0) + (1 - dense_weight) * lexical.get(r, 0.0) for r in rows}


def _minmax(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    return {r: (v - low) / (high - low) if high > low else 1.0 for r, v in scores.items()}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
