"""`qa index`, `qa add`, `qa remove`, `qa docs`, `qa export-onnx`: building and managing the library."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from qa.app.cli_common import library_options, open_index, print_report, settings_from_env
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
    help="faiss: an index folder (the default, one machine); milvus: the whole library in Milvus at --milvus-uri, for several app servers.",
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "onnx", "onnx-int8", "numpy", "sentence-transformers"]),
    default="auto",
    show_default=True,
    help="What embeds the passages. auto: ONNX Runtime on the exported model when there is one. onnx-int8: its int8 quantisation "
    "(FFN outputs in fp32), faster to index, retrieval within 0.005 on every suite corpus but answers moved (evals/README.md). "
    "An index of the other precision is embedded again whole.",
)
@click.option("--ray", "ray_address", default=None, help="Embed on a Ray cluster: 'auto' starts a local Ray on this machine, an address (ray://host:10001 or host:6379) joins one.")
@click.option("--ray-workers", type=int, default=None, help="With --ray: embedding actors (default: the cluster's CPUs).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--verbose", "-v", is_flag=True, help="List every skipped file and why (default: counts per reason and the first few names).")
@library_options
def index(corpus, index, if_stale, unit_vectors, store, backend, ray_address, ray_workers, quiet, verbose):
    """Clean, chunk, embed and index a folder of documents.

    \b
    Examples:
      qa index --corpus corpus --index index
      QA_MILVUS_TOKEN=... qa index --store milvus --milvus-uri http://milvus:19530 --milvus-collection cardiology
      qa index --store milvus --milvus-uri http://milvus:19530 --ray ray://head:10001
    """
    from qa.indexing.build import build_index, index_is_current

    settings = replace(settings_from_env(corpus=corpus, index=index), index_backend=backend)
    if store == "milvus" and not settings.milvus_uri:
        raise QAError("--store milvus needs --milvus-uri (or QA_MILVUS_URI): http://host:19530, or a Milvus Lite path ending in .db (e.g. library.db).")
    if store == "faiss" and settings.milvus_uri:
        raise QAError("--milvus-uri goes with --store milvus; drop one of them.")
    encoder = _ray_encoder(settings, ray_address, ray_workers, unit_vectors) if ray_address else None
    try:
        if settings.milvus_uri:
            report = _index_library(settings, not quiet, encoder)
        elif if_stale and index_is_current(settings.corpus, settings.index, settings.model, unit_vectors, settings.index_backend):
            click.echo(f"Index {settings.index}/ is up to date with {settings.corpus}/.")
            return
        else:
            report = build_index(
                settings.corpus, settings.index, settings.model, settings.max_tokens, settings.index_backend, progress=not quiet, unit_vectors=unit_vectors, encoder=encoder
            )
    finally:
        if encoder is not None:
            encoder.close()
    print_report(report, verbose)


def _ray_encoder(settings, address: str, workers: int | None, unit_vectors: str):
    from qa.embed.ray_pool import RayEncoder

    if unit_vectors != "pooled":
        raise QAError("--ray embeds passages with their pooled sentence vectors; drop --unit-vectors separate.")
    return RayEncoder(settings.model, address, workers)


def _index_library(settings, progress: bool, encoder):
    """Every file of the corpus folder added to (or updated in) the library in Milvus; nothing else removed."""
    from qa.indexing.library_build import build_library
    from qa.ingest.documents import corpus_metadata, list_document_files
    from qa.stores.milvus_library import MilvusLibrary

    folder = settings.corpus
    if not folder.is_dir():
        raise QAError(f"corpus folder {str(folder)!r} does not exist; pass --corpus with a folder of documents.")
    files = [(path.relative_to(folder).as_posix(), path) for path in list_document_files(folder)]
    library = MilvusLibrary(settings.milvus_uri, settings.milvus_collection)
    try:
        report = build_library(library, files, settings.model, settings.max_tokens, settings.index_backend, progress, encoder=encoder, metadata=corpus_metadata(folder))
    finally:
        library.close()
    if files and not (report.added or report.updated or report.unchanged):
        from qa.ingest.documents import skip_summary

        raise QAError(f"corpus folder {str(folder)!r} has no usable documents ({skip_summary(report.skipped, report.files, limit=3)}); nothing was changed.")
    return report


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--corpus", type=click.Path(), default=None, help="Corpus folder to add to (default: corpus/).")
@click.option("--index", type=click.Path(), default=None, help="Index folder (default: index/).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--verbose", "-v", is_flag=True, help="List every skipped file and why.")
@library_options
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
@library_options
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
@library_options
def docs(index, as_json):
    """List the indexed documents.

    \b
    Example:
      qa docs
    """
    from qa.render.output import documents_to_json

    rows = documents_to_json(open_index(settings_from_env(index=index)))
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
    from qa.embed.onnx_export import ensure_export

    for line in ensure_export(settings_from_env().model, force):
        click.echo(line)
