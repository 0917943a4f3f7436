"""The embedding model exported once to ONNX, so ONNX Runtime can embed passages for the index.

sentence-transformers' own ONNX backend needs optimum-onnx, which pins transformers < 4.58 and so cannot
sit beside this project's pinned stack; the export is done here with `torch.onnx.export` from the shipped
weights, offline. The attention is exported in its plain (eager) form so that ONNX Runtime's transformer
optimizer can fuse each layer's attention, its layer norms and GELU into single kernels: about 15% faster on
PubMedQA's abstracts, with vectors within 2e-7 of the unfused export's (README, Benchmarks).
The file goes where sentence-transformers keeps its own exports (`onnx/model.onnx` in the model's folder)
and is written through a temporary sibling and renamed, so an interrupted export leaves nothing behind.
`OnnxEncoder` checks every loaded export against the weights before use.

Its int8 quantisation (`qa index --backend onnx-int8`) leaves the six FFN output projections (1536 -> 384) in
fp32: their inputs, after GELU, have the widest range, and quantising them is where int8 lost retrieval
(evals/README.md, *The int8 passage encoder*). Quantising the rest is 1.36x faster than fp32 with every suite
corpus's retrieval within 0.005.
"""

from __future__ import annotations

import logging
import re
import tempfile
import warnings
from pathlib import Path

from qa.embed.encoders import DEFAULT_MODEL, OnnxEncoder, OnnxInt8Encoder, onnx_int8_model_path, onnx_model_path, resolve_model_path
from qa.errors import QAError

EXPORT_FORM = ("qa_export", "fused-attention-1")  # recorded in the file: an export of an older form is made again
INT8_FORM = ("qa_int8", "ffn-output-fp32-1")  # likewise for the int8 quantisation: an older one is quantised again
FFN_OUTPUT = re.compile(r"/layer\.\d+/output/dense/MatMul$")  # each layer's 1536 -> 384 projection, left in fp32
INT8_OPERATORS = ["MatMul", "Attention"]  # the embeddings' lookup (Gather) stays fp32 too


def export_is_current(path: Path, form: tuple[str, str] = EXPORT_FORM) -> bool:
    """Whether the file at ``path`` is of the present ``form`` (an older one still works: slower, or for
    int8, further from the weights' vectors)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # unreadable: not current, make it again
        return False
    return any((entry.key, entry.value) == form for entry in model.metadata_props)


def ensure_export(model_name: str = DEFAULT_MODEL, force: bool = False) -> list[str]:
    """Export the model and quantise it to int8 where the files are missing or of an older form (``force``:
    both again); the int8 file follows its source. Returns a line for each thing done."""
    path = onnx_model_path(model_name)
    current = path.is_file() and export_is_current(path)
    if current and not force:
        done = [f"{path} is already there (use --force to export again)."]
    else:
        done = [f"{path} is an export of an older form (attention not fused); exporting again."] if path.is_file() and not current else []
        done.append(f"Exported {model_name} to {export_onnx(model_name)}")
    if force or not current or not export_is_current(onnx_int8_model_path(model_name), INT8_FORM):
        done.append(f"Quantised it to int8: {quantise_export(model_name)}")
    return done


def export_onnx(model_name: str = DEFAULT_MODEL, target: Path | None = None, fused: bool = True) -> Path:
    """Export the model's transformer (token ids and mask in, last hidden state out) and check it;
    ``fused=False``: the plain graph, standard ONNX operators only (for runtimes other than ONNX Runtime)."""
    model_folder = resolve_model_path(model_name)
    target = Path(target) if target else onnx_model_path(model_name)
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise QAError(f"exporting to ONNX needs torch and transformers ({exc}); run `make install`.") from exc

    class LastHiddenState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(model_folder), attn_implementation="eager").eval()

        def forward(self, input_ids, attention_mask):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-")
    except OSError as exc:
        raise QAError(f"cannot write the ONNX export to {target.parent} ({exc.strerror}); make that folder writable.") from exc
    with scratch as folder, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python control flow it records as constants
        plain, partial = Path(folder) / "plain.onnx", Path(folder) / target.name
        module = LastHiddenState().eval()
        ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
        try:
            torch.onnx.export(
                module,
                (ids, (ids != 0).to(torch.int64)),
                str(plain),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "last_hidden_state")},
                opset_version=17,
                dynamo=False,
            )
        except torch.onnx.OnnxExporterError as exc:
            raise QAError(f"the ONNX export of {model_name!r} failed ({exc}); run `make install` for the onnx package.") from exc
        _fuse(plain, partial, module.encoder.config) if fused else plain.replace(partial)
        OnnxEncoder(model_name, partial)  # raises if the export does not reproduce the weights' vectors
        partial.replace(target)
    return target


def _fuse(plain: Path, target: Path, config) -> None:
    """The plain export with each layer's attention, layer norms and GELU fused (ONNX Runtime's optimizer);
    ``config``: the exported model's own (its heads and width)."""
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(str(plain), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size)
    entry = fused.model.metadata_props.add()
    entry.key, entry.value = EXPORT_FORM
    fused.save_model_to_file(str(target))


def quantise_export(model_name: str = DEFAULT_MODEL, source: Path | None = None, target: Path | None = None, options: dict | None = None) -> Path:
    """The export's int8 quantisation beside it (ONNX Runtime's dynamic quantisation, weights per output channel,
    the FFN output projections left in fp32), checked against the weights' vectors before it takes its name;
    ``source``, ``target``: another export of the model, and where its quantisation goes; ``options``: instead
    of the product's choice of operators and nodes, `quantize_dynamic`'s own (for tools/int8_study.py)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = Path(source) if source else onnx_model_path(model_name)
    target = Path(target) if target else onnx_int8_model_path(model_name)
    if not source.is_file():
        raise QAError(f"no ONNX export of {model_name!r} at {source} to quantise; run `qa export-onnx`.")
    model = onnx.load(str(source))
    if options is None:  # the product's recipe, recorded in the file (the quantisation keeps the source's metadata)
        options = {"op_types_to_quantize": INT8_OPERATORS, "nodes_to_exclude": [n.name for n in model.graph.node if FFN_OUTPUT.search(n.name)]}
        entry = model.metadata_props.add()
        entry.key, entry.value = INT8_FORM
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".quantise-") as folder:
        partial = Path(folder) / target.name
        logging.disable(logging.WARNING)  # its advice to pre-process, meant for image models
        try:
            # DefaultTensorType: shape inference cannot type the outputs of the fused (com.microsoft) operators
            quantize_dynamic(model, str(partial), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT}, **options)
        finally:
            logging.disable(logging.NOTSET)
        OnnxInt8Encoder(model_name, partial)  # raises if its vectors stray from the weights'
        partial.replace(target)
    return target
