"""The `qa` command as a user runs it: real subprocesses for exit codes and output streams."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT

QA = [sys.executable, "-m", "qa.app.cli"]


def run(*args, stdin=None, cwd=ROOT):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*QA, *args], capture_output=True, text=True, input=stdin, cwd=cwd, env=env, timeout=120)


def test_ask_json_follows_the_contract(index_dir):
    result = run("ask", "--json", "--index", str(index_dir), "What imaging for low back pain with leg weakness?")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"question", "answer", "abstained", "answerer", "note", "statements", "rejected_statements", "citations", "timings_ms", "corrections",
                           "confidence", "verdict", "answer_span"}
    assert answer["verdict"] is None  # not a yes/no question
    assert any("urgent MRI of the lumbar spine" in s["text"] for s in answer["statements"])
    span = answer["answer_span"]
    if span is not None:
        assert set(span) == {"statement", "start", "end", "text"}
        assert answer["statements"][span["statement"]]["text"][span["start"] : span["end"]] == span["text"]
    assert isinstance(answer["answer"], str) and answer["abstained"] is False
    assert answer["corrections"] == [] and 0 < answer["confidence"] <= 1
    assert answer["answerer"] == "extractive" and answer["note"] is None and answer["rejected_statements"] == 0
    assert answer["statements"] and all(s["supported"] and s["citations"] and s["text"] in answer["answer"] for s in answer["statements"])
    assert {"retrieve", "answer", "total"} <= set(answer["timings_ms"])
    documents = {json.loads(line)["doc_id"]: json.loads(line) for line in (index_dir / "documents.jsonl").read_text().splitlines()}
    for citation in answer["citations"]:
        assert set(citation) == {"n", "chunk_id", "doc_id", "title", "section", "page", "source", "text", "quote", "start", "end", "score"}
        assert citation["page"] is None  # plain-text documents have no pages
        assert isinstance(citation["n"], int) and isinstance(citation["score"], float)
        assert f"[{citation['n']}]" in answer["answer"]
        text = documents[citation["doc_id"]]["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]
        assert citation["quote"] in citation["text"]
        assert (ROOT / citation["source"]).is_file()


def test_a_misspelt_word_is_searched_as_corrected_and_says_so(index_dir):
    result = run("ask", "--json", "--index", str(index_dir), "Which lab tests are sugested for unexplained limb weaknes?")
    answer = json.loads(result.stdout)
    assert {"typed": "weaknes", "corrected": "weakness"} in answer["corrections"] and not answer["abstained"]
    text = run("ask", "--index", str(index_dir), "Which lab tests are sugested for unexplained limb weaknes?").stdout
    assert text.startswith("Searched for: ") and "weakness (you typed weaknes)" in text


@pytest.mark.parametrize("question", ["What imaging for low back pain with leg weakness?", "What imaging should be ordered for low back pain with new weakness in the lower leg?"])
def test_the_readme_question_opens_with_the_mri_in_text(index_dir, question):
    result = run("ask", "--index", str(index_dir), question)
    assert result.returncode == 0, result.stderr
    first_statement = result.stdout.replace("\n", " ").replace("**", "").split("[1]")[0]
    assert "urgent MRI of the lumbar spine" in first_statement


def test_a_yes_no_verdict_is_in_the_json_and_opens_the_answer(index_dir):
    answer = json.loads(run("ask", "--json", "--index", str(index_dir), "Does a negative brain MRI rule out a spinal cord lesion?").stdout)
    assert answer["verdict"] in ("yes", "no", "unclear")
    assert answer["answer"].startswith({"yes": "Yes.", "no": "No.", "unclear": "The documents do not settle this."}[answer["verdict"]])


def test_a_real_english_word_is_not_corrected_but_a_misspelling_is(index_dir):
    kept = json.loads(run("ask", "--json", "--index", str(index_dir), "Which nerve tests help with neuropathic symptoms?").stdout)
    assert kept["corrections"] == []
    fixed = json.loads(run("ask", "--json", "--index", str(index_dir), "Can an MRI show small fiber neuropaty?").stdout)
    assert fixed["corrections"] == [{"typed": "neuropaty", "corrected": "neuropathy"}]


def test_ask_file_answers_every_line_in_order_and_reports_bad_lines(index_dir, tmp_path):
    questions = tmp_path / "questions.jsonl"
    questions.write_bytes(
        b'{"id": "a", "question": "When is a nerve biopsy done?"}\n'
        b"this is not json\n"
        b'{"id": "c", "question": "What is the capital of France?"}\n'
        b'{"id": "d", "question": "\xff\xfe bad bytes"}\n'
    )
    result = run("ask", "--json", "--index", str(index_dir), "--file", str(questions))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("id") for line in lines] == ["a", None, "c", None]
    assert lines[0]["citations"] and lines[2]["abstained"] is True
    assert "questions.jsonl:2: the line is not valid JSON" in result.stderr
    assert result.returncode == 1  # some lines failed; the others were answered


def test_unknown_chunk_id_is_one_clear_line(index_dir):
    result = run("cite", "no-such-doc#4", "--index", str(index_dir))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["Error: unknown chunk id 'no-such-doc#4'; ids look like 'doc-id#3' (see `qa search` output)."]


def test_missing_index_is_one_clear_line(tmp_path):
    result = run("ask", "--index", str(tmp_path / "missing"), "anything?")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "qa index" in result.stderr


def test_a_fresh_checkout_answers_at_once_building_its_index_first(tmp_path):
    """No index named and none built: `qa ask --json` builds the default one from corpus/ (said on stderr) and
    answers by the contract; the second question uses it as built."""
    import shutil

    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    first = run("ask", "--json", "What imaging for low back pain with leg weakness?", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    answer = json.loads(first.stdout)
    assert {"question", "answer", "abstained", "citations"} <= set(answer) and answer["citations"]
    assert "building index/ from corpus/" in first.stderr and (tmp_path / "index" / "manifest.json").is_file()
    second = run("ask", "--json", "What imaging for low back pain with leg weakness?", cwd=tmp_path)
    assert second.returncode == 0 and "building" not in second.stderr
    assert json.loads(second.stdout)["answer"] == answer["answer"]


@pytest.mark.parametrize("command", [["ask", "anything?"], ["search", "anything?"], ["cite", "doc#1"]])
def test_with_json_a_failure_is_still_a_json_object(tmp_path, command):
    result = run(*command, "--json", "--index", str(tmp_path / "missing"))
    assert result.returncode == 1
    reply = json.loads(result.stdout)
    assert list(reply) == ["error"] and "qa index" in reply["error"]
    assert result.stderr.strip() == f"Error: {reply['error']}"


def test_cite_shows_the_passage_with_its_references(index_dir):
    result = run("cite", "limb-weakness-negative-head-mri#6", "--index", str(index_dir))
    assert result.returncode == 0
    assert ">>>- Acute Limb Weakness" in result.stdout and "References this passage points to:" in result.stdout
    assert "only 3 entries" in result.stdout


def test_search_json_lists_ranked_passages(index_dir):
    result = run("search", "--json", "-k", "3", "--mode", "bm25", "--index", str(index_dir), "nerve conduction studies")
    hits = json.loads(result.stdout)["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3] and hits[0]["bm25"] > 0


@pytest.mark.parametrize("command", ["index", "search", "ask", "cite", "chat", "eval", "serve", "docs", "add", "remove"])
def test_every_command_help_shows_an_example(command):
    result = run(command, "--help")
    assert result.returncode == 0 and "Example" in result.stdout


def test_zero_k_is_refused():
    result = run("search", "-k", "0", "x")
    assert result.returncode == 2 and "must be greater than 0" in result.stderr


def test_index_reports_what_it_did(tmp_path):
    result = run("index", "--quiet", "--corpus", str(ROOT / "corpus"), "--index", str(tmp_path / "index"))
    assert result.returncode == 0, result.stderr
    assert "Indexed 4 documents into" in result.stdout and (tmp_path / "index" / "manifest.json").exists()


def test_eval_writes_a_report_and_compares_runs(index_dir, tmp_path):
    first = run("eval", "--split", "test", "-q", "--index", str(index_dir), "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    assert {"report.json", "report.md", "recall_at_k.png", "latency.png", "key_facts_per_document.png"} <= {p.name for p in (tmp_path / "a").iterdir()}
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    records = report["runs"][report["chosen"]]["records"]
    assert records and all(r["split"] == "test" for r in records)
    assert "## The 10 worst questions" in (tmp_path / "a" / "report.md").read_text()
    # A second run with fewer passages: the comparison names the questions whose outcome changed.
    second = run("eval", "--split", "test", "-q", "-k", "1", "--index", str(index_dir), "--out", str(tmp_path / "b"))
    assert second.returncode == 0, second.stderr
    compared = run("eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert "key_fact_recall" in compared.stdout and "Questions whose outcome changed:" in compared.stdout
    assert " -> " in compared.stdout


def test_export_onnx_leaves_an_existing_export_alone():
    from qa.embed.encoders import onnx_model_path

    before = onnx_model_path().stat().st_mtime_ns
    result = run("export-onnx")
    assert result.returncode == 0, result.stderr
    assert "already there" in result.stdout and str(onnx_model_path()) in result.stdout
    assert onnx_model_path().stat().st_mtime_ns == before


def test_index_with_the_int8_encoder_records_it_and_answers(tmp_path):
    """`qa index --backend onnx-int8` embeds with the int8 export, says so in the manifest, and the index answers."""
    index = tmp_path / "index"
    built = run("index", "-q", "--backend", "onnx-int8", "--corpus", str(ROOT / "corpus"), "--index", str(index))
    assert built.returncode == 0, built.stderr
    assert json.loads((index / "manifest.json").read_text())["embedding"]["backend"] == "onnx-int8"
    asked = run("ask", "--index", str(index), "What imaging for low back pain with leg weakness?")
    assert asked.returncode == 0 and "urgent MRI of the lumbar spine" in " ".join(asked.stdout.split())
