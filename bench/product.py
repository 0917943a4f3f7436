"""The product's own path on the suite's corpora: `qa index` against the LangChain reference build on the same
folder (whole commands, median of runs, peak RSS, in the same run), and SciFact retrieval through `qa index` on
corpus.jsonl and the product's retriever with default settings."""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from latency import QA, ROOT, _timed

SHARED = ROOT.parent / "shared" / "bench"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CORPORA = {"medquad": SHARED / "medquad" / "corpus", "pubmedqa": SHARED / "pubmedqa" / "corpus"}
QUICK_FILES = 40  # the quick run indexes the first 40 files of each folder


def _subset(folder: Path, target: Path, count: int) -> Path:
    target.mkdir(parents=True)
    for path in sorted(folder.iterdir())[:count]:
        shutil.copy(path, target / path.name)
    return target


def suite_folders() -> dict[str, Path]:
    """Every corpus of the development suite kept as a folder of files, each folder once (the seed's yes/no set asks
    about the seed's folder; SciFact's corpus.jsonl is measured in its own section)."""
    from qa.eval.suite import load_suite

    found: dict[str, Path] = {}
    for corpus in load_suite(ROOT / "evals" / "suite.json").corpora:
        if corpus.corpus.is_dir() and corpus.corpus.resolve() not in found.values():
            found[corpus.name] = corpus.corpus.resolve()
    return found


def index_speed(quick: bool, runs: int, log=print, corpora: dict[str, Path] = CORPORA, int8_too: bool = True) -> dict:
    """Per corpus: `qa index` (fresh index each run), `qa index --backend onnx-int8` (unless not ``int8_too``) and the
    reference build, as whole commands (start-up and model load included), median wall seconds over `runs`, peak RSS,
    passages and passages/s, and the ratios."""
    result = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, folder in corpora.items():
            corpus = _subset(folder, Path(scratch) / name, QUICK_FILES) if quick else folder
            ours, int8, reference = [], [], []
            for run in range(runs):
                index = Path(scratch) / f"{name}-index-{run}"
                ours.append(_timed([QA, "index", "-q", "--corpus", str(corpus), "--index", str(index)]))
                if int8_too:
                    int8.append(_timed([QA, "index", "-q", "--backend", "onnx-int8", "--corpus", str(corpus), "--index", str(Path(scratch) / f"{name}-int8-{run}")]))
                reference.append(_timed([PYTHON, str(ROOT / "bench" / "reference_build.py"), str(corpus), str(Path(scratch) / f"{name}-ref.json")]))
            passages = json.loads((index / "manifest.json").read_text())["counts"]["chunks"]
            reference_chunks = json.loads((Path(scratch) / f"{name}-ref.json").read_text())["chunks"]
            ours_s = statistics.median(s for s, _ in ours)
            reference_s = statistics.median(s for s, _ in reference)
            result[name] = {
                "files": len(list(corpus.iterdir())),
                "runs": runs,
                "ours": {"seconds": round(ours_s, 1), "passages": passages, "passages_per_s": round(passages / ours_s, 1), "peak_rss_mb": round(max(m for _, m in ours))},
                "reference": {"seconds": round(reference_s, 1), "chunks": reference_chunks, "chunks_per_s": round(reference_chunks / reference_s, 1),
                              "peak_rss_mb": round(max(m for _, m in reference))},
                "time_vs_reference": round(ours_s / reference_s, 2),
                **({"int8": {"seconds": round(statistics.median(s for s, _ in int8), 1), "peak_rss_mb": round(max(m for _, m in int8)),
                             "time_vs_reference": round(statistics.median(s for s, _ in int8) / reference_s, 2)}} if int8 else {}),
            }
            log(f"index speed, {name}: {result[name]}")
    return result


def scifact_product(quick: bool, log=print) -> dict:
    """nDCG@10 / recall@100 / MRR@10 per retrieval mode through `qa index` and the product's retriever."""
    sys.path.insert(0, str(ROOT))
    from qa.settings import Settings
    from qa.eval.suite import SuiteCorpus, beir_scores, suite_index
    from qa.pipeline import open_pipeline

    scifact = SHARED / "scifact"
    splits = {"dev": (scifact / "queries_train.jsonl", scifact / "qrels" / "train.tsv"), "test": (scifact / "queries.jsonl", scifact / "qrels" / "test.tsv")}
    with tempfile.TemporaryDirectory() as scratch:
        if quick:  # the judged documents of the first 40 test claims plus 250 others, as the component study's quick run
            import scifact as component

            data = component.load(quick=True)
            folder = Path(scratch) / "scifact"
            folder.mkdir()
            with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
                for doc_id, title, text in zip(data.doc_ids, data.titles, data.texts):
                    out.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
            queries = Path(scratch) / "queries.jsonl"
            queries.write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in data.queries["test"].items()))
            splits = {"test": (queries, scifact / "qrels" / "test.tsv")}
            corpus, cache = SuiteCorpus("scifact-quick", folder / "corpus.jsonl", beir_queries=splits), Path(scratch) / "cache"
        else:
            corpus, cache = SuiteCorpus("scifact", scifact / "corpus.jsonl", beir_queries=splits), ROOT / "evals" / "cache"
        index, build_seconds = suite_index(corpus, cache, Settings().model, progress=False)
        pipeline = open_pipeline(Settings(index=index), check_corpus=False)
        scores = beir_scores(pipeline, corpus)
    result = {"documents": len(pipeline.index.documents), "passages": len(pipeline.index.chunks), "build_seconds": build_seconds, "scores": scores}
    log(f"SciFact through the product: {json.dumps(result)}")
    return result
