"""Adding documents to and removing them from a library, with its index kept in step: a corpus folder
with its index folder, or a library kept whole in Milvus (``settings.milvus_uri``).

In a folder, both change files first and then rebuild incrementally; if the rebuild fails, the files are
put back, so the corpus and its index never disagree. In Milvus, the files and their rows are written and
committed as one new version of the library (qa/indexing/library_build.py).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from qa.errors import QAError
from qa.ingest.formats import SUFFIXES
from qa.indexing.build import BuildReport, build_index
from qa.settings import Settings
from qa.stores.index_folder import load_index

REMOVED_FOLDER = ".removed"  # hidden: never indexed


@dataclass(frozen=True)
class Added:
    report: BuildReport | None  # the incremental build (None when nothing was copied)
    refused: dict[str, str]  # file name -> why the indexer could not use it (it was taken out again)

    def notes_for(self, name: str) -> list[str]:
        """What the indexer noted while reading the file ``name`` (pages OCR found no text on, a text decoded as cp1252)."""
        return [note.split(": ", 1)[1] for note in (self.report.notes if self.report else ()) if note.split(": ", 1)[0].rsplit("/", 1)[-1] == name and ": " in note]


def add_to_library(files: list[tuple[str, Path]], settings: Settings, progress: bool = True) -> Added:
    """(name in the library, file to copy) pairs: copied into the corpus and indexed incrementally, the one
    path for `qa add` and the page's uploads. If indexing fails, the copies are taken out again, so the
    corpus and its index never disagree; a file the indexer skips (a PDF with no text, even by OCR) is taken out
    too, with the reason, and the index records the corpus as it is then."""
    if settings.milvus_uri:
        report = _store_build(settings, files=files, progress=progress)
        return Added(report, {Path(skip.path).name: skip.reason for skip in report.skipped})
    settings.corpus.mkdir(parents=True, exist_ok=True)
    copied: list[Path] = []
    try:
        for name, source in files:
            target = settings.corpus / name
            if not target.exists():
                shutil.copyfile(source, target)
                copied.append(target)
        report = _rebuild(settings, progress) if copied else None
    except BaseException:
        for target in copied:
            target.unlink(missing_ok=True)
        raise
    skipped = {s.path: s.reason for s in report.skipped} if report else {}
    refused = {t.name: skipped[t.relative_to(settings.corpus).as_posix()] for t in copied if t.relative_to(settings.corpus).as_posix() in skipped}
    if refused:
        for name in refused:
            (settings.corpus / name).unlink(missing_ok=True)
        report = _rebuild(settings, progress=False)  # the fingerprint recorded the refused files
    return Added(report, refused)


def add_documents(paths: list[Path], settings: Settings, progress: bool = True) -> Added:
    """`qa add`: every path must be a supported file whose name is free in the corpus (or holds the same
    bytes already); nothing is copied otherwise."""
    for path in paths:
        if not path.is_file():
            raise QAError(f"{str(path)!r} is not a file; pass documents ({', '.join(SUFFIXES)}).")
        if path.suffix.lower() not in SUFFIXES:
            raise QAError(f"{path.name} is a {path.suffix or 'suffix-less'} file; supported are {', '.join(SUFFIXES)}.")
        held = library_file_sha(path.name, settings)
        if held is not None and held != hashlib.sha256(path.read_bytes()).hexdigest():
            raise QAError(f"{path.name} is already in the library with other content; rename {path.name} or remove the old one first.")
    added = add_to_library([(path.name, path) for path in paths], settings, progress)
    return added if added.report else Added(_rebuild(settings, progress), {})


def library_file_sha(name: str, settings: Settings) -> str | None:
    """The SHA-256 of the library's file of this name, or None when it holds none."""
    if settings.milvus_uri:
        from qa.stores.milvus_library import MilvusLibrary

        library = MilvusLibrary(settings.milvus_uri, settings.milvus_collection)
        try:
            manifest = library.current() or {"files": {}}
        finally:
            library.close()
        return manifest["files"].get(name, {}).get("sha256")
    target = settings.corpus / name
    return hashlib.sha256(target.read_bytes()).hexdigest() if target.is_file() else None


def _rebuild(settings: Settings, progress: bool) -> BuildReport:
    if settings.milvus_uri:
        return _store_build(settings, progress=progress)
    return build_index(settings.corpus, settings.index, settings.model, settings.max_tokens, settings.index_backend, progress=progress)


def _store_build(settings: Settings, files: list[tuple[str, Path]] = (), remove: tuple[str, ...] = (), progress: bool = True) -> BuildReport:
    from qa.indexing.library_build import build_library
    from qa.stores.milvus_library import MilvusLibrary

    library = MilvusLibrary(settings.milvus_uri, settings.milvus_collection)
    try:
        return build_library(library, list(files), settings.model, settings.max_tokens, settings.index_backend, progress, remove=remove)
    finally:
        library.close()


def remove_document(doc_id: str, settings: Settings) -> BuildReport:
    if settings.milvus_uri:  # the library keeps no folder: its rows go with the next version
        return _store_build(settings, remove=(doc_id,), progress=False)
    index = load_index(settings.index, expected_model=settings.model)
    document = index.documents.get(doc_id)
    if document is None:
        raise QAError(f"no document {doc_id!r} in {settings.index}; `qa docs` lists the ids.")
    siblings = [d.doc_id for d in index.documents.values() if d.source_path == document.source_path]
    if len(siblings) > 1:
        raise QAError(
            f"{doc_id!r} is one of {len(siblings)} records in {document.source_path}; delete its line from that file and run `qa index`."
        )
    source = settings.corpus / document.source_path
    if not source.exists():
        raise QAError(f"{source} is not in the corpus any more; run `qa index` to drop it from the index.")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    parked = settings.corpus / REMOVED_FOLDER / stamp / document.source_path
    parked.parent.mkdir(parents=True, exist_ok=True)
    source.rename(parked)
    try:
        return _rebuild(settings, progress=False)
    except BaseException:
        parked.rename(source)
        raise
