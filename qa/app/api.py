"""The JSON HTTP API beside the page (`qa serve` mounts both on one server): for integrations and batch clients,
without the browser's queue and the page's HTML.

* ``POST /api/ask`` ``{"question", "k"?, "mode"?, "answerer"?}``: the answer as `qa ask --json` prints it;
* ``GET /api/cite/{chunk_id}?span=START-END``: a citation in its context, as `qa cite --json` prints it (a chunk id's
  "#" is sent as %23: ``/api/cite/limb-weakness-negative-head-mri%233``);
* ``GET /api/docs``: the library, as `qa docs --json` lists it;
* ``GET /api/openapi`` (the OpenAPI page) and ``/api/openapi.json``.

With accounts (`qa serve --users FILE`), every call needs the page's login: HTTP Basic, or a bearer token from
``POST /api/token`` (itself with Basic), valid for TOKEN_HOURS. Asking and citing are every role's; the answers come
from the same live library as the page's, so an upload there is answered here at once. A problem with the request is
a 400 with ``{"error": "..."}`` naming the bad value and the fix, as the CLI's one line.

At most ``slots`` questions are answered at once on this server's cores (the extractive answerer; an LLM's answers
wait on their server, not on these cores); the others wait their turn. Twenty answers side by side on two cores
spend more CPU each than two at a time, and the last of them come later (make bench, Serving).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import threading
import time

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qa.errors import QAError

TOKEN_HOURS = 12


class AskRequest(BaseModel):
    question: str = Field(description="The question, as a user would type it.", examples=["What imaging for low back pain with leg weakness?"])
    k: int | None = Field(None, ge=1, le=50, description="Passages weighed (default: the server's, 8).")
    mode: str | None = Field(None, description="Retrieval: hybrid (default), dense or bm25.")
    answerer: str | None = Field(None, description="extractive (default) or llm, when the server has an LLM.")


class Tokens:
    """Bearer tokens handed out by POST /api/token, kept in this process only (a restart logs everyone out)."""

    def __init__(self):
        self._held: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def issue(self, name: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._held = {t: held for t, held in self._held.items() if held[1] > now}
            self._held[token] = (name, now + TOKEN_HOURS * 3600)
        return token

    def holder(self, token: str) -> str | None:
        with self._lock:
            held = self._held.get(token)
        return held[0] if held and held[1] > time.time() else None


def build_api(live, users=None, slots: int | None = None) -> FastAPI:
    """The API over a live library (qa/app/web_callbacks.LiveLibrary); ``users``: the accounts (None: open); ``slots``:
    questions answered at once (None: one per core; 0: no limit)."""
    api = FastAPI(title="qa: cited answers from medical documents", version="1", docs_url="/openapi", redoc_url=None, openapi_url="/openapi.json",
                  description=__doc__)
    tokens = Tokens()
    answering = threading.BoundedSemaphore(slots or os.cpu_count() or 1) if slots != 0 else None

    def basic_account(request: Request) -> str | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            name, _, password = base64.b64decode(value).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        account = users.verify(name, password)
        return account.name if account else None

    def login(request: Request) -> str | None:
        """The logged-in user's name (None without accounts); a 401 for anyone else."""
        if users is None:
            return None
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        name = tokens.holder(value.strip()) if scheme.lower() == "bearer" else basic_account(request)
        if name is None:
            raise HTTPException(401, "log in with HTTP Basic (the page's user name and password) or a bearer token from POST /api/token",
                                headers={"WWW-Authenticate": 'Basic realm="qa", Bearer'})
        return name

    @api.exception_handler(QAError)
    async def one_line(request: Request, exc: QAError):
        return JSONResponse({"error": str(exc)}, status_code=400)

    @api.post("/token", summary="A bearer token for the account given by HTTP Basic")
    def token(request: Request):
        if users is None:
            raise HTTPException(404, "this server has no accounts (qa serve --users FILE); call the API without logging in")
        name = basic_account(request)
        if name is None:
            raise HTTPException(401, "wrong user name or password", headers={"WWW-Authenticate": 'Basic realm="qa"'})
        return {"token": tokens.issue(name), "token_type": "bearer", "expires_in": TOKEN_HOURS * 3600}

    @api.post("/ask", summary="A short answer whose statements cite the passages they quote (qa ask --json)")
    def ask(body: AskRequest, user: str | None = Depends(login)):
        from qa.render.output import answer_to_json

        pipeline = live.pipeline
        on_these_cores = (body.answerer or live.settings.answerer) == "extractive"
        with answering if answering is not None and on_these_cores else contextlib.nullcontext():
            answer = pipeline.ask(body.question, mode=body.mode, k=body.k, answerer=body.answerer)
        return answer_to_json(answer, pipeline.index)

    @api.get("/cite/{chunk_id}", summary="A cited passage in its context (qa cite --json)")
    def cite(chunk_id: str, span: str | None = None, user: str | None = Depends(login)):
        from qa.render.citations import parse_span, passage_in_context
        from qa.render.output import context_to_json

        index = live.pipeline.index
        return context_to_json(passage_in_context(index, chunk_id, parse_span(span) if span else None), index)

    @api.get("/docs", summary="The documents in the library (qa docs --json)")
    def docs(user: str | None = Depends(login)):
        from qa.render.output import documents_to_json

        return documents_to_json(live.pipeline.index)

    return api
