"""What a question asks for: its shape (why, when, how many, yes/no, a list), the word after
"what"/"which", and what it excludes ("besides MRI")."""

from __future__ import annotations

import re

from qa.text import QUESTION_FRAMING, STOPWORDS, words

YES_NO_START = re.compile(r"^(is|are|can|could|does|do|did|should|will|would|was|were|has|have|may|might|must)\b", re.IGNORECASE)
NUMERIC_ASK = re.compile(
    r"\b(how many|how much|how often|how common|how frequent(ly)?|how fast|how quickly|how long|how accurate|how soon|what (share|percentage|percent|proportion|fraction|number|rate)|within how|sensitivity|specificity|prevalence|incidence|how sensitive|how specific)\b",
    re.IGNORECASE,
)
LIST_ASK = re.compile(
    r"\b(which|what (are|kinds|types|tests|signs|symptoms|features|conditions|causes)|list|name the|red flags|signs|symptoms|tests|causes|steps|options|reasons|features)\b",
    re.IGNORECASE,
)
# "Besides MRI, what ..." : the excluded thing is not what the answer should be about.
EXCLUSION = re.compile(r"\b(?:besides|other than|apart from|aside from|except(?: for)?|instead of)\s+([^,?.;]+)", re.IGNORECASE)
FOCUS = re.compile(r"^\s*(?:what|which)\s+(?:kinds?\s+of\s+|types?\s+of\s+|sorts?\s+of\s+)?([a-z][\w-]*)", re.IGNORECASE)
COMPARISON_ASK = re.compile(r"\b(difference|differ|differs|compare|compared|comparison|versus|vs\.?|better than|more .+ than)\b", re.IGNORECASE)
CONDITION_ASK = re.compile(r"^\s*(when|in which cases|under what)\b", re.IGNORECASE)
REASON_ASK = re.compile(r"^\s*why\b", re.IGNORECASE)


WH_WORD = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)


def asks_yes_no(question: str) -> bool:
    """A polar question: it opens with an auxiliary ("Can X-rays show ...?"), or ends in a question mark
    with no wh-word in it ("Vaccine storage in clinics: a weak link in the cold chain?")."""
    stripped = question.strip()
    return bool(YES_NO_START.match(stripped)) or (stripped.endswith("?") and not WH_WORD.search(stripped))


def question_shape(question: str) -> set[str]:
    shape = set()
    if NUMERIC_ASK.search(question):
        shape.add("numeric")
    if COMPARISON_ASK.search(question):
        shape.add("comparison")
    if CONDITION_ASK.search(question):
        shape.add("condition")
    if REASON_ASK.search(question):
        shape.add("reason")
    if YES_NO_START.match(question.strip()):
        shape.add("yes-no")
    return shape


def content_words(question: str) -> list[str]:
    return [w for w in words(question) if w not in STOPWORDS and w not in QUESTION_FRAMING and not w.isdigit()]
