import json
import shutil

import numpy as np
import pytest

from qa.embed.encoders import DEFAULT_MODEL
from qa.errors import QAError
from qa.indexing.build import build_index, index_is_current
from qa.pipeline import open_pipeline
from qa.settings import Settings
from qa.stores.index_folder import load_index, read_manifest

from .conftest import CORPUS


@pytest.fixture()
def index_copy(index_dir, tmp_path):
    target = tmp_path / "index"
    shutil.copytree(index_dir, target)
    return target


def test_manifest_records_how_the_index_was_built(index_dir):
    manifest = read_manifest(index_dir)
    # `make install` exports the model to ONNX, so "auto" embeds with ONNX Runtime.
    assert manifest["embedding"] == {"model": DEFAULT_MODEL, "dimension": 384, "backend": "onnx", "normalised": True, "unit_vectors": "pooled"}
    assert manifest["faiss"]["index_type"] == "flat" and manifest["faiss"]["metric"] == "inner_product"
    assert set(manifest["corpus"]["files"]) == {p.name for p in CORPUS.iterdir()}
    assert manifest["counts"]["documents"] == 4
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    assert not list(index_dir.rglob("*.pkl")) and not list(index_dir.rglob("*.pickle"))


def test_loading_checks_the_model(index_dir):
    with pytest.raises(QAError, match="built with embedding model .* rebuild it with `qa index`"):
        load_index(index_dir, expected_model="some/other-model")


def test_a_missing_index_says_how_to_build_it(tmp_path):
    with pytest.raises(QAError, match="no index at .*build it with `qa index"):
        load_index(tmp_path / "nowhere")


def test_a_corrupted_vectors_file_is_detected(index_copy):
    path = index_copy / "vectors.faiss"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(QAError, match="vectors.faiss.* corrupted"):
        load_index(index_copy)


def test_a_truncated_chunk_store_is_detected(index_copy):
    path = index_copy / "chunks.jsonl"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(QAError, match="chunks.jsonl.* corrupted"):
        load_index(index_copy)


def test_a_manifest_for_another_dimension_is_refused(index_copy):
    manifest = json.loads((index_copy / "manifest.json").read_text())
    manifest["embedding"]["dimension"] = 768
    (index_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(QAError, match="inconsistent"):
        load_index(index_copy)


def test_an_index_of_another_pipeline_version_is_refused_naming_the_fix(index_copy):
    """Its BM25 terms were analysed another way: searched as it is, it would silently miss words."""
    manifest = json.loads((index_copy / "manifest.json").read_text())
    manifest["pipeline_version"] -= 1
    (index_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(QAError, match=r"pipeline version \d+ and this qa reads version \d+ .*rebuild it with `qa index`"):
        load_index(index_copy)


def test_a_changed_corpus_is_reported_as_stale(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = tmp_path / "index"
    build_index(corpus, index, DEFAULT_MODEL, progress=False)
    assert index_is_current(corpus, index, DEFAULT_MODEL)
    (corpus / "neuropathy-on-mri.txt").write_text((corpus / "neuropathy-on-mri.txt").read_text() + "\nA new closing sentence.\n")
    (corpus / "extra.txt").write_text("Extra document\n\nSome text about nerves.\n")
    assert not index_is_current(corpus, index, DEFAULT_MODEL)
    with pytest.raises(QAError, match=r"changed since the index was built \(added: extra.txt; changed: neuropathy-on-mri.txt\)"):
        open_pipeline(Settings(corpus=corpus, index=index))


def test_an_index_of_int8_vectors_is_embedded_again_at_the_default_precision(tmp_path, index_dir):
    """An index built with the int8 export (`--backend onnx-int8`) is stale for the default (fp32), and a default
    build keeps none of its vectors: it equals a fresh build, so no index mixes the two precisions."""
    index = tmp_path / "index"
    build_index(CORPUS, index, DEFAULT_MODEL, backend="onnx-int8", progress=False)
    assert index_is_current(CORPUS, index, DEFAULT_MODEL, backend="onnx-int8")
    assert not index_is_current(CORPUS, index, DEFAULT_MODEL)
    report = build_index(CORPUS, index, DEFAULT_MODEL, progress=False)
    assert report.backend == "onnx" and report.unchanged == () and index_is_current(CORPUS, index, DEFAULT_MODEL)
    rebuilt, fresh = load_index(index), load_index(index_dir)
    assert np.abs(rebuilt.search.vectors() - fresh.search.vectors()).max() <= 1e-5
    assert np.abs(rebuilt.unit_vectors - fresh.unit_vectors).max() <= 1e-5


def test_a_failed_build_leaves_the_previous_index_intact(tmp_path, index_dir):
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)
    before = (index / "manifest.json").read_text()
    empty = tmp_path / "empty-corpus"
    empty.mkdir()
    with pytest.raises(QAError, match="no usable documents"):
        build_index(empty, index, DEFAULT_MODEL, progress=False)
    assert (index / "manifest.json").read_text() == before
    assert load_index(index).manifest["counts"]["documents"] == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".index.tmp")]


def test_large_indexes_use_ivf_and_find_the_neighbours():
    import sys

    import numpy as np

    sys.path.insert(0, str(CORPUS.parent / "bench"))
    import scale

    from qa.stores.faiss_bm25 import choose_faiss_index

    vectors, queries = scale.vectors(20_000)
    index, kind = choose_faiss_index(vectors, flat_limit=10_000)
    assert kind.startswith("ivf-flat-") and index.ntotal == 20_000
    exact = vectors @ queries.T
    truth = np.argsort(-exact, axis=0)[:10].T
    _, found = index.search(queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
    assert recall >= 0.9
    small, kind = choose_faiss_index(vectors[:500], flat_limit=10_000)
    assert kind == "flat" and small.ntotal == 500
