"""`qa search`, `qa ask`, `qa cite`, `qa chat`, `qa serve`: asking the library."""

from __future__ import annotations

import json
import sys

import click

from qa.app.cli_common import library_options, open_index, MODES, answerer_options, open_for_commands, positive, settings_from_env, terminal_bold
from qa.errors import QAError


@click.command()
@click.argument("question")
@click.option("--mode", type=MODES, default=None, help="Retrieval mode (default: hybrid).")
@click.option("-k", type=int, default=None, callback=positive, help="Number of passages (default: 8).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@library_options
def search(question, mode, k, index, as_json):
    """Ranked passages for a question, with their scores.

    \b
    Example:
      qa search "nerve conduction studies" --mode bm25 -k 3
    """
    from qa.render.output import hit_to_json, hits_to_text

    pipeline = open_for_commands(index)
    hits = pipeline.search(question, mode=mode, k=k)
    if as_json:
        click.echo(json.dumps({"question": question, "hits": [hit_to_json(h, pipeline.index) for h in hits]}, ensure_ascii=False))
    else:
        click.echo(hits_to_text(hits, pipeline.index))


@click.command()
@click.argument("question", required=False)
@click.option("--file", "questions_file", type=click.Path(), default=None, help='JSONL file of {"id", "question"} lines.')
@click.option("--mode", type=MODES, default=None, help="Retrieval mode (default: hybrid).")
@click.option("-k", type=int, default=None, callback=positive, help="Passages weighed for the answer (default: 8).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON object described in the README (one per line with --file).")
@answerer_options
@library_options
def ask(question, questions_file, mode, k, index, as_json, answerer, unsupported):
    """A short answer whose statements cite the passages they come from.

    \b
    Examples:
      qa ask "What imaging for low back pain with leg weakness?"
      qa ask --json "Can an MRI show small fiber neuropathy?"
      qa ask --json --file questions.jsonl
      echo "Can an MRI show neuropathy?" | qa ask -

    \b
    Written by an LLM (llama.cpp, Ollama, vLLM, LM Studio or OpenAI), every statement checked:
      export QA_LLM_URL=http://127.0.0.1:8080/v1    # Ollama: http://127.0.0.1:11434/v1
      export QA_LLM_MODEL=llama3.1:8b               # optional for servers with one model
      export QA_LLM_API_KEY=...                     # only if the server wants one; never printed
      qa ask --answerer llm "What imaging for low back pain with leg weakness?"
    QA_LLM_TIMEOUT (seconds, default 30) and QA_LLM_MAX_TOKENS (default 256) tune the calls.
    """
    from qa.render.output import answer_to_json, answer_to_text

    if (question is None) == (questions_file is None):
        raise QAError("give either a QUESTION or --file QUESTIONS.jsonl, not both and not neither.")
    if question == "-":
        question = _read_stdin_question()
    pipeline = open_for_commands(index, answerer=answerer, unsupported=unsupported)
    if questions_file is None:
        answer = pipeline.ask(question, mode=mode, k=k)
        click.echo(json.dumps(answer_to_json(answer, pipeline.index), ensure_ascii=False) if as_json else answer_to_text(answer, pipeline.index, bold=terminal_bold()))
        return
    failures = 0
    for number, question_id, text, problem in _read_questions(questions_file):
        if problem is None:
            try:
                answer = pipeline.ask(text, mode=mode, k=k)
            except QAError as exc:
                problem = str(exc)
            except Exception as exc:  # one question's failure must not leave every later question unanswered
                problem = f"this question could not be answered ({type(exc).__name__}: {exc}); the others were; please report it."
        if problem is not None:
            failures += 1
            click.echo(f"Error: {questions_file}:{number}: {problem}", err=True)
            if as_json:
                click.echo(json.dumps({"id": question_id, "question": text, "error": problem}, ensure_ascii=False))
            continue
        if as_json:
            click.echo(json.dumps(answer_to_json(answer, pipeline.index, question_id), ensure_ascii=False))
        else:
            click.echo(f"## {question_id}: {text}\n{answer_to_text(answer, pipeline.index)}\n")
    if failures:
        sys.exit(1)


def _read_stdin_question() -> str:
    data = sys.stdin.buffer.read(1_000_000)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QAError(f"the question on standard input is not valid UTF-8 (byte {exc.start}); send UTF-8 text.") from exc


def _read_questions(path: str):
    """(line number, id, question, problem) for each non-empty line; a bad line does not stop the others."""
    try:
        data = open(path, "rb").read()
    except OSError as exc:
        raise QAError(f"cannot read {path!r} ({exc.strerror}); pass a JSONL file of {{\"id\", \"question\"}} lines.") from exc
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield number, None, None, "the line is not valid UTF-8"
            continue
        except json.JSONDecodeError as exc:
            yield number, None, None, f"the line is not valid JSON ({exc.msg})"
            continue
        if not isinstance(record, dict) or not isinstance(record.get("question"), str):
            yield number, None, None, 'each line must be an object with a "question" string'
            continue
        yield number, str(record.get("id", number)), record["question"], None


@click.command()
@click.argument("chunk_id")
@click.option("--span", default=None, help="Character span START-END of the quote to mark (printed by `qa ask`).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@library_options
def cite(chunk_id, span, index, as_json):
    """A cited passage in context, with the document's own references it points to.

    \b
    Example:
      qa cite limb-weakness-negative-head-mri#3 --span 1105-1221
    """
    from qa.render.citations import parse_span, passage_in_context
    from qa.render.output import context_to_json, context_to_text

    settings = settings_from_env(index=index)
    loaded = open_index(settings)
    context = passage_in_context(loaded, chunk_id, parse_span(span))
    if as_json:
        click.echo(json.dumps(context_to_json(context, loaded), ensure_ascii=False))
    else:
        mark = ("\x1b[1;33m", "\x1b[0m") if sys.stdout.isatty() else (">>>", "<<<")
        click.echo(context_to_text(context, loaded, mark))


@click.command()
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@answerer_options
@library_options
def chat(index, answerer, unsupported):
    """Ask questions one after another at a prompt (Ctrl-D to leave).

    \b
    Example:
      qa chat
    """
    from qa.render.output import answer_to_text

    pipeline = open_for_commands(index, answerer=answerer, unsupported=unsupported)
    click.echo("Ask a question about the documents (Ctrl-D to leave).")
    while True:
        try:
            question = input("\n? ")
        except EOFError:
            click.echo()
            return
        if not question.strip():
            continue
        try:
            click.echo(answer_to_text(pipeline.ask(question), pipeline.index, bold=terminal_bold()))
        except QAError as exc:
            click.echo(f"Error: {exc}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback unless you choose otherwise).")
@click.option("--port", type=int, default=7860, show_default=True)
@click.option("--auth", hidden=True, expose_value=False, callback=lambda context, parameter, value: _no_auth(value))
@click.option("--users", "users_file", envvar="QA_USERS_FILE", default=None, type=click.Path(dir_okay=False),
              help="Require a login with the accounts in this file (also QA_USERS_FILE); readers ask, editors also add and remove documents. Create it with `qa users add`.")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--read-only", is_flag=True, help="No uploads or removals from the page (for a shared deployment).")
@click.option("--upload-limit-mb", type=float, default=50, show_default=True, help="Largest file the page accepts.")
@click.option("--reader-threads", type=click.IntRange(1, 16), default=1, show_default=True,
              help="ONNX Runtime threads for one reader pass; concurrent sessions' passes run side by side (make bench, Serving, measures 1 and 2).")
@click.option("--blas-threads", type=click.IntRange(1, 16), default=1, show_default=True,
              help="NumPy's BLAS threads (the query encoder's matrix products); more spin idle between a question's products and take the cores other sessions need (make bench, Serving, measures 1 and 2).")
@click.option("--api-slots", type=click.IntRange(0, 256), default=None,
              help="JSON API questions answered at once; the others wait their turn (default: one per core; 0: no limit; make bench, Serving, measures both).")
@click.option("--batching", is_flag=True, help="Embed and read questions asked at about the same time in shared passes (measured slower on 2 cores: make bench, Serving).")
@answerer_options
@library_options
def serve(host, port, users_file, index, read_only, upload_limit_mb, reader_threads, blas_threads, api_slots, batching, answerer, unsupported):
    """Serve the chat UI in the browser; its Sources tab adds and removes documents unless --read-only.

    \b
    Example:
      qa serve --port 7860        # then open http://127.0.0.1:7860
      qa users add alice --role editor --users users.json   # asks for the password
      qa serve --users users.json         # a login; readers ask, editors also add and remove
    """
    from qa.app.web import serve as serve_ui

    if upload_limit_mb <= 0:
        raise QAError(f"--upload-limit-mb must be greater than 0. Currently, it is {upload_limit_mb:g}.")
    click.echo(f"Serving the UI at http://{host}:{port} (Ctrl-C to stop)")
    serve_ui(
        settings_from_env(index=index, answerer=answerer, unsupported=unsupported), host=host, port=port, users_file=users_file, quiet=True,
        read_only=read_only, upload_limit_mb=upload_limit_mb, batching=batching, reader_threads=reader_threads, blas_threads=blas_threads,
        api_slots=api_slots,
    )


def _no_auth(value):
    """--auth user:password is gone: a password on the command line shows in `ps` and the shell's history."""
    if value is not None:
        raise click.UsageError("--auth is gone: a password in the command line shows in `ps` and the shell's history. Create accounts with "
                               "`qa users add NAME --role editor --users users.json` (it asks for the password), then `qa serve --users users.json`.")
