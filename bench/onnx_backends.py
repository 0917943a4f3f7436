"""all-MiniLM-L6-v2 through ONNX Runtime (the product's `qa export-onnx` model, and a dynamic int8 version of
it) and through OpenVINO (reading the export without ONNX Runtime's fused operators, whose quantised forms it
cannot convert), for the throughput and quality sections.

sentence-transformers' own `backend="onnx"` / `"openvino"` needs optimum-onnx or optimum-intel, which pin
transformers < 4.58 or pull another torch, so they cannot sit beside this project's pinned stack. Every
backend here shares the product's tokenisation, truncation, mean pooling and normalisation
(`qa.embeddings.NumpyEncoder`), so only the transformer forward pass differs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from qa.ingest.documents import hash_file
from qa.embed.encoders import DEFAULT_MODEL, NumpyEncoder, OnnxEncoder, OnnxInt8Encoder, onnx_int8_model_path, onnx_model_path
from qa.embed.onnx_export import INT8_FORM, ensure_export, export_is_current, export_onnx, quantise_export

THREADS = os.cpu_count() or 1
PLAIN_CACHE = Path(__file__).resolve().parent / "cache" / "onnx-plain"


def fp32_model(model_name: str = DEFAULT_MODEL) -> Path:
    ensure_export(model_name)
    return onnx_model_path(model_name)


def int8_model(model_name: str = DEFAULT_MODEL) -> Path:
    """The product's int8 quantisation of the export (`qa export-onnx` writes both)."""
    ensure_export(model_name)
    return onnx_int8_model_path(model_name)


def plain_model(model_name: str = DEFAULT_MODEL, int8: bool = False) -> Path:
    """The export without ONNX Runtime's fused operators (OpenVINO cannot read the quantised ones), fp32 or
    quantised like the product's, made once into the bench cache."""
    fp32, quantised = PLAIN_CACHE / "model.onnx", PLAIN_CACHE / "model.int8.onnx"
    if not fp32.is_file():
        export_onnx(model_name, fp32, fused=False)
        quantised.unlink(missing_ok=True)
    if int8 and not export_is_current(quantised, INT8_FORM):
        quantise_export(model_name, fp32, quantised)
    return quantised if int8 else fp32


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
    encoder = OnnxEncoder(onnx_path=path, tolerance=1e-4) if exact else OnnxInt8Encoder(onnx_path=path)  # int8: a pass per text
    encoder.fingerprint = hash_file(path)[:12]
    return encoder


def backends() -> dict:
    """Name -> a function that builds the encoder (exporting or quantising on first use)."""
    return {
        "onnxruntime fp32 (the product's index backend)": lambda: _onnxruntime(fp32_model(), exact=True),
        "onnxruntime int8 (`--backend onnx-int8`: FFN outputs fp32, a pass per text)": lambda: _onnxruntime(int8_model(), exact=False),
        "openvino fp32 (the plain export)": lambda: OpenVinoEncoder(plain_model()),
        "openvino int8 (the plain export, quantised like the product's)": lambda: OpenVinoEncoder(plain_model(int8=True)),
    }
