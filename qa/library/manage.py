"""Adding documents to and removing them from a corpus, with the index kept in step.

Both change files first and then rebuild incrementally; if the rebuild fails, the files are put back,
so the corpus and its index never disagree.
"""

from __future__ import annotations

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


def add_to_library(files: list[tuple[str, Path]], settings: Settings, progress: bool = True) -> Added:
    """(name in the library, file to copy) pairs: copied into the corpus and indexed incrementally, the one
    path for `qa add` and the page's uploads. If indexing fails, the copies are taken out again, so the
    corpus and its index never disagree; a file the indexer skips (a PDF with no text layer) is taken out
    too, with the reason, and the index records the corpus as it is then."""
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
        target = settings.corpus / path.name
        if target.exists() and target.read_bytes() != path.read_bytes():
            raise QAError(f"{target} already exists with other content; rename {path.name} or remove the old one first.")
    added = add_to_library([(path.name, path) for path in paths], settings, progress)
    return added if added.report else Added(_rebuild(settings, progress), {})


def _rebuild(settings: Settings, progress: bool) -> BuildReport:
    return build_index(settings.corpus, settings.index, settings.model, settings.max_tokens, settings.index_backend, progress=progress)


def remove_document(doc_id: str, settings: Settings) -> BuildReport:
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
