"""Message copies of gold questions: the question as a consumer writes it in a message, with a subject line and a body
around it ("Acinetobacter" / "Hello. I have been reading about this online and I am confused. What is (are)
Acinetobacter in Healthcare Settings ? Thank you for your help.").

They are made here, not collected: the suite has no public collection of real consumer messages with located
evidence (those that exist are kept out of development), so this tests what such a message adds to a question, the
way the typo'd copies test misspellings: a subject line naming the topic (the question's rarest word, as a subject
line names it), one sentence of circumstances and a closing, none of them about the topic. Deterministic: the same
question always gets the same message.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import replace

from qa.eval.gold import GoldQuestion

MESSAGE_PREFIX = "m:"  # the id of a message copy: "m:" + the question's id
OPENERS = ("Hello.", "Hi,", "Good morning,", "")
CIRCUMSTANCES = (
    "My mother was told about this at her last appointment and we did not understand the answer.",
    "I have been reading about this online and I am confused.",
    "My doctor mentioned it briefly but I forgot to ask more.",
    "I am asking for my husband, who is 67 and does not use the internet.",
    "We have an appointment next month but I would like to know before then.",
)
CLOSINGS = ("Thank you for your help.", "Any information would be appreciated.", "Thanks in advance!", "Please answer soon, we are worried.")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def subject_line(question: str) -> str:
    """The question's rarest word in English (its topic, as a subject line names it), or its first words."""
    from qa.text import english_zipf

    words = [w for w in _WORD.findall(question) if len(w) > 3]
    return min(words, key=lambda w: (english_zipf(w.lower()), w)) if words else " ".join(question.split()[:3])


def as_message(question: str, key: str) -> str:
    rng = random.Random(int.from_bytes(hashlib.sha256(f"message:{key}".encode()).digest()[:8], "big"))
    body = " ".join(part for part in (rng.choice(OPENERS), rng.choice(CIRCUMSTANCES), question.strip(), rng.choice(CLOSINGS)) if part)
    return f"{subject_line(question)}\n{body}"


def message_copies(questions: tuple[GoldQuestion, ...] | list[GoldQuestion]) -> list[GoldQuestion]:
    """A message copy of every answerable question."""
    return [replace(q, id=f"{MESSAGE_PREFIX}{q.id}", question=as_message(q.question, q.id), given_split=q.split) for q in questions if q.answerable]
