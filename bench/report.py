"""bench/RESULTS.md from bench/results.json."""

from __future__ import annotations

import index_floor


def _ratio(ours, reference) -> str:
    return f"{ours / reference:.2f}×" if isinstance(ours, (int, float)) and isinstance(reference, (int, float)) and reference else "–"


def markdown(results: dict) -> str:
    machine = results["machine"]
    lines = [
        f"# Benchmarks{' (quick subset)' if results['quick'] else ''}",
        "",
        f"{results['date']} · {machine['cpu']} · {machine['cores']} cores · {machine['memory_gib']} GiB · no GPU · Python {machine['python']} · "
        f"run took {results['seconds']} s. Produced by `make bench{'-quick' if results['quick'] else ''}` (bench/run.py).",
        "",
    ]
    lines += _product(results.get("product"), results["quick"])
    lines += _every_corpus(results.get("index-every-corpus"))
    lines += index_floor.markdown((results.get("product") or {}).get("index_floor"))
    lines += _index_profile((results.get("product") or {}).get("index_profile"))
    lines += _scifact_section(results) + _seed_reference(results) + _latency(results) + _serving(results.get("serving")) + _scale(results)
    lines += _stores(results.get("stores"))
    lines += _cluster(results.get("cluster"))
    lines += _throughput(results)
    return "\n".join(lines) + "\n"


def _scifact_section(results: dict) -> list[str]:
    sci = results["scifact"]
    reference = results["reference"].get("scifact", {})
    lines = [
        "## 1. Retrieval quality on SciFact (test split)",
        "",
        f"{sci['documents']} documents, {sci['queries']['test']} test claims; every parameter tuned on the {sci['queries']['train']} train claims "
        f"(BM25 k1/b = {sci['tuned_on_train']['bm25_k1_b']}, fusion alpha = {sci['tuned_on_train']['score_fusion_alpha']}, "
        f"second-stage depth and beta per stage below). Metrics by pytrec_eval.",
        "",
        "| system | nDCG@10 | recall@100 | MRR@10 | vs reference: nDCG@10 / recall@100 / MRR@10 |",
        "|---|---|---|---|---|",
    ]
    for name, row in sci["systems"].items():
        test = row["test"]
        ratios = " / ".join(_ratio(test[m], reference.get(m)) for m in ("ndcg@10", "recall@100", "mrr@10"))
        lines.append(f"| {name} | {test['ndcg@10']:.3f} | {test['recall@100']:.3f} | {test['mrr@10']:.3f} | {ratios} |")
    if reference:
        lines.append(f"| reference: LangChain splitter 1000/200 + HuggingFaceEmbeddings + FAISS | {reference['ndcg@10']:.3f} | {reference['recall@100']:.3f} | {reference['mrr@10']:.3f} | 1.00× |")
    for name, value in sci["published_ndcg10"].items():
        lines.append(f"| published: {name} | {value:.3f} | | | |")
    if results["quick"]:
        lines += ["", "(Quick subset: 40 claims per split over a few hundred documents; not comparable with published figures.)"]
    lines += _second_stages(sci) + _backend_quality(sci)
    return lines


def _seed_reference(results: dict) -> list[str]:
    reference = results["reference"].get("scifact", {})
    seed = results["reference"]["seed_corpus"]
    ours, ref = seed["ours"], seed["reference"]
    lines = [
        "",
        "## 2. Against the LangChain reference on the seed corpus",
        "",
        f"{seed['questions']} answerable gold questions; evidence found = a passage in the top 4 contains a gold evidence string.",
        "",
        "| | reference | ours | ours / reference |",
        "|---|---|---|---|",
        f"| evidence in top 4 | {ref['evidence_in_top4']:.3f} | {ours['evidence_in_top4']:.3f} | {_ratio(ours['evidence_in_top4'], ref['evidence_in_top4'])} |",
        f"| build (split/clean, embed, index) | {ref['build_s']:.2f} s | {ours['build_s']:.2f} s | {_ratio(ours['build_s'], ref['build_s'])} |",
        f"| warm query p50 (reference: similarity_search; ours: hybrid search) | {ref['query_p50_ms']:.2f} ms | {ours['search_p50_ms']:.2f} ms | {_ratio(ours['search_p50_ms'], ref['query_p50_ms'])} |",
        f"| warm full answer p50 (ours: retrieve + answer) | – | {ours['ask_p50_ms']:.2f} ms | |",
    ]
    if reference:
        lines.append(f"| SciFact build / query p50 | {reference['build_s']} s / {reference['query_p50_ms']} ms | | |")
    return lines


