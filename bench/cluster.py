"""Section 4c: many servers, one library. Everything through the product's own code, in one run:

* indexing throughput: the same abstracts embedded by the single process (the local ONNX encoder) and by
  Ray with one and with two local workers (qa.embed.ray_pool), passages/s, Ray's start-up apart;
* an update reaching another server: two `qa serve` processes on one `milvus-lite server`; a document
  written by another process (the path an upload or `qa add` takes), then the seconds until the other
  server's page (its Gradio API, as the browser calls it) answers from it;
* 20 concurrent sessions on one server, then spread over the two, on the same Milvus: errors, latency
  p50/p95, answers/s per core, and the CPU the servers and Milvus spend per answer (what a cluster's size
  follows from);
* the per-question cost of a stateless server (a library in Milvus) against the FAISS folder, in-process;
* memory: what a server holds per passage, measured, and extrapolated to a million passages (said so).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = 20
TILED_PASSAGES = 100_000  # the size a server's memory is measured at


def run(quick: bool, log=print) -> dict:
    started = time.perf_counter()
    result = {"ray": ray_throughput(40 if quick else 300, log)}
    result.update(servers(quick, log))
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def ray_throughput(abstracts: int, log=print) -> dict:
    from qa.embed.encoders import DEFAULT_MODEL
    from qa.embed.ray_pool import RayEncoder
    from qa.indexing.build import embed_documents
    from qa.ingest.documents import load_files

    folder = ROOT.parent / "shared" / "bench" / "pubmedqa" / "corpus"
    files = [(p.name, p) for p in sorted(folder.glob("*.txt"))[:abstracts]]
    documents = list(load_files(files).documents)
    rows = []
    first_pool = None  # one local Ray for both pool sizes: the second RayEncoder joins the node the first started
    try:
        for workers in (None, 1, 2):
            started = time.perf_counter()
            encoder = RayEncoder(DEFAULT_MODEL, "auto", workers) if workers else None
            startup = time.perf_counter() - started
            first_pool = first_pool or encoder
            started = time.perf_counter()
            parts, backend, _ = embed_documents(documents, DEFAULT_MODEL, progress=False, encoder=encoder)
            seconds = time.perf_counter() - started
            passages = sum(len(p.chunks) for p in parts)
            row = {"workers": workers or "single process", "backend": backend, "passages": passages, "seconds": round(seconds, 1), "startup_s": round(startup, 1),
                   "passages_per_s": round(passages / seconds, 1), "per_worker_per_s": round(passages / seconds / (workers or 1), 1)}
            rows.append(row)
            log(f"cluster: ray {row}")
    finally:
        if first_pool is not None:
            first_pool.close()  # shuts the one local node down
    single = rows[0]["passages_per_s"]
    for row in rows:
        row["vs_single_process"] = round(row["passages_per_s"] / single, 2)
    return {"abstracts": abstracts, "runs": rows}


def servers(quick: bool, log=print) -> dict:
    from tests.conftest import start_lite_server, start_qa_serve, stop

    with tempfile.TemporaryDirectory() as scratch:
        milvus, uri = start_lite_server(Path(scratch) / "milvus")
        processes = []
        try:
            subprocess.run([sys.executable, "-m", "qa.app.cli", "index", "-q", "--store", "milvus", "--milvus-uri", uri, "--milvus-collection", "bench",
                            "--corpus", str(ROOT / "corpus")], cwd=ROOT, check=True, capture_output=True)
            for _ in range(2):
                processes.append(start_qa_serve(None, "--milvus-uri", uri, "--milvus-collection", "bench"))
            urls = [url for _, url in processes]
            result = {"update_reaches_other_server_s": update_latency(uri, urls[1], Path(scratch), log)}
            questions_each = 1 if quick else 5
            result["scaling"] = [measured_sessions(processes[:count], milvus.pid, questions_each, log) for count in (1, 2)]
        finally:
            for process, _ in processes:
                stop(process)
            stop(milvus)
    result["stateless_overhead"] = stateless_overhead(10_000 if quick else TILED_PASSAGES, log)
    return result


def measured_sessions(servers: list, milvus_pid: int, questions_each: int, log=print) -> dict:
    """The sessions spread over ``servers`` through the JSON API (each warmed first), with the CPU the servers and
    the Milvus server spent per answer: what bounds answers/s per core, and so what a cluster of such servers can
    serve."""
    urls = [url for _, url in servers]
    warm(urls, "api")
    result, spent = measured_load(urls, [process.pid for process, _ in servers] + [milvus_pid], questions_each, log, "api")
    server_ms, milvus_ms = sum(spent[:-1]), spent[-1]
    cores = os.cpu_count() or 1
    result |= {
        "cores": cores,
        "answers_per_s_per_core": round(result["answers_per_s"] / cores, 2),
        "server_cpu_ms_per_answer": round(server_ms, 1),
        "milvus_cpu_ms_per_answer": round(milvus_ms, 1),
        "answers_per_s_per_server_core": round(1000 / max(server_ms, 1e-9), 1),
        "answers_per_s_per_milvus_core": round(1000 / max(milvus_ms, 1e-9), 1),
    }
    log(f"cluster: {len(urls)} server(s): {result}")
    return result


def warm(urls: list[str], kind: str = "page") -> None:
    """A few questions to each server first: models loaded, the page's caches filled."""
    questions = gold_questions()[:3]
    for url in urls:
        client = CLIENTS[kind](url)
        for question in questions:
            client.ask(question)


