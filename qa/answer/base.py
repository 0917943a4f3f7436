"""The answerer interface: the retrieved passages in, a cited ``Answer`` out.

Two implementations: ``ExtractiveAnswerer`` (the default; quotes the passages) and ``LlmAnswerer``
(a chat model writes the answer; every statement is then checked against the passages it cites).
"""

from __future__ import annotations

import re
from typing import Iterator, Protocol

from qa.types import Answer, Hit

# The one "cannot answer" sentence: the extractive answerer's abstention, and the sentence the LLM prompt
# tells the model to write when the passages do not answer (and the code looks for in its reply).
NO_ANSWER = "The documents do not answer this question."
# The one pattern for the citation markers "[n]" an answer's statements end with.
CITATION_MARKER = re.compile(r"\[(\d+)\]")
# How a yes/no answer opens, before its cited statements; the opener is not a statement and cites nothing.
VERDICT_TEXT = {"yes": "Yes.", "no": "No.", "unclear": "The documents do not settle this."}


def statements_text(answer: Answer) -> str:
    """The answer's text without its verdict opener: the statements and their citation markers."""
    return answer.text.removeprefix(f"{VERDICT_TEXT[answer.verdict]} ") if answer.verdict else answer.text


class Answerer(Protocol):
    name: str  # "extractive" or "llm:<model>", as the JSON's "answerer" field says

    def answer(self, question: str, hits: tuple[Hit, ...]) -> Answer: ...

    def stream(self, question: str, hits: tuple[Hit, ...]) -> Iterator[str | Answer]:
        """Drafts of the answer text as it is written (none for the extractive answerer), then the Answer."""
        ...
