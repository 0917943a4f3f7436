"""Documents uploaded through the web page: checked, copied into the corpus, indexed incrementally.

Every file gets one result line. A file is refused before anything is written when it is too large, of
an unsupported type, empty, binary but named as text, or named like a different document already in
the library; a path in its name is reduced to the file name, so nothing lands outside the corpus
folder. Accepted files then go through the same path as ``qa add`` (``qa.library.manage.add_to_library``:
copy, incremental ``qa index``); a file the indexer skips (a PDF with no text, even by OCR, say) is taken out of
the corpus again, with the reason.
Uploads run one after another in a process: a second session's upload waits for the first.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from qa.ingest.formats import SUFFIXES
from qa.library.manage import add_to_library, library_file_sha
from qa.settings import Settings

DEFAULT_LIMIT_MB = 50
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")
_UPLOADS = threading.Lock()


@dataclass(frozen=True)
class UploadResult:
    name: str  # the file name as it lands in the corpus (or as uploaded, if refused)
    status: str  # "added", or "skipped" with the reason in detail
    detail: str = ""

    def line(self) -> str:
        return f"{self.name}: {self.status}" + (f" ({self.detail})" if self.detail else "")


def safe_name(uploaded: str) -> str:
    """The bare file name: '../../x.md' and 'C:\\\\docs\\\\x.md' both become 'x.md'."""
    return PureWindowsPath(PurePosixPath(uploaded).name).name.strip()


def check(uploaded_name: str, data: Path, settings: Settings, limit_mb: float = DEFAULT_LIMIT_MB) -> UploadResult | None:
    """Why the file cannot be added (a "skipped" result), or None when it can."""
    name = safe_name(uploaded_name)
    if not name or name.startswith(".") or "\x00" in name:
        return UploadResult(uploaded_name, "skipped", "not a usable file name; rename it")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".doc":
        return UploadResult(name, "skipped", "an old binary Word document; save it as .docx in Word or LibreOffice, then add that")
    if suffix not in SUFFIXES:
        return UploadResult(name, "skipped", f"{suffix or 'no'} file type; supported are {', '.join(SUFFIXES)}")
    size = data.stat().st_size
    if size > limit_mb * 1_000_000:
        return UploadResult(name, "skipped", f"{size / 1e6:.1f} MB is over the {limit_mb:g} MB limit")
    if size == 0:
        return UploadResult(name, "skipped", "the file is empty")
    if suffix in TEXT_SUFFIXES and b"\x00" in data.open("rb").read(8192):
        return UploadResult(name, "skipped", f"binary data, not text, although it is named {suffix}")
    held = library_file_sha(name, settings)
    if held is not None and held != hashlib.sha256(data.read_bytes()).hexdigest():
        return UploadResult(name, "skipped", "a different document with this name is already in the library; rename the file, or remove the old one first")
    return None


def add_uploads(files: list[tuple[str, Path]], settings: Settings, limit_mb: float = DEFAULT_LIMIT_MB, progress: bool = True) -> list[UploadResult]:
    """(uploaded name, temporary path) pairs -> one result per file, in order."""
    with _UPLOADS:
        results: dict[int, UploadResult] = {}
        accepted: list[tuple[int, str]] = []
        for number, (uploaded, data) in enumerate(files):
            problem = check(uploaded, data, settings, limit_mb)
            if problem:
                results[number] = problem
                continue
            name = safe_name(uploaded)
            if library_file_sha(name, settings) is not None:
                results[number] = UploadResult(name, "skipped", "already in the library")
                continue
            if any(name == other for _, other in accepted):
                results[number] = UploadResult(name, "skipped", "uploaded twice in one go")
                continue
            accepted.append((number, name))
        added = add_to_library([(name, files[number][1]) for number, name in accepted], settings, progress)
        for number, name in accepted:
            reason = added.refused.get(name)
            results[number] = UploadResult(name, "skipped", reason) if reason else UploadResult(name, "added", "; ".join(added.notes_for(name)))
        return [results[number] for number in range(len(files))]
