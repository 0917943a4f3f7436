"""The page's callbacks as plain functions of a ``LiveLibrary`` and what the page sends; qa/app/web.py only
wires them to Gradio components. They return plain values (HTML, rows, choices), so tests call them
directly; every error a user can fix comes back as one line, with its names (QA_LLM_URL,
corpus/Heart.pdf) as written.
"""

from __future__ import annotations

import html
import logging
import threading
from pathlib import Path
from typing import Iterator

from qa.app import web_logic
from qa.errors import QAError
from qa.library.uploads import DEFAULT_LIMIT_MB
from qa.settings import Settings
from qa.text import capitalised

log = logging.getLogger("qa.app.web")
EMPTY_PANEL = "<div class='qa-panel qa-empty'><p>Click a citation such as <b>[1]</b> in an answer to see the passage in its document.</p></div>"


def error_line(exc: Exception) -> str:
    """A user-fixable error as the page shows it: the message, first letter capitalised, nothing lowercased."""
    return html.escape(capitalised(str(exc)))


def error_panel(exc: Exception) -> str:
    return f"<div class='qa-panel'><p>{error_line(exc)}</p></div>"


class LiveLibrary:
    """The pipeline every session answers from. An upload or a removal builds the new index beside it and
    then replaces it in one assignment: every session moves to the new index at once. On a library kept
    in Milvus, a watcher also checks the committed version every POLL_S seconds and moves to what another
    server committed, loading only the documents that changed."""

    POLL_S = 1.0

    def __init__(self, settings: Settings, upload_limit_mb: float = DEFAULT_LIMIT_MB, pipeline=None, watch: bool = True, users=None):
        from qa.pipeline import shared_pipeline

        self.settings = settings
        self.users = users  # qa.app.accounts.UsersFile: a login is required and roles apply (None: no accounts)
        self.pipeline = pipeline or shared_pipeline(settings)
        in_store = self.pipeline.library is not None
        self.library = settings if in_store else settings.with_overrides(corpus=self.pipeline.index.manifest["corpus"]["folder"])
        self.upload_limit_mb = upload_limit_mb
        self._swap = threading.Lock()
        self._stop = threading.Event()
        if in_store and watch:
            threading.Thread(target=self._watch, name="qa-library-watch", daemon=True).start()

    @property
    def index(self):
        return self.pipeline.index

    def reopen(self) -> None:
        from qa.pipeline import open_pipeline

        with self._swap:
            current = self.pipeline
            self.pipeline = open_pipeline(self.library, previous=current)

    def _watch(self) -> None:
        while not self._stop.wait(self.POLL_S):
            try:
                if self.pipeline.changed():
                    self.reopen()
            except Exception:  # a store that is briefly away: keep answering from what is loaded
                log.warning("checking the library for updates failed; answering from version %s", self.pipeline.index.manifest["store"]["version"], exc_info=True)

    def close(self) -> None:
        self._stop.set()

    def refusal(self, username: str | None) -> str | None:
        """Why ``username`` may not add or remove documents (None: they may): with accounts, only an editor may."""
        if self.users is None:
            return None
        role = self.users.role_of(username)
        if role == "editor":
            return None
        return f"Only editors may add or remove documents; {html.escape(username or 'this session')} is {'a ' + role if role else 'not logged in'}."

    def choices(self) -> list[tuple[str, str]]:
        return [(d.title, d.doc_id) for d in self.index.documents.values()]


