"""The least time `qa index` could take on this machine: the arithmetic behind the indexing ratio.

Per corpus, the word pieces each build embeds (the product's passages with the title and heading they are read
under; the reference's 1000/200 chunks, cut at the model's 256 as it reads them), the encoder's FLOPs per
piece, and what the machine does with them:
- its fp32 GEMM rate at the encoder's own shapes (NumPy's BLAS, tokens x 384 x 1536 and back), the most a
  forward pass made of those products could reach;
- each engine's forward rate on the product's own passages, through the product's tokenisation and pooling:
  ONNX Runtime fp32 (the default) and int8 (`--backend onnx-int8`), and PyTorch (sentence-transformers, the
  reference's engine).
The floor is the product's pieces at the GEMM rate, over the reference build's time from the same run: no
start-up, no chunking, no writing, every FLOP at the rate of a large matrix product.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from latency import median_seconds
from product import CORPORA, QUICK_FILES, _subset

GEMM_ROWS = 4096
SAMPLE_CORPUS = "pubmedqa"


def run(index_speed: dict, quick: bool, log=print) -> dict:
    """Token counts per corpus, the machine's rates and the implied floors against `index_speed`'s reference times."""
    from qa.embed.encoders import load_encoder

    counter = load_encoder(backend="numpy")
    gemm = gemm_rate(counter)
    corpora, passages = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, folder in CORPORA.items():
            corpus = _subset(folder, Path(scratch) / name, QUICK_FILES) if quick else folder
            texts = product_texts(corpus, counter)
            passages[name] = texts
            ours, reference = _pieces(texts, counter), _pieces(reference_texts(corpus), counter)
            corpora[name] = {"ours_tokens": sum(ours), "reference_tokens": sum(reference), "ours_passages": len(ours), "reference_chunks": len(reference),
                             "ours_mean_tokens": round(sum(ours) / len(ours), 1), "flops_per_token": flops_per_token(counter, sum(ours) / len(ours))}
    sample = passages[SAMPLE_CORPUS][:: max(1, len(passages[SAMPLE_CORPUS]) // (64 if quick else 768))]
    sample_tokens = sum(_pieces(sample, counter))
    engines = engine_rates(sample, sample_tokens, runs=1 if quick else 3)
    for name, row in corpora.items():
        reference_s = index_speed[name]["reference"]["seconds"]
        at_gemm = row["ours_tokens"] * row["flops_per_token"] / gemm["flops_per_s"]
        at_onnx = row["ours_tokens"] / engines["onnx"]["tokens_per_s"]
        row.update({"reference_s": reference_s, "ours_forward_at_gemm_rate_s": round(at_gemm, 1), "ours_forward_at_onnx_rate_s": round(at_onnx, 1),
                    "floor_vs_reference": round(at_gemm / reference_s, 2), "onnx_forward_vs_reference": round(at_onnx / reference_s, 2)})
    result = {"gemm": gemm, "engines": engines, "sample": {"corpus": SAMPLE_CORPUS, "passages": len(sample), "tokens": sample_tokens}, "corpora": corpora}
    log(f"index floor: {json.dumps(result)}")
    return result


def product_texts(corpus: Path, counter) -> list[str]:
    """What `qa index` embeds for the folder: each passage with its title and heading (the build's own functions)."""
    from qa.indexing.build import chunk_embedding_text
    from qa.indexing.chunking import split_document
    from qa.ingest.documents import load_corpus

    return [chunk_embedding_text(document, chunk) for document in load_corpus(corpus).documents
            for chunk in split_document(document, counter.max_tokens, counter.count_tokens)]


def reference_texts(corpus: Path) -> list[str]:
    """What the reference build embeds: the files as read, split 1000/200 (bench/reference.py)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    return [chunk for path in sorted(corpus.iterdir()) if path.is_file() for chunk in splitter.split_text(path.read_text(encoding="utf-8"))]


def _pieces(texts: list[str], counter) -> list[int]:
    return [min(counter.count_tokens(text), counter.max_tokens) for text in texts]


def _shape(counter) -> tuple[int, int, int]:
    """The encoder's width, FFN width and layers, from its config."""
    from qa.embed.encoders import _read_model_files

    config = json.loads((_read_model_files(counter.model_name).path / "config.json").read_text())
    return int(config["hidden_size"]), int(config["intermediate_size"]), int(config["num_hidden_layers"])


def flops_per_token(counter, mean_tokens: float) -> int:
    """A token's FLOPs through the encoder: per layer the four attention projections and the two FFN products
    (2 FLOPs a multiply-add), and its attention scores and weighted sum over a passage of ``mean_tokens``."""
    hidden, inner, layers = _shape(counter)
    return int(layers * (2 * (4 * hidden * hidden + 2 * hidden * inner) + 4 * mean_tokens * hidden))


def gemm_rate(counter, runs: int = 5) -> dict:
    """FLOPs per second of NumPy's float32 matrix product at the encoder's two FFN shapes; the faster one."""
    import numpy as np

    hidden, inner, _ = _shape(counter)
    rng = np.random.default_rng(0)
    rates = {}
    for label, (k, n) in {"up": (hidden, inner), "down": (inner, hidden)}.items():
        a, b = rng.standard_normal((GEMM_ROWS, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
        seconds = median_seconds(lambda: a @ b, runs)
        rates[label] = 2 * GEMM_ROWS * k * n / seconds
    best = max(rates.values())
    return {"flops_per_s": best, "gflops": round(best / 1e9, 1), "by_shape_gflops": {k: round(v / 1e9, 1) for k, v in rates.items()}}


def engine_rates(texts: list[str], tokens: int, runs: int) -> dict:
    """Word pieces per second of each engine over the same passages (``tokens`` word pieces, as the model reads
    them), sorted into batches as the product does."""
    from qa.embed.encoders import OnnxEncoder, OnnxInt8Encoder, SentenceTransformerEncoder
    from qa.indexing.build import INDEX_BATCH

    # each engine at its own build's batch size (the int8 encoder reads a passage at a time whatever it is given)
    makers = {"onnx": (OnnxEncoder, INDEX_BATCH), "onnx-int8": (OnnxInt8Encoder, INDEX_BATCH), "torch": (SentenceTransformerEncoder, 32)}
    rates = {}
    for name, (make, batch) in makers.items():
        encoder = make()
        seconds = median_seconds(lambda: encoder.encode(texts, batch_size=batch), runs)
        rates[name] = {"seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds)}
        del encoder
    return rates


def markdown(floor: dict | None) -> list[str]:
    if not floor:
        return []
    gemm, engines = floor["gemm"], floor["engines"]
    lines = [
        "### The floor: what this machine allows",
        "",
        f"This machine's fp32 matrix product at the encoder's FFN shapes (NumPy, {GEMM_ROWS} rows): {gemm['gflops']} GFLOP/s. "
        f"Forward passes over {floor['sample']['passages']} of {floor['sample']['corpus']}'s passages ({floor['sample']['tokens']} word pieces), "
        "through the product's tokenisation and pooling: "
        + ", ".join(f"{name} {row['tokens_per_s']} pieces/s" for name, row in engines.items()) + ".",
        "",
        "| corpus | pieces `qa index` embeds | pieces the reference embeds | FLOPs per piece | `qa index`'s forward at ONNX Runtime's rate | vs reference | at the GEMM rate (floor) | floor vs reference |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in floor["corpora"].items():
        lines.append(f"| {name} | {row['ours_tokens']} ({row['ours_passages']} passages) | {row['reference_tokens']} ({row['reference_chunks']} chunks) | "
                     f"{row['flops_per_token'] / 1e6:.1f} M | {row['ours_forward_at_onnx_rate_s']} s | {row['onnx_forward_vs_reference']}× | "
                     f"{row['ours_forward_at_gemm_rate_s']} s | **{row['floor_vs_reference']}×** |")
    return lines + ["", "The floor leaves out start-up, chunking and writing and runs every FLOP at the rate of a large matrix product: "
                    "no fp32 build of these passages can be faster on this machine.", ""]
