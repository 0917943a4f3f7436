"""Read each supported file format into text the cleaner understands, plus what the file says about itself.

* ``.txt`` — as is (the cleaner removes scraped-page boilerplate).
* ``.md`` — ``#`` headings kept as headings, emphasis and link syntax removed, optional YAML front matter
  (``title``, ``kind``, ``date``, ``url``, ``publisher``, ``doi`` between ``---`` lines).
* ``.html``/``.htm`` — main content extracted with trafilatura (navigation, scripts, footers dropped;
  headings, lists and figure captions kept), the page's own title and date.
* ``.pdf`` — text per page with pypdf, a page with no text layer read by OCR (qa/ingest/pdf.py).
* ``.docx`` — Word's own structure: title, headings, lists, tables, core properties (qa/ingest/word.py).
* ``.jsonl`` in BEIR layout — one ``{"_id", "title", "text"}`` record per line, one document each.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from qa.errors import QAError, UnusableFile
from qa.ingest.sources import PAGE_MARKER, Source, content_fingerprint  # noqa: F401 (PAGE_MARKER: the readers' page marks)

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl")


def unread_kind(relative: str) -> tuple[str, str]:
    """Why a file of a kind qa does not read is skipped (the whole line, and its group in a summary)."""
    suffix = Path(relative).suffix.lower()
    if suffix == ".doc":
        return (f"{relative} is an old binary Word document (.doc); open it in Word or LibreOffice, save it as .docx, then index that.",
                ".doc files (old Word format); save them as .docx")
    kind = f"{suffix} files" if suffix else "files without a suffix"
    return (f"{relative}: {kind} are not read; qa reads {', '.join(SUFFIXES)}; save it in one of those formats.",
            "files of a kind qa does not read; save them as .txt, .md, .html, .pdf or .docx")


def decode_text(data: bytes, path: str) -> tuple[str, str | None]:
    """Decode bytes as UTF-8, else cp1252, else Latin-1; return the text and a note when not UTF-8."""
    if b"\x00" in data[:8192]:
        raise UnusableFile(f"{path} looks binary (it contains NUL bytes); remove it or convert it to text.", "binary data, not text")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            return data.decode(encoding), f"{path}: not valid UTF-8, decoded as {encoding}"
        except UnicodeDecodeError:
            continue
    raise QAError(f"{path} could not be decoded as text.")  # unreachable: latin-1 decodes any bytes


def read_sources(path: Path, relative: str, progress=None) -> list[Source]:
    """The documents of one file; ``progress``: told of each scanned page as OCR reads it (qa/ingest/pdf.py)."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from qa.ingest.pdf import read_pdf

        return [read_pdf(data, relative, progress)]
    if suffix == ".docx":
        from qa.ingest.word import read_docx

        return [read_docx(data, relative)]
    if suffix == ".jsonl":
        return _read_jsonl(data, relative)
    text, note = decode_text(data, relative)
    if suffix in (".md", ".markdown"):
        meta, body = split_front_matter(text, relative)
        return [
            Source(
                markdown_to_text(body), content_fingerprint(data), title=meta.get("title"), date=meta.get("date"), kind=meta.get("kind"), url=meta.get("url"),
                publisher=meta.get("publisher"), doi=meta.get("doi"), note=note,
            )
        ]
    if suffix in (".html", ".htm"):
        return [_read_html(text, data, relative, note)]
    return [Source(text, content_fingerprint(data), note=note)]


# ---- Markdown ------------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
FRONT_MATTER_FIELDS = ("title", "kind", "date", "url", "publisher", "doi")


def split_front_matter(text: str, path: str = "") -> tuple[dict[str, str], str]:
    """YAML front matter (read by PyYAML's safe loader) and the text after it. Only the fields the
    product uses are kept, as text; a block that is not valid YAML is an error naming the file."""
    import yaml

    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        where = f" at line {exc.problem_mark.line + 2}" if getattr(exc, "problem_mark", None) else ""
        raise UnusableFile(f"{path or 'the file'} has front matter that is not valid YAML{where}; fix it or remove the '---' block.", "Markdown files with invalid front matter") from None
    if not isinstance(data, dict):
        return {}, text[match.end() :]
    meta = {str(k).strip().lower(): v for k, v in data.items()}
    return {k: str(meta[k]).strip() for k in FRONT_MATTER_FIELDS if meta.get(k) not in (None, "")}, text[match.end() :]


def markdown_to_text(text: str) -> str:
    """Markdown to the cleaner's plain form: headings keep one leading '#', syntax marks go."""
    lines = []
    in_code = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
            continue
        if not in_code:
            heading = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if heading:
                lines += ["", f"# {_inline(heading.group(2))}", ""]
                continue
            if re.match(r"^\s*([-*_])(\s*\1){2,}\s*$", line):  # horizontal rule
                lines.append("")
                continue
            line = re.sub(r"^(\s*)[*+]\s+", r"\1- ", line)  # "* item" -> "- item"
            line = re.sub(r"^\s*>\s?", "", line)  # block quotes
            line = _inline(line)
        lines.append(line)
    return "\n".join(lines)


def _inline(text: str) -> str:
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])", r"\1", text)
    return text.replace("`", "")


# ---- HTML ----------------------------------------------------------------------------------------

def _read_html(text: str, data: bytes, relative: str, note: str | None) -> Source:
    import trafilatura

    # trafilatura drops <figure> and its <figcaption>; captions are content, so they become paragraphs first.
    prepared = re.sub(r"<(/?)figcaption\b", r"<\1p", text, flags=re.IGNORECASE)
    prepared = re.sub(r"<(/?)figure\b", r"<\1div", prepared, flags=re.IGNORECASE)
    body = trafilatura.extract(prepared, output_format="markdown", include_formatting=True, include_images=False, include_tables=True, include_comments=False, favor_recall=True)
    if not body or not body.strip():
        raise UnusableFile(f"{relative} has no main content that could be extracted; check that it is an article page.", "web pages with no main content")
    meta = trafilatura.extract_metadata(prepared)
    title = meta.title if meta and meta.title else None
    if title and not body.lstrip().startswith("#"):
        body = f"# {title}\n\n{body}"
    return Source(markdown_to_text(body), content_fingerprint(data), title=title, date=meta.date if meta else None, url=meta.url if meta else None, note=note)


# ---- BEIR JSONL ----------------------------------------------------------------------------------

def _read_jsonl(data: bytes, relative: str) -> list[Source]:
    sources = []
    problems = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
            key, text = str(record["_id"]), str(record.get("text", ""))
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            problems.append(f"line {number} ({type(exc).__name__})")
            continue
        title = str(record.get("title") or "").strip()
        if not text.strip() and not title:
            problems.append(f"line {number} (empty record)")
            continue
        sources.append(Source(f"{title or key}\n\n{text}", content_fingerprint(raw), key=key, title=title or key, kind="passage"))
    if not sources:
        raise UnusableFile(f"{relative} has no usable {{\"_id\", \"title\", \"text\"}} records ({', '.join(problems) or 'empty file'}).", "JSONL files with no usable records")
    if problems:
        sources[0] = Source(**{**sources[0].__dict__, "note": f"{relative}: skipped {', '.join(problems[:5])}{' …' if len(problems) > 5 else ''}"})
    return sources
