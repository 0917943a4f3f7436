"""The `qa` command: index, search, ask, cite, chat, serve, eval, docs, add, remove, export-onnx.

Commands validate their input, make one library call and print. Problems the user can fix are
QAError and print as one ``Error: ...`` line with exit code 1. Heavy libraries load inside the
commands, so ``qa --help`` is instant and a cold ``qa ask`` stays within its budget.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from qa.errors import QAError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODES = click.Choice(["dense", "bm25", "hybrid"])
ANSWERER_HELP = "Who writes the answer: extractive (default; quotes the passages) or llm (the OpenAI-compatible server at QA_LLM_URL, every statement checked)."
UNSUPPORTED_HELP = "With --answerer llm: drop statements no cited passage supports (default), or keep them marked [unsupported]."


def answerer_options(command):
    command = click.option("--unsupported", type=click.Choice(["drop", "mark"]), default=None, help=UNSUPPORTED_HELP)(command)
    return click.option("--answerer", type=click.Choice(["extractive", "llm"]), default=None, help=ANSWERER_HELP)(command)


class QAGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except QAError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)


def _settings(**overrides):
    from qa.settings import Settings

    return Settings.from_env().with_overrides(**overrides)


def _pipeline(index: str | None, check_corpus: bool = True, **overrides):
    from qa.pipeline import open_pipeline

    pipeline = open_pipeline(_settings(index=index, **overrides), check_corpus=check_corpus)
    pipeline.answerer_for()  # an LLM server that cannot be used is one error now, not one per question
    return pipeline


def _positive(ctx, param, value):
    if value is not None and value <= 0:
        raise click.BadParameter(f"must be greater than 0. Currently, it is {value}.")
    return value


@click.group(cls=QAGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qa-medical", prog_name="qa")
def main():
    """Cited answers from a folder of medical documents.

    \b
    Example:
      qa index
      qa ask "What imaging for low back pain with leg weakness?"
    """


@main.command()
@click.option("--corpus", type=click.Path(), default=None, help="Folder of documents (default: corpus/).")
@click.option("--index", type=click.Path(), default=None, help="Index folder to write (default: index/).")
@click.option("--if-stale", is_flag=True, help="Do nothing when the index is already up to date.")
@click.option(
    "--unit-vectors",
    type=click.Choice(["pooled", "separate"]),
    default="pooled",
    show_default=True,
    help="Sentence vectors pooled from their passage's forward pass, or each sentence embedded on its own (about 2.5x the indexing time).",
)
@click.option(
    "--store",
    type=click.Choice(["faiss", "milvus"]),
    default=None,
    help="Where the passage vectors and BM25 live: FAISS files in the index folder (default), or a Milvus collection. An existing index keeps its store.",
)
@click.option("--milvus-uri", default=None, help="With --store milvus: a Milvus Lite folder (default: INDEX.milvus.db beside the index) or http://host:19530 (token from QA_MILVUS_TOKEN).")
@click.option("--milvus-collection", default=None, help="With --store milvus: the collection name (default: qa_passages).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--verbose", "-v", is_flag=True, help="List every skipped file and why (default: counts per reason and the first few names).")
def index(corpus, index, if_stale, unit_vectors, store, milvus_uri, milvus_collection, quiet, verbose):
    """Clean, chunk, embed and index a folder of documents.

    \b
    Examples:
      qa index --corpus corpus --index index
      qa index --store milvus                                   # Milvus Lite, index.milvus.db
      QA_MILVUS_TOKEN=... qa index --store milvus --milvus-uri http://milvus:19530
    """
    from qa.indexing.build import build_index, existing_store, index_is_current
    from qa.stores.index_folder import StoreChoice

    settings = _settings(corpus=corpus, index=index)
    if (milvus_uri or milvus_collection) and store != "milvus":
        raise QAError("--milvus-uri and --milvus-collection go with --store milvus.")
    chosen = StoreChoice("milvus", milvus_uri, milvus_collection) if store == "milvus" else (StoreChoice() if store == "faiss" else existing_store(settings.index))
    if if_stale and index_is_current(settings.corpus, settings.index, settings.model, unit_vectors, chosen):
        click.echo(f"Index {settings.index}/ is up to date with {settings.corpus}/.")
        return
    report = build_index(
        settings.corpus, settings.index, settings.model, settings.max_tokens, settings.index_backend, progress=not quiet, unit_vectors=unit_vectors, store=chosen
    )
    _print_report(report, verbose)


@main.command(name="export-onnx")
@click.option("--force", is_flag=True, help="Export again even if an export is there.")
def export_onnx(force):
    """Export the embedding model to ONNX so `qa index` can embed with ONNX Runtime.

    Same vectors (checked against the model's weights), passages embedded faster; `make install` runs it.
    Without an export, `qa index` uses NumPy or sentence-transformers.

    
    Example:
      qa export-onnx
    """
    from qa.embed.encoders import onnx_model_path
    from qa.embed.onnx_export import export_onnx as export

    settings = _settings()
    path = onnx_model_path(settings.model)
    if path.is_file() and not force:
        click.echo(f"{path} is already there (use --force to export again).")
        return
    click.echo(f"Exported {settings.model} to {export(settings.model)}")


def _print_report(report, verbose: bool = False) -> None:
    from qa.ingest.documents import skip_summary

    if report.skipped:
        summary = skip_summary(report.skipped, report.files, limit=None if verbose else 3)
        click.echo(summary[:1].upper() + summary[1:], err=True)
        if not verbose:
            click.echo("  (-v lists every skipped file and why)", err=True)
    for note in report.notes:
        click.echo(f"Note: {note}", err=True)
    click.echo(
        f"Indexed {report.documents} documents into {report.chunks} passages ({report.units} sentences and list items) "
        f"in {report.seconds:.1f} s -> {report.index_folder}/"
    )
    changes = {"added": report.added, "updated": report.updated, "removed": report.removed}
    click.echo(", ".join(f"{name} {len(ids)}" for name, ids in changes.items()) + f", unchanged {len(report.unchanged)}")
    for name, ids in changes.items():
        if ids and len(ids) <= 20:
            click.echo(f"  {name}: {', '.join(ids)}")


@main.command()
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def docs(index, as_json):
    """List the indexed documents.

    \b
    Example:
      qa docs
    """
    from qa.stores.index_folder import load_index

    settings = _settings(index=index)
    loaded = load_index(settings.index, expected_model=settings.model)
    counts: dict[str, int] = {}
    for chunk in loaded.chunks:
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
    corpus = loaded.manifest["corpus"]["folder"]
    rows = [
        {"doc_id": d.doc_id, "title": d.title, "kind": d.kind, "date": d.date, "chunks": counts.get(d.doc_id, 0), "source": f"{corpus}/{d.source_path}"}
        for d in loaded.documents.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['doc_id']}\t{row['kind']}\t{row['date'] or '-'}\t{row['chunks']} passages\t{row['source']}\n    {row['title']}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--corpus", type=click.Path(), default=None, help="Corpus folder to add to (default: corpus/).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--verbose", "-v", is_flag=True, help="List every skipped file and why.")
def add(paths, corpus, index, quiet, verbose):
    """Copy documents into the corpus and index them (only they are embedded).

    \b
    Example:
      qa add ~/papers/guideline.pdf notes.md
    """
    from qa.library.manage import add_documents

    settings = _settings(corpus=corpus, index=index)
    _print_report(add_documents([Path(p) for p in paths], settings, progress=not quiet), verbose)


@main.command()
@click.argument("doc_id")
@click.option("--corpus", type=click.Path(), default=None, help="Corpus folder (default: corpus/).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
def remove(doc_id, corpus, index):
    """Take a document out of the corpus (its file moves to .removed/) and out of the index.

    \b
    Example:
      qa remove neuropathy-on-mri
    """
    from qa.library.manage import remove_document

    settings = _settings(corpus=corpus, index=index)
    _print_report(remove_document(doc_id, settings))


@main.command()
@click.argument("question")
@click.option("--mode", type=MODES, default=None, help="Retrieval mode (default: hybrid).")
@click.option("-k", type=int, default=None, callback=_positive, help="Number of passages (default: 8).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search(question, mode, k, index, as_json):
    """Ranked passages for a question, with their scores.

    \b
    Example:
      qa search "nerve conduction studies" --mode bm25 -k 3
    """
    from qa.render.output import hit_to_json, hits_to_text

    pipeline = _pipeline(index)
    hits = pipeline.search(question, mode=mode, k=k)
    if as_json:
        click.echo(json.dumps({"question": question, "hits": [hit_to_json(h, pipeline.index) for h in hits]}, ensure_ascii=False))
    else:
        click.echo(hits_to_text(hits, pipeline.index))


@main.command()
@click.argument("question", required=False)
@click.option("--file", "questions_file", type=click.Path(), default=None, help='JSONL file of {"id", "question"} lines.')
@click.option("--mode", type=MODES, default=None, help="Retrieval mode (default: hybrid).")
@click.option("-k", type=int, default=None, callback=_positive, help="Passages weighed for the answer (default: 8).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON object of DESIGN §7 (one per line with --file).")
@answerer_options
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
    pipeline = _pipeline(index, answerer=answerer, unsupported=unsupported)
    if questions_file is None:
        answer = pipeline.ask(question, mode=mode, k=k)
        click.echo(json.dumps(answer_to_json(answer, pipeline.index), ensure_ascii=False) if as_json else answer_to_text(answer, pipeline.index))
        return
    failures = 0
    for number, question_id, text, problem in _read_questions(questions_file):
        if problem is None:
            try:
                answer = pipeline.ask(text, mode=mode, k=k)
            except QAError as exc:
                problem = str(exc)
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


@main.command()
@click.argument("chunk_id")
@click.option("--span", default=None, help="Character span START-END of the quote to mark (printed by `qa ask`).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cite(chunk_id, span, index, as_json):
    """A cited passage in context, with the document's own references it points to.

    \b
    Example:
      qa cite limb-weakness-negative-head-mri#3 --span 1105-1221
    """
    from qa.render.citations import parse_span, passage_in_context
    from qa.render.output import context_to_json, context_to_text
    from qa.stores.index_folder import load_index

    settings = _settings(index=index)
    loaded = load_index(settings.index, expected_model=settings.model)
    context = passage_in_context(loaded, chunk_id, parse_span(span))
    if as_json:
        click.echo(json.dumps(context_to_json(context, loaded), ensure_ascii=False))
    else:
        mark = ("\x1b[1;33m", "\x1b[0m") if sys.stdout.isatty() else (">>>", "<<<")
        click.echo(context_to_text(context, loaded, mark))


@main.command()
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@answerer_options
def chat(index, answerer, unsupported):
    """Ask questions one after another at a prompt (Ctrl-D to leave).

    \b
    Example:
      qa chat
    """
    from qa.render.output import answer_to_text

    pipeline = _pipeline(index, answerer=answerer, unsupported=unsupported)
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
            click.echo(answer_to_text(pipeline.ask(question), pipeline.index))
        except QAError as exc:
            click.echo(f"Error: {exc}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback unless you choose otherwise).")
@click.option("--port", type=int, default=7860, show_default=True)
@click.option("--auth", default=None, help="user:password required to open the UI (Gradio's own login).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--read-only", is_flag=True, help="No uploads or removals from the page (for a shared deployment).")
@click.option("--upload-limit-mb", type=float, default=50, show_default=True, help="Largest file the page accepts.")
@answerer_options
def serve(host, port, auth, index, read_only, upload_limit_mb, answerer, unsupported):
    """Serve the chat UI in the browser; its Sources tab adds and removes documents unless --read-only.

    \b
    Example:
      qa serve --port 7860        # then open http://127.0.0.1:7860
      qa serve --read-only --auth reader:secret
    """
    from qa.app.web import serve as serve_ui

    if upload_limit_mb <= 0:
        raise QAError(f"--upload-limit-mb must be greater than 0. Currently, it is {upload_limit_mb:g}.")
    click.echo(f"Serving the UI at http://{host}:{port} (Ctrl-C to stop)")
    serve_ui(
        _settings(index=index, answerer=answerer, unsupported=unsupported), host=host, port=port, auth=auth, quiet=True,
        read_only=read_only, upload_limit_mb=upload_limit_mb,
    )


@main.command(name="eval")
@click.option("--gold", type=click.Path(), default="evals/gold.jsonl", show_default=True, help="Gold questions (JSONL).")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True)
@click.option("--mode", type=click.Choice(["dense", "bm25", "hybrid", "all"]), default=None, help="Retrieval mode; 'all' sweeps modes and k (default: hybrid).")
@click.option("-k", type=int, default=None, callback=_positive, help="Passages considered (default: settings; a sweep tries 3, 5, 8, 10).")
@click.option("--out", type=click.Path(), default=None, help="Run folder for report.json, report.md and plots (default: evals/runs/<time>/).")
@click.option("--compare", nargs=2, type=click.Path(), default=None, help="Compare two run folders instead of running.")
@click.option("--floors", type=click.Path(), default=None, help="JSON of metric floors; exit 1 when a metric falls below its floor.")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--suite", "suite_file", type=click.Path(), default=None, help="Run the development suite in this file (evals/suite.json) instead of one gold set.")
@click.option("--corpus", "corpus_names", multiple=True, help="With --suite: only this corpus (repeatable).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@answerer_options
def evaluate(gold, split, mode, k, out, compare, floors, index, suite_file, corpus_names, quiet, answerer, unsupported):
    """Score answers against the gold set: retrieval, key facts, citations, abstention, latency.

    \b
    Examples:
      qa eval --split test
      qa eval --mode all --split dev
      qa eval --compare evals/runs/A evals/runs/B
      qa eval --suite evals/suite.json            # every corpus of the development suite
      qa eval --suite evals/suite.json --corpus medquad
      qa eval --answerer llm --split test        # the LLM beside the extractive answerer, same questions
    """
    from pathlib import Path

    from qa.eval import report as eval_report
    from qa.eval.scoring import all_retrieval_scores, best_configuration, check_floors, records_to_json, run_evaluation, summarise
    from qa.eval.gold import load_gold

    if compare:
        click.echo(eval_report.compare(*compare))
        return
    if suite_file:
        if answerer == "llm":
            raise QAError("--answerer llm runs one gold set (the LLM beside the extractive answerer); drop --suite.")
        _run_suite(suite_file, corpus_names, mode, k, out, quiet)
        return
    if answerer == "llm" and mode == "all":
        raise QAError("--answerer llm compares two answerers at one retrieval setting; pick a mode other than 'all'.")
    pipeline = _pipeline(index, answerer=answerer, unsupported=unsupported)
    questions = list(load_gold(gold, pipeline.index.documents))
    if split != "all":
        questions = [q for q in questions if q.split == split]  # the LLM is slow: ask only what is reported
    modes = ["dense", "bm25", "hybrid"] if mode == "all" else [mode or pipeline.settings.mode]
    ks = [k] if k else ([3, 5, 8, 10] if mode == "all" else [pipeline.settings.k])
    retrieval = all_retrieval_scores(pipeline, questions)
    runs = {f"{m} k={kk}": run_evaluation(pipeline, questions, m, kk, progress=not quiet, retrieval=retrieval) for m in modes for kk in ks}
    chosen = best_configuration(runs) if len(runs) > 1 else next(iter(runs))
    mode_chosen, k_chosen = chosen.split()[0], int(chosen.split("=")[1])
    if answerer == "llm":  # side by side, same questions, same run
        llm_name = pipeline.answerer_for("llm").name
        chosen = f"{chosen} {llm_name}"
        runs[chosen] = run_evaluation(pipeline, questions, mode_chosen, k_chosen, progress=not quiet, retrieval=retrieval, answerer="llm")
    in_split = {name: [r for r in records if split == "all" or r.split == split] for name, records in runs.items()}
    report_runs = {name: {"summary": summarise(records), "records": records_to_json(records)} for name, records in in_split.items()}
    folder = Path(out) if out else eval_report.default_run_folder()
    settings = {"gold": gold, "split": split, "mode": mode_chosen, "k": k_chosen, "fusion": pipeline.retriever.fusion, "index": str(pipeline.index.folder), "answerer": answerer or "extractive"}
    eval_report.write_report(folder, report_runs, settings, pipeline.index.manifest, chosen)
    summary = report_runs[chosen]["summary"]
    if len(runs) > 1:
        click.echo(f"Best configuration on dev: {chosen}")
    for metric in eval_report.HEADLINE:
        click.echo(f"{metric:34} {eval_report.fmt(summary.get(metric))}")
    click.echo(f"Report: {folder}/report.md (and report.json, recall_at_k.png, latency.png, key_facts_per_document.png)")
    if floors:
        import json as _json

        try:
            gate = _json.loads(Path(floors).read_text())
            floor_values, ceilings = gate["floors"], gate.get("ceilings", {})
        except (OSError, ValueError, KeyError) as exc:
            raise QAError(f"cannot read floors from {floors!r} ({exc}); it must be JSON with a 'floors' object.") from exc
        failures = check_floors(summary, floor_values, ceilings)
        if failures:
            raise QAError("quality dropped below the recorded floors: " + "; ".join(failures))
        click.echo(f"All {len(floor_values) + len(ceilings)} gated metrics are within their limits in {floors}.")


def _run_suite(suite_file: str, corpus_names: tuple[str, ...], mode: str | None, k: int | None, out: str | None, quiet: bool) -> None:
    from datetime import datetime, timezone

    from qa.eval.suite import load_suite, run_suite
    from qa.eval.suite_report import macro_average, write_suite_report

    if mode == "all":
        raise QAError("--mode all sweeps one gold set; with --suite pick one mode (dense, bm25 or hybrid).")
    suite = load_suite(suite_file)
    settings = _settings(mode=mode, k=k)
    report = run_suite(suite, settings, tuple(corpus_names), progress=not quiet, log=lambda line: click.echo(line, err=True))
    folder = Path(out) if out else Path("evals") / "suite-runs" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = write_suite_report(folder, report)
    for split in ("dev", "test"):
        click.echo(f"macro average, {split}: " + ", ".join(f"{name} {value}" for name, value in macro_average(report, split).items()))
    click.echo(f"Report: {path} (and report.json, suite.png)")


if __name__ == "__main__":
    main()
