"""Indexing on Ray (`qa index --ray`): a real local Ray, started by the command itself. The vectors and the
answers are those of a local build; a worker killed midway is replaced and its batches run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from qa.embed.encoders import DEFAULT_MODEL
from tests.conftest import CORPUS, ROOT, free_port

pytestmark = [pytest.mark.slow, pytest.mark.skipif(__import__("importlib").util.find_spec("ray") is None, reason="needs ray (make test installs it)")]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "qa.app.cli", *args], cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=900)


def test_an_index_built_on_ray_is_the_local_build(tmp_path, index_dir, pipeline):
    from qa.eval.gold import load_gold
    from qa.pipeline import open_pipeline
    from qa.settings import Settings
    from qa.stores.index_folder import load_index

    result = _cli("index", "-q", "--corpus", str(CORPUS), "--index", str(tmp_path / "ray-index"), "--ray", "auto", "--ray-workers", "2")
    assert result.returncode == 0, result.stderr
    on_ray, local = load_index(tmp_path / "ray-index"), load_index(index_dir)
    assert on_ray.manifest["embedding"]["backend"] == "onnx on ray"
    assert [c.chunk_id for c in on_ray.chunks] == [c.chunk_id for c in local.chunks]
    assert float(np.abs(on_ray.search.vectors() - local.search.vectors()).max()) <= 1e-5
    assert float(np.abs(on_ray.unit_vectors - local.unit_vectors).max()) <= 1e-5
    ray_pipeline = open_pipeline(Settings(corpus=CORPUS, index=tmp_path / "ray-index"))
    for question in [q.question for q in load_gold(ROOT / "evals" / "gold.jsonl", local.documents)][:30]:
        assert ray_pipeline.ask(question).text == pipeline.ask(question).text, question


def test_a_ray_worker_killed_midway_is_replaced_and_nothing_is_lost():
    from qa.embed.encoders import load_encoder
    from qa.embed.ray_pool import RayEncoder

    texts = [f"Passage {i}: a patient with condition {i % 17} took treatment {i % 5} and improved over {i % 9} weeks. " * 3 for i in range(600)]
    spans = [[((0, 24),)] for _ in texts]
    local = load_encoder(DEFAULT_MODEL, "onnx").encode_spans(texts, spans, 16)[0]
    encoder = RayEncoder(DEFAULT_MODEL, "auto", 2)
    killed: list[int] = []

    def kill_the_first_worker():
        while not encoder.worker_pids:
            time.sleep(0.05)
        killed.append(min(encoder.worker_pids))
        os.kill(killed[0], signal.SIGKILL)

    threading.Thread(target=kill_the_first_worker, daemon=True).start()
    try:
        vectors, _ = encoder.encode_spans(texts, spans, 16)
    finally:
        encoder.close()
    assert killed and float(np.abs(vectors - local).max()) <= 1e-5


def test_a_local_ray_that_times_out_starting_once_is_started_again(monkeypatch):
    """Ray's own 30 s start-up timeout cannot be forced here, so its first start is made to fail as it does
    on a loaded machine (the rest is the real Ray: the node is stopped, started again and embeds)."""
    import ray

    from qa.embed.encoders import load_encoder
    from qa.embed.ray_pool import RayEncoder

    real_init, starts = ray.init, []

    def init_that_times_out_once(*args, **kwargs):
        starts.append(kwargs)
        if len(starts) == 1:
            real_init(*args, **kwargs)  # a node really starts, and must be stopped before the next try
            raise Exception("The current node timed out during startup.")
        return real_init(*args, **kwargs)

    monkeypatch.setattr(ray, "init", init_that_times_out_once)
    texts = ["Urgent MRI of the lumbar spine is recommended for new leg weakness."] * 4
    spans = [[((0, 20),)] for _ in texts]
    encoder = RayEncoder(DEFAULT_MODEL, "auto", 1)
    try:
        vectors, _ = encoder.encode_spans(texts, spans, 16)
    finally:
        encoder.close()
    assert len(starts) == 2
    assert float(np.abs(vectors - load_encoder(DEFAULT_MODEL, "onnx").encode_spans(texts, spans, 16)[0]).max()) <= 1e-5


def test_a_ray_address_that_does_not_answer_is_one_line(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    result = _cli("index", "-q", "--corpus", str(CORPUS), "--index", str(tmp_path / "index"), "--ray", address)
    assert result.returncode == 1 and result.stderr.startswith(f"Error: the Ray cluster at {address} cannot be joined")
    assert len([line for line in result.stderr.splitlines() if line.startswith("Error:")]) == 1 and "Traceback" not in result.stderr