def measured_load(urls: list[str], pids: list[int], questions_each: int, log=print, kind: str = "page") -> tuple[dict, list[float]]:
    """`sessions` over the servers, and the CPU milliseconds each of ``pids`` spent per answer meanwhile."""
    before = [cpu_seconds(pid) for pid in pids]
    load = sessions(urls, questions_each, log, kind)
    answered = max(load["questions"] - load["errors"], 1)
    return load, [(cpu_seconds(pid) - start) * 1000 / answered for pid, start in zip(pids, before)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process and its threads so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PageClient:
    """The page's own /ask endpoint, as the browser calls it (Gradio's queue); an answer is the assistant's last
    message (HTML)."""

    def __init__(self, url: str):
        from gradio_client import Client

        self.client = Client(url, verbose=False)

    def ask(self, question: str) -> str:
        chat, *_ = self.client.predict(question, [], "hybrid", 8, "extractive", api_name="/ask")
        return chat[-1]["content"][0]["text"] if chat else ""

    @staticmethod
    def answered(answer: str) -> bool:
        return "qa-answer" in answer


class ApiClient:
    """POST /api/ask, as an integration calls it; an answer is its text (an abstention's too)."""

    def __init__(self, url: str):
        import requests

        self.session, self.url = requests.Session(), f"{url}api/ask"

    def ask(self, question: str) -> str:
        response = self.session.post(self.url, json={"question": question}, timeout=300)
        response.raise_for_status()
        return response.json()["answer"]

    @staticmethod
    def answered(answer: str) -> bool:
        return bool(answer)


CLIENTS = {"page": PageClient, "api": ApiClient}


def update_latency(uri: str, other: str, scratch: Path, log=print) -> float:
    """A new document committed by another process, then polled for on the other server until it answers."""
    from qa.embed.encoders import DEFAULT_MODEL
    from qa.indexing.library_build import build_library
    from qa.stores.milvus_library import MilvusLibrary

    note = scratch / "scurvy.md"
    note.write_text("# Scurvy\n\nScurvy is treated with ascorbic acid, 300 mg a day by mouth for a month, and a diet rich in fruit.\n")
    library = MilvusLibrary(uri, "bench")
    build_library(library, [(note.name, note)], DEFAULT_MODEL, progress=False)
    committed = time.perf_counter()
    library.close()
    client = ApiClient(other)
    while "ascorbic acid" not in client.ask("How is scurvy treated?"):
        if time.perf_counter() - committed > 120:
            raise RuntimeError("the other server did not answer from the update within 120 s")
        time.sleep(0.2)
    seconds = round(time.perf_counter() - committed, 2)
    log(f"cluster: committed on one side, answered by the other server after {seconds} s")
    return seconds


def gold_questions() -> list[str]:
    """The seed gold set's questions, in file order."""
    import json

    return [json.loads(line)["question"] for line in (ROOT / "evals" / "gold.jsonl").read_text().splitlines() if line.strip()]


def sessions(urls: list[str], questions_each: int, log=print, kind: str = "page") -> dict:
    questions = gold_questions()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def session(number: int) -> None:
        client = CLIENTS[kind](urls[number % len(urls)])
        for i in range(questions_each):
            question = questions[(number * questions_each + i) % len(questions)]
            started = time.perf_counter()
            try:
                answer = client.ask(question)
                ok = client.answered(answer)
            except Exception as exc:  # counted, not raised: the figure is how many failed
                ok, answer = False, repr(exc)
            with lock:
                (latencies.append((time.perf_counter() - started) * 1000) if ok else errors.append(answer[:200]))

    threads = [threading.Thread(target=session, args=(n,)) for n in range(SESSIONS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    result = {"sessions": SESSIONS, "servers": len(urls), "questions": SESSIONS * questions_each, "errors": len(errors),
              "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
              "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
              "answers_per_s": round(len(latencies) / wall, 2)}
    log(f"cluster: {result}")
    return result


def stateless_overhead(memory_at: int, log=print) -> dict:
    """Ask latency on the seed corpus, FAISS folder against a library in Milvus Lite, same process."""
    from stores import seed_corpus

    measured = seed_corpus(log)
    result = {"faiss_ask_p50_ms": measured["faiss"]["ask_p50_ms"], "milvus_ask_p50_ms": measured["milvus"]["ask_p50_ms"],
              "ratio": round(measured["milvus"]["ask_p50_ms"] / measured["faiss"]["ask_p50_ms"], 2), "same_top_citation": measured["same_top_citation"]}
    result["memory"] = server_memory(memory_at)
    log(f"cluster: stateless overhead {result}")
    return result


def server_memory(passages_wanted: int = TILED_PASSAGES) -> dict:
    """What a loaded server holds, measured at about 100,000 passages and extrapolated linearly to a million
    (said so: not measured at a million). The 100,000 are the suite's cached indexes (every corpus, 20,546
    passages), copied under new ids until they reach the size: real passages, sentence units and vectors, but
    a vocabulary of about 20,000 passages', so the term tables are, if anything, underestimated. Measured in a
    fresh process, so that building the copies does not count."""
    caches = sorted(p for p in (ROOT / "evals" / "cache").glob("*/index-pooled") if (p / "manifest.json").exists())
    if not caches:
        return {"skipped": "no suite indexes cached in evals/cache; run make eval-suite first"}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "index"
        passages = tiled_index(caches, passages_wanted, folder)
        code = "import json, sys; sys.path.insert(0, 'bench'); from cluster import _measure_memory; print(json.dumps(_measure_memory(sys.argv[1])))"
        measured = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, check=True, capture_output=True, text=True)
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    result["built_from"] = f"{len(caches)} suite indexes, copied to {passages:,} passages"
    return result



def tiled_index(sources: list[Path], target: int, folder: Path) -> int:
    """An index folder of about ``target`` passages made of copies of ``sources`` under new ids; returns its passage count."""
    from dataclasses import replace

    import numpy as np

    from qa.indexing.build import bm25_terms
    from qa.stores.index_folder import load_index, write_index

    loaded = [load_index(source, verify_checksums=False) for source in sources]
    documents, chunks, units, chunk_vectors, unit_vectors, tokens = [], [], [], [], [], []
    copy = 0
    while len(chunks) < target:
        for number, index in enumerate(loaded):
            prefix = f"c{copy}-{number}-"
            for document in index.documents.values():
                documents.append(replace(document, doc_id=prefix + document.doc_id))
            for chunk in index.chunks:
                chunks.append(replace(chunk, chunk_id=prefix + chunk.chunk_id, doc_id=prefix + chunk.doc_id))
                tokens.extend(bm25_terms(index.documents[chunk.doc_id], [chunk]))
            units.extend(replace(unit, chunk_id=prefix + unit.chunk_id, doc_id=prefix + unit.doc_id) for unit in index.units)
            chunk_vectors.append(index.search.vectors())
            unit_vectors.append(index.unit_vectors)
        copy += 1
    write_index(folder, tuple(documents), tuple(chunks), tuple(units), np.concatenate(chunk_vectors), np.concatenate(unit_vectors), tokens, loaded[0].manifest)
    for index in loaded:
        index.search.close()
    return len(chunks)


def _measure_memory(folder: str) -> dict:
    import gc

    from stores import _rss_mb

    from qa.pipeline import open_pipeline
    from qa.settings import Settings

    settings = Settings(index=Path(folder))
    gc.collect()
    before = _rss_mb()
    pipeline = open_pipeline(settings, check_corpus=False)
    pipeline.ask("How is the disease treated?")
    held = _rss_mb() - before
    passages, units = len(pipeline.index.chunks), len(pipeline.index.units)
    return {"passages": passages, "units": units, "server_rss_mb": round(held, 1), "per_million_passages_gb_extrapolated": round(held / passages * 1e6 / 1024, 1)}
