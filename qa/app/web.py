"""The Gradio chat UI: Blocks wired to the plain callbacks in ``qa.app.web_callbacks`` (which render with
``qa.app.web_logic``).

One pipeline (model + index) per process, shared by every session; each session keeps its own
turns in ``gr.State``. A click on a citation ``[n]`` (a link in the chat HTML) is relayed by a few
lines of JavaScript into a hidden textbox whose handler renders the side panel.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before Gradio is imported
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# At module level: the callbacks' gr.Request annotations are resolved here (only `qa serve` imports this module).
import gradio as gr

from qa.app import web_callbacks as callbacks
from qa.app import web_logic
from qa.errors import QAError
from qa.ingest.formats import SUFFIXES
from qa.settings import Settings
from qa.library.uploads import DEFAULT_LIMIT_MB


CSS = """
.gradio-container {max-width: 1280px !important; margin: auto;}
#qa-title h1 {margin-bottom: 0;} #qa-title p {margin-top: 4px; color: var(--body-text-color-subdued);}
.qa-answer {line-height: 1.55;}
.qa-abstained {font-weight: 600;}
a.qa-cite {font-weight: 700; text-decoration: none; padding: 0 2px; border-radius: 4px; background: var(--color-accent-soft); cursor: pointer;}
.qa-sources {margin-top: 10px; display: flex; flex-direction: column; gap: 6px;}
.qa-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px; font-size: 0.92em;}
.qa-quote {color: var(--body-text-color-subdued); margin-top: 3px; font-style: italic;}
.qa-panel h3 {margin-top: 0;}
.qa-facts {display: grid; grid-template-columns: 1fr 1fr; gap: 2px 12px; font-size: 0.88em; margin-bottom: 8px;}
.qa-facts span {font-weight: 600;}
.qa-context {max-height: 58vh; overflow-y: auto; line-height: 1.55; border-top: 1px solid var(--border-color-primary); padding-top: 8px;}
.qa-context mark {background: #ffe58f; color: #111; padding: 1px 0;}
.qa-note {font-size: 0.88em; color: var(--body-text-color-subdued);}
#qa-searched {font-size: 0.88em; color: var(--body-text-color-subdued); min-height: 1.4em;}
.qa-page-view {max-height: 62vh; overflow-y: auto; border: 1px solid var(--border-color-primary); border-radius: 6px; margin-bottom: 6px;}
img.qa-page {width: 100%; display: block;}
.qa-draft {color: var(--body-text-color-subdued); white-space: pre-wrap;}
s.qa-unsupported {color: var(--body-text-color-subdued);}
.qa-unsupported-tag {font-size: 0.8em; border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 4px;}
"""

# Relays clicks on citation links (inside the chat's HTML) to the hidden #qa-cite-target textbox.
HEAD = """
<script>
document.addEventListener('click', function (event) {
  const link = event.target.closest && event.target.closest('a.qa-cite, a[href^="#qa-cite/"], a[href^="#qa-passage/"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const box = document.querySelector('#qa-cite-target textarea, #qa-cite-target input');
  if (!box) return;
  box.value = link.getAttribute('href') + '|' + Date.now();
  box.dispatchEvent(new Event('input', {bubbles: true}));
}, true);
</script>
"""
def build_app(live: "callbacks.LiveLibrary", read_only: bool = False, upload_limit_mb: float = DEFAULT_LIMIT_MB):
    """The page over a live library: an Ask tab (conversation, citation panel, settings) and a Sources tab (the
    library), wired to the plain callbacks of qa/app/web_callbacks.py. With accounts (``live.users``), the library's
    controls are shown to editors, and its callbacks refuse anyone else."""
    settings = live.settings
    with gr.Blocks(title="Cited answers — medical documents") as app:
        gr.Markdown(
            "# Cited answers from the medical documents\n"
            "Every statement cites the passage it comes from; click a citation to read it in its document. "
            "When the documents do not answer a question, the answer says so.",
            elem_id="qa-title",
        )
        turns, selected = gr.State([]), gr.State(None)
        with gr.Tabs():
            with gr.Tab("Ask"):
                ask = _ask_tab(live, settings, read_only)
            with gr.Tab("Sources"):
                sources = _sources_tab(live, read_only, upload_limit_mb)
        _wire_ask(live, ask, turns, selected)
        _wire_library(app, live, ask, sources, read_only)
    return app


def _ask_tab(live: "callbacks.LiveLibrary", settings: Settings, read_only: bool) -> dict:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Conversation", show_label=False, height=520, sanitize_html=True, buttons=["copy"], feedback_options=None, elem_id="qa-chat")
            searched = gr.Markdown("", elem_id="qa-searched")
            with gr.Row():
                box = gr.Textbox(
                    placeholder="Ask a question about the documents, then press Enter", show_label=False, scale=5, autofocus=True, max_length=2000, elem_id="qa-question"
                )
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-send")
                upload_small = gr.UploadButton("Add documents", file_count="multiple", file_types=list(SUFFIXES), scale=1, visible=not read_only, elem_id="qa-upload-button")
            gr.Examples(web_logic.EXAMPLES, inputs=box, label="Examples")
            with gr.Accordion("Settings", open=False):
                mode = gr.Radio(["hybrid", "dense", "bm25"], value=settings.mode, label="Retrieval")
                k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages weighed")
                answerer = gr.Radio(  # offered only when an LLM server is configured (QA_LLM_URL)
                    [("Extractive (quotes the passages)", "extractive"), (f"LLM at {settings.llm_url} (checked)", "llm")],
                    value=settings.answerer, label="Answer written by", visible=live.pipeline.llm_configured, elem_id="qa-answerer",
                )
        with gr.Column(scale=2):
            gr.Markdown("### Passage in context")
            panel = gr.HTML(callbacks.EMPTY_PANEL, elem_id="qa-panel")
            show_all = gr.Button("Show whole document", size="sm", elem_id="qa-show-document")
            cite_target = gr.Textbox(visible="hidden", interactive=True, elem_id="qa-cite-target")
    return {"chat": chat, "searched": searched, "box": box, "send": send, "upload_small": upload_small, "mode": mode, "k": k, "answerer": answerer,
            "panel": panel, "show_all": show_all, "cite_target": cite_target}


def _sources_tab(live: "callbacks.LiveLibrary", read_only: bool, upload_limit_mb: float) -> dict:
    table = gr.Dataframe(
        value=web_logic.sources_rows(live.index), headers=["Title", "Kind", "Date", "Publisher", "Passages", "ID"], interactive=False, wrap=True,
        column_widths=["38%", "14%", "12%", "18%", "8%", "10%"], elem_id="qa-sources-table",
    )
    with gr.Group(visible=not read_only) as library_controls:
        uploads = gr.File(file_count="multiple", file_types=list(SUFFIXES), label=f"Add documents ({', '.join(SUFFIXES)}; up to {upload_limit_mb:g} MB each)", elem_id="qa-upload")
        add_button = gr.Button("Add to the library", variant="primary", elem_id="qa-add")
        upload_result = gr.Markdown("", elem_id="qa-upload-result")
    with gr.Group(visible=not read_only) as remove_controls:
        with gr.Row():
            remove_choice = gr.Dropdown(live.choices(), label="Remove a document", elem_id="qa-remove-choice", scale=3)
            confirm = gr.Checkbox(label="Yes, remove it (its file is moved aside, not deleted)", elem_id="qa-remove-confirm", scale=2)
            remove_button = gr.Button("Remove", variant="stop", elem_id="qa-remove", scale=1)
        remove_result = gr.Markdown("", elem_id="qa-remove-result")
    choice = gr.Dropdown(live.choices(), label="Read a document")
    document_view = gr.HTML("")
    return {"table": table, "uploads": uploads, "add_button": add_button, "upload_result": upload_result, "remove_choice": remove_choice,
            "library_controls": library_controls, "remove_controls": remove_controls,
            "confirm": confirm, "remove_button": remove_button, "remove_result": remove_result, "choice": choice, "document_view": document_view}


def _wire_ask(live: "callbacks.LiveLibrary", ask: dict, turns, selected) -> None:
    def respond(message, chat, turn_list, mode, k, answerer="extractive"):
        for chat_now, turns_now, searched in callbacks.respond(live, message, chat, turn_list, mode, k, answerer):
            yield chat_now, turns_now, searched, ""

    def open_citation(target, turn_list):
        panel, chosen = callbacks.open_citation(live, target, turn_list)
        return (gr.update() if panel is None else panel), chosen

    submit = dict(fn=respond, inputs=[ask["box"], ask["chat"], turns, ask["mode"], ask["k"], ask["answerer"]], outputs=[ask["chat"], turns, ask["searched"], ask["box"]])
    ask["box"].submit(**submit, api_name="ask")
    ask["send"].click(**submit, api_visibility="private")
    ask["cite_target"].change(open_citation, [ask["cite_target"], turns], [ask["panel"], selected], api_visibility="private")
    ask["show_all"].click(lambda chosen: callbacks.whole_document(live, chosen), selected, ask["panel"], api_visibility="private").then(
        None, js="() => { const m = document.getElementById('qa-doc-quote'); if (m) m.scrollIntoView({block: 'center'}); }"
    )


def _wire_library(app, live: "callbacks.LiveLibrary", ask: dict, sources: dict, read_only: bool) -> None:
    def views():
        return web_logic.sources_rows(live.index), gr.update(choices=live.choices(), value=None), gr.update(choices=live.choices(), value=None)

    def add(files, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc=f"Indexing {len(files or [])} file{'s' if len(files or []) != 1 else ''}")
        return (callbacks.add_files(live, files, username=request.username), *views())

    def remove(doc_id, confirmed, request: gr.Request):
        line, refresh = callbacks.remove_document(live, doc_id, confirmed, request.username)
        return (line, *views()) if refresh else (line, gr.update(), gr.update(), gr.update())

    library_outputs = [sources["table"], sources["choice"], sources["remove_choice"]]
    if live.users is not None and not read_only:  # the library's controls for editors only (the callbacks check too)
        controls = [ask["upload_small"], sources["library_controls"], sources["remove_controls"]]

        def show_controls(request: gr.Request):
            return [gr.update(visible=live.refusal(request.username) is None)] * len(controls)

        app.load(show_controls, None, controls, api_visibility="private")
    sources["choice"].change(lambda doc_id: callbacks.show_source(live, doc_id), sources["choice"], sources["document_view"], api_visibility="private")
    if read_only:  # the handlers exist only where uploads are allowed
        return
    ask["upload_small"].upload(add, ask["upload_small"], [ask["searched"], *library_outputs], api_visibility="private", show_progress_on=ask["searched"])
    sources["add_button"].click(add, sources["uploads"], [sources["upload_result"], *library_outputs], api_visibility="private", show_progress_on=sources["upload_result"]).then(
        lambda: None, None, sources["uploads"], api_visibility="private"
    )
    sources["remove_button"].click(
        remove, [sources["remove_choice"], sources["confirm"]], [sources["remove_result"], *library_outputs], api_visibility="private", show_progress_on=sources["remove_result"]
    ).then(lambda: False, None, sources["confirm"], api_visibility="private")


def serve(
    settings: Settings | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    users_file: str | None = None,
    quiet: bool = False,
    read_only: bool = False,
    upload_limit_mb: float = DEFAULT_LIMIT_MB,
    batching: bool = False,
    reader_threads: int = 1,
    blas_threads: int = 1,
    api_slots: int | None = None,
) -> None:
    """``users_file``: the accounts (qa/app/accounts.py); when given, a login is required and roles apply.
    ``reader_threads``: ONNX Runtime's threads for one reader pass (concurrent sessions' passes run side by side);
    ``blas_threads``: NumPy's BLAS threads (``limit_blas``); ``api_slots``: the JSON API's questions answered at once
    (qa/app/api.py; None: one per core, 0: no limit)."""
    from qa.app.accounts import UsersFile

    users = UsersFile(users_file) if users_file else None
    if users is not None and not users.accounts():  # read now: a missing or broken file is one line, before the model loads
        raise QAError(f"the users file {users_file} has no accounts; add one with `qa users add NAME --role editor --users {users_file}`.")
    _require_free_port(host, port)
    from qa.answer.reader import serve_from_this_process
    from qa.embed.query_batching import batch_queries_in_this_process

    serve_from_this_process(batching, reader_threads)  # the reader's passes side by side, not spinning (or shared, batching)
    limit_blas(blas_threads)
    if batching:
        batch_queries_in_this_process()  # the questions embedded at once share one pass of the encoder
    settings = settings or Settings.from_env()
    live = callbacks.LiveLibrary(settings, upload_limit_mb, users=users)
    live.pipeline.answerer.warm()  # the readers load now, not on the first question (or the first yes/no question)
    page = build_app(live, read_only, upload_limit_mb)
    page.queue(default_concurrency_limit=4, max_size=200)
    server = serving_app(live, page, users, upload_limit_mb, api_slots)
    started = time.perf_counter()
    import uvicorn

    uvicorn.run(server, host=host, port=port, log_level="warning" if quiet else "info", access_log=not quiet)
    callbacks.log.info("served for %.0f s", time.perf_counter() - started)


def limit_blas(threads: int) -> None:
    """NumPy's BLAS (the query encoder's matrix products) on ``threads`` threads for the rest of the
    process. A server's sessions run side by side, and BLAS's idle threads spin between one question's small products,
    taking cores the other sessions need: on 2 cores, one thread spends about half the CPU per answer of two, in the
    same time (make bench, Serving)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads, user_api="blas")


def serving_app(live: "callbacks.LiveLibrary", page, users, upload_limit_mb: float, api_slots: int | None = None):
    """One server: the JSON API (qa/app/api.py) under /api, the page at /, both behind the same accounts."""
    from fastapi import FastAPI

    from qa.app.api import build_api

    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    server.mount("/api", build_api(live, users, api_slots))
    settings = live.settings
    return gr.mount_gradio_app(
        server, page, path="/",
        auth=(lambda name, password: users.verify(name, password) is not None) if users is not None else None,
        show_error=False,
        ssr_mode=False,
        theme=gr.themes.Soft(),
        css=CSS,
        head=HEAD,
        footer_links=[],
        allowed_paths=[],  # the app serves no files of its own; everything it shows is rendered text
        max_file_size=f"{2 * upload_limit_mb:g}mb",  # a hard cap; the page's own line explains the limit below it
        blocked_paths=[str(settings.index.resolve()), str(settings.corpus.resolve())],
    )


def _require_free_port(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise QAError(f"port {port} on {host} is in use ({exc.strerror}); pass another with --port.") from exc
