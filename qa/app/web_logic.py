"""What the chat UI shows, as plain functions of questions, history and the index (unit-tested directly).

Everything user- or document-derived is HTML-escaped before it is shown, so text such as
``<script>`` or SQL in a question or a document is displayed, never run.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from typing import Iterator

from qa.answer.base import CITATION_MARKER
from qa.answer.grounding import UNSUPPORTED_MARK
from qa.render.citations import passage_in_context
from qa.render.output import searched_for, with_span_marked
from qa.retrieve.spelling import apply_corrections
from qa.errors import QAError
from qa.pipeline import Pipeline
from qa.stores import Index
from qa.text import capitalised, content_terms
from qa.types import Answer, Citation, Hit

EXAMPLES = [
    "What imaging for low back pain with leg weakness?",
    "What does a negative head MRI mean in a patient with limb weakness?",
    "Can an MRI show small fiber neuropathy?",
    "How common were abnormal MRIs in ALS and MMN?",
]
CLOSEST_LABEL = "Closest passages, not an answer"
FRIENDLY_ERROR = "Sorry, something went wrong while answering. Please try again, or rephrase the question."

# Follow-up rule: with earlier questions in the conversation, a question is a follow-up when it opens
# like one ("what about ...", "and ...", "how about ..."), leans on a pronoun ("is it ...", "do they ..."),
# or has fewer than three content words of its own. It is then searched as its own words followed by the
# previous searched-for question in parentheses: "what about in children? (limb weakness with a negative
# head MRI)". Otherwise it is searched as typed.
_FOLLOW_UP_OPENING = re.compile(r"^\s*(what about|how about|and|also|what if|same for|in|for|with|without|but)\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(it|its|they|them|their|this|that|these|those|there)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    question: str  # as typed
    searched_for: str  # after the follow-up rewrite
    answer: Answer


def rewrite_follow_up(question: str, previous_searches: list[str]) -> str:
    """The question to search for, given the searched-for questions earlier in the conversation."""
    question = question.strip()
    if not previous_searches:
        return question
    is_follow_up = bool(_FOLLOW_UP_OPENING.match(question)) or bool(_PRONOUN.search(question)) or len(content_terms(question)) < 3
    if not is_follow_up:
        return question
    previous = re.sub(r"\s*\(.*\)\s*$", "", previous_searches[-1])  # one level of context is enough
    return f"{question} ({previous})"


def answer_turn(pipeline: Pipeline, question: str, previous_searches: list[str], mode: str | None = None, k: int | None = None, answerer: str | None = None) -> Turn:
    """The page's path (``stream_turn``) without the drafts."""
    *_, turn = stream_turn(pipeline, question, previous_searches, mode, k, answerer)
    return turn


def stream_turn(
    pipeline: Pipeline, question: str, previous_searches: list[str], mode: str | None = None, k: int | None = None, answerer: str | None = None
) -> Iterator[str | Turn]:
    """The draft as an LLM writes it, then the turn with the checked answer. When the LLM server cannot be
    used, the turn carries the extractive answer and a note saying why."""
    from qa.answer.llm import LlmError

    searched_for = rewrite_follow_up(question, previous_searches)
    try:
        for step in pipeline.stream(searched_for, mode=mode, k=k, answerer=answerer):
            yield step if isinstance(step, str) else Turn(question, searched_for, step)
    except LlmError as exc:
        answer = pipeline.ask(searched_for, mode=mode, k=k, answerer="extractive")
        yield Turn(question, searched_for, replace(answer, note=f"{capitalised(str(exc))} This is the extractive answer."))


def searched_line(turn: Turn) -> str:
    """"Searched for: …" when the search differs from what was typed: a follow-up searched with the question
    before it, or misspelt words searched as corrected ("zanamivir (you typed zanamavir)"); else ""."""
    searched = apply_corrections(turn.searched_for, turn.answer.corrections)
    if searched == turn.question:
        return ""
    return f"Searched for: “{html.escape(searched_for(searched, turn.answer.corrections))}”"


def draft_html(text: str) -> str:
    """An LLM's answer while it is being written: plain text, not yet checked, so not yet clickable."""
    return f'<div class="qa-answer qa-draft">{html.escape(text)}<span class="qa-writing"> …</span></div><div class="qa-note">Writing; every statement is checked against its passages when it is done.</div>'


