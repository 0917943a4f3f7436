"""The reader (qa/answer/reader.py), trained by `qa train-reader` (qa/train/): a tiny training run writes an
int8 ONNX file that loads and reads; a file that is not the one its manifest names is refused."""

from __future__ import annotations

import re
import shutil

import pytest

from qa.answer.reader import READER_ROLES, Passage, Reader, restore
from qa.errors import QAError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory):
    from qa.train.reader_build import train_reader
    from qa.train.reader_data import squad_pairs
    from qa.train.reader_net import TrainingSettings

    from qa.train.verdict_data import scifact_pairs

    pairs = squad_pairs(per_article=3)[:48] + scifact_pairs()[:6]  # the verdict data's pairs, which the answer reader leaves out
    out = tmp_path_factory.mktemp("reader")
    manifest = train_reader(out, settings=TrainingSettings(max_tokens=64, batch=8, max_steps=3), cache=out / "cache", pairs=pairs, log=lambda _: None)
    return out, manifest, pairs


def test_a_tiny_training_run_writes_a_reader_that_loads_and_reads(tiny_reader):
    out, manifest, pairs = tiny_reader
    assert manifest["training"]["steps"] == 3 and manifest["bytes"] == (out / manifest["file"]).stat().st_size
    assert set(manifest["data"]["inputs_sha256"]) >= {"pairs.jsonl"} and manifest["int8_agreement"]["same_side_of_zero"] is not None
    assert manifest["data"]["verdict_data"] is False and not any(source.startswith("scifact-train") for source in manifest["data"]["by_source"])
    assert manifest["command"].startswith("make train-reader")
    reader = Reader(out / "reader.json")
    passages = [pair.passage for pair in pairs[:5]]
    readings = reader.read(pairs[0].question, passages)
    assert len(readings) == len(passages)
    for passage, reading in zip(passages, readings):
        first, last = reading.span
        assert 0 <= first < last <= len(passage.text)  # the span lies in the unit's own text
        assert reading.verdict in ("yes", "no", "unclear") and 0.0 <= reading.probability <= 1.0
    assert reader.read("anything?", []) == []


def test_a_reader_file_that_differs_from_its_manifest_is_refused(tiny_reader, tmp_path):
    out, manifest, _ = tiny_reader
    copy = tmp_path / "reader"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("cache"))
    with (copy / manifest["file"]).open("r+b") as handle:
        handle.seek(-10, 2)
        handle.write(b"\x00" * 10)
    with pytest.raises(QAError, match=r"is not the file its manifest names \(SHA-256 .*\); rebuild it with `qa train-reader --out " + re.escape(str(copy.resolve()))):
        Reader(copy / "reader.json")
    (copy / manifest["file"]).unlink()
    with pytest.raises(QAError, match="is missing; rebuild it with `qa train-reader --out "):
        Reader(copy / "reader.json")
    (copy / "reader.json").write_text("{not json")
    with pytest.raises(QAError, match="is not JSON"):
        Reader(copy / "reader.json")


def test_a_candidate_is_composed_with_its_heading_and_context():
    passage = Passage("Imaging", "CT is an acceptable alternative when:", "MRI access is delayed.", "")
    text, start, end = passage.compose()
    assert text == "Imaging: CT is an acceptable alternative when: MRI access is delayed." and text[start:end] == passage.text


def test_questions_read_at_once_by_threads_share_a_pass_and_read_as_alone(tiny_reader):
    import threading

    out, _, pairs = tiny_reader
    alone = Reader(out / "reader.json")
    together = Reader(out / "reader.json")
    together.batch_concurrent_calls(window_s=0.2, max_questions=4)
    requests = [(pairs[i].question, [p.passage for p in pairs[i : i + 3]]) for i in range(0, 12, 3)]
    expected = [alone.read(q, ps) for q, ps in requests]
    got: dict[int, list] = {}
    threads = [threading.Thread(target=lambda i=i, q=q, ps=ps: got.__setitem__(i, together.read(q, ps))) for i, (q, ps) in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert together._batcher.batches < len(requests)  # at least two questions shared a pass
    for i, readings in enumerate(expected):
        # Dynamic int8 quantisation scales activations per batch, so a shared pass moves scores a little (and
        # may move a near-tied span): the same scores within 0.15, not bit for bit.
        assert len(got[i]) == len(readings)
        assert max(abs(a.score - b.score) for a, b in zip(got[i], readings)) < 0.15


def test_a_servers_reader_on_one_quiet_thread_reads_as_the_process_reader(tiny_reader):
    """`qa serve` runs each reader pass on one thread that does not spin (its sessions' passes side by side);
    the readings are the ones a single process gets with every core."""
    out, _, pairs = tiny_reader
    server, process = Reader(out / "reader.json", threads=1, spinning=False), Reader(out / "reader.json")
    passages = [pair.passage for pair in pairs[:6]]
    for question in (pairs[0].question, pairs[6].question):
        for a, b in zip(server.read(question, passages), process.read(question, passages), strict=True):
            assert abs(a.score - b.score) < 1e-4 and a.span == b.span and a.verdict == b.verdict


@pytest.mark.parametrize("role", sorted(READER_ROLES))
def test_a_shipped_reader_is_restored_from_git_or_its_make_target(role):
    folder = READER_ROLES[role].parent.name
    told = restore(READER_ROLES[role])
    assert f"`git checkout -- qa/answer/{folder}`" in told and "`make train-" in told
