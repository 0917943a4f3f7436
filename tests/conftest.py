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
    from qa.embed.encoders import DEFAULT_MODEL
    from qa.indexing.build import build_index

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
    from qa.ingest.documents import load_corpus

    return load_corpus(CORPUS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_ready(url: str, headers: dict | None = None):
    """A readiness probe: True once ``url`` answers 200."""

    def probe() -> bool:
        try:
            return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2).status == 200
        except OSError:
            return False

    return probe


def wait_until_ready(process: subprocess.Popen, ready, what: str, seconds: float = 90) -> None:
    """Poll ``ready()`` until it holds; fail the test with the server's last output if it exits or times out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited: {process.stdout.read()[-2000:]}")
        if ready():
            return
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"{what} did not start within {seconds:g} s: {process.stdout.read()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def start_qa_serve(index: Path | None, *options: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`qa serve` on a free loopback port (on an index folder, or with --milvus-uri among the options and no
    folder); returns the process and its URL once the page answers."""
    port = free_port()
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    folder = ["--index", str(index)] if index is not None else []
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.app.cli", "serve", "--port", str(port), *folder, *options],
        env=environment, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    wait_until_ready(process, http_ready(url), "qa serve")
    return process, url


@pytest.fixture(scope="session")
def ui_server(index_dir):
    """`qa serve` on a free loopback port, for the browser and load tests."""
    process, url = start_qa_serve(index_dir)
    yield url
    stop(process)


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
    wait_until_ready(process, http_ready(f"{url}/models", {"Authorization": f"Bearer {LLM_TEST_KEY}"}), "the LLM server", 120)
    yield url
    stop(process)


MILVUS_LITE = Path(sys.executable).parent / "milvus-lite"


def start_lite_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """`milvus-lite server` (the gRPC protocol a Milvus cluster speaks) on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [str(MILVUS_LITE), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    uri = f"http://127.0.0.1:{port}"
    from pymilvus import MilvusClient

    def ready() -> bool:
        try:
            MilvusClient(uri=uri, timeout=2).list_collections()
            return True
        except Exception:
            return False

    wait_until_ready(process, ready, "milvus-lite server", 60)
    return process, uri


@pytest.fixture(scope="session")
def lite_server(tmp_path_factory):
    process, uri = start_lite_server(tmp_path_factory.mktemp("milvus-server"))
    yield uri
    stop(process)
