"""Gold questions: reading a gold file, finding each evidence string in the indexed documents (as character
spans), naming documents the way gold files do, and which passages hold the evidence."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from qa.errors import QAError
from qa.types import Document


@dataclass(frozen=True)
class EvidenceSpan:
    """Where a gold evidence string lies in the cleaned text of an indexed document."""

    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    answer: str
    key_facts: tuple[tuple[str, ...], ...]
    evidence: tuple[str, ...]
    documents: tuple[str, ...] = ()  # index doc ids that hold the answer
    given_split: str = ""  # the record's own "split" ("train"/"dev" -> dev, "test" -> test)
    spans: tuple[EvidenceSpan, ...] = ()
    answers: tuple[str, ...] = ()  # every accepted short answer (SQuAD lists several); ``answer`` is the first
    decision: str = ""  # a yes/no question's labelled verdict: "yes", "no" or "maybe" (PubMedQA)

    @property
    def split(self) -> str:
        """dev (tune here) or test (report here), fixed per question (evals/README.md):
        the record's own split when it has one (PubMedQA's official test set);
        for ids like q017/u004 (the seed gold set) odd numbers are dev, even test;
        for any other id, the parity of the first byte of its SHA-256."""
        if self.given_split:
            return "test" if self.given_split == "test" else "dev"
        if re.fullmatch(r"[a-z]\d+", self.id):
            return "dev" if int(self.id[1:]) % 2 == 1 else "test"
        return "dev" if hashlib.sha256(self.id.encode()).digest()[0] % 2 == 1 else "test"


def normalise_text(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'")).strip().lower()


def _normalised_with_offsets(text: str) -> tuple[str, list[int]]:
    """``normalise_text(text)`` and, for each of its characters, the offset it came from in ``text``."""
    chars: list[str] = []
    offsets: list[int] = []
    pending_space = False
    for offset, char in enumerate(text):
        if char.isspace():
            pending_space = bool(chars)
            continue
        if pending_space:
            chars.append(" ")
            offsets.append(offset - 1)
            pending_space = False
        chars.append("'" if char == "’" else char.lower())
        offsets.append(offset)
    return "".join(chars), offsets


def locate_evidence(evidence: str, documents: dict[str, Document], within: tuple[str, ...] = ()) -> tuple[EvidenceSpan, ...]:
    """Every place an evidence string occurs (case and whitespace aside) in the named documents, or in all."""
    needle = normalise_text(evidence)
    spans = []
    for doc_id in within or tuple(documents):
        document = documents.get(doc_id)
        if document is None or not needle:
            continue
        normalised, offsets = _normalised_text(document)
        at = normalised.find(needle)
        while at >= 0:
            spans.append(EvidenceSpan(doc_id, offsets[at], offsets[at + len(needle) - 1] + 1))
            at = normalised.find(needle, at + 1)
    return tuple(spans)


_NORMALISED: dict[tuple[str, str, int], tuple[str, list[int]]] = {}


def _normalised_text(document: Document) -> tuple[str, list[int]]:
    key = (document.doc_id, document.content_hash, len(document.text))
    if key not in _NORMALISED:
        _NORMALISED[key] = _normalised_with_offsets(document.text)
    return _NORMALISED[key]


def record_key(document: Document) -> str:
    """What a gold file may call the document: its file stem, or for a record of a .jsonl file the slug of
    the record's id ("corpus-4983" from corpus.jsonl -> "4983")."""
    from qa.ingest.documents import doc_id_for

    path = Path(document.source_path)
    if path.suffix.lower() == ".jsonl":
        prefix = doc_id_for(path.with_suffix(".txt").as_posix()) + "-"
        return document.doc_id[len(prefix):] if document.doc_id.startswith(prefix) else document.doc_id
    return path.stem


def resolve_documents(names: list[str], documents: dict[str, Document]) -> tuple[str, ...]:
    """Index doc ids for the document names a gold record gives: a doc id, a file stem
    ("GHR-0000009" for ghr-0000009-md) or a record id inside a .jsonl file ("4983" for corpus-4983)."""
    from qa.ingest.documents import doc_id_for

    by_key: dict[str, list[str]] = {}
    for doc_id, document in documents.items():
        by_key.setdefault(record_key(document), []).append(doc_id)
    found: list[str] = []
    for name in names:
        found += [name] if name in documents else by_key.get(name, by_key.get(doc_id_for(name + ".txt"), []))
    return tuple(dict.fromkeys(found))


def load_gold(path: str | Path, documents: dict[str, Document], strict: bool = True) -> tuple[GoldQuestion, ...]:
    """Gold questions with their evidence located in the indexed documents.

    Fields: id, question, answerable, answer, evidence, and optionally key_facts, documents (doc ids)
    or doc_id (a file stem), split. ``strict``: an evidence string found in no document is an error
    (the seed gold set); otherwise such a question keeps no span and is counted as unlocated.
    """
    path = Path(path)
    if not path.exists():
        raise QAError(f"gold file {str(path)!r} does not exist; pass --gold with a JSONL file like evals/gold.jsonl.")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            names = list(record.get("documents", [])) + ([str(record["doc_id"])] if record.get("doc_id") else [])
            question = GoldQuestion(
                id=str(record["id"]),
                question=record["question"],
                answerable=bool(record["answerable"]),
                answer=record.get("answer", ""),
                answers=tuple(a for a in record.get("answers", []) if isinstance(a, str) and a.strip()),
                key_facts=tuple(tuple(group) for group in record.get("key_facts", [])),
                evidence=tuple(record.get("evidence", [])),
                documents=resolve_documents(names, documents),
                given_split=str(record.get("split") or ""),
                decision=str(record.get("decision") or ""),
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise QAError(f"{path}:{number} is not a valid gold record ({exc}); see evals/README.md for the fields.") from exc
        spans: list[EvidenceSpan] = []
        for evidence in question.evidence:
            found = locate_evidence(evidence, documents, question.documents) or locate_evidence(evidence, documents)
            if not found and strict:
                raise QAError(f"{path}:{number} ({question.id}): evidence {evidence!r} is not in any cleaned document; fix the string.")
            spans += found
        if question.answerable and not question.evidence:
            raise QAError(f"{path}:{number} ({question.id}) is answerable but lists no evidence.")
        questions.append(replace(question, spans=tuple(spans)))
    return tuple(questions)


def span_overlap(start: int, end: int, span: EvidenceSpan) -> int:
    return max(0, min(end, span.end) - max(start, span.start))


def holds_evidence(doc_id: str, start: int, end: int, gold: GoldQuestion) -> bool:
    """A passage holds the evidence when it has all of it, or at least half of it (a conclusion cut
    across two passages), or is itself wholly evidence (a passage inside a long evidence span)."""
    for span in gold.spans:
        if span.doc_id == doc_id:
            shared = span_overlap(start, end, span)
            if shared and shared >= 0.5 * min(span.end - span.start, end - start):
                return True
    return False


def evidence_passages(gold: GoldQuestion, chunks) -> set[str]:
    """Ids of the passages that hold one of the question's gold evidence spans."""
    doc_ids = {span.doc_id for span in gold.spans}
    return {c.chunk_id for c in chunks if c.doc_id in doc_ids and holds_evidence(c.doc_id, c.start, c.end, gold)}