def cite_href(turn: int, n: int) -> str:
    return f"#qa-cite/{turn}/{n}"


def passage_href(turn: int, chunk_id: str) -> str:
    return f"#qa-passage/{turn}/{chunk_id}"


def parse_cite_target(value: str) -> tuple[str, int, str] | None:
    """'#qa-cite/2/1|1699999' -> ('cite', 2, '1'); '#qa-passage/0/doc#3|...' -> ('passage', 0, 'doc#3')."""
    match = re.match(r"^#qa-(cite|passage)/(\d+)/([^|]+)", value or "")
    return (match.group(1), int(match.group(2)), match.group(3)) if match else None


def _document_line(index: Index, doc_id: str, section: str, page: int | None = None) -> str:
    document = index.documents[doc_id]
    facts = " · ".join(html.escape(x) for x in (document.kind, document.date) if x)
    section_text = (f" — {html.escape(section)}" if section else "") + (f", p. {page}" if page else "")
    return f"<b>{html.escape(document.title)}</b>{section_text}<br><small>{facts}</small>"


def answer_html(turn_number: int, answer: Answer, index: Index, text: str | None = None, with_sources: bool = True) -> str:
    """The assistant message: the answer (or the part streamed so far) with clickable [n], then source cards."""
    if answer.abstained:
        return abstention_html(turn_number, answer, index)
    body = with_span_marked(answer, text, mark=lambda part: f'<strong class="qa-span">{html.escape(part)}</strong>', plain=html.escape)
    for statement in answer.statements:
        if not statement.supported:  # kept and marked (--unsupported mark): shown struck through
            shown = html.escape(statement.text)
            body = body.replace(shown, f'<s class="qa-unsupported" title="No cited passage supports this statement">{shown}</s>', 1)
    body = body.replace(f" {UNSUPPORTED_MARK}", ' <span class="qa-unsupported-tag">unsupported</span>')
    body = CITATION_MARKER.sub(lambda m: f'<a class="qa-cite" href="{cite_href(turn_number, int(m.group(1)))}">[{m.group(1)}]</a>', body)
    cards = "".join(_source_card(turn_number, c, index) for c in answer.citations) if with_sources else ""
    note = f'<div class="qa-note">{html.escape(answer.note)}</div>' if answer.note and with_sources else ""
    by = f'<div class="qa-note">Written by {html.escape(answer.answerer.removeprefix("llm:"))}; every statement checked against the passage it cites.</div>' if answer.answerer.startswith("llm:") and with_sources else ""
    return f'<div class="qa-answer">{body}</div>{note}{by}<div class="qa-sources">{cards}</div>'


def streamed_parts(answer: Answer) -> list[str]:
    """The answer text growing one cited statement at a time (the last part is the whole answer)."""
    from qa.answer.support import split_statements

    parts, shown = [], []
    for statement in split_statements(answer.text):
        shown.append(statement.text + "".join(f" [{n}]" for n in statement.citations))
        parts.append(" ".join(shown))
    return parts or [answer.text]


def _source_card(turn_number: int, citation: Citation, index: Index) -> str:
    quote = html.escape(" ".join(citation.quote.split()))
    return (
        f'<div class="qa-card"><a class="qa-cite" href="{cite_href(turn_number, citation.n)}">[{citation.n}]</a> '
        f"{_document_line(index, citation.chunk.doc_id, citation.chunk.section, index.documents[citation.chunk.doc_id].page_at(citation.start))}"
        f'<div class="qa-quote">“{quote}”</div></div>'
    )


def abstention_html(turn_number: int, answer: Answer, index: Index, closest: int = 3) -> str:
    items = "".join(
        f'<li><a class="qa-cite" href="{passage_href(turn_number, h.chunk.chunk_id)}">{html.escape(index.documents[h.chunk.doc_id].title)}'
        f"{' — ' + html.escape(h.chunk.section) if h.chunk.section else ''}</a></li>"
        for h in answer.hits[:closest]
    )
    passages = f'<div class="qa-closest"><b>{CLOSEST_LABEL}:</b><ul>{items}</ul></div>' if items else ""
    return f'<div class="qa-answer qa-abstained">{html.escape(answer.text)}</div>{passages}'


