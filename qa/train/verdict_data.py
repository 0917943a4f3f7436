"""The reader's yes/no verdicts, taught beyond PubMedQA's decisions about research abstracts: a verdict must read the
sentence it is given, negations included ("does not rule out lesions that can cause ..." does not answer "no" to
"Can a lesion cause it?").

* SciFact's training claims (``evals/reader-data/scifact-train-claims.jsonl``, built by
  evals/libraries/build_scifact_claims.py), asked as "Is it true that <claim>?": against each rationale sentence of
  the abstract, yes (SUPPORT) or no (CONTRADICT); against the abstract's nearest sentence when it does not settle the
  claim (NOT ENOUGH INFO), unclear; and a sentence that is no rationale, as a candidate that does not answer.
* Questions made from the suite's own evidence sentences (dev splits, the reader's half), by moving the sentence's
  auxiliary to the front: "MRI without IV contrast is sufficient for ..." gives "Is MRI without IV contrast sufficient
  for ...?" (yes) and "Is MRI without IV contrast not sufficient for ...?" (no); a negated sentence, "A negative brain MRI
  does not rule out lesions that can cause ...", gives "Does a negative brain MRI rule out lesions that can cause ...?"
  (no) and "Does a negative brain MRI not rule out ...?" (yes): double negations on purpose. Each is asked against the
  sentence and against the sentence negated ("... does rule out ..."), which settles it the other way, so that neither
  a "not" in the question nor one in the passage tells the verdict without reading both. A relative clause with a
  modal is asked on its own ("... lesions that can cause limb weakness" gives "Can lesions cause limb weakness?"): yes
  against the sentence and against its negation, whose "not" is not about what is asked.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

from qa.answer.reader import Passage
from qa.train.reader_data import _ANAPHOR, VERDICT_OF_DECISION, Pair, _overlap
from qa.units import strip_reference_numbers

SCIFACT_TRAIN = Path(__file__).resolve().parents[2] / "evals" / "reader-data" / "scifact-train-claims.jsonl"
YES, NO, UNCLEAR = VERDICT_OF_DECISION["yes"], VERDICT_OF_DECISION["no"], VERDICT_OF_DECISION["maybe"]
AUXILIARIES = frozenset({"is", "are", "was", "were", "can", "could", "may", "might", "should", "will", "would", "must", "does", "do", "did", "has", "have"})
CONTRACTED = {"cannot": "can", "can't": "can", "doesn't": "does", "don't": "do", "didn't": "did", "isn't": "is", "aren't": "are", "wasn't": "was",
              "weren't": "were", "won't": "will", "shouldn't": "should", "wouldn't": "would", "couldn't": "could", "hasn't": "has", "haven't": "have"}
# A sentence that opens with a clause ("In patients with ..., MRI is ...") has no plain subject to move the auxiliary past.
CLAUSE_OPENERS = frozenset({"in", "for", "after", "before", "when", "if", "although", "because", "unlike", "beyond", "once", "while", "since", "as", "on", "at",
                            "during", "with", "without", "by", "to", "of", "here", "there", "it", "this", "these", "that", "those", "they", "we"})
MAX_SUBJECT_WORDS = 10
MODALS = frozenset({"can", "could", "may", "might", "will", "would", "should", "must"})
# Closed-class words where a noun phrase before a relative clause starts ("rule out | spinal cord lesions that can ...").
PHRASE_STARTS = frozenset({"a", "an", "the", "of", "in", "on", "for", "to", "with", "without", "by", "from", "out", "and", "or", "not", "no", "as", "than",
                           "is", "are", "was", "were", "be", "been", "this", "these", "those", "its", "their", "any", "all", "some", "other", "into", "about"})
MAX_PHRASE_WORDS = 4


def lower_first(text: str) -> str:
    """"The relative risk" -> "the relative risk", "A negative MRI" -> "a negative MRI" inside a sentence; "MRI" and
    "IL-6" stay as written."""
    first = text.split(" ", 1)[0]
    return text[0].lower() + text[1:] if first[:1].isupper() and (len(first) == 1 or first[1:].islower()) else text


def claim_question(claim: str) -> str:
    return f"Is it true that {lower_first(claim.strip().rstrip('.'))}?"


def _parsed(sentence: str) -> tuple[list[str], str, bool, list[str]] | None:
    """The sentence's subject words, its auxiliary, whether the auxiliary is negated, and the words after it; None
    when the sentence has no plain subject before an auxiliary."""
    words = strip_reference_numbers(sentence).strip().rstrip(".;:").split()
    at = next((i for i, word in enumerate(words[: MAX_SUBJECT_WORDS + 1]) if word.lower() in AUXILIARIES or word.lower() in CONTRACTED), None)
    if not at or at + 2 > len(words) or words[0].lower() in CLAUSE_OPENERS or any(w.endswith((",", ";", ":")) for w in words[:at]):
        return None
    found, rest = words[at].lower(), words[at + 1 :]
    if found in CONTRACTED:
        return words[:at], CONTRACTED[found], True, rest
    negated = bool(rest) and rest[0].lower() == "not"
    return words[:at], found, negated, rest[1:] if negated else rest


def inverted_questions(sentence: str) -> list[tuple[str, int]]:
    """Yes/no questions the sentence settles, each with its verdict: the sentence's auxiliary moved before its
    subject, with and without "not". None when the sentence has no plain subject before an auxiliary."""
    parsed = _parsed(sentence)
    if parsed is None or len(parsed[3]) < 2:
        return []
    subject_words, auxiliary, negated, rest = parsed
    subject, plain = lower_first(" ".join(subject_words)), " ".join(rest)
    asked = f"{auxiliary.capitalize()} {subject} {plain}?"
    asked_negated = f"{auxiliary.capitalize()} {subject} not {plain}?"
    return [(asked, NO if negated else YES), (asked_negated, YES if negated else NO)]


def sentence_and_negation(sentence: str) -> tuple[str, str] | None:
    """The sentence as the questions are made from it (reference numbers dropped) and the same sentence with its
    auxiliary's negation turned ("does not rule out" <-> "does rule out", "cannot" <-> "can")."""
    parsed = _parsed(sentence)
    if parsed is None or len(parsed[3]) < 2:
        return None
    subject_words, auxiliary, negated, rest = parsed
    said = " ".join(subject_words + [auxiliary] + (["not"] if negated else []) + rest) + "."
    turned = " ".join(subject_words + [auxiliary] + ([] if negated else ["not"]) + rest) + "."
    return said, turned


