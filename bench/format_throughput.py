"""Indexing throughput on a folder of mixed formats, and the cost of adding one document to a 100-document index.

Builds its inputs from SciFact abstracts (../shared/bench/scifact) with real writers (fpdf2 for PDFs),
runs the real `build_index`, and prints/writes JSON. Run: .venv/bin/python bench/format_throughput.py
"""

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fpdf import FPDF  # noqa: E402

from qa.embed.encoders import DEFAULT_MODEL  # noqa: E402
from qa.indexing.build import build_index  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "bench" / "scifact" / "corpus.jsonl"


def abstracts(count: int, offset: int = 0) -> list[dict]:
    records = []
    with SCIFACT.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number < offset:
                continue
            record = json.loads(line)
            if len(record["text"]) > 600:
                records.append(record)
            if len(records) == count:
                break
    return records


def latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def write_mixed(folder: Path) -> dict:
    records = abstracts(60)
    pages = 0
    for number, record in enumerate(records[:48]):
        title, text = record["title"], record["text"]
        kind = number % 4
        if kind == 0:
            (folder / f"doc{number}.txt").write_text(f"{title}\n\nAbstract\n\n{text}\n", encoding="utf-8")
        elif kind == 1:
            (folder / f"doc{number}.md").write_text(f"---\ntitle: {title}\n---\n\n# {title}\n\n## Abstract\n\n{text}\n", encoding="utf-8")
        elif kind == 2:
            (folder / f"doc{number}.html").write_text(
                f"<html><head><title>{title}</title></head><body><nav>Home | About | Subscribe</nav><article><h1>{title}</h1>"
                f"<h2>Abstract</h2><p>{text}</p></article><footer>Privacy policy</footer></body></html>", encoding="utf-8")
        else:
            pdf = FPDF()
            pdf.add_page()
            pdf.set_font("Helvetica", "B", 14)
            pdf.multi_cell(0, 7, latin1(title))
            pdf.ln(3)
            pdf.set_font("Helvetica", "", 11)
            for page in range(3):  # three pages each
                pdf.multi_cell(0, 6, latin1(text))
                pdf.ln(3)
                if page < 2:
                    pdf.add_page()
            pdf.output(str(folder / f"doc{number}.pdf"))
            pages += pdf.pages_count
    for part in range(2):  # two BEIR files of 6 records each
        chunk = records[48 + part * 6 : 48 + (part + 1) * 6]
        (folder / f"records{part}.jsonl").write_text("".join(json.dumps({"_id": r["_id"], "title": r["title"], "text": r["text"]}) + "\n" for r in chunk))
    return {"files": len(list(folder.iterdir())), "pdf_pages": pages}


def main() -> dict:
    work = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    try:
        mixed = work / "mixed"
        mixed.mkdir()
        facts = write_mixed(mixed)
        started = time.perf_counter()
        report = build_index(mixed, work / "mixed-index", DEFAULT_MODEL, progress=False)
        seconds = time.perf_counter() - started
        results = {
            "mixed_folder": {**facts, "documents": report.documents, "chunks": report.chunks, "seconds": round(seconds, 2),
                             "files_per_s": round(facts["files"] / seconds, 2), "pdf_pages_per_s": round(facts["pdf_pages"] / seconds, 2),
                             "chunks_per_s": round(report.chunks / seconds, 2), "embedding_backend": report.backend,
                             "reading_and_cleaning_s": report.load_seconds, "chunking_and_embedding_s": report.embed_seconds},
        }
        hundred = work / "hundred"
        hundred.mkdir()
        for number, record in enumerate(abstracts(101, offset=200)):
            target = hundred if number < 100 else work
            (target / f"abstract{number}.txt").write_text(f"{record['title']}\n\n{record['text']}\n", encoding="utf-8")
        build_index(hundred, work / "hundred-index", DEFAULT_MODEL, progress=False)
        shutil.copy(work / "abstract100.txt", hundred / "abstract100.txt")
        started = time.perf_counter()
        report = build_index(hundred, work / "hundred-index", DEFAULT_MODEL, progress=False)
        add_seconds = time.perf_counter() - started
        results["add_one_to_100"] = {"added": list(report.added), "unchanged": len(report.unchanged), "seconds": round(add_seconds, 2),
                                     "of_which_chunking_and_embedding_s": report.embed_seconds, "everything_else_s": round(add_seconds - report.embed_seconds, 2)}
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    results = main()
    (ROOT / "bench" / "formats.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
