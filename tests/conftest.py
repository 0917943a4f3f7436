"""Shared fixtures: one real index built from corpus/ per test session (real model, real FAISS)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    from qa.embeddings import DEFAULT_MODEL
    from qa.indexing import build_index

    folder = tmp_path_factory.mktemp("built") / "index"
    build_index(CORPUS, folder, DEFAULT_MODEL, progress=False)
    return folder


@pytest.fixture(scope="session")
def pipeline(index_dir):
    from qa.pipeline import open_pipeline
    from qa.settings import Settings

    return open_pipeline(Settings(corpus=CORPUS, index=index_dir))


@pytest.fixture(scope="session")
def corpus():
    from qa.documents import load_corpus

    return load_corpus(CORPUS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def ui_server(index_dir):
    """`qa serve` on a free loopback port, for the browser and load tests."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--port", str(port), "--index", str(index_dir)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"qa serve did not start: {process.stdout.read()[-2000:]}")
    yield url
    process.terminate()
    process.wait(timeout=20)


LLM_MODEL_FILE = ROOT / ".venv" / "models" / "gemma-3-270m-q4_k_m.gguf"
LLM_ALIAS = "gemma-3-270m"
LLM_TEST_KEY = "test-key-3f9c"  # the fixture server's API key; tests check it never shows in any output


@pytest.fixture(scope="session")
def llm_server():
    """llama-cpp-python's OpenAI-compatible server on a free loopback port, serving Gemma 3 270M (built and
    assembled by `make llm-server`), with an API key so that a wrong key gets a real 401. Yields its /v1 URL."""
    if not LLM_MODEL_FILE.is_file():
        pytest.fail(f"{LLM_MODEL_FILE} is missing; run `make llm-server` (make test does) to build the server and assemble the model.")
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(LLM_MODEL_FILE), "--model_alias", LLM_ALIAS,
        "--chat_format", "gemma", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2",
        "--seed", "0", "--api_key", LLM_TEST_KEY, "--verbose", "False",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the LLM server exited: {process.stdout.read()[-2000:]}")
        try:
            request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {LLM_TEST_KEY}"})
            if urllib.request.urlopen(request, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the LLM server did not start within 120 s")
    yield url
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
