"""The JSON API beside the page (qa/app/api.py), over real HTTP against a real `qa serve`: the answers are the CLI's
`--json` answers, and with accounts every call needs the page's login, as HTTP Basic or a bearer token."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import quote

import pytest
import requests

from qa.app.accounts import UsersFile

from .conftest import ROOT, start_qa_serve, stop

pytestmark = pytest.mark.slow

QUESTION = "What imaging for low back pain with leg weakness?"


@pytest.fixture(scope="module")
def server(index_dir, tmp_path_factory):
    users = tmp_path_factory.mktemp("accounts") / "users.json"
    UsersFile(users).add("rita", "reader", "reader passphrase")
    process, url = start_qa_serve(index_dir, "--users", str(users))
    yield url
    stop(process)


def test_an_answer_through_the_api_is_the_clis_json_answer(server, index_dir):
    answer = requests.post(f"{server}api/ask", json={"question": QUESTION}, auth=("rita", "reader passphrase"), timeout=60).json()
    cli = json.loads(subprocess.run([sys.executable, "-m", "qa.app.cli", "ask", "--json", "--index", str(index_dir), QUESTION],
                                    capture_output=True, text=True, cwd=ROOT, check=True).stdout)
    assert set(answer) == set(cli) and answer["answer"] == cli["answer"] and answer["citations"] == cli["citations"]
    assert any("urgent MRI of the lumbar spine" in s["text"] for s in answer["statements"])
    first = answer["citations"][0]
    cited = requests.get(f"{server}api/cite/{quote(first['chunk_id'], safe='')}", params={"span": f"{first['start']}-{first['end']}"},  # "#" as %23
                         auth=("rita", "reader passphrase"), timeout=30).json()
    cli_cited = json.loads(subprocess.run([sys.executable, "-m", "qa.app.cli", "cite", "--json", first["chunk_id"], "--span", f"{first['start']}-{first['end']}",
                                           "--index", str(index_dir)], capture_output=True, text=True, cwd=ROOT, check=True).stdout)
    assert cited == cli_cited and first["quote"] in cited["quote"] and cited["doc_id"] == first["doc_id"]
    listed = requests.get(f"{server}api/docs", auth=("rita", "reader passphrase"), timeout=30).json()
    assert first["doc_id"] in {d["doc_id"] for d in listed} and all(d["chunks"] > 0 for d in listed)


def test_every_call_needs_the_login_as_basic_auth_or_a_bearer_token(server):
    assert requests.post(f"{server}api/ask", json={"question": QUESTION}, timeout=30).status_code == 401
    assert requests.post(f"{server}api/ask", json={"question": QUESTION}, auth=("rita", "wrong passphrase"), timeout=30).status_code == 401
    assert requests.post(f"{server}api/token", auth=("rita", "wrong passphrase"), timeout=30).status_code == 401
    token = requests.post(f"{server}api/token", auth=("rita", "reader passphrase"), timeout=30).json()["token"]
    answered = requests.post(f"{server}api/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert answered.status_code == 200 and answered.json()["citations"]
    assert requests.get(f"{server}api/docs", headers={"Authorization": "Bearer not-a-token"}, timeout=30).status_code == 401


def test_bad_requests_get_one_line_naming_the_problem_and_the_page_and_openapi_are_served(server):
    empty = requests.post(f"{server}api/ask", json={"question": "  "}, auth=("rita", "reader passphrase"), timeout=30)
    assert empty.status_code == 400 and "the question is empty" in empty.json()["error"]
    unknown = requests.get(f"{server}api/cite/no-such-passage", auth=("rita", "reader passphrase"), timeout=30)
    assert unknown.status_code == 400 and "unknown chunk id 'no-such-passage'" in unknown.json()["error"]
    assert requests.post(f"{server}api/ask", json={"question": QUESTION, "k": 0}, auth=("rita", "reader passphrase"), timeout=30).status_code == 422
    schema = requests.get(f"{server}api/openapi.json", timeout=30).json()
    assert {"/ask", "/cite/{chunk_id}", "/docs", "/token"} <= set(schema["paths"])
    assert requests.get(f"{server}api/openapi", timeout=30).status_code == 200
    assert requests.get(server, timeout=30).status_code == 200  # the page, on the same server


def test_questions_asked_at_once_wait_their_turn_and_get_the_answers_asked_alone(server, pipeline):
    """More questions at once than the server answers at once (one per core): each waits for a slot, none fails, and
    each gets the answer it gets asked alone."""
    from concurrent.futures import ThreadPoolExecutor

    from qa.eval.gold import load_gold

    questions = [q.question for q in load_gold(ROOT / "evals" / "gold.jsonl", pipeline.index.documents)][:8]

    def ask(question: str) -> dict:
        reply = requests.post(f"{server}api/ask", json={"question": question}, auth=("rita", "reader passphrase"), timeout=120)
        assert reply.status_code == 200, reply.text
        return {key: reply.json()[key] for key in ("answer", "citations")}

    alone = [ask(q) for q in questions]
    with ThreadPoolExecutor(len(questions)) as pool:
        together = list(pool.map(ask, questions))
    assert together == alone