def _latency(results: dict) -> list[str]:
    latency = results["latency"]
    warm = latency["warm_ms"]
    lines = [
        "",
        "## 3. Latency and cost on the seed corpus",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| cold `qa ask` process (median of {len(latency['cold_ask_s']['runs'])}) | {latency['cold_ask_s']['median']} s | ≤ 3 s |",
        f"| warm ask p50 / p95 ({warm['questions']} questions × {warm['passes']}) | {warm['stages']['total']['p50']} / {warm['stages']['total']['p95']} ms | p50 ≤ 50 ms |",
        f"| `qa index` of the 4 documents (median of {len(latency['index_s']['runs'])}, model load included) | {latency['index_s']['median']} s | ≤ 10 s |",
        f"| peak RSS: `qa ask` / `qa index` | {latency['ask_peak_rss_mb']} / {latency['index_peak_rss_mb']} MB | |",
        "",
        "| warm stage | p50 ms | p95 ms |",
        "|---|---|---|",
    ]
    for stage, row in warm["stages"].items():
        lines.append(f"| {stage} | {row['p50']} | {row['p95']} |")
    return lines


def _scale(results: dict) -> list[str]:
    lines = [
        "",
        "## 4. FAISS at scale (synthetic clustered 384-d vectors, 200 single queries)",
        "",
        "| vectors | index | setting | build s | size MB | p50 ms | p95 ms | recall@10 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["scale"]["rows"]:
        lines.append(f"| {row['n']:,} | {row['index']} | {row['setting']} | {row['build_s']} | {row['size_mb']} | {row['p50_ms']} | {row['p95_ms']} | {row['recall@10']} |")
    lines += ["", f"Rule used by the store: {results['scale']['rule']}.", ""]
    return lines


def _throughput(results: dict) -> list[str]:
    first = next(iter(results["throughput"].values()))
    lines = [
        "## 5. Embedding throughput of all-MiniLM-L6-v2 (2 cores)",
        "",
        f"{first['passages']} SciFact abstracts, {first['sentences']} sentences, {first['queries']} single short queries; medians of the timed passes after a warm-up, "
        "ratios to sentence-transformers (torch) in the same process. Start includes loading and, on a fresh machine, the ONNX export.",
        "",
        "| backend | start s | passages/s | vs torch | sentences/s | vs torch | one query ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in results["throughput"].items():
        lines.append(f"| {name} | {row['load_s']} | {row['passages_per_s']} | {row['passages_vs_torch']}× | {row['sentences_per_s']} | {row['sentences_vs_torch']}× | {row['query_ms']} |")
    if "mpnet_throughput" in results:
        mpnet, minilm = results["mpnet_throughput"], results["throughput"]["sentence-transformers (torch)"]
        lines += ["", f"all-mpnet-base-v2 through sentence-transformers (torch), {mpnet['passages']} abstracts: {mpnet['passages_per_s']} passages/s, "
                  f"{_ratio(mpnet['passages_per_s'], minilm['passages_per_s'])} all-MiniLM-L6-v2's rate; embedding the 5,183 SciFact abstracts takes about "
                  f"{5183 / mpnet['passages_per_s'] / 60:.0f} minutes on these 2 cores."]
    return lines



def _stores(stores: dict | None) -> list[str]:
    if not stores:
        return []
    lines = [
        "## 4b. The two stores side by side (FAISS files and Milvus Lite, through qa/stores/)",
        "",
        f"Measured {stores['date']} ({stores['seconds']} s; `bench/run.py --only stores` reruns this section alone). Synthetic clustered 384-d vectors as in section 4; "
        f"single queries ({stores['queries']['faiss']} for FAISS, {stores['queries']['milvus']} for Milvus Lite, whose queries are slow); "
        "RSS = the benchmark process's resident memory added by the build.",
        "",
        "| vectors | store | index | build s | on disk MB | RSS added MB | p50 ms | p95 ms | recall@10 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in stores["synthetic"]:
        lines.append(f"| {row['vectors']:,} | {row['store']} | {row['index']} | {row['build_s']} | {row['disk_mb']} | {row['rss_added_mb']} | {row['p50_ms']} | {row['p95_ms']} | {row['recall@10']} |")
    seed = stores["seed"]
    lines += [
        "",
        f"Seed corpus through `qa index --store faiss|milvus` and the product's pipeline, {seed['questions']} gold questions: "
        f"same top citation {seed['same_top_citation']:.3f}; `ask` p50/p95 {seed['faiss']['ask_p50_ms']}/{seed['faiss']['ask_p95_ms']} ms (FAISS) and "
        f"{seed['milvus']['ask_p50_ms']}/{seed['milvus']['ask_p95_ms']} ms (Milvus Lite, in process); build {seed['faiss']['build_s']} s and {seed['milvus']['build_s']} s"
        + (f"; this process's CPU per hybrid search (vectors cached) {seed['faiss']['search_cpu_ms']} ms (FAISS) and {seed['milvus']['search_cpu_ms']} ms (Milvus client)."
           if "search_cpu_ms" in seed["faiss"] else "."),
        "",
    ]
    return lines


def _cluster(cluster: dict | None) -> list[str]:
    if not cluster:
        return []
    ray = cluster["ray"]
    lines = [
        "## 4c. Many servers, one library (Milvus) and indexing on Ray",
        "",
        f"{cluster['seconds']} s; `bench/run.py --only cluster` reruns this section alone. Embedding {ray['abstracts']} PubMedQA abstracts through the indexer's own "
        "`embed_documents`, the single process against Ray on this machine (start-up apart; one local node serves both pool sizes, so the second starts nothing), same run:",
        "",
        "| embedded by | passages | seconds | Ray start s | passages/s | per worker /s | vs single process |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ray["runs"]:
        label = row["workers"] if isinstance(row["workers"], str) else f"Ray, {row['workers']} worker{'s' if row['workers'] > 1 else ''}"
        lines.append(f"| {label} | {row['passages']} | {row['seconds']} | {row['startup_s']} | {row['passages_per_s']} | {row['per_worker_per_s']} | {row['vs_single_process']}× |")
    overhead = cluster["stateless_overhead"]
    memory = overhead["memory"]
    lines += [
        "",
        "On 2 cores Ray is not faster: its workers share the cores the single process already uses. A cluster's rate is about the per-worker rate times the workers.",
        "",
        f"- Two `qa serve` on one `milvus-lite server`: a document committed by another process was answered by the other server after "
        f"{cluster['update_reaches_other_server_s']} s (it checks the library's version every second and loads only what changed).",
        *_scaling(cluster["scaling"]),
        f"- A stateless server (library in Milvus Lite, in process) against the FAISS folder, seed corpus: `ask` p50 {overhead['milvus_ask_p50_ms']} ms against "
        f"{overhead['faiss_ask_p50_ms']} ms ({overhead['ratio']}×); same top citation {overhead['same_top_citation']:.3f}.",
        _memory_line(memory),
        "",
    ]
    return lines


def _scaling(rows: list[dict]) -> list[str]:
    """Sessions on one server and on two over the same Milvus, and what the CPU per answer implies for a cluster."""
    lines = [
        "",
        f"{rows[-1]['sessions']} concurrent sessions through the JSON API on one Milvus, {rows[-1]['cores']} cores in all (servers, Milvus and the "
        "clients share them), same run:",
        "",
        "| `qa serve` processes | questions | errors | p50 | p95 | answers/s | per core | server CPU ms per answer | Milvus CPU ms per answer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['servers']} | {row['questions']} | {row['errors']} | {row['p50_ms']} ms | {row['p95_ms']} ms | {row['answers_per_s']} | "
                     f"{row['answers_per_s_per_core']} | {row['server_cpu_ms_per_answer']} | {row['milvus_cpu_ms_per_answer']} |")
    last = rows[-1]
    lines += [
        "",
        f"A server core answers about {last['answers_per_s_per_server_core']} questions/s and a Milvus core about {last['answers_per_s_per_milvus_core']} "
        f"(1,000 ms over the CPU ms per answer): a cluster of N server cores serves about N × {last['answers_per_s_per_server_core']} answers/s while "
        f"Milvus has a core per {round(last['answers_per_s_per_milvus_core'] / max(last['answers_per_s_per_server_core'], 1e-9), 1)} server cores. "
        + (f"Two servers on these {last['cores']} cores serve {round(last['answers_per_s'] / rows[0]['answers_per_s'], 2)}× one server's answers/s, "
           f"spending {last['server_cpu_ms_per_answer']} ms of CPU per answer against one server's {rows[0]['server_cpu_ms_per_answer']} ms with all "
           f"{last['sessions']} sessions in it; the cores are shared with Milvus and the {last['sessions']} clients, so the CPU per answer, not the "
           "answers/s here, is what a cluster's size follows from." if len(rows) > 1 else ""),
        "",
    ]
    return lines


def _second_stages(sci: dict) -> list[str]:
    lines = [
        "",
        f"**Second stages** rescore the top candidates of the first stage ({sci['tuned_on_train']['first_stage']}) and blend "
        "beta × first + (1 − beta) × second, both min-max normalised over the candidates; beta = 1 means the stage does not help on train.",
        "",
        "| second stage | depth | beta | train nDCG@10 | test nDCG@10, blended | test nDCG@10, stage alone on the candidates | scoring ms/query | documents embedded now (per s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    blended = {row["stage"]: row["test"] for row in sci["systems"].values() if "stage" in row}
    for name, stage in sci["second_stages"].items():
        train = stage["train_ndcg10"][f"depth={stage['depth']},beta={stage['beta']}"]
        rate = f"{stage['embedded_now']} ({stage['items_per_s']})" if stage["embedded_now"] else "0 (cached)"
        lines.append(f"| {name} | {stage['depth']} | {stage['beta']} | {train:.3f} | {blended[name]['ndcg@10']:.3f} | "
                     f"{stage['test_alone_on_candidates']['ndcg@10']:.3f} | {stage['scoring_ms_per_query']} | {rate} |")
    return lines


def _backend_quality(sci: dict) -> list[str]:
    quality = sci.get("backend_quality")
    if not quality:
        return []
    dense = next(row["test"]["ndcg@10"] for name, row in sci["systems"].items() if name.startswith("dense"))
    fused_name = next(name for name in sci["systems"] if name.startswith("hybrid, score fusion") and "+" not in name)
    fused = sci["systems"][fused_name]["test"]["ndcg@10"]
    lines = [
        "",
        f"**The same model through other runtimes** (document and query vectors from each; fusion as in {fused_name}). "
        "A runtime is adopted as default only if nDCG@10 holds within 0.005.",
        "",
        "| runtime | mean cosine to torch vectors | dense nDCG@10 | change | fusion nDCG@10 | change |",
        "|---|---|---|---|---|---|",
        f"| sentence-transformers (torch), the reference | 1 | {dense:.3f} | | {fused:.3f} | |",
    ]
    for name, row in quality.items():
        fusion = next(v for k, v in row.items() if k.startswith("score fusion"))["ndcg@10"]
        lines.append(f"| {name} | {row['mean_cosine_to_reference']} | {row['dense']['ndcg@10']:.3f} | {row['dense']['ndcg@10'] - dense:+.4f} | {fusion:.3f} | {fusion - fused:+.4f} |")
    return lines


def _index_speed_rows(speed: dict) -> list[str]:
    rows = []
    for name, row in speed.items():
        ours, ref, int8 = row["ours"], row["reference"], row.get("int8") or {}
        rows.append(
            f"| {name} | {row['files']} | {row['runs']} | {ours['seconds']} s | {ours['passages']} | {ours['passages_per_s']} | {ours['peak_rss_mb']} MB | "
            f"{ref['seconds']} s | {ref['chunks']} | {ref['chunks_per_s']} | {ref['peak_rss_mb']} MB | **{row['time_vs_reference']}×** | "
            f"{int8.get('seconds', '–')} s | {int8.get('time_vs_reference', '–')}× |"
        )
    return rows


def _every_corpus(every: dict | None) -> list[str]:
    """`qa index` against the reference build on every suite corpus kept as a folder (`--only index-every-corpus`)."""
    if not every:
        return []
    return [
        "### `qa index` on every suite corpus",
        "",
        f"As above, one run each, measured {every['date']} by `bench/run.py --only index-every-corpus` on {every['machine']['cpu']}, "
        f"{every['machine']['cores']} cores (the int8 build not run).",
        "",
        "| corpus | files | runs | `qa index` | passages | passages/s | peak RSS | reference | chunks | chunks/s | peak RSS | time vs reference | `--backend onnx-int8` | int8 vs reference |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *_index_speed_rows(every["index_speed"]),
        "",
    ]


def _product(product: dict | None, quick: bool) -> list[str]:
    """The product's own path: `qa index` against the reference build, and SciFact through `qa index` + the retriever."""
    if not product:
        return []
    lines = [
        "## 0. The product's own path",
        "",
        "`qa index` against the LangChain reference build (RecursiveCharacterTextSplitter 1000/200, HuggingFaceEmbeddings, FAISS) "
        "on the same folder, both timed as whole commands (start-up and model load included), median of the runs, in the same run"
        + (f" (this section measured {product['date']} by `bench/run.py --only product`, {product['seconds']} s"
           + (f", on {product['machine']['cpu']}, {product['machine']['cores']} cores" if product.get("machine") else "") + ")." if product.get("date") else "."),
        "",
        "| corpus | files | runs | `qa index` | passages | passages/s | peak RSS | reference | chunks | chunks/s | peak RSS | time vs reference | `--backend onnx-int8` | int8 vs reference |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += _index_speed_rows(product["index_speed"])
    sci = product["scifact"]
    lines += [
        "",
        f"SciFact through `qa index` on corpus.jsonl ({sci['documents']} documents, {sci['passages']} passages) and the product's retriever, "
        "default settings, documents ranked by their best passage:",
        "",
        "| mode | split | claims | nDCG@10 | recall@100 | MRR@10 |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in sci["scores"].items():
        split, mode = key.split(".", 1)
        lines.append(f"| {mode} | {split} | {row['queries']} | {row['ndcg@10']:.3f} | {row['recall@100']:.3f} | {row['mrr@10']:.3f} |")
    if quick:
        lines += ["", "(Quick subset: the first 40 files of each folder; 40 SciFact claims over a few hundred documents.)"]
    return lines + [""]


def _index_profile(profile: dict | None) -> list[str]:
    """Where `qa index` spends its time: the top functions by own time, per corpus, and the flame graph's file."""
    if not profile:
        return []
    lines = ["### Where `qa index` spends its time", "", "The whole command under cProfile (its own overhead included); functions by their own time.", ""]
    for name, run in profile.items():
        graph = f" Flame graph: `{run['flame_graph']}`." if run.get("flame_graph") else ""
        lines += [f"**{name}** ({run['files']} files, {run['seconds']} s under the profiler).{graph}", "",
                  "| function | calls | own s | share | with callees s |", "|---|---|---|---|---|"]
        lines += [f"| `{row['function']}` | {row['calls']} | {row['own_s']} | {row['share']:.1%} | {row['cumulative_s']} |" for row in run["top"]]
        lines.append("")
    return lines


def _serving(serving: dict | None) -> list[str]:
    """One `qa serve` through the JSON API and the page's API, with the server's defaults first and each setting
    changed from them (bench/serving.py)."""
    if not serving:
        return []
    lines = [
        "## Serving: one `qa serve`, through the JSON API and the page",
        "",
        f"Seed index, {serving['cores']} cores; the {serving['sessions']} client sessions run on the same machine. "
        "CPU per answer is the server's own (user + system), and the limit is cores × 1000 / that.",
        "",
        "| through, settings (first: the defaults) | one session alone, warm p50 | sessions × questions | errors | p50 | p95 | answers/s | server CPU ms per answer | answers/s limit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for variant in (key for key, value in serving.items() if isinstance(value, dict) and "load" in value):
        row = serving[variant]
        load = row["load"]
        lines.append(f"| {variant} | {row['alone_p50_ms']} ms | {load['sessions']} × {serving['questions_each']} | {load['errors']} | {load['p50_ms']} ms | "
                     f"{load['p95_ms']} ms | {load['answers_per_s']} | {row['server_cpu_ms_per_answer']} | {row['answers_per_s_limit_on_these_cores']} |")
    return lines + [""]


def _memory_line(memory: dict) -> str:
    if "skipped" in memory:
        return f"- A server's memory for a loaded library: not measured ({memory['skipped']})."
    return (f"- A server's memory for a loaded library, measured at {memory['passages']:,} passages ({memory['units']:,} sentence units; "
            f"{memory['built_from']}): {memory['server_rss_mb']:,} MB, about {memory['per_million_passages_gb_extrapolated']} GB per million passages, "
            "extrapolated linearly (not measured at a million).")
