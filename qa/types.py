"""The frozen records that flow between pipeline stages (ARCHITECTURE.md)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    heading: str
    start: int  # char span of the section body (heading excluded) in Document.text
    end: int
    kind: str = "body"  # "body" is indexed; "references" is the document's reference list


@dataclass(frozen=True)
class Reference:
    """One entry of the document's own numbered reference list."""

    number: int
    text: str


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    source_path: str
    kind: str
    date: str | None
    text: str  # cleaned text; every offset in the system points into it
    sections: tuple[Section, ...] = ()
    references: tuple[Reference, ...] = ()
    # Highest reference number the text cites; more than len(references) means the list is incomplete.
    cited_reference_max: int = 0
    publisher: str | None = None
    doi: str | None = None
    url: str | None = None
    content_hash: str = ""
    pages: tuple[tuple[int, int], ...] = ()  # (offset where a page starts, page number); PDFs only
    # False for a document without a title of its own: ``title`` is then its opening words, for display
    # only, and is not embedded or searched with its passages (those words are in its text already).
    titled: bool = True
    author: str | None = None
    ocr_pages: tuple[int, ...] = ()  # pages whose text was read by OCR (a scanned PDF's)

    @property
    def search_title(self) -> str:
        """The title as embedded and searched with every passage ("" for an untitled document)."""
        return self.title if self.titled else ""

    def section_at(self, offset: int) -> str:
        for section in self.sections:
            if section.start <= offset < section.end:
                return section.heading
        return ""

    def page_at(self, offset: int) -> int | None:
        page = None
        for start, number in self.pages:
            if start > offset:
                break
            page = number
        return page


@dataclass(frozen=True)
class Chunk:
    chunk_id: str  # f"{doc_id}#{ordinal}"
    doc_id: str
    ordinal: int
    section: str
    start: int
    end: int
    text: str  # == document.text[start:end]
    page: int | None = None  # the page the chunk starts on, for paginated sources


@dataclass(frozen=True)
class Unit:
    """An answerable piece of a chunk: a sentence, a list item, or a list lead-in."""

    chunk_id: str
    doc_id: str
    kind: str  # "sentence" | "item" | "lead-in"
    start: int  # span in Document.text, trailing reference numbers excluded
    end: int
    text: str
    list_id: int = -1  # the list an item belongs to (unique within its document)
    introduces: int = -1  # the list a lead-in introduces


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    rank: int  # 1-based
    score: float  # the score the ranking used
    dense: float | None = None
    bm25: float | None = None


@dataclass(frozen=True)
class Citation:
    n: int
    chunk: Chunk
    title: str
    source: str
    quote: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Statement:
    """One statement of an answer, the citations [n] that support it, and whether any does."""

    text: str
    citations: tuple[int, ...]
    supported: bool


@dataclass(frozen=True)
class Correction:
    """A question word the library never uses, searched as the library word it was taken to mean."""

    typed: str
    corrected: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    timings_ms: dict[str, float] = field(default_factory=dict)
    hits: tuple[Hit, ...] = ()  # passages considered; shown as "closest passages" on abstention
    statements: tuple[Statement, ...] = ()  # every statement written, kept or dropped (an LLM's may be unsupported)
    answerer: str = "extractive"  # "extractive", or "llm:<model>" for an answer a language model wrote
    note: str | None = None  # one line on how the answer came about, e.g. why the LLM's draft was not used
    generated_tokens: int = 0  # tokens the language model wrote for it (0 for the extractive answerer)
    rejected_statements: int = 0  # statements a model wrote that no cited passage supports (all of them on a fallback)
    confidence: float | None = None  # the answerer's confidence that the documents answer (None: it gives none)
    corrections: tuple[Correction, ...] = ()  # misspelt question words searched as corrected
    searched: str = ""  # the question as it was searched and answered (corrected, a message's focus), when not as typed
    verdict: str | None = None  # a yes/no question's verdict from the reader: "yes", "no" or "unclear"
    answer_span: tuple[int, int, int] | None = None  # (statement index, start, end): the reader's answer inside that statement's text
