"""Building a library kept whole in Milvus (qa/stores/milvus_library.py): adding, updating and removing
documents as one new version, under the library's write lock.

The store is the library: a build adds the files it is given (and updates documents whose file changed);
it never treats a document another server added as removed. Only ``remove`` takes documents out. Only new
and changed documents are embedded; the rows of the others stay where they are.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from qa.embed.encoders import Encoder
from qa.errors import QAError
from qa.indexing.build import BuildReport, bm25_terms, embed_documents, library_backend
from qa.ingest.documents import Corpus, load_files
from qa.stores.milvus_library import MilvusLibrary
from qa.stores.milvus_lock import writer_lock
from qa.stores.index_folder import PIPELINE_VERSION, file_sha256, require_pipeline
from qa.stores.milvus_prune import prune


def build_library(
    library: MilvusLibrary,
    files: list[tuple[str, Path]],
    model: str,
    max_tokens: int = 256,
    backend: str = "auto",
    progress: bool = True,
    remove: tuple[str, ...] = (),
    encoder: Encoder | None = None,
    metadata=lambda relative: {},
) -> BuildReport:
    """(name in the library, file) pairs added or updated, ``remove`` (document ids) taken out, one commit."""
    started = time.perf_counter()
    library.ensure()
    with writer_lock(library):
        current = library.current() or _empty(model, max_tokens)
        _require_compatible(library, current, model, max_tokens)
        corpus = load_files(files, metadata, library.label)
        if files and not corpus.documents:
            raise QAError(f"none of the {len(files)} files given could be indexed ({'; '.join(f'{s.path}: {s.reason}' for s in corpus.skipped[:3])}); nothing was changed.")
        listed = dict(current["documents"])
        unknown = sorted(set(remove) - set(listed))
        if unknown:
            raise QAError(f"no document {unknown[0]!r} in {library.label}; `qa docs --milvus-uri {library.uri}` lists the ids.")
        changes = _changes(listed, corpus, remove)
        new = [d for d in corpus.documents if d.doc_id in changes["added"] or d.doc_id in changes["updated"]]
        if not new and not changes["removed"]:
            return _report(corpus, current, started, library, backend, changes)
        backend = library_backend(model, backend, current["embedding"].get("backend"))
        parts, chosen, dimension = embed_documents(new, model, max_tokens, backend, progress, current["embedding"]["unit_vectors"], encoder)
        dimension = dimension or current["embedding"]["dimension"]
        library.ensure(dimension, expected_rows=sum(f.get("chunks", 0) for f in listed.values()) + sum(len(p.chunks) for p in parts))
        written = {d.source_path for d in new}
        file_facts = {relative: {"sha256": file_sha256(path), "bytes": path.stat().st_size} for relative, path in files if relative in written}
        for relative, path in files:
            if relative in written:
                library.write_file(path.read_bytes(), file_facts[relative]["sha256"])
        for part in parts:
            library.write_document(part.document, part.chunks, part.units, part.chunk_vectors, part.unit_vectors, bm25_terms(part.document, part.chunks))
        manifest = _next_manifest(current, parts, changes["removed"], file_facts, dimension, chosen)
        library.commit(manifest)
        prune(library)
    return _report(corpus, manifest, started, library, chosen, changes)


def _empty(model: str, max_tokens: int) -> dict:
    return {"version": 0, "pipeline_version": PIPELINE_VERSION, "embedding": {"model": model, "dimension": None, "unit_vectors": "pooled", "normalised": True},
            "chunking": {"max_tokens": max_tokens, "prefix": "title + section"}, "documents": {}, "files": {}}


def _require_compatible(library: MilvusLibrary, current: dict, model: str, max_tokens: int) -> None:
    if current["embedding"]["model"] != model:
        raise QAError(
            f"{library.label} holds vectors of {current['embedding']['model']!r}, not {model!r}; use another --milvus-collection, or rebuild it with that model."
        )
    require_pipeline(current, library.label, "rebuild it under another --milvus-collection")
    if current["chunking"]["max_tokens"] != max_tokens:
        raise QAError(f"{library.label} was chunked at {current['chunking']['max_tokens']} tokens, not {max_tokens}; rebuild it under another --milvus-collection.")


def _changes(listed: dict, corpus: Corpus, remove: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    given_sources = {d.source_path for d in corpus.documents} | {s.path for s in corpus.skipped}
    added = [d.doc_id for d in corpus.documents if d.doc_id not in listed]
    updated = [d.doc_id for d in corpus.documents if d.doc_id in listed and listed[d.doc_id]["hash"] != d.content_hash]
    unchanged = [d.doc_id for d in corpus.documents if d.doc_id in listed and listed[d.doc_id]["hash"] == d.content_hash]
    present = {d.doc_id for d in corpus.documents}
    # A record that left a file given again (a .jsonl shrank) goes with it; nothing else is removed unasked.
    dropped = [doc for doc, facts in listed.items() if facts["source"] in given_sources and doc not in present]
    return {"added": tuple(added), "updated": tuple(updated), "unchanged": tuple(unchanged), "removed": tuple(sorted(set(remove) | set(dropped)))}


def _next_manifest(current: dict, parts, removed: tuple[str, ...], written: dict[str, dict], dimension: int, backend: str) -> dict:
    """The next version's manifest; ``written``: the facts (sha256, bytes) of the source files written now."""
    documents = {d: facts for d, facts in current["documents"].items() if d not in removed}
    for part in parts:
        documents[part.document.doc_id] = {"hash": part.document.content_hash, "source": part.document.source_path, "chunks": len(part.chunks), "units": len(part.units)}
    sources = {facts["source"] for facts in documents.values()}
    file_facts = {name: facts for name, facts in current["files"].items() if name in sources}
    file_facts.update({relative: facts for relative, facts in written.items() if relative in sources})
    return {
        **current,
        "version": int(current["version"]) + 1,
        "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "embedding": {**current["embedding"], "dimension": dimension, "backend": backend},
        "documents": documents,
        "files": file_facts,
        "counts": {"documents": len(documents), "chunks": sum(f["chunks"] for f in documents.values()), "units": sum(f["units"] for f in documents.values())},
    }


def _report(corpus: Corpus, manifest: dict, started: float, library: MilvusLibrary, backend: str, changes: dict) -> BuildReport:
    counts = manifest.get("counts", {"documents": len(manifest["documents"]), "chunks": 0, "units": 0})
    return BuildReport(
        documents=counts["documents"], chunks=counts["chunks"], units=counts["units"], seconds=round(time.perf_counter() - started, 2), skipped=corpus.skipped,
        notes=corpus.notes, files=corpus.files, index_folder=library.label, backend=backend, added=changes["added"], updated=changes["updated"],
        removed=changes["removed"], unchanged=changes["unchanged"],
    )
