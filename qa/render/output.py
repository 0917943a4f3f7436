"""Answers, hits and passages as the JSON contract (README: `qa ask --json`) and as terminal text."""

from __future__ import annotations

import re
import textwrap
from pathlib import PurePosixPath

from qa.render.citations import PassageContext
from qa.stores import Index
from qa.retrieve.spelling import apply_corrections
from qa.types import Answer, Correction, Hit


def source_path(index: Index, relative: str) -> str:
    return str(PurePosixPath(index.manifest["corpus"]["folder"]) / relative)


def answer_to_json(answer: Answer, index: Index, question_id: str | None = None) -> dict:
    record: dict = {}
    if question_id is not None:
        record["id"] = question_id
    record.update(
        {
            "question": answer.question,
            "answer": answer.text,
            "abstained": answer.abstained,
            "answerer": answer.answerer,
            "note": answer.note,
            "statements": [{"text": s.text, "citations": list(s.citations), "supported": s.supported} for s in answer.statements],
            "rejected_statements": answer.rejected_statements,
            "corrections": [{"typed": c.typed, "corrected": c.corrected} for c in answer.corrections],
            "confidence": answer.confidence,
            "verdict": answer.verdict,
            "answer_span": _span_json(answer),
            "citations": [
                {
                    "n": c.n,
                    "chunk_id": c.chunk.chunk_id,
                    "doc_id": c.chunk.doc_id,
                    "title": c.title,
                    "section": c.chunk.section,
                    "page": index.documents[c.chunk.doc_id].page_at(c.start),
                    "source": source_path(index, c.source),
                    "text": c.chunk.text,
                    "quote": c.quote,
                    "start": c.start,
                    "end": c.end,
                    "score": c.score,
                }
                for c in answer.citations
            ],
            "timings_ms": answer.timings_ms,
        }
    )
    return record


def _span_json(answer: Answer) -> dict | None:
    if answer.answer_span is None:
        return None
    statement, start, end = answer.answer_span
    return {"statement": statement, "start": start, "end": end, "text": answer.statements[statement].text[start:end]}


def span_in_answer(answer: Answer, text: str | None = None) -> tuple[int, int] | None:
    """Where the reader's answer span stands in the answer's text (or in ``text``, a part of it streamed so
    far): its statement found there, then the span's offsets inside the statement."""
    if answer.answer_span is None:
        return None
    statement, start, end = answer.answer_span
    at = (answer.text if text is None else text).find(answer.statements[statement].text)
    return (at + start, at + end) if at >= 0 else None


def with_span_marked(answer: Answer, text: str | None = None, mark=lambda part: f"**{part}**", plain=lambda part: part) -> str:
    """The answer's text with its answer span passed through ``mark`` and the rest through ``plain``."""
    text = answer.text if text is None else text
    span = span_in_answer(answer, text)
    if span is None:
        return plain(text)
    return plain(text[: span[0]]) + mark(text[span[0] : span[1]]) + plain(text[span[1] :])


def hit_to_json(hit: Hit, index: Index) -> dict:
    document = index.documents[hit.chunk.doc_id]
    return {
        "rank": hit.rank,
        "chunk_id": hit.chunk.chunk_id,
        "doc_id": hit.chunk.doc_id,
        "title": document.title,
        "section": hit.chunk.section,
        "source": source_path(index, document.source_path),
        "score": round(hit.score, 6),
        "dense": None if hit.dense is None else round(hit.dense, 6),
        "bm25": None if hit.bm25 is None else round(hit.bm25, 6),
        "start": hit.chunk.start,
        "end": hit.chunk.end,
        "text": hit.chunk.text,
    }


def _label(index: Index, doc_id: str, section: str, page: int | None = None) -> str:
    document = index.documents[doc_id]
    facts = ", ".join(x for x in (document.kind, document.date) if x)
    where = (f" — {section}" if section else "") + (f", p. {page}" if page else "")
    return f"{document.title}{where} ({facts})" if facts else f"{document.title}{where}"


def searched_for(text: str, corrections: tuple[Correction, ...]) -> str:
    """The question as searched, each corrected word followed by what was typed: "… zanamivir (you typed zanamavir)"."""
    for correction in corrections:
        text = re.sub(rf"\b({re.escape(correction.corrected)})\b", rf"\1 (you typed {correction.typed})", text, count=1, flags=re.IGNORECASE)
    return text


