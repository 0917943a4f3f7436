"""all-MiniLM-L6-v2 through ONNX Runtime (the product's `qa export-onnx` model, and a dynamic int8 version of
it) and through OpenVINO (reading the same ONNX files), for the throughput and quality sections.

sentence-transformers' own `backend="onnx"` / `"openvino"` needs optimum-onnx or optimum-intel, which pin
transformers < 4.58 or pull another torch, so they cannot sit beside this project's pinned stack. Every
backend here shares the product's tokenisation, truncation, mean pooling and normalisation
(`qa.embeddings.NumpyEncoder`), so only the transformer forward pass differs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from qa.ingest.documents import hash_file
from qa.embed.encoders import DEFAULT_MODEL, NumpyEncoder, OnnxEncoder, onnx_model_path
from qa.embed.onnx_export import export_onnx

CACHE = Path(__file__).resolve().parent / "cache" / "onnx"
THREADS = os.cpu_count() or 1


def fp32_model(model_name: str = DEFAULT_MODEL) -> Path:
    path = onnx_model_path(model_name)
    return path if path.is_file() else export_onnx(model_name)


def int8_model(model_name: str = DEFAULT_MODEL) -> Path:
    target = CACHE / "all-MiniLM-L6-v2.int8.onnx"
    if target.is_file():
        return target
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process is for static quantisation
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".quantise-") as scratch:
        partial = Path(scratch) / target.name
        # Per-channel weight scales: per-tensor scales measured mean cosine 0.934 to the fp32 vectors on
        # SciFact abstracts, per-channel 0.994.
        quantize_dynamic(str(fp32_model(model_name)), str(partial), weight_type=QuantType.QInt8, per_channel=True)
        partial.replace(target)
    return target


class OpenVinoEncoder(NumpyEncoder):
    """The product's tokenisation and pooling around an OpenVINO forward pass of an ONNX file."""

    def __init__(self, onnx_path: Path, model_name: str = DEFAULT_MODEL):
        import openvino

        super().__init__(model_name, load_weights=False)
        self.fingerprint = hash_file(onnx_path)[:12]
        # f32 explicitly: on CPUs with bf16 support OpenVINO otherwise runs in bf16 (1e-3 off the fp32 vectors).
        config = {"INFERENCE_NUM_THREADS": THREADS, "INFERENCE_PRECISION_HINT": "f32"}
        self._compiled = openvino.Core().compile_model(str(onnx_path), "CPU", config)
        self._output = self._compiled.output("last_hidden_state")

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._compiled({"input_ids": ids, "attention_mask": mask.astype(np.int64)})[self._output]


def _onnxruntime(path: Path, exact: bool) -> OnnxEncoder:
    encoder = OnnxEncoder(onnx_path=path, tolerance=1e-4 if exact else None)
    encoder.fingerprint = hash_file(path)[:12]
    return encoder


def backends() -> dict:
    """Name -> a function that builds the encoder (exporting or quantising on first use)."""
    return {
        "onnxruntime fp32 (the product's index backend)": lambda: _onnxruntime(fp32_model(), exact=True),
        "onnxruntime int8 (dynamic)": lambda: _onnxruntime(int8_model(), exact=False),
        "openvino fp32": lambda: OpenVinoEncoder(fp32_model()),
        "openvino int8 (from the ONNX int8 model)": lambda: OpenVinoEncoder(int8_model()),
    }
