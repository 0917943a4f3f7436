"""LangChain at the edge: a ``BaseRetriever`` over our index and the LCEL chain ``retriever | answerer``.

The chain's input is the question string; its output is our own ``Answer`` (``invoke``), or the answer's
drafts as an LLM writes it followed by the checked ``Answer`` (``stream``). LangChain ``Document``
objects exist only between the two steps, carrying our ``Hit`` in metadata.
"""

from __future__ import annotations

import time
from dataclasses import replace

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LangChainDocument
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough
from pydantic import ConfigDict

from qa.answer.base import Answerer
from qa.retrieve.retriever import Retriever
from qa.types import Answer


class ChunkRetriever(BaseRetriever):
    """Hybrid/dense/BM25 chunk retrieval as a LangChain retriever."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: Retriever
    mode: str = "hybrid"
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LangChainDocument]:
        started = time.perf_counter()
        hits, timings = self.retriever.search_timed(query, self.mode, self.k)
        timings["retrieve"] = round((time.perf_counter() - started) * 1000, 3)
        return [
            LangChainDocument(page_content=h.chunk.text, metadata={"chunk_id": h.chunk.chunk_id, "hit": h, "timings_ms": timings})
            for h in hits
        ]


def build_chain(retriever: ChunkRetriever, answerer: Answerer, streaming: bool = False) -> Runnable:
    def hits_and_timings(inputs: dict) -> tuple[tuple, dict]:
        hits = tuple(d.metadata["hit"] for d in inputs["passages"])
        return hits, (inputs["passages"][0].metadata["timings_ms"] if inputs["passages"] else {})

    def answer_step(inputs: dict) -> Answer:
        hits, retrieval_timings = hits_and_timings(inputs)
        result = answerer.answer(inputs["question"], hits)
        return replace(result, timings_ms={**result.timings_ms, **retrieval_timings})

    def stream_step(inputs: dict):
        hits, retrieval_timings = hits_and_timings(inputs)
        for step in answerer.stream(inputs["question"], hits):
            yield replace(step, timings_ms={**step.timings_ms, **retrieval_timings}) if isinstance(step, Answer) else step

    retrieval = RunnableParallel(question=RunnablePassthrough(), passages=retriever)
    return retrieval | RunnableLambda(stream_step if streaming else answer_step)