def answer_to_text(answer: Answer, index: Index, width: int = 100, bold: tuple[str, str] = ("**", "**")) -> str:
    """The answer as terminal text; the answer span between ``bold`` (ANSI bold on a terminal, ** ** elsewhere)."""
    lines = []
    if answer.corrections:
        searched = apply_corrections(answer.question, answer.corrections)
        lines += textwrap.wrap(f"Searched for: {searched_for(searched, answer.corrections)}", width) + [""]
    text = with_span_marked(answer, mark=lambda part: f"{bold[0]}{part}{bold[1]}")
    lines += textwrap.wrap(text, width) or [text]
    if answer.note:
        lines += textwrap.wrap(f"Note: {answer.note}", width)
    if answer.abstained:
        if answer.hits:
            lines += ["", "Closest passages (not an answer):"]
            for hit in answer.hits[:3]:
                lines.append(f"  - {_label(index, hit.chunk.doc_id, hit.chunk.section)}  [qa cite {hit.chunk.chunk_id}]")
        return "\n".join(lines)
    lines += ["", "Sources"]
    for c in answer.citations:
        lines.append(f"[{c.n}] {_label(index, c.chunk.doc_id, c.chunk.section, index.documents[c.chunk.doc_id].page_at(c.start))}")
        quote = " ".join(c.quote.split())
        lines += textwrap.wrap(f'"{quote}"', width, initial_indent="    ", subsequent_indent="     ")
        lines.append(f"    qa cite {c.chunk.chunk_id} --span {c.start}-{c.end}")
    dropped = [s for s in answer.statements if not s.supported and s.text not in answer.text]
    if dropped:
        lines += ["", f"Removed: {len(dropped)} statement{'s' if len(dropped) > 1 else ''} by {answer.answerer} that no cited passage supports (see --json)."]
    return "\n".join(lines)


def hits_to_text(hits: tuple[Hit, ...], index: Index, width: int = 100) -> str:
    if not hits:
        return "No passages matched."
    lines = []
    for hit in hits:
        scores = f"score {hit.score:.4f}"
        if hit.dense is not None:
            scores += f", dense {hit.dense:.3f}"
        if hit.bm25 is not None:
            scores += f", bm25 {hit.bm25:.2f}"
        lines.append(f"{hit.rank}. {hit.chunk.chunk_id}  ({scores})")
        lines.append(f"   {_label(index, hit.chunk.doc_id, hit.chunk.section)}")
        preview = " ".join(hit.chunk.text.split())
        lines += textwrap.wrap(preview[:300] + ("…" if len(preview) > 300 else ""), width, initial_indent="   ", subsequent_indent="   ")
    return "\n".join(lines)


def context_to_json(context: PassageContext, index: Index) -> dict:
    document = context.document
    return {
        "chunk_id": context.chunk.chunk_id,
        "doc_id": document.doc_id,
        "title": document.title,
        "kind": document.kind,
        "date": document.date,
        "publisher": document.publisher,
        "author": document.author,
        "doi": document.doi,
        "section": context.chunk.section,
        "page": document.page_at(context.quote_start),
        "page_read_by_ocr": document.page_at(context.quote_start) in document.ocr_pages,
        "source": source_path(index, document.source_path),
        "before": context.before,
        "quote": context.quote,
        "after": context.after,
        "quote_start": context.quote_start,
        "quote_end": context.quote_end,
        "references": [{"number": r.number, "text": r.text} for r in context.references],
        "missing_references": list(context.missing_references),
        "reference_note": context.reference_note,
    }


def context_to_text(context: PassageContext, index: Index, mark: tuple[str, str] = (">>>", "<<<")) -> str:
    document = context.document
    facts = [f"Document: {document.title}", f"Kind: {document.kind}"]
    facts.append(f"Date: {document.date or 'not printed in the document'}")
    if document.author:
        facts.append(f"Author: {document.author}")
    if document.publisher:
        facts.append(f"Publisher: {document.publisher}")
    if document.doi:
        facts.append(f"DOI: {document.doi}")
    facts.append(f"Section: {context.chunk.section or '(opening)'}")
    if document.page_at(context.quote_start):
        read = " (read by OCR from a scan)" if document.page_at(context.quote_start) in document.ocr_pages else ""
        facts.append(f"Page: {document.page_at(context.quote_start)}{read}")
    facts.append(f"Source: {source_path(index, document.source_path)}  (characters {context.quote_start}-{context.quote_end})")
    body = f"{context.before}{mark[0]}{context.quote}{mark[1]}{context.after}"
    lines = facts + ["", body.strip("\n"), ""]
    if context.references:
        lines.append("References this passage points to:")
        lines += [f"  {r.number}. {r.text}" for r in context.references]
    elif not context.missing_references:
        lines.append("This passage cites none of the document's own references.")
    if context.reference_note:
        lines.append(context.reference_note)
    return "\n".join(lines)


def documents_to_json(index: Index) -> list[dict]:
    """The library's documents, as `qa docs --json` and GET /api/docs list them."""
    counts: dict[str, int] = {}
    for chunk in index.chunks:
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
    corpus = index.manifest.get("corpus", {}).get("folder", "")
    return [
        {"doc_id": d.doc_id, "title": d.title, "kind": d.kind, "date": d.date, "chunks": counts.get(d.doc_id, 0), "source": f"{corpus}/{d.source_path}"}
        for d in index.documents.values()
    ]
