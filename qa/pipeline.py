"""Load once, answer many: the index, the encoder, the retriever and the answer chain."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from qa.answer.base import Answerer
from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.model import AnswerModel
from qa.embed.encoders import load_encoder
from qa.errors import QAError
from qa.retrieve.lexicon import build_lexicon
from qa.retrieve.focus import message_focus
from qa.retrieve.retriever import Retriever
from qa.retrieve.spelling import Query, Speller
from qa.settings import Settings
from qa.stores import Index
from qa.stores.index_folder import load_index, require_fresh
from qa.types import Answer, Hit

MAX_QUESTION_CHARS = 2000


def validate_question(question: object) -> str:
    if not isinstance(question, str):
        raise QAError(f"the question must be text, not {type(question).__name__}.")
    cleaned = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", question).strip()
    if not cleaned:
        raise QAError("the question is empty; type a question such as 'What imaging for low back pain with leg weakness?'.")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QAError(f"the question is {len(cleaned):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. Shorten it.")
    if not re.search(r"\w", cleaned):
        raise QAError(f"the question {cleaned!r} has no words in it; ask a question in words.")
    if len(re.sub(r"\W", "", cleaned)) < 2:
        raise QAError(f"the question {cleaned!r} is too short to search for; ask a whole question.")
    return cleaned


@dataclass
class Pipeline:
    settings: Settings
    index: Index
    retriever: Retriever
    answerer: ExtractiveAnswerer  # the default; the extractive answer is also the LLM answerer's gate and fallback
    speller: Speller
    library: object | None = None  # the MilvusLibrary the index was read from (None: an index folder)
    _chains: dict = field(default_factory=dict, repr=False)
    _llm: Answerer | None = field(default=None, repr=False)

    def changed(self) -> bool:
        """Whether the library has a newer committed version than the one answered from (library mode)."""
        if self.library is None:
            return False
        from qa.stores.library_index import committed_version

        return committed_version(self.library) != self.index.manifest["store"]["version"]

    @property
    def llm_configured(self) -> bool:
        return bool(self.settings.llm_url)

    def answerer_for(self, name: str | None = None) -> Answerer:
        """"extractive" or "llm" (default: the settings' answerer); the LLM answerer is built on first use."""
        name = name or self.settings.answerer
        if name == "extractive":
            return self.answerer
        if name != "llm":
            raise QAError(f"answerer must be extractive or llm. Currently, it is {name!r}.")
        if self._llm is None:
            from qa.answer.llm import LlmAnswerer

            self._llm = LlmAnswerer(self.answerer, self.index, self.settings.llm_config())
        return self._llm

    def _chain(self, mode: str, k: int, answerer: Answerer, streaming: bool = False):
        """The LCEL chain for (mode, k, answerer), built once and reused."""
        key = (mode, k, answerer.name, streaming)
        if key not in self._chains:
            from qa.chain import ChunkRetriever, build_chain

            self._chains[key] = build_chain(ChunkRetriever(retriever=self.retriever, mode=mode, k=k), answerer, streaming)
        return self._chains[key]

    def query(self, question: str) -> Query:
        """The question as searched: validated, a message's subject line and the sentences that ask (qa/retrieve/focus.py),
        its misspelt words corrected where the match is clear."""
        typed = validate_question(question)
        return replace(self.speller.correct(message_focus(typed)), typed=typed)

    def ask(self, question: str, mode: str | None = None, k: int | None = None, answerer: str | None = None) -> Answer:
        started = time.perf_counter()
        query = self.query(question)
        settings = self.settings.with_overrides(mode=mode, k=k)
        answer = self._chain(settings.mode, settings.k, self.answerer_for(answerer)).invoke(query.text)
        return _as_asked(answer, query, started)

    def stream(self, question: str, mode: str | None = None, k: int | None = None, answerer: str | None = None) -> Iterator[str | Answer]:
        """The answer's text as it is written (an LLM's raw draft), then the checked Answer."""
        started = time.perf_counter()
        query = self.query(question)
        settings = self.settings.with_overrides(mode=mode, k=k)
        for step in self._chain(settings.mode, settings.k, self.answerer_for(answerer), streaming=True).stream(query.text):
            yield _as_asked(step, query, started) if isinstance(step, Answer) else step

    def search(self, question: str, mode: str | None = None, k: int | None = None) -> tuple[Hit, ...]:
        settings = self.settings.with_overrides(mode=mode, k=k)
        return self.retriever.search(self.query(question).text, settings.mode, settings.k)


def _as_asked(answer: Answer, query: Query, started: float) -> Answer:
    """The answer to the question as typed, with the corrections it was searched with and the total time."""
    total = round((time.perf_counter() - started) * 1000, 3)
    return replace(answer, question=query.typed, corrections=query.corrections, searched=query.text if query.text != query.typed else "",
                   timings_ms={**answer.timings_ms, "total": total})


def open_pipeline(settings: Settings, check_corpus: bool = True, model: AnswerModel | None = None, previous: "Pipeline | None" = None,
                  **retriever_options) -> Pipeline:
    """The index, the encoder, the retriever and the answerers, loaded once. ``model``: the fitted answer
    model (default: qa/answer/model.json). ``previous``: the pipeline this one replaces (after an upload, a
    removal or another server's commit): its encoder and answer model are reused, and on a Milvus library its
    rows where the documents did not change."""
    library = None
    if settings.milvus_uri:
        from qa.stores.library_index import load_library_index
        from qa.stores.milvus_library import MilvusLibrary

        library = previous.library if previous is not None and previous.library is not None else MilvusLibrary(settings.milvus_uri, settings.milvus_collection)
        index = load_library_index(library, settings.model, previous.index if previous is not None else None)
    else:
        index = load_index(settings.index, expected_model=settings.model)
        corpus = Path(index.manifest["corpus"]["folder"])
        if check_corpus and corpus.is_dir():
            from qa.ingest.documents import corpus_files, hash_file

            require_fresh(index.manifest, corpus, corpus_files(corpus), hash_file)
    encoder = previous.retriever.encoder if previous is not None else load_encoder(settings.model, "numpy")
    retriever = Retriever(index, encoder, **retriever_options)
    lexicon = build_lexicon(index.chunks, index.documents)
    answerer = ExtractiveAnswerer(index, retriever.embed_query, lexicon, model or (previous.answerer._model if previous is not None else None))
    return Pipeline(settings, index, retriever, answerer, Speller(lexicon), library)


@lru_cache(maxsize=4)
def shared_pipeline(settings: Settings) -> Pipeline:
    """One pipeline per settings per process, shared by every caller (UI sessions, batch runs)."""
    return open_pipeline(settings)

