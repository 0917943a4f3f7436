"""Shared fixtures: one real index built from corpus/ per test session (real model, real FAISS)."""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.servers import ServerProcess

pytest_plugins = ["pytester"]

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


def stop(server: ServerProcess) -> None:
    server.stop()


def start_qa_serve(index: Path | None, *options: str, env: dict | None = None) -> tuple[ServerProcess, str]:
    """`qa serve` on a free loopback port (on an index folder, or with --milvus-uri among the options and no
    folder); returns the process and its URL once the page answers."""
    port = free_port()
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    folder = ["--index", str(index)] if index is not None else []
    server = ServerProcess("qa serve", [sys.executable, "-m", "qa.app.cli", "serve", "--port", str(port), *folder, *options], env=environment, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    server.wait_until_ready(http_ready(url))
    return server, url


@pytest.fixture(scope="session")
def ui_server(index_dir):
    """`qa serve` on a free loopback port, for the browser and load tests."""
    process, url = start_qa_serve(index_dir)
    yield url
    stop(process)


LLM_MODEL_FILE = ROOT / ".venv" / "models" / "gemma-3-270m-q4_k_m.gguf"
LLM_ALIAS = "gemma-3-270m"
LLM_TEST_KEY = "test-key-3f9c"  # the fixture server's API key; tests check it never shows in any output


def start_llm_server(log_dir: Path | None = None) -> tuple[ServerProcess, str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port, serving Gemma 3 270M (built and
    assembled by `make llm-server`), with an API key so that a wrong key gets a real 401; returns it and its /v1 URL."""
    if not LLM_MODEL_FILE.is_file():
        pytest.fail(f"{LLM_MODEL_FILE} is missing; run `make llm-server` (make test does) to build the server and assemble the model.")
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(LLM_MODEL_FILE), "--model_alias", LLM_ALIAS,
        "--chat_format", "gemma", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2",
        "--seed", "0", "--api_key", LLM_TEST_KEY, "--verbose", "False",
    ]
    server = ServerProcess("the LLM server", command, cwd=ROOT, log_dir=log_dir)
    url = f"http://127.0.0.1:{port}/v1"
    server.wait_until_ready(http_ready(f"{url}/models", {"Authorization": f"Bearer {LLM_TEST_KEY}"}), 120)
    return server, url


@pytest.fixture(scope="session")
def llm_server_process(tmp_path_factory):
    server, url = start_llm_server(tmp_path_factory.mktemp("llm-server"))
    yield server, url
    server.stop()


@pytest.fixture
def llm_server(llm_server_process):
    """The session's LLM server URL, checked before and after each test: a test that finds the server dead
    fails naming its exit status or signal and its last lines of output, not with "cannot be reached"."""
    server, url = llm_server_process
    server.ensure_alive()
    yield url
    server.ensure_alive()


MILVUS_LITE = Path(sys.executable).parent / "milvus-lite"


def start_lite_server(data_dir: Path) -> tuple[ServerProcess, str]:
    """`milvus-lite server` (the gRPC protocol a Milvus cluster speaks) on a free loopback port."""
    port = free_port()
    server = ServerProcess("milvus-lite server", [str(MILVUS_LITE), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)])
    uri = f"http://127.0.0.1:{port}"
    from pymilvus import MilvusClient

    def ready() -> bool:
        # A connection of its own, closed after: a shared one would stay pooled in the test process with this
        # short timeout, and pymilvus would reuse it (and its 2 s) when a later client reconnects.
        try:
            probe = MilvusClient(uri=uri, timeout=2, dedicated=True)
        except Exception:
            return False
        try:
            probe.list_collections()
            return True
        except Exception:
            return False
        finally:
            probe.close()

    server.wait_until_ready(ready, 60)
    return server, uri


@pytest.fixture(scope="session")
def lite_server_process(tmp_path_factory):
    process, uri = start_lite_server(tmp_path_factory.mktemp("milvus-server"))
    yield process, uri
    stop(process)


@pytest.fixture
def lite_server(lite_server_process):
    """The session's Milvus server URI, checked before and after each test like the LLM server's."""
    process, uri = lite_server_process
    process.ensure_alive()
    yield uri
    process.ensure_alive()
