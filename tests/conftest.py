"""Shared fixtures: one real index built from corpus/ per test session (real model, real FAISS)."""

from __future__ import annotations

import os
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