def relative_clause_questions(sentence: str) -> list[tuple[str, int]]:
    """A relative clause with a modal asked on its own, whatever the main clause says: "... does not rule out spinal
    cord lesions that can cause limb weakness" gives "Can spinal cord lesions cause limb weakness?", yes."""
    words = strip_reference_numbers(sentence).strip().rstrip(".;:").split()
    made = []
    for i in range(1, len(words) - 3):
        if words[i].lower() not in ("that", "which") or words[i + 1].lower() not in MODALS or words[i + 2].lower() == "not":
            continue
        start = i
        while start > 0 and i - start < MAX_PHRASE_WORDS and words[start - 1].lower() not in PHRASE_STARTS and not words[start - 1].endswith((",", ";", ":")):
            start -= 1
        predicate = " ".join(words[i + 2 :])
        if start < i and len(predicate.split()) >= 2:
            made.append((f"{words[i + 1].capitalize()} {lower_first(' '.join(words[start:i]))} {predicate}?", YES))
    return made


def is_verdict_pair(pair: Pair) -> bool:
    """A pair made here (trained on by the verdict reader only, `qa train-reader --verdict-data`)."""
    return pair.source.startswith("scifact-train") or pair.source.endswith(":statement")


def statement_pairs(question_group: str, passage: Passage, source: str) -> list[Pair]:
    """The yes/no questions a candidate's own sentence settles, asked against it and against its negation (it
    answers each)."""
    both = sentence_and_negation(passage.text)
    if both is None:
        return []
    said, turned = (dataclasses.replace(passage, text=text) for text in both)
    group, kind = f"{question_group}|statement", f"{source}:statement"
    pairs = []
    for question, verdict in inverted_questions(passage.text):
        pairs += [Pair(question, said, 1, None, verdict, group, kind), Pair(question, turned, 1, None, NO if verdict == YES else YES, group, kind)]
    for question, verdict in relative_clause_questions(passage.text):
        pairs += [Pair(question, said, 1, None, verdict, group, kind), Pair(question, turned, 1, None, verdict, group, kind)]
    return pairs


def scifact_pairs(path: Path = SCIFACT_TRAIN, seed: int = 0) -> list[Pair]:
    """SciFact's training claims as yes/no questions against their abstracts' sentences."""
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        label, sentences = record["label"], record["sentences"]
        if label == "MIXED" or not sentences:
            continue
        question, group = claim_question(record["claim"]), f"scifact-train:{record['id']}"
        rationale = [i for i in record["rationale"] if 0 <= i < len(sentences)]
        for i in rationale:
            verdict = YES if label == "SUPPORT" else NO
            pairs.append(Pair(question, _passage(record, i), 1, None, verdict, group, f"scifact-train:{label.lower()}"))
        others = [i for i in range(len(sentences)) if i not in rationale]
        if label == "NOT ENOUGH INFO":
            nearest = max(range(len(sentences)), key=lambda i: _overlap(question, sentences[i]))
            pairs.append(Pair(question, _passage(record, nearest), 0, None, UNCLEAR, group, "scifact-train:not-enough-info"))
        elif others:
            pairs.append(Pair(question, _passage(record, rng.choice(others)), 0, None, -1, group, "scifact-train:other-sentence"))
    return pairs


def _passage(record: dict, i: int) -> Passage:
    """Sentence ``i`` of the abstract as the reader reads a candidate: under the title, after the sentence before it
    when it refers back to it ("This ...")."""
    text = record["sentences"][i]
    return Passage(record["title"], record["sentences"][i - 1] if i > 0 and _ANAPHOR.match(text) else "", text)