def respond(live: LiveLibrary, message: str, chat: list, turns: list, mode: str, k: int, answerer: str = "extractive") -> Iterator[tuple[list, list, str]]:
    """The conversation as it grows: (chat messages, turns, the "Searched for" line). An LLM's draft streams
    first; then the answer's cited statements one at a time, then the source cards."""
    pipeline = live.pipeline
    message = (message or "").strip()
    chat, turns = list(chat or []), list(turns or [])
    if not message:
        yield chat, turns, ""
        return
    chat.append({"role": "user", "content": html.escape(message)})  # shown as text, never as markup
    try:
        turn = None
        for step in web_logic.stream_turn(pipeline, message, [t.searched_for for t in turns], mode, int(k), answerer):
            if isinstance(step, str):  # an LLM's draft, token by token
                yield chat + [{"role": "assistant", "content": web_logic.draft_html(step)}], turns, ""
            else:
                turn = step
    except QAError as exc:
        yield chat + [{"role": "assistant", "content": f"<div class='qa-answer qa-abstained'>{error_line(exc)}</div>"}], turns, ""
        return
    except Exception:  # the user sees a friendly line; the log keeps the traceback
        log.exception("answering %r failed", message)
        yield chat + [{"role": "assistant", "content": web_logic.FRIENDLY_ERROR}], turns, ""
        return
    turns.append(turn)
    searched, number = web_logic.searched_line(turn), len(turns) - 1
    for partial in web_logic.streamed_parts(turn.answer)[:-1]:
        yield chat + [{"role": "assistant", "content": web_logic.answer_html(number, turn.answer, pipeline.index, partial, with_sources=False)}], turns, searched
    yield chat + [{"role": "assistant", "content": web_logic.answer_html(number, turn.answer, pipeline.index)}], turns, searched


def open_citation(live: LiveLibrary, target: str, turns: list) -> tuple[str | None, tuple | None]:
    """The side panel for a clicked citation or closest passage, and what "Show whole document" opens
    (None, None when the click is not a citation)."""
    parsed = web_logic.parse_cite_target(target)
    if not parsed:
        return None, None
    kind, turn_number, key = parsed
    index = live.index
    try:
        if kind == "cite":
            citation = web_logic.find_citation(list(turns or []), turn_number, int(key))
            span = (citation.start, citation.end)
            return web_logic.citation_panel_html(index, citation.chunk.chunk_id, span), (citation.chunk.doc_id, span)
        hit = web_logic.closest_hit(list(turns or []), turn_number, key)
        return web_logic.citation_panel_html(index, hit.chunk.chunk_id), (hit.chunk.doc_id, (hit.chunk.start, hit.chunk.end))
    except QAError as exc:
        return error_panel(exc), None


def whole_document(live: LiveLibrary, selected: tuple | None) -> str:
    if not selected:
        return EMPTY_PANEL
    doc_id, span = selected
    try:
        return web_logic.document_html(live.index, doc_id, tuple(span))
    except QAError as exc:
        return error_panel(exc)


def show_source(live: LiveLibrary, doc_id: str | None) -> str:
    return web_logic.document_html(live.index, doc_id) if doc_id in live.index.documents else ""


def add_files(live: LiveLibrary, files: list, progress: bool = True, username: str | None = None) -> str:
    """Uploaded files into the library (qa/library/uploads.py); one line per file, as Markdown. With accounts, only
    an editor's files are added."""
    from qa.library.uploads import add_uploads

    refused = live.refusal(username)
    if refused:
        return refused
    paths = [Path(f if isinstance(f, str) else f.name) for f in (files or [])]
    if not paths:
        return "Choose one or more files first."
    try:
        results = add_uploads([(p.name, p) for p in paths], live.library, live.upload_limit_mb, progress=progress)
    except QAError as exc:
        return f"Nothing was added: {error_line(exc)}"
    if any(r.status == "added" for r in results):
        live.reopen()
    return "\n".join(f"- {html.escape(r.line())}" for r in results)


def remove_document(live: LiveLibrary, doc_id: str | None, confirmed: bool, username: str | None = None) -> tuple[str, bool]:
    """The removal's one line, and whether the lists should be refreshed (not while the user still has to
    tick the confirmation: their pick stays). With accounts, only an editor may remove."""
    from qa.library.manage import remove_document as remove

    refused = live.refusal(username)
    if refused:
        return refused, False
    if not doc_id:
        return "Pick the document to remove.", True
    if not confirmed:
        return "Tick the box to confirm the removal first.", False
    try:
        remove(doc_id, live.library)
    except QAError as exc:
        return error_line(exc), True
    live.reopen()
    return f"Removed {html.escape(doc_id)}; its file was moved to {html.escape(str(live.library.corpus))}/.removed/, not deleted.", True
