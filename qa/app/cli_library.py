"""`qa index`, `qa add`, `qa remove`, `qa docs`, `qa export-onnx`: building and managing the library."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qa.app.cli_common import print_report, settings_from_env
from qa.errors import QAError


@click.command()
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

    settings = settings_from_env(corpus=corpus, index=index)
    if (milvus_uri or milvus_collection) and store != "milvus":
        raise QAError("--milvus-uri and --milvus-collection go with --store milvus.")
    chosen = StoreChoice("milvus", milvus_uri, milvus_collection) if store == "milvus" else (StoreChoice() if store == "faiss" else existing_store(settings.index))
    if if_stale and index_is_current(settings.corpus, settings.index, settings.model, unit_vectors, chosen):
        click.echo(f"Index {settings.index}/ is up to date with {settings.corpus}/.")
        return
    report = build_index(
        settings.corpus, settings.index, settings.model, settings.max_tokens, settings.index_backend, progress=not quiet, unit_vectors=unit_vectors, store=chosen
    )
    print_report(report, verbose)


@click.command()
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

    settings = settings_from_env(corpus=corpus, index=index)
    added = add_documents([Path(p) for p in paths], settings, progress=not quiet)
    for name, reason in added.refused.items():
        click.echo(f"Not added {name}: {reason}", err=True)
    print_report(added.report, verbose)


@click.command()
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

    settings = settings_from_env(corpus=corpus, index=index)
    print_report(remove_document(doc_id, settings))


@click.command()
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def docs(index, as_json):
    """List the indexed documents.

    \b
    Example:
      qa docs
    """
    from qa.stores.index_folder import load_index

    settings = settings_from_env(index=index)
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


@click.command(name="export-onnx")
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

    settings = settings_from_env()
    path = onnx_model_path(settings.model)
    if path.is_file() and not force:
        click.echo(f"{path} is already there (use --force to export again).")
        return
    click.echo(f"Exported {settings.model} to {export(settings.model)}")
