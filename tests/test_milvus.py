"""A library kept whole in Milvus, against a real engine: Milvus Lite's gRPC server (`milvus-lite server`, the
protocol a Milvus cluster speaks) on a free loopback port, and Milvus Lite as a local folder. No index
folder anywhere: passages, sentence units, documents, source files and the manifest all live in Milvus."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from qa.embed.encoders import DEFAULT_MODEL
from qa.errors import QAError
from tests.conftest import CORPUS, ROOT, free_port, start_lite_server

pytestmark = pytest.mark.slow
NOTE = "# Pellagra\n\nPellagra is caused by a lack of niacin (vitamin B3) and is treated with nicotinamide by mouth.\n"


def _cli(*args, **env):
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "qa.app.cli", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)


def _library(uri: str, prefix: str):
    from qa.stores.milvus_library import MilvusLibrary

    return MilvusLibrary(uri, prefix)


def _pipeline(uri: str, prefix: str, previous=None):
    from qa.pipeline import open_pipeline
    from qa.settings import Settings

    return open_pipeline(Settings(milvus_uri=uri, milvus_collection=prefix), previous=previous)


def _build(uri: str, prefix: str, files: list[tuple[str, Path]], **options):
    from qa.indexing.library_build import build_library

    library = _library(uri, prefix)
    try:
        return build_library(library, files, DEFAULT_MODEL, progress=False, **options)
    finally:
        library.close()


def _note(tmp_path: Path, name: str = "pellagra.md", text: str = NOTE) -> tuple[str, Path]:
    path = tmp_path / name
    path.write_text(text)
    return name, path


@pytest.fixture(scope="module")
def seed_library(lite_server_process):
    _, lite_server = lite_server_process
    result = _cli("index", "-q", "--store", "milvus", "--milvus-uri", lite_server, "--milvus-collection", "seed", "--corpus", str(CORPUS))
    assert result.returncode == 0, result.stderr
    assert "-> the Milvus server at" in result.stdout and "added 4" in result.stdout
    return lite_server


def test_a_library_in_milvus_answers_like_the_index_folder(seed_library, pipeline):
    from qa.eval.gold import load_gold

    library = _pipeline(seed_library, "seed")
    assert library.index.folder is None and len(library.index.documents) == 4
    questions = [q.question for q in load_gold(ROOT / "evals" / "gold.jsonl", pipeline.index.documents)]
    first = lambda a: (a.abstained, a.citations[0].chunk.doc_id if a.citations else None)  # noqa: E731
    same = sum(first(library.ask(q)) == first(pipeline.ask(q)) for q in questions)
    # Milvus's BM25 scores differ from the textbook formula by a few per cent (near-ties may swap).
    assert same >= 0.95 * len(questions), f"{same} of {len(questions)}"


def test_the_commands_run_on_the_library_with_no_index_folder(seed_library):
    ask = _cli("ask", "--json", "--milvus-uri", seed_library, "--milvus-collection", "seed", "Can an MRI show small fiber neuropathy?")
    assert ask.returncode == 0, ask.stderr
    import json

    answer = json.loads(ask.stdout)
    assert answer["citations"] and answer["citations"][0]["source"].startswith("milvus:seed/")
    cite = _cli("cite", answer["citations"][0]["chunk_id"], "--milvus-uri", seed_library, "--milvus-collection", "seed")
    assert cite.returncode == 0 and "neuropathy" in cite.stdout.lower()
    docs = _cli("docs", "--milvus-uri", seed_library, "--milvus-collection", "seed")
    assert docs.returncode == 0 and len([line for line in docs.stdout.splitlines() if not line.startswith(" ")]) == 4


def test_two_writers_at_once_are_serialised_and_every_document_lands(lite_server, tmp_path):
    names = ["alpha", "beta", "gamma"]
    files = [_note(tmp_path, f"{n}.md", f"# {n}\n\nThe {n} protocol asks {n} patients to rest and drink water.\n") for n in names]
    errors: list[BaseException] = []

    def write(file):
        try:
            _build(lite_server, "race", [file])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f,)) for f in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    library = _library(lite_server, "race")
    manifest = library.current()
    assert manifest["version"] == 3 and sorted(manifest["documents"]) == [f"{n}-md" for n in names]


def test_a_writer_killed_before_its_commit_leaves_the_library_as_it_was(lite_server, tmp_path, monkeypatch):
    from qa.stores.milvus_library import MilvusLibrary

    _build(lite_server, "crash", [_note(tmp_path, "first.md", "# First\n\nThe first note is about gout and uric acid.\n")])
    before = _pipeline(lite_server, "crash")

    def killed(self, manifest):
        raise KeyboardInterrupt  # the process dies after its rows are written, before the commit row

    monkeypatch.setattr(MilvusLibrary, "commit", killed)
    with pytest.raises(KeyboardInterrupt):
        _build(lite_server, "crash", [_note(tmp_path)])
    monkeypatch.undo()
    after = _pipeline(lite_server, "crash")
    assert sorted(after.index.documents) == sorted(before.index.documents) == ["first-md"]
    assert "pellagra" not in after.ask("What causes pellagra?").text.lower() or after.ask("What causes pellagra?").abstained
    # The next writer finishes the job; the dead writer's rows are either reused or pruned.
    _build(lite_server, "crash", [_note(tmp_path)])
    assert "niacin" in _pipeline(lite_server, "crash").ask("What causes pellagra?").text


def test_another_servers_update_is_seen_and_only_what_changed_is_loaded(lite_server, tmp_path, monkeypatch):
    from qa.stores.milvus_library import MilvusLibrary

    _build(lite_server, "delta", [_note(tmp_path, "gout.md", "# Gout\n\nGout is caused by uric acid crystals in a joint.\n")])
    server = _pipeline(lite_server, "delta")
    assert not server.changed()
    _build(lite_server, "delta", [_note(tmp_path)])  # as another server would
    assert server.changed()
    fetched: list[str] = []
    original = MilvusLibrary.documents
    monkeypatch.setattr(MilvusLibrary, "documents", lambda self, keys: fetched.extend(keys) or original(self, keys))
    fresh = _pipeline(lite_server, "delta", previous=server)
    assert [key.split("@")[0] for key in fetched] == ["pellagra-md"]
    assert "niacin" in fresh.ask("What causes pellagra?").text and not fresh.changed()
    removed = _cli("remove", "pellagra-md", "--milvus-uri", lite_server, "--milvus-collection", "delta")
    assert removed.returncode == 0, removed.stderr
    assert sorted(_pipeline(lite_server, "delta", previous=fresh).index.documents) == ["gout-md"]


def test_a_library_of_int8_vectors_keeps_int8_for_what_is_added(lite_server, tmp_path):
    """A library built with the int8 export (`--backend onnx-int8`) gets the documents added later with the
    default backend embedded in int8 too, so one library never mixes the two precisions."""
    from qa.embed.encoders import load_encoder
    from qa.indexing.build import chunk_embedding_text

    _build(lite_server, "precision", [_note(tmp_path)], backend="onnx-int8")
    text = "# Scurvy\n\nScurvy is caused by a lack of vitamin C and is treated with ascorbic acid.\n"
    report = _build(lite_server, "precision", [_note(tmp_path, "scurvy.md", text)])
    assert report.backend == "onnx-int8" and _library(lite_server, "precision").current()["embedding"]["backend"] == "onnx-int8"
    pipeline = _pipeline(lite_server, "precision")
    answer = pipeline.ask("How is scurvy treated?")
    assert "ascorbic acid" in answer.text
    index = pipeline.index
    row = next(i for i, c in enumerate(index.chunks) if c.doc_id == "scurvy-md")
    passage = chunk_embedding_text(index.documents["scurvy-md"], index.chunks[row])
    stored = index.search.vectors()[row]
    assert abs(float(stored @ load_encoder(DEFAULT_MODEL, "onnx-int8").encode([passage])[0]) - 1) < 1e-5
    assert abs(float(stored @ load_encoder(DEFAULT_MODEL, "onnx").encode([passage])[0]) - 1) > 1e-4


def test_a_pdf_lives_in_the_store_and_its_page_is_shown_from_there(lite_server, tmp_path):
    from tests.test_ui_library import ten_page_pdf

    leaflet = tmp_path / "leaflet.pdf"
    ten_page_pdf(leaflet)
    _build(lite_server, "pdfs", [("leaflet.pdf", leaflet)])
    leaflet.unlink()  # no server needs the file on its disk
    pipeline = _pipeline(lite_server, "pdfs")
    document = next(iter(pipeline.index.documents.values()))
    local = pipeline.index.source_file(document.source_path)
    assert local is not None and local.read_bytes()[:5] == b"%PDF-"
    from qa.app.web_logic import citation_panel_html

    answer = pipeline.ask("How is scurvy treated?")
    html = citation_panel_html(pipeline.index, answer.citations[0].chunk.chunk_id, (answer.citations[0].start, answer.citations[0].end))
    assert 'alt="Page 7 of' in html


def test_bad_input_is_one_line_each(lite_server, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    result = _cli("ask", "--milvus-uri", dead, "anything at all?", QA_MILVUS_TOKEN="secret-token-9d2")
    assert result.returncode == 1 and result.stderr.startswith(f"Error: the Milvus server at {dead} does not answer") and len(result.stderr.strip().splitlines()) == 1
    assert "secret-token-9d2" not in result.stdout + result.stderr
    empty = _cli("serve", "--milvus-uri", lite_server, "--milvus-collection", "nobody", "--port", str(free_port()))
    assert empty.returncode == 1 and "holds no library yet; build one with `qa index --store milvus" in empty.stderr
    _build(lite_server, "other", [_note(tmp_path)])
    library = _library(lite_server, "other")
    manifest = library.current()
    library.commit({**manifest, "version": manifest["version"] + 1, "embedding": {**manifest["embedding"], "model": "someone/else"}})
    other = _cli("index", "-q", "--store", "milvus", "--milvus-uri", lite_server, "--milvus-collection", "other", "--corpus", str(CORPUS))
    assert other.returncode == 1
    assert other.stderr.strip() == f"Error: the Milvus server at {lite_server}, collections other_* holds vectors of 'someone/else', not '{DEFAULT_MODEL}'; use another --milvus-collection, or rebuild it with that model."
    old = tmp_path / "old-index"
    old.mkdir()
    (old / "manifest.json").write_text('{"format_version": 1, "store": {"kind": "milvus", "uri": "http://milvus:19530", "collection": "qa_passages"}}')
    folder = _cli("ask", "--index", str(old), "anything?")
    assert folder.returncode == 1 and "a layout this version replaced: rebuild the library in Milvus with `qa index --store milvus --milvus-uri http://milvus:19530" in folder.stderr


def test_a_server_killed_mid_session_gives_a_clean_error(tmp_path):
    process, uri = start_lite_server(tmp_path / "data")
    try:
        _build(uri, "session", [_note(tmp_path)])
        pipeline = _pipeline(uri, "session")
        assert pipeline.ask("What causes pellagra?").citations
    finally:
        process.kill()
        process.wait(timeout=20)
    with pytest.raises(QAError, match=f"^the Milvus server at {uri} failed to search collection 'session_passages'"):
        pipeline.ask("How is pellagra treated?")


def test_a_lite_folder_works_for_one_process(tmp_path):
    folder = str(tmp_path / "library.db")
    _build(folder, "qa", [_note(tmp_path)])
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(folder)  # let the command below open the folder
    result = _cli("ask", "--milvus-uri", folder, "What causes pellagra?")
    assert result.returncode == 0 and "niacin" in result.stdout, result.stderr


def test_a_lite_uri_without_db_names_the_rule_and_touches_nothing(tmp_path):
    """A folder of the user's as --milvus-uri: the rule is named, nothing is created, nothing suggests deleting it."""
    folder = tmp_path / "my-documents"
    folder.mkdir()
    (folder / "notes.md").write_text(NOTE)
    result = _cli("index", "--store", "milvus", "--milvus-uri", str(folder), "--corpus", str(CORPUS))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: --milvus-uri {str(folder)!r} is neither http://host:port nor a Milvus Lite path: a Milvus Lite URI is a path ending in .db, "
        f"e.g. {str(folder / 'library.db')!r} (Milvus Lite keeps its data in a folder of that name)."
    )
    assert "delete" not in result.stderr and "corrupt" not in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.md"]
    hint = _cli("index", "--store", "milvus", "--corpus", str(CORPUS))
    assert hint.returncode == 1 and "a Milvus Lite path ending in .db" in hint.stderr


def test_a_busy_server_gets_the_librarys_own_connect_timeout(tmp_path, monkeypatch):
    """A server that answers nothing for 4 s (paused, as under a burst of writes) is waited for by a new library
    connection for its own 10 s, though another client in the same process connected first with a 2 s timeout
    (pymilvus pools connections per address and reconnects a pooled one with the first client's timeout)."""
    import signal

    import pymilvus.client.connection_manager as pool
    from pymilvus import MilvusClient

    from qa.stores.milvus import connect

    monkeypatch.setattr(pool, "IDLE_THRESHOLD_SECONDS", 0.0)  # pymilvus re-checks a pooled connection idle this long (30 s)
    server, uri = start_lite_server(tmp_path / "busy")
    try:
        MilvusClient(uri=uri, timeout=2).list_collections()
        os.kill(server.pid, signal.SIGSTOP)
        resume = threading.Timer(4, os.kill, (server.pid, signal.SIGCONT))
        resume.start()
        try:
            assert connect(uri).list_collections() == []
        finally:
            resume.join()
    finally:
        server.stop()

