"""One `qa serve` on the seed index, through the JSON API (POST /api/ask, as an integration calls it) and through
the page's own /ask endpoint (as the browser calls it), with the reader's passes on one thread or two, NumPy's BLAS
(the query encoder) on one thread or two, the API's questions answered one per core or all at once, and with
concurrent sessions' encoder and reader passes micro-batched, each variant in the same run:

* one session alone, warm: p50 over sequential questions;
* 20 sessions asking 5 questions each, all at once: errors, p50, p95, answers/s;
* the server's CPU time per answer under that load (user + system, from /proc), which bounds answers/s on
  this machine's cores. The 20 clients run on the same machine and take CPU of their own.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from cluster import CLIENTS, SESSIONS, gold_questions, measured_load, warm
from latency import ROOT

ALONE_QUESTIONS = 20
# (variant, client, qa serve options); the first is the server's defaults, the others change one of them
VARIANTS = (
    ("API, one thread a pass", "api", []),
    ("API, NumPy's BLAS on two threads", "api", ["--blas-threads", "2"]),
    ("API, every question at once", "api", ["--api-slots", "0"]),
    ("API, two threads a pass", "api", ["--reader-threads", "2"]),
    ("API, micro-batched", "api", ["--batching"]),
    ("page, one thread a pass", "page", []),
)


def run(quick: bool, log=print) -> dict:
    from qa.embed.encoders import DEFAULT_MODEL
    from qa.indexing.build import build_index
    from tests.conftest import start_qa_serve, stop

    result = {"cores": os.cpu_count(), "sessions": SESSIONS, "questions_each": 1 if quick else 5}
    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "index"
        build_index(ROOT / "corpus", index, DEFAULT_MODEL, progress=False)
        for variant, kind, options in VARIANTS:
            process, url = start_qa_serve(index, *options)
            try:
                result[variant] = _measure(process.pid, url, kind, result["questions_each"], log)
            finally:
                stop(process)
            log(f"serving, {variant}: {result[variant]}")
    return result


def _measure(pid: int, url: str, kind: str, questions_each: int, log) -> dict:
    warm([url], kind)
    client = CLIENTS[kind](url)
    alone = []
    for question in gold_questions()[:ALONE_QUESTIONS]:
        started = time.perf_counter()
        client.ask(question)
        alone.append((time.perf_counter() - started) * 1000)
    load, (per_answer_ms,) = measured_load([url], [pid], questions_each, log, kind)
    return {"alone_p50_ms": round(statistics.median(alone), 1), "load": load, "server_cpu_ms_per_answer": round(per_answer_ms, 1),
            "answers_per_s_limit_on_these_cores": round((os.cpu_count() or 1) * 1000 / max(per_answer_ms, 1e-9), 1)}
