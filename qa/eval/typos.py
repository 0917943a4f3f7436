"""Typo'd copies of gold questions: one deterministic misspelling per question, as people make them.

In one word of six or more letters (chosen by a generator seeded with the question's id), one of:
two adjacent inner letters swapped ("diagnosed" -> "diangosed"), one inner letter dropped ("dianosed"),
or one inner vowel replaced by another ("zanamivir" -> "zanamavir"). The first and last letters stay, as
they mostly do in real typing errors. The same question always gets the same typo.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import replace

from qa.eval.gold import GoldQuestion

MIN_WORD = 6
VOWELS = "aeiou"
TYPO_PREFIX = "t:"  # the id of a typo'd copy: "t:" + the question's id
_WORD = re.compile(r"[A-Za-z]+")


def _rng(key: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"typo:{key}".encode()).digest()[:8], "big"))


def misspell_word(word: str, rng: random.Random) -> str:
    """One typo inside the word (first and last letters kept); a different word, always."""
    inner = range(1, len(word) - 1)
    operations = ["swap", "drop"]
    vowel_positions = [i for i in inner if word[i].lower() in VOWELS]
    if vowel_positions:
        operations.append("vowel")
    swaps = [i for i in range(1, len(word) - 2) if word[i].lower() != word[i + 1].lower()]
    if not swaps:
        operations.remove("swap")
    operation = rng.choice(operations)
    if operation == "swap":
        i = rng.choice(swaps)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if operation == "drop":
        i = rng.choice(list(inner))
        return word[:i] + word[i + 1 :]
    i = rng.choice(vowel_positions)
    replacement = rng.choice([v for v in VOWELS if v != word[i].lower()])
    return word[:i] + (replacement.upper() if word[i].isupper() else replacement) + word[i + 1 :]


def misspell(question: str, key: str) -> str | None:
    """The question with one word of six or more letters misspelt, or None when it has no such word."""
    rng = _rng(key)
    candidates = [m for m in _WORD.finditer(question) if len(m.group()) >= MIN_WORD]
    if not candidates:
        return None
    chosen = rng.choice(candidates)
    return question[: chosen.start()] + misspell_word(chosen.group(), rng) + question[chosen.end() :]


def typo_copies(questions: tuple[GoldQuestion, ...] | list[GoldQuestion]) -> list[GoldQuestion]:
    """A typo'd copy of every answerable question that has a word long enough to misspell."""
    copies = []
    for question in questions:
        if not question.answerable:
            continue
        typed = misspell(question.question, question.id)
        if typed is not None:
            copies.append(replace(question, id=f"{TYPO_PREFIX}{question.id}", question=typed, given_split=question.split))
    return copies
