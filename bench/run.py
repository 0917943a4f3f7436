"""`make bench` / `make bench-quick`: retrieval quality on SciFact, the LangChain reference, latency and cost,
FAISS at scale, the stores side by side, many servers on one library and Ray, embedding throughput. Writes bench/results.json and bench/RESULTS.md (the quick run writes
bench/results-quick.json and bench/RESULTS-quick.md and is a smoke test: no thresholds on times).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from latency import median_seconds  # noqa: E402


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 2**20 for line in open("/proc/meminfo") if line.startswith("MemTotal")), None)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory, "python": platform.python_version(), "gpu": "none"}


def scifact_records(count: int) -> list[dict]:
    with (ROOT.parent / "shared" / "bench" / "scifact" / "corpus.jsonl").open(encoding="utf-8") as corpus:
        return [json.loads(line) for line, _ in zip(corpus, range(count))]


def throughput(runs: int = 3, sizes: tuple[int, int, int] = (100, 500, 50), log=print) -> dict:
    """Passages, sentences and single queries per backend running all-MiniLM-L6-v2, on SciFact text: medians
    of `runs` timed passes after one warm-up, and each rate as a ratio to sentence-transformers (torch) measured
    in the same process. Start time includes loading (and, on a fresh machine, the one-off ONNX export)."""
    import onnx_backends

    from qa.embed.encoders import NumpyEncoder, SentenceTransformerEncoder

    records = scifact_records(200)
    passage_count, sentence_count, query_count = sizes
    passages = [f"{r['title']}\n{r['text']}" for r in records][:passage_count]
    sentences = [s for r in records for s in r["text"].split(". ") if len(s) > 20][:sentence_count]
    queries = [r["title"] for r in records[100:100 + query_count]]
    baseline = "sentence-transformers (torch)"
    makers = {baseline: SentenceTransformerEncoder, "numpy": NumpyEncoder, **onnx_backends.backends()}

    result = {}
    for name, make in makers.items():
        started = time.perf_counter()
        encoder = make()
        load = time.perf_counter() - started
        passage_s = median_seconds(lambda: encoder.encode(passages), runs)
        sentence_s = median_seconds(lambda: encoder.encode(sentences, batch_size=64), runs)
        query_s = median_seconds(lambda: [encoder.encode([q]) for q in queries], runs)
        result[name] = {"load_s": round(load, 2), "passages": len(passages), "sentences": len(sentences), "queries": len(queries), "passages_per_s": round(len(passages) / passage_s, 1), "sentences_per_s": round(len(sentences) / sentence_s, 1),
                        "query_ms": round(1000 * query_s / len(queries), 2)}
        del encoder
    for row in result.values():
        base = result[baseline]
        row["passages_vs_torch"] = round(row["passages_per_s"] / base["passages_per_s"], 2)
        row["sentences_vs_torch"] = round(row["sentences_per_s"] / base["sentences_per_s"], 2)
    log(f"throughput: {result}")
    return result


def mpnet_throughput(runs: int = 3, log=print) -> dict:
    """all-mpnet-base-v2 (the second-stage candidate) on 16 SciFact abstracts, median of `runs` after a warm-up."""
    import scifact
    from models import mpnet_path

    passages = [f"{r['title']}\n{r['text']}" for r in scifact_records(16)]
    started = time.perf_counter()
    encoder = scifact.LocalSentenceTransformer(mpnet_path(), "all-mpnet-base-v2")
    load = time.perf_counter() - started
    seconds = median_seconds(lambda: encoder.encode(passages, batch_size=16), runs)
    result = {"load_s": round(load, 2), "passages": len(passages), "passages_per_s": round(len(passages) / seconds, 2)}
    log(f"all-mpnet-base-v2 throughput: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small subset (under 2 minutes), for CI")
    parser.add_argument("--sizes", default=None, help="comma-separated vector counts for the scale section")
    parser.add_argument("--only", choices=["product", "index-every-corpus", "latency", "serving", "stores", "cluster"], default=None,
                        help="run only that section and merge it into the results file (index-every-corpus: `qa index` against the reference on every "
                             "suite corpus kept as a folder, one run each; only with --only)")
    parser.add_argument("--runs", type=int, default=None, help="product section: runs per corpus (default 3, 1 with --quick)")
    args = parser.parse_args()
    import cluster
    import index_floor
    import index_profile
    import latency
    import product
    import reference
    import scale
    import scifact
    import serving
    import stores

    started = time.perf_counter()
    suffix = "-quick" if args.quick else ""
    runs = args.runs or (1 if args.quick else 3)

    def product_section() -> dict:
        speed = product.index_speed(args.quick, runs)
        return {"index_speed": speed, "index_floor": index_floor.run(speed, args.quick), "index_profile": index_profile.run(args.quick), "scifact": product.scifact_product(args.quick),
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "seconds": round(time.perf_counter() - started, 1), "machine": machine()}

    sections = {  # the sections --only can rerun alone, merged into the last results file
        "product": product_section,
        "index-every-corpus": lambda: {"index_speed": product.index_speed(args.quick, args.runs or 1, corpora=product.suite_folders(), int8_too=False),
                                       "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine()},
        "latency": lambda: latency.run(runs=3 if args.quick else 5, passes=1 if args.quick else 3),
        "serving": lambda: serving.run(args.quick),
        "stores": lambda: stores.run(args.quick, [int(n) for n in args.sizes.split(",")] if args.sizes else None),
        "cluster": lambda: cluster.run(args.quick),
    }
    if args.only:
        results = json.loads((ROOT / "bench" / f"results{suffix}.json").read_text())
        results[args.only] = sections[args.only]()
        _write(results, suffix)
        return
    results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(), "quick": args.quick}
    results["product"] = sections["product"]()
    results["scifact"] = scifact.run(quick=args.quick)
    results["reference"] = {"seed_corpus": reference.seed_corpus()}
    if not args.quick:
        results["reference"]["scifact"] = reference.scifact(quick=False)
    results["latency"] = sections["latency"]()
    results["serving"] = sections["serving"]()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([10_000] if args.quick else [10_000, 100_000, 1_000_000])
    results["scale"] = {"rows": scale.run(sizes), "rule": scale.choose_index_rule([])}
    results["stores"] = stores.run(args.quick)
    results["cluster"] = sections["cluster"]()
    results["throughput"] = throughput(runs=1, sizes=(30, 150, 20)) if args.quick else throughput()
    if not args.quick:
        results["mpnet_throughput"] = mpnet_throughput()
    results["seconds"] = round(time.perf_counter() - started, 1)
    _write(results, suffix)


def _write(results: dict, suffix: str) -> None:
    (ROOT / "bench" / f"results{suffix}.json").write_text(json.dumps(results, indent=1) + "\n")
    from report import markdown

    (ROOT / "bench" / f"RESULTS{suffix}.md").write_text(markdown(results))
    print(f"Wrote bench/results{suffix}.json and bench/RESULTS{suffix}.md in {results.get('seconds')} s")


if __name__ == "__main__":
    main()
