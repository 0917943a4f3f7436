"""Declining: the decision is the fitted model's (its confidence against its threshold); what the decline
says is decided here, and it names a word as missing only when that is true: no document uses it in any
spelling, even after spelling correction."""

from __future__ import annotations

from qa.answer.base import NO_ANSWER
from qa.answer.query import QuestionTerms
from qa.text import english_zipf

MAX_NAMED = 2


def decline_text(terms: QuestionTerms) -> str:
    """The decline sentence, and the question's words that no document uses (rarest in English first)."""
    if not terms.unknown:
        return NO_ANSWER
    named = sorted(terms.unknown, key=lambda w: (english_zipf(w), w))[:MAX_NAMED]
    return f"{NO_ANSWER} No document mentions {join_words(named)}."


def join_words(items: list[str]) -> str:
    quoted = [f"'{w}'" for w in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
