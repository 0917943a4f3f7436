"""Adding documents to and removing them from a corpus, with the index kept in step.

Both change files first and then rebuild incrementally; if the rebuild fails, the files are put back,
so the corpus and its index never disagree.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from qa.errors import QAError
from qa.ingest.formats import SUFFIXES
from qa.indexing.build import BuildReport, build_index
from qa.settings import Settings
from qa.stores.index_folder import load_index

REMOVED_FOLDER = ".removed"  # hidden: never indexed


def add_documents(paths: list[Path], settings: Settings, progress: bool = True) -> BuildReport:
    settings.corpus.mkdir(parents=True, exist_ok=True)
    copied: list[Path] = []
    for path in paths:
        if not path.is_file():
            raise QAError(f"{str(path)!r} is not a file; pass documents ({', '.join(SUFFIXES)}).")
        if path.suffix.lower() not in SUFFIXES:
            raise QAError(f"{path.name} is a {path.suffix or 'suffix-less'} file; supported are {', '.join(SUFFIXES)}.")
        target = settings.corpus / path.name
        if target.exists():
            if target.read_bytes() == path.read_bytes():
                continue  # already there
            raise QAError(f"{target} already exists with other content; rename {path.name} or remove the old one first.")
    for path in paths:
        target = settings.corpus / path.name
        if not target.exists():
            shutil.copy2(path, target)
            copied.append(target)
    try:
        return build_index(settings.corpus, settings.index, settings.model, settings.max_tokens, settings.index_backend, progress=progress)
    except BaseException:
        for target in copied:
            target.unlink(missing_ok=True)
        raise


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
        return build_index(settings.corpus, settings.index, settings.model, settings.max_tokens, settings.index_backend, progress=False)
    except BaseException:
        parked.rename(source)
        raise