def citation_panel_html(index: Index, chunk_id: str, span: tuple[int, int] | None = None) -> str:
    """The passage in context: surrounding paragraphs, the quote highlighted, the document's references."""
    context = passage_in_context(index, chunk_id, span)
    document = context.document
    facts = [("Kind", document.kind), ("Date", document.date or "not printed in the document"), ("Section", context.chunk.section or "(opening)")]
    page = document.page_at(context.quote_start)
    if page:
        facts.append(("Page", f"{page} (read by OCR from a scan)" if page in document.ocr_pages else str(page)))
    if document.author:
        facts.append(("Author", document.author))
    if document.publisher:
        facts.append(("Publisher", document.publisher))
    if document.doi:
        facts.append(("DOI", document.doi))
    facts_html = "".join(f"<div><span>{html.escape(k)}</span> {html.escape(v)}</div>" for k, v in facts)
    body = f"{_paragraphs(context.before)}<mark id=\"qa-quote\">{_paragraphs(context.quote, inline=True)}</mark>{_paragraphs(context.after)}"
    references = ""
    if context.references:
        references = "<h4>References this passage points to</h4><ol>" + "".join(
            f'<li value="{r.number}">{html.escape(r.text)}</li>' for r in context.references
        ) + "</ol>"
    if context.reference_note:
        references += f'<p class="qa-note">{html.escape(context.reference_note)}</p>'
    return (
        f'<div class="qa-panel" data-chunk="{html.escape(chunk_id)}"><h3>{html.escape(document.title)}</h3>'
        f'<div class="qa-facts">{facts_html}</div>{_page_image(index, document, context)}<div class="qa-context" id="qa-text-view">{body}</div>{references}</div>'
    )


def _page_image(index: Index, document, context) -> str:
    """For a PDF, the cited page as an image with the quote highlighted on it, and a link to the text view."""
    page = document.page_at(context.quote_start)
    if not page or not document.source_path.lower().endswith(".pdf"):
        return ""
    import base64

    from qa.render.pdf_pages import highlighted_page

    source = index.source_file(document.source_path)
    scanned = page in document.ocr_pages
    png = highlighted_page(source, page, context.quote, scanned) if source is not None else None
    if png is None:
        return ""
    alt = f"Page {page} of {document.title}, the quoted passage highlighted"
    read = " Its text was read by OCR from the scanned image, so it may differ from the page in places." if scanned else ""
    return (
        f'<div class="qa-page-view"><img class="qa-page" alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"></div>'
        f'<p class="qa-note">Page {page} of the PDF.{read} <a href="#qa-text-view" class="qa-text-link">Text view</a> below.</p>'
    )


def _paragraphs(text: str, inline: bool = False) -> str:
    escaped = html.escape(text)
    return escaped.replace("\n", "<br>") if inline else escaped.replace("\n\n", "<br><br>").replace("\n", "<br>")


def document_html(index: Index, doc_id: str, span: tuple[int, int] | None = None) -> str:
    """The whole cleaned document, the cited span highlighted (the page scrolls to it)."""
    if doc_id not in index.documents:
        raise QAError(f"unknown document {doc_id!r}.")
    text = index.documents[doc_id].text
    start, end = span if span else (0, 0)
    body = f"{_paragraphs(text[:start])}<mark id=\"qa-doc-quote\">{_paragraphs(text[start:end], inline=True)}</mark>{_paragraphs(text[end:])}" if span else _paragraphs(text)
    return f'<div class="qa-document">{_document_line(index, doc_id, "")}<div class="qa-context">{body}</div></div>'


def sources_rows(index: Index) -> list[list]:
    counts: dict[str, int] = {}
    for chunk in index.chunks:
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
    return [[d.title, d.kind, d.date or "—", d.publisher or "—", counts.get(d.doc_id, 0), d.doc_id] for d in index.documents.values()]


def find_citation(turns: list[Turn], turn_number: int, n: int) -> Citation:
    if not 0 <= turn_number < len(turns):
        raise QAError("that citation belongs to an earlier conversation; ask the question again.")
    for citation in turns[turn_number].answer.citations:
        if citation.n == n:
            return citation
    raise QAError(f"answer {turn_number + 1} has no citation [{n}].")


def closest_hit(turns: list[Turn], turn_number: int, chunk_id: str) -> Hit:
    for hit in turns[turn_number].answer.hits if 0 <= turn_number < len(turns) else ():
        if hit.chunk.chunk_id == chunk_id:
            return hit
    raise QAError(f"passage {chunk_id!r} is not among that answer's passages.")
