"""What the `qa` commands share: settings from the environment, the pipeline, option types, the index report."""

from __future__ import annotations

import os
import sys

import click

from qa.errors import QAError

MODES = click.Choice(["dense", "bm25", "hybrid"])
ANSWERER_HELP = "Who writes the answer: extractive (default; quotes the passages) or llm (the OpenAI-compatible server at QA_LLM_URL, every statement checked)."
UNSUPPORTED_HELP = "With --answerer llm: drop statements no cited passage supports (default), or keep them marked [unsupported]."


def answerer_options(command):
    command = click.option("--unsupported", type=click.Choice(["drop", "mark"]), default=None, help=UNSUPPORTED_HELP)(command)
    return click.option("--answerer", type=click.Choice(["extractive", "llm"]), default=None, help=ANSWERER_HELP)(command)


LIBRARY_KEY = "qa.library"  # where library_options leave --milvus-uri and --milvus-collection


def library_options(command):
    """--milvus-uri and --milvus-collection: work on a library kept whole in Milvus instead of an index folder."""

    def remember(ctx, param, value):
        if value is not None:
            ctx.meta.setdefault(LIBRARY_KEY, {})[param.name] = value
        return value

    command = click.option(
        "--milvus-collection", default=None, expose_value=False, callback=remember, help="With --milvus-uri: the library's collections are NAME_* (default: qa; QA_MILVUS_COLLECTION)."
    )(command)
    return click.option(
        "--milvus-uri", default=None, expose_value=False, callback=remember,
        help="A library kept whole in Milvus, instead of the index folder: http://host:19530 (token from QA_MILVUS_TOKEN) or a Milvus Lite path ending in .db (e.g. library.db); QA_MILVUS_URI.",
    )(command)


def settings_from_env(**overrides):
    from qa.settings import Settings

    context = click.get_current_context(silent=True)
    library = dict(context.meta.get(LIBRARY_KEY, {})) if context is not None else {}
    if library.get("milvus_collection") and not (library.get("milvus_uri") or Settings.from_env().milvus_uri):
        raise QAError("--milvus-collection goes with --milvus-uri (or QA_MILVUS_URI).")
    return Settings.from_env().with_overrides(**overrides, **library)


def open_index(settings):
    """The index the settings name: a library kept whole in Milvus, or the index folder."""
    if settings.milvus_uri:
        from qa.stores.library_index import load_library_index
        from qa.stores.milvus_library import MilvusLibrary

        return load_library_index(MilvusLibrary(settings.milvus_uri, settings.milvus_collection), settings.model)
    from qa.stores.index_folder import load_index

    return load_index(settings.index, expected_model=settings.model)


def open_for_commands(index: str | None, check_corpus: bool = True, **overrides):
    from qa.pipeline import open_pipeline

    settings = settings_from_env(index=index, **overrides)
    if index is None and "QA_INDEX" not in os.environ and not settings.milvus_uri:
        build_default_index_if_missing(settings)
    pipeline = open_pipeline(settings, check_corpus=check_corpus)
    pipeline.answerer_for()  # an LLM server that cannot be used is one error now, not one per question
    return pipeline


def build_default_index_if_missing(settings) -> None:
    """A fresh checkout answers at once: with no index folder named (--index, QA_INDEX) and none built yet, the
    default one is built from the corpus folder first, as `make run` does, and said so on stderr. A folder the
    user named that is missing stays an error naming `qa index`."""
    from qa.errors import IndexMissingError
    from qa.stores.index_folder import read_manifest

    try:
        read_manifest(settings.index)
        return
    except IndexMissingError:
        if not settings.corpus.is_dir():
            raise
    from qa.indexing.build import build_index

    click.echo(f"No index yet: building {settings.index}/ from {settings.corpus}/ first (once; `qa index` rebuilds it).", err=True)
    build_index(settings.corpus, settings.index, settings.model, settings.max_tokens, settings.index_backend, progress=False)


def terminal_bold() -> tuple[str, str]:
    """How the answer span is marked in text output: ANSI bold on a terminal, ** ** in a pipe or file."""
    return ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("**", "**")


def positive(ctx, param, value):
    if value is not None and value <= 0:
        raise click.BadParameter(f"must be greater than 0. Currently, it is {value}.")
    return value


def print_report(report, verbose: bool = False) -> None:
    from qa.ingest.documents import skip_summary
    from qa.text import capitalised

    if report.skipped:
        click.echo(capitalised(skip_summary(report.skipped, report.files, limit=None if verbose else 3)), err=True)
        if not verbose:
            click.echo("  (-v lists every skipped file and why)", err=True)
    for note in report.notes:
        click.echo(f"Note: {note}", err=True)
    click.echo(
        f"Indexed {report.documents} documents into {report.chunks} passages ({report.units} sentences and list items) "
        f"in {report.seconds:.1f} s -> {report.index_folder}{'' if report.index_folder.startswith('the Milvus') else '/'}"
    )
    changes = {"added": report.added, "updated": report.updated, "removed": report.removed}
    click.echo(", ".join(f"{name} {len(ids)}" for name, ids in changes.items()) + f", unchanged {len(report.unchanged)}")
    for name, ids in changes.items():
        if ids and len(ids) <= 20:
            click.echo(f"  {name}: {', '.join(ids)}")
