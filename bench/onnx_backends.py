"""all-MiniLM-L6-v2 exported to ONNX (fp32 and dynamic int8) and run by ONNX Runtime or OpenVINO, for the
throughput section of the benchmark.

sentence-transformers' own `backend="onnx"` / `"openvino"` needs optimum-onnx or optimum-intel, which pin
transformers < 4.58 or pull another torch, so they cannot sit beside this project's pinned stack. The export
is therefore done here with `torch.onnx.export` from the shipped weights (offline), the int8 model with
ONNX Runtime's dynamic quantisation, and OpenVINO reads the same ONNX files. Tokenisation, truncation, mean
pooling and normalisation are the product's own (`qa.embeddings.NumpyEncoder`), so only the transformer
forward pass differs between backends.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from qa.embeddings import DEFAULT_MODEL, NumpyEncoder, resolve_model_path

CACHE = Path(__file__).resolve().parent / "cache" / "onnx"
THREADS = os.cpu_count() or 1


def _atomic(target: Path, write) -> Path:
    """Write through a temporary sibling and rename, so a stopped export never leaves a partial model."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as scratch:
        partial = Path(scratch) / target.name
        write(partial)
        partial.replace(target)
    return target


def export_fp32(model_name: str = DEFAULT_MODEL) -> Path:
    def write(path: Path) -> None:
        import torch
        from transformers import AutoModel

        class LastHiddenState(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = AutoModel.from_pretrained(str(resolve_model_path(model_name))).eval()

            def forward(self, input_ids, attention_mask):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        model = LastHiddenState().eval()
        ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
        mask = (ids != 0).to(torch.int64)
        with torch.no_grad():
            torch.onnx.export(
                model,
                (ids, mask),
                str(path),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                              "last_hidden_state": {0: "batch", 1: "tokens"}},
                opset_version=17,
                dynamo=False,
            )

    return _atomic(CACHE / "all-MiniLM-L6-v2.fp32.onnx", write)


def export_int8(model_name: str = DEFAULT_MODEL) -> Path:
    source = export_fp32(model_name)

    def write(path: Path) -> None:
        import logging

        from onnxruntime.quantization import QuantType, quantize_dynamic

        logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process is for static quantisation

        # Per-channel weight scales: per-tensor scales measured mean cosine 0.934 to the fp32 vectors on
        # SciFact abstracts, per-channel 0.994.
        quantize_dynamic(str(source), str(path), weight_type=QuantType.QInt8, per_channel=True)

    return _atomic(CACHE / "all-MiniLM-L6-v2.int8.onnx", write)


class OnnxEncoder(NumpyEncoder):
    """The product's tokenisation and pooling around an ONNX forward pass (ONNX Runtime or OpenVINO)."""

    def __init__(self, onnx_path: Path, runtime: str, model_name: str = DEFAULT_MODEL):
        super().__init__(model_name)
        self._weights = {}  # the NumPy forward pass is not used
        self.runtime = runtime
        with open(onnx_path, "rb") as model_file:
            self.fingerprint = hashlib.file_digest(model_file, "sha256").hexdigest()[:12]
        if runtime == "onnxruntime":
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = THREADS
            session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
            self._run = lambda ids, mask: session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]
        elif runtime == "openvino":
            import openvino

            # f32 explicitly: on CPUs with bf16 support OpenVINO otherwise runs in bf16 (1e-3 off the fp32 vectors).
            config = {"INFERENCE_NUM_THREADS": THREADS, "INFERENCE_PRECISION_HINT": "f32"}
            compiled = openvino.Core().compile_model(str(onnx_path), "CPU", config)
            output = compiled.output("last_hidden_state")
            self._run = lambda ids, mask: compiled({"input_ids": ids, "attention_mask": mask})[output]
        else:
            raise ValueError(f"unknown runtime {runtime!r}; use 'onnxruntime' or 'openvino'")

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        hidden = np.asarray(self._run(ids, mask.astype(np.int64)), dtype=np.float32)
        summed = (hidden * mask[:, :, None]).sum(1)
        return summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)


def backends() -> dict:
    """Name -> a function that builds the encoder (exporting on first use)."""
    return {
        "onnxruntime fp32": lambda: OnnxEncoder(export_fp32(), "onnxruntime"),
        "onnxruntime int8 (dynamic)": lambda: OnnxEncoder(export_int8(), "onnxruntime"),
        "openvino fp32": lambda: OnnxEncoder(export_fp32(), "openvino"),
        "openvino int8 (from the ONNX int8 model)": lambda: OnnxEncoder(export_int8(), "openvino"),
    }
