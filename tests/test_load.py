"""Under load: concurrent sessions against the served UI, and memory across many sequential questions.

Both are bounded in count and time and talk only to loopback; the figures go to test-artifacts/.
"""

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "evals" / "gold.jsonl").read_text().splitlines()]
SESSIONS, PER_SESSION = 20, 5


@pytest.mark.slow
def test_twenty_concurrent_sessions_get_cited_answers(ui_server):
    from gradio_client import Client

    def session(number: int) -> list[tuple[float, bool]]:
        client = Client(ui_server, verbose=False)
        chat, results = [], []
        for turn in range(PER_SESSION):
            question = QUESTIONS[(number * PER_SESSION + turn) % len(QUESTIONS)] if turn < PER_SESSION - 1 else "what about in children?"
            started = time.perf_counter()
            chat, _searched, _box = client.predict(question, chat, "hybrid", 8, api_name="/ask")
            reply = chat[-1]["content"]
            reply = reply if isinstance(reply, str) else json.dumps(reply)
            results.append(((time.perf_counter() - started) * 1000, "qa-cite" in reply or "do not answer this question" in reply))
        return results

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        outcomes = [r for rs in pool.map(session, range(SESSIONS), timeout=300) for r in rs]
    wall = time.perf_counter() - started
    latencies = sorted(ms for ms, _ in outcomes)
    assert len(outcomes) == SESSIONS * PER_SESSION and all(ok for _, ok in outcomes)
    figures = {
        "sessions": SESSIONS, "questions": len(outcomes), "errors": 0, "wall_s": round(wall, 2),
        "p50_ms": round(statistics.median(latencies)), "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))]), "max_ms": round(latencies[-1]),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(figures))
    print(f"load: {figures}")


def _rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.slow
def test_memory_stays_flat_over_500_questions(pipeline):
    for question in QUESTIONS[:50]:  # warm: lazy imports, caches, allocator pools
        pipeline.ask(question)
    before = _rss_mb()
    for number in range(500):
        pipeline.ask(f"{QUESTIONS[number % len(QUESTIONS)]} ({number})")  # distinct text: no cache hits
    after = _rss_mb()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "memory.json").write_text(json.dumps({"questions": 500, "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1)}))
    print(f"RSS before {before:.1f} MB, after 500 questions {after:.1f} MB")
    # The query-embedding cache holds at most 1,024 vectors of 1.5 kB; anything beyond a few MB is a leak.
    assert after - before < 25
