"""Latency and cost on the seed corpus: cold `qa ask` processes, warm ask by stage, `qa index`, peak RSS."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QA = str(ROOT / ".venv" / "bin" / "qa")
QUESTION = "What imaging for low back pain with leg weakness?"


def median_seconds(work, runs: int) -> float:
    """Median wall time of `runs` calls of `work`, after one untimed warm-up call."""
    work()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process.

    /usr/bin/time measures the command it starts; a child forked straight from this (large) process
    would be charged this process's pages before it execs.
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    finished = subprocess.run(["/usr/bin/time", "-f", "%M", *command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"{command} failed: {finished.stderr[-500:]}")
    return seconds, int(finished.stderr.strip().splitlines()[-1]) / 1024


def run(runs: int = 5, passes: int = 3, log=print) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        index = Path(folder) / "index"
        builds = []
        for _ in range(max(1, runs // 2 + 1)):
            shutil.rmtree(index, ignore_errors=True)
            builds.append(_timed([QA, "index", "-q", "--corpus", "corpus", "--index", str(index)]))
        asks = [_timed([QA, "ask", "--json", "--index", str(index), QUESTION]) for _ in range(runs)]
        warm = _warm(index, passes)
    result = {
        "cold_ask_s": {"median": round(statistics.median(s for s, _ in asks), 2), "runs": [round(s, 2) for s, _ in asks]},
        "ask_peak_rss_mb": round(max(m for _, m in asks), 1),
        "index_s": {"median": round(statistics.median(s for s, _ in builds), 2), "runs": [round(s, 2) for s, _ in builds]},
        "index_peak_rss_mb": round(max(m for _, m in builds), 1),
        "warm_ms": warm,
    }
    log(f"latency: {json.dumps(result)}")
    return result


def _warm(index: Path, passes: int) -> dict:
    import sys

    sys.path.insert(0, str(ROOT))
    from qa.pipeline import open_pipeline
    from qa.settings import Settings

    pipeline = open_pipeline(Settings(index=index), check_corpus=False)
    questions = [json.loads(line)["question"] for line in (ROOT / "evals" / "gold.jsonl").read_text().splitlines()]
    pipeline.ask(questions[0])
    stages: dict[str, list[float]] = {}
    medians = []
    for _ in range(passes):
        totals = []
        for question in questions:
            pipeline.retriever.clear_cache()  # every question embedded afresh
            answer = pipeline.ask(question)
            for stage, ms in answer.timings_ms.items():
                stages.setdefault(stage, []).append(ms)
            totals.append(answer.timings_ms["total"])
        medians.append(statistics.median(totals))

    def p95(values):
        return round(sorted(values)[int(0.95 * (len(values) - 1))], 3)

    return {
        "questions": len(questions),
        "passes": passes,
        "total_p50_per_pass": [round(m, 2) for m in medians],
        "stages": {stage: {"p50": round(statistics.median(v), 3), "p95": p95(v)} for stage, v in sorted(stages.items())},
    }
