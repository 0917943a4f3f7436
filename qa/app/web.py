"""The Gradio chat UI: Blocks wired to the plain functions in ``qa.app.web_logic``.

One pipeline (model + index) per process, shared by every session; each session keeps its own
turns in ``gr.State``. A click on a citation ``[n]`` (a link in the chat HTML) is relayed by a few
lines of JavaScript into a hidden textbox whose handler renders the side panel.
"""

from __future__ import annotations

import html
import logging
import os
import time

from pathlib import Path

from qa.errors import QAError
from qa.ingest.formats import SUFFIXES
from qa.settings import Settings
from qa.library.uploads import DEFAULT_LIMIT_MB

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
log = logging.getLogger("qa.app.web")

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
EMPTY_PANEL = "<div class='qa-panel qa-empty'><p>Click a citation such as <b>[1]</b> in an answer to see the passage in its document.</p></div>"


def build_app(settings: Settings | None = None, read_only: bool = False, upload_limit_mb: float = DEFAULT_LIMIT_MB):
    import gradio as gr

    from qa.app import web_logic
    from qa.pipeline import open_pipeline, shared_pipeline

    settings = settings or Settings.from_env()
    # The pipeline every session answers from. An upload or a removal builds the new index beside it and
    # then replaces it here in one assignment: every session moves to the new index at once.
    live = {"pipeline": shared_pipeline(settings)}
    library = settings.with_overrides(corpus=live["pipeline"].index.manifest["corpus"]["folder"])
    pipeline, index = live["pipeline"], live["pipeline"].index  # as the page is first built

    def respond(message, chat, turns, mode, k, answerer="extractive"):
        pipeline = live["pipeline"]
        index = pipeline.index
        message = (message or "").strip()
        chat, turns = list(chat or []), list(turns or [])
        if not message:
            yield chat, turns, gr.update(), message
            return
        chat.append({"role": "user", "content": html.escape(message)})  # shown as text, never as markup
        try:
            turn = None
            for step in web_logic.stream_turn(pipeline, message, [t.searched_for for t in turns], mode, int(k), answerer):
                if isinstance(step, str):  # an LLM's draft, token by token
                    yield chat + [{"role": "assistant", "content": web_logic.draft_html(step)}], turns, "", ""
                else:
                    turn = step
        except QAError as exc:
            chat.append({"role": "assistant", "content": f"<div class='qa-answer qa-abstained'>{html.escape(str(exc)).capitalize()}</div>"})
            yield chat, turns, "", ""
            return
        except Exception:  # the user sees a friendly line; the log keeps the traceback
            log.exception("answering %r failed", message)
            chat.append({"role": "assistant", "content": web_logic.FRIENDLY_ERROR})
            yield chat, turns, "", ""
            return
        turns.append(turn)
        searched = f"Searched for: “{html.escape(turn.searched_for)}”" if turn.searched_for != message else ""
        number = len(turns) - 1
        # Stream: the answer's cited statements one at a time, then the source cards.
        for partial in web_logic.streamed_parts(turn.answer)[:-1]:
            yield chat + [{"role": "assistant", "content": web_logic.answer_html(number, turn.answer, index, partial, with_sources=False)}], turns, searched, ""
        yield chat + [{"role": "assistant", "content": web_logic.answer_html(number, turn.answer, index)}], turns, searched, ""

    def open_citation(target, turns, _unused=None):
        index = live["pipeline"].index
        parsed = web_logic.parse_cite_target(target)
        if not parsed:
            return gr.update(), None
        kind, turn_number, key = parsed
        try:
            if kind == "cite":
                citation = web_logic.find_citation(list(turns or []), turn_number, int(key))
                span = (citation.start, citation.end)
                return web_logic.citation_panel_html(index, citation.chunk.chunk_id, span), (citation.chunk.doc_id, span)
            hit = web_logic.closest_hit(list(turns or []), turn_number, key)
            return web_logic.citation_panel_html(index, hit.chunk.chunk_id), (hit.chunk.doc_id, (hit.chunk.start, hit.chunk.end))
        except QAError as exc:
            return f"<div class='qa-panel'><p>{html.escape(str(exc)).capitalize()}</p></div>", None

    def whole_document(selected):
        if not selected:
            return EMPTY_PANEL
        doc_id, span = selected
        try:
            return web_logic.document_html(live["pipeline"].index, doc_id, tuple(span))
        except QAError as exc:
            return f"<div class='qa-panel'><p>{html.escape(str(exc)).capitalize()}</p></div>"

    def show_source(doc_id):
        index = live["pipeline"].index
        return web_logic.document_html(index, doc_id) if doc_id in index.documents else ""

    def library_views():
        index = live["pipeline"].index
        choices = [(d.title, d.doc_id) for d in index.documents.values()]
        return web_logic.sources_rows(index), gr.update(choices=choices, value=None), gr.update(choices=choices, value=None)

    def add_files(files, progress=gr.Progress(track_tqdm=True)):
        from qa.library.uploads import add_uploads

        paths = [Path(f if isinstance(f, str) else f.name) for f in (files or [])]
        if not paths:
            return ("Choose one or more files first.", *library_views())
        progress(0, desc=f"Indexing {len(paths)} file{'s' if len(paths) > 1 else ''}")
        try:
            results = add_uploads([(p.name, p) for p in paths], library, upload_limit_mb, progress=True)
        except QAError as exc:
            return (f"Nothing was added: {html.escape(str(exc))}", *library_views())
        if any(r.status == "added" for r in results):
            live["pipeline"] = open_pipeline(library)
        lines = "\n".join(f"- {html.escape(r.line())}" for r in results)
        return (lines, *library_views())

    def remove_chosen(doc_id, confirmed):
        from qa.library.manage import remove_document

        if not doc_id:
            return ("Pick the document to remove.", *library_views())
        if not confirmed:
            return ("Tick the box to confirm the removal first.", gr.update(), gr.update(), gr.update())
        try:
            remove_document(doc_id, library)
        except QAError as exc:
            return (html.escape(str(exc)).capitalize(), *library_views())
        live["pipeline"] = open_pipeline(library)
        return (f"Removed {html.escape(doc_id)}; its file was moved to {html.escape(str(library.corpus))}/.removed/, not deleted.", *library_views())

    with gr.Blocks(title="Cited answers — medical documents") as app:
        gr.Markdown(
            "# Cited answers from the medical documents\n"
            "Every statement cites the passage it comes from; click a citation to read it in its document. "
            "When the documents do not answer a question, the answer says so.",
            elem_id="qa-title",
        )
        turns = gr.State([])
        selected = gr.State(None)
        with gr.Tabs():
            with gr.Tab("Ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(label="Conversation", show_label=False, height=520, sanitize_html=True, buttons=["copy"], feedback_options=None, elem_id="qa-chat")
                        searched = gr.Markdown("", elem_id="qa-searched")
                        with gr.Row():
                            box = gr.Textbox(
                                placeholder="Ask a question about the documents, then press Enter",
                                show_label=False,
                                scale=5,
                                autofocus=True,
                                max_length=2000,
                                elem_id="qa-question",
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-send")
                            upload_small = gr.UploadButton(
                                "Add documents", file_count="multiple", file_types=list(SUFFIXES), scale=1, visible=not read_only, elem_id="qa-upload-button"
                            )
                        gr.Examples(web_logic.EXAMPLES, inputs=box, label="Examples")
                        with gr.Accordion("Settings", open=False):
                            mode = gr.Radio(["hybrid", "dense", "bm25"], value=settings.mode, label="Retrieval")
                            k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages weighed")
                            # Offered only when an LLM server is configured (QA_LLM_URL).
                            answerer = gr.Radio(
                                [("Extractive (quotes the passages)", "extractive"), (f"LLM at {settings.llm_url} (checked)", "llm")],
                                value=settings.answerer,
                                label="Answer written by",
                                visible=pipeline.llm_configured,
                                elem_id="qa-answerer",
                            )
                    with gr.Column(scale=2):
                        gr.Markdown("### Passage in context")
                        panel = gr.HTML(EMPTY_PANEL, elem_id="qa-panel")
                        show_all = gr.Button("Show whole document", size="sm", elem_id="qa-show-document")
                        cite_target = gr.Textbox(visible="hidden", interactive=True, elem_id="qa-cite-target")
            with gr.Tab("Sources"):
                sources_table = gr.Dataframe(
                    value=web_logic.sources_rows(index),
                    headers=["Title", "Kind", "Date", "Publisher", "Passages", "ID"],
                    interactive=False,
                    wrap=True,
                    column_widths=["38%", "14%", "12%", "18%", "8%", "10%"],
                    elem_id="qa-sources-table",
                )
                with gr.Group(visible=not read_only):
                    uploads = gr.File(
                        file_count="multiple",
                        file_types=list(SUFFIXES),
                        label=f"Add documents ({', '.join(SUFFIXES)}; up to {upload_limit_mb:g} MB each)",
                        elem_id="qa-upload",
                    )
                    add_button = gr.Button("Add to the library", variant="primary", elem_id="qa-add")
                    upload_result = gr.Markdown("", elem_id="qa-upload-result")
                with gr.Group(visible=not read_only):
                    with gr.Row():
                        remove_choice = gr.Dropdown([(d.title, d.doc_id) for d in index.documents.values()], label="Remove a document", elem_id="qa-remove-choice", scale=3)
                        confirm = gr.Checkbox(label="Yes, remove it (its file is moved aside, not deleted)", elem_id="qa-remove-confirm", scale=2)
                        remove_button = gr.Button("Remove", variant="stop", elem_id="qa-remove", scale=1)
                    remove_result = gr.Markdown("", elem_id="qa-remove-result")
                choice = gr.Dropdown([(d.title, d.doc_id) for d in index.documents.values()], label="Read a document")
                document_view = gr.HTML("")
                choice.change(show_source, choice, document_view, api_visibility="private")
                if not read_only:  # the handlers exist only where uploads are allowed
                    upload_small.upload(add_files, upload_small, [searched, sources_table, choice, remove_choice], api_visibility="private", show_progress_on=searched)
                    add_button.click(add_files, uploads, [upload_result, sources_table, choice, remove_choice], api_visibility="private", show_progress_on=upload_result).then(
                        lambda: None, None, uploads, api_visibility="private"
                    )
                    remove_button.click(
                        remove_chosen, [remove_choice, confirm], [remove_result, sources_table, choice, remove_choice], api_visibility="private", show_progress_on=remove_result
                    ).then(
                        lambda: False, None, confirm, api_visibility="private"
                    )

        submit_args = dict(fn=respond, inputs=[box, chat, turns, mode, k, answerer], outputs=[chat, turns, searched, box])
        box.submit(**submit_args, api_name="ask")
        send.click(**submit_args, api_visibility="private")
        cite_target.change(open_citation, [cite_target, turns], [panel, selected], api_visibility="private")
        show_all.click(whole_document, selected, panel, api_visibility="private").then(
            None, js="() => { const m = document.getElementById('qa-doc-quote'); if (m) m.scrollIntoView({block: 'center'}); }"
        )
    return app


def serve(
    settings: Settings | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    quiet: bool = False,
    read_only: bool = False,
    upload_limit_mb: float = DEFAULT_LIMIT_MB,
) -> None:
    import gradio as gr

    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise QAError(f"--auth must look like user:password. Currently, it is {auth!r}.")
        credentials = (user, password)
    _require_free_port(host, port)
    settings = settings or Settings.from_env()
    app = build_app(settings, read_only, upload_limit_mb)
    app.queue(default_concurrency_limit=4, max_size=200)
    started = time.perf_counter()
    app.launch(
        server_name=host,
        server_port=port,
        auth=credentials,
        show_error=False,
        quiet=quiet,
        ssr_mode=False,
        theme=gr.themes.Soft(),
        css=CSS,
        head=HEAD,
        footer_links=[],
        prevent_thread_lock=False,
        allowed_paths=[],  # the app serves no files of its own; everything it shows is rendered text
        max_file_size=f"{2 * upload_limit_mb:g}mb",  # a hard cap; the page's own line explains the limit below it
        blocked_paths=[str(settings.index.resolve()), str(settings.corpus.resolve())] if settings else None,
    )
    log.info("served for %.0f s", time.perf_counter() - started)


def _require_free_port(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise QAError(f"port {port} on {host} is in use ({exc.strerror}); pass another with --port.") from exc
