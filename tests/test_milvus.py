"""The Milvus store against a real engine: Milvus Lite in both of its forms, a local data folder and its
gRPC server (`milvus-lite server`, the protocol a Milvus cluster speaks) on a free loopback port."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.embed.encoders import DEFAULT_MODEL
from qa.errors import QAError
from qa.stores.index_folder import StoreChoice
from tests.conftest import CORPUS, ROOT, free_port, stop, wait_until_ready

pytestmark = pytest.mark.slow
MILVUS_LITE = Path(sys.executable).parent / "milvus-lite"


def start_lite_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
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


@pytest.fixture(scope="module")
def lite_server(tmp_path_factory):
    process, uri = start_lite_server(tmp_path_factory.mktemp("milvus-server"))
    yield uri
    stop(process)


def build(corpus: Path, index: Path, store: StoreChoice):
    from qa.indexing.build import build_index

    return build_index(corpus, index, DEFAULT_MODEL, progress=False, store=store)


def open_pipeline_at(index: Path, corpus: Path = CORPUS):
    from qa.pipeline import open_pipeline
    from qa.settings import Settings

    return open_pipeline(Settings(corpus=corpus, index=index))


def gold_questions() -> list[str]:
    return [json.loads(line)["question"] for line in (ROOT / "evals" / "gold.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module", params=["lite-file", "lite-server"])
def milvus_index(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"milvus-{request.param}") / "index"
    uri = None if request.param == "lite-file" else request.getfixturevalue("lite_server")
    build(CORPUS, folder, StoreChoice("milvus", uri, f"seed_{request.param.replace('-', '_')}"))
    return folder


def test_both_stores_give_the_same_top_citation_on_every_gold_question(milvus_index, pipeline):
    through_milvus = open_pipeline_at(milvus_index)
    assert through_milvus.index.store_kind == "milvus" and pipeline.index.store_kind == "faiss"
    differing = []
    for question in gold_questions():
        faiss_answer, milvus_answer = pipeline.ask(question), through_milvus.ask(question)
        top = lambda a: (a.abstained, a.citations[0].chunk.chunk_id if a.citations else None)  # noqa: E731
        if top(faiss_answer) != top(milvus_answer):
            differing.append(question)
    assert differing == []


def test_milvus_bm25_ranks_like_bm25s_over_the_same_analysed_terms(milvus_index, pipeline):
    """Milvus Lite's analysers do not stem, so both stores are given the project's analysed terms; then
    Milvus's own BM25 (same k1, b and IDF) must rank every query's passages as bm25s does."""
    from qa.text import index_terms

    through_milvus = open_pipeline_at(milvus_index)
    questions = gold_questions()
    top1 = top5 = 0
    for question in questions:
        terms = index_terms(question)
        ours, theirs = pipeline.index.search.lexical(terms, 10), through_milvus.index.search.lexical(terms, 10)
        top1 += list(ours)[:1] == list(theirs)[:1]
        top5 += set(list(ours)[:5]) == set(list(theirs)[:5])
    # Milvus scales scores by (k1 + 1), and Milvus Lite's scores differ from the textbook formula (which
    # bm25s matches exactly) by a few per cent on this corpus, enough to swap near-ties.
    print(f"lexical top-1 agreement {top1 / len(questions):.3f}, top-5 set agreement {top5 / len(questions):.3f}")
    assert top1 / len(questions) >= 0.9 and top5 / len(questions) >= 0.8


def test_add_and_remove_update_the_collection_in_place(tmp_path):
    from qa.library.manage import add_documents, remove_document
    from qa.settings import Settings
    from qa.stores.milvus import connect

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    build(corpus, index, StoreChoice("milvus"))
    note = tmp_path / "pellagra-note.md"
    note.write_text("# Pellagra in the clinic\n\nPellagra is caused by a lack of niacin and presents with dermatitis, diarrhoea and dementia.\n")
    settings = Settings(corpus=corpus, index=index)
    add_documents([note], settings, progress=False)
    answer = open_pipeline_at(index, corpus).ask("What causes pellagra?")
    assert answer.citations and answer.citations[0].chunk.doc_id.startswith("pellagra-note")
    client = connect(str(tmp_path / "index.milvus.db"))
    rows = lambda: client.get_collection_stats("qa_passages")["row_count"]  # noqa: E731
    assert rows() == len(open_pipeline_at(index, corpus).index.chunks)
    remove_document(answer.citations[0].chunk.doc_id, settings)
    after = open_pipeline_at(index, corpus)
    assert not any(c.doc_id.startswith("pellagra-note") for c in after.index.chunks)
    assert rows() == len(after.index.chunks)  # its rows were deleted, not just hidden
    assert after.ask("What causes pellagra?").abstained


def test_a_crash_mid_update_leaves_the_index_answering_as_before(tmp_path, monkeypatch):
    import qa.stores.index_folder

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    build(corpus, index, StoreChoice("milvus"))
    question = "What imaging for low back pain with leg weakness?"
    before = open_pipeline_at(index, corpus).ask(question)
    changed = corpus / "imaging-low-back-pain-leg-weakness.txt"
    changed.write_text(changed.read_text().replace("obtain urgent MRI", "obtain an X-ray"))

    def crash(*args):
        raise KeyboardInterrupt("killed between writing the rows and swapping the manifest")

    monkeypatch.setattr(qa.stores.index_folder, "_swap_into_place", crash)
    with pytest.raises(KeyboardInterrupt):
        build(corpus, index, None)
    monkeypatch.undo()
    changed.write_text(changed.read_text().replace("obtain an X-ray", "obtain urgent MRI"))
    again = open_pipeline_at(index, corpus).ask(question)  # the new rows are in the collection, unlisted
    assert again.text == before.text and [c.quote for c in again.citations] == [c.quote for c in before.citations]


def release(lite: Path) -> None:
    """Let another process open a Milvus Lite folder this test process has opened (one process at a time)."""
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(lite))


def _cli(*args, **env):
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "qa.app.cli", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)


def test_a_server_that_does_not_answer_is_one_error_line(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    result = _cli("index", "-q", "--index", str(tmp_path / "index"), "--store", "milvus", "--milvus-uri", uri, QA_MILVUS_TOKEN="secret-token-9d2")
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: the Milvus server at {uri} does not answer") and len(result.stderr.strip().splitlines()) == 1
    assert "secret-token-9d2" not in result.stdout + result.stderr
    assert not (tmp_path / "index").exists()


def test_a_collection_of_another_model_or_dimension_is_refused(tmp_path, lite_server):
    from pymilvus import DataType, MilvusClient

    client = MilvusClient(uri=lite_server)
    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    params = client.prepare_index_params()
    params.add_index("vector", index_type="FLAT", metric_type="IP")
    client.create_collection("someone_elses", schema=schema, index_params=params, properties={"qa.embedding_model": "other/model"})
    result = _cli("index", "-q", "--index", str(tmp_path / "index"), "--store", "milvus", "--milvus-uri", lite_server, "--milvus-collection", "someone_elses")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: collection 'someone_elses' at {lite_server} holds vectors of 'other/model' (8 dimensions), not '{DEFAULT_MODEL}' (384); "
        "pass another --milvus-collection, or drop that collection first."
    )


def test_a_missing_collection_and_a_corrupted_lite_folder_are_one_error_line_each(tmp_path):
    from pymilvus import MilvusClient

    index = tmp_path / "index"
    build(CORPUS, index, StoreChoice("milvus"))
    lite = tmp_path / "index.milvus.db"
    MilvusClient(uri=str(lite)).drop_collection("qa_passages")
    release(lite)
    result = _cli("ask", "--index", str(index), "What imaging for low back pain with leg weakness?")
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: collection 'qa_passages' is missing from the Milvus Lite data at {lite}; rebuild it with `qa index --store milvus --milvus-uri {lite}`."

    build(CORPUS, index, StoreChoice("milvus"))
    release(lite)
    for path in lite.rglob("*"):
        if path.is_file() and path.name != "LOCK":
            path.write_bytes(b"\x00garbage\xff" * 7)
    result = _cli("ask", "--index", str(index), "What imaging for low back pain with leg weakness?")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"Error: the Milvus Lite data at {lite}") and "Traceback" not in result.stderr


def test_a_lite_folder_open_in_another_process_is_one_error_line(tmp_path):
    index = tmp_path / "index"
    build(CORPUS, index, StoreChoice("milvus"))  # this test process now holds the folder, as `qa serve` would
    result = _cli("ask", "--index", str(index), "What imaging for low back pain with leg weakness?")
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: the Milvus Lite data at {tmp_path / 'index.milvus.db'} is open in another process")


def test_a_server_killed_mid_session_gives_a_clean_error(tmp_path):
    process, uri = start_lite_server(tmp_path / "data")
    try:
        index = tmp_path / "index"
        build(CORPUS, index, StoreChoice("milvus", uri))
        pipeline = open_pipeline_at(index)
        assert pipeline.ask("Can an MRI show small fiber neuropathy?").citations
    finally:
        process.kill()
        process.wait(timeout=20)
    with pytest.raises(QAError, match=f"^the Milvus server at {uri} failed to search collection 'qa_passages'"):
        pipeline.ask("What does a negative head MRI mean in a patient with limb weakness?")
