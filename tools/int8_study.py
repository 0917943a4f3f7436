"""Which layers of the passage encoder can be int8 (evals/README.md, *The int8 passage encoder*): the fused
export quantised whole (the `onnx-int8` backend until 2026-12-03) or with some operators left in fp32 (the last
variant is the product's since then), each timed on PubMedQA abstracts and compared with fp32 vectors, then every
suite corpus indexed with a variant and its retrieval compared with the cached fp32 index's.

1. ``variants``: writes each variant to ``OUT_FOLDER`` (ONNX Runtime's dynamic quantisation, weights per output
   channel, as the product's), then per variant the median of 3 encodes of 192 PubMedQA abstracts (2 threads)
   and its cosines to the fp32 vectors (about 3 minutes).
2. ``retrieval VARIANT.onnx``: every suite corpus indexed with it (`build_index`, the product's path) against
   the cached suite index (fp32, the default): the test split's own and typo'd answerable questions, hybrid, success@1/5/10 and MRR;
   SciFact's test nDCG@10 (about 20 minutes).

Usage: python tools/int8_study.py variants OUT_FOLDER
       python tools/int8_study.py retrieval OUT_FOLDER/no-ffn-output.onnx
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = {
    "whole": {},  # every operator ONNX Runtime can quantise (the onnx-int8 backend before 2026-12-03)
    "matmul-only": {"op_types_to_quantize": ["MatMul"]},  # attention's fused projections left in fp32
    "no-ffn-output": None,  # the product's: all but the six FFN output projections (1536 -> 384)
}


def variants(out: str) -> None:
    import numpy as np

    from qa.embed.encoders import OnnxEncoder, onnx_model_path
    from qa.embed.onnx_export import quantise_export

    folder, source = Path(out), onnx_model_path()
    folder.mkdir(parents=True, exist_ok=True)
    for name, options in VARIANTS.items():
        quantise_export(target=folder / f"{name}.onnx", options=options)
    texts = [f.read_text(encoding="utf-8")[:2000] for f in sorted(Path("../shared/bench/pubmedqa/corpus").glob("*"))[:192]]
    reference = None
    for name, path in {"fp32": source, **{n: folder / f"{n}.onnx" for n in VARIANTS}}.items():
        encoder = OnnxEncoder(onnx_path=path, tolerance=1e-4 if name == "fp32" else None)
        encoder.encode(texts[:16])
        seconds = []
        for _ in range(3):
            started = time.perf_counter()
            vectors = encoder.encode(texts, batch_size=32)
            seconds.append(time.perf_counter() - started)
        reference = vectors if reference is None else reference
        cosines = (vectors * reference).sum(1)
        print(f"| {name} | {statistics.median(seconds):.2f} s | {cosines.min():.4f} / {np.mean(cosines):.5f} |", flush=True)


def retrieval(variant: str) -> None:
    import numpy as np

    from qa.app.cli_common import settings_from_env
    from qa.embed.encoders import OnnxInt8Encoder
    from qa.eval.scoring import retrieval_scores
    from qa.eval.suite import beir_scores, corpus_folder, corpus_questions, load_suite, suite_index
    from qa.indexing.build import build_index
    from qa.pipeline import open_pipeline

    encoder = OnnxInt8Encoder(onnx_path=Path(variant))  # a pass per text, as the product's int8 backend
    encoder.backend = f"onnx-int8-{Path(variant).stem}"
    settings, suite = settings_from_env(), load_suite("evals/suite.json")
    scratch = Path(tempfile.mkdtemp(prefix="int8-study-"))
    for corpus in suite.corpora:
        row = {}
        variant_index = scratch / corpus.name
        build_index(corpus_folder(corpus, suite.cache), variant_index, settings.model, progress=False, encoder=encoder)
        for label, index in (("fp32", suite_index(corpus, suite.cache, settings.model, False)[0]), ("variant", variant_index)):
            pipeline = open_pipeline(settings.with_overrides(index=index), check_corpus=False, own_scale=False)
            if corpus.questions:
                questions = corpus_questions(suite, corpus, pipeline.index.documents)
                asked = [q for q in (*questions.own, *questions.typos) if q.split == "test" and q.answerable]
                scores = retrieval_scores(pipeline, asked, "hybrid")
                row[label] = {m: round(float(np.mean([s[m] for s in scores.values()])), 4) for m in ("success_1", "success_5", "success_10", "recip_rank")}
            else:
                row[label] = beir_scores(pipeline, corpus, modes=("hybrid",)).get("test.hybrid")
        print(corpus.name, json.dumps(row), flush=True)


if __name__ == "__main__":
    command, argument = sys.argv[1:3]
    {"variants": variants, "retrieval": retrieval}[command](argument)
