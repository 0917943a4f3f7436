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
  (no) and "Does a negative brain MRI not rule out ...?" (yes): double negations on purpose.
"""

from __future__ import annotations

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


def lower_first(text: str) -> str:
    """"The relative risk" -> "the relative risk", "A negative MRI" -> "a negative MRI" inside a sentence; "MRI" and
    "IL-6" stay as written."""
    first = text.split(" ", 1)[0]
    return text[0].lower() + text[1:] if first[:1].isupper() and (len(first) == 1 or first[1:].islower()) else text


def claim_question(claim: str) -> str:
    return f"Is it true that {lower_first(claim.strip().rstrip('.'))}?"


def inverted_questions(sentence: str) -> list[tuple[str, int]]:
    """Yes/no questions the sentence settles, each with its verdict: the sentence's auxiliary moved before its
    subject, with and without "not". None when the sentence has no plain subject before an auxiliary."""
    words = strip_reference_numbers(sentence).strip().rstrip(".;:").split()
    at = next((i for i, word in enumerate(words[: MAX_SUBJECT_WORDS + 1]) if word.lower() in AUXILIARIES or word.lower() in CONTRACTED), None)
    if not at or at + 2 > len(words) or words[0].lower() in CLAUSE_OPENERS or any(w.endswith((",", ";", ":")) for w in words[:at]):
        return []
    found, subject = words[at].lower(), lower_first(" ".join(words[:at]))
    rest = words[at + 1 :]
    if found in CONTRACTED:
        auxiliary, negated = CONTRACTED[found], True
    else:
        auxiliary, negated = found, bool(rest) and rest[0].lower() == "not"
        rest = rest[1:] if negated else rest
    plain = " ".join(rest)
    if len(plain.split()) < 2:
        return []
    asked = f"{auxiliary.capitalize()} {subject} {plain}?"
    asked_negated = f"{auxiliary.capitalize()} {subject} not {plain}?"
    return [(asked, NO if negated else YES), (asked_negated, YES if negated else NO)]


def is_verdict_pair(pair: Pair) -> bool:
    """A pair made here (trained on by the verdict reader only, `qa train-reader --verdict-data`)."""
    return pair.source.startswith("scifact-train") or pair.source.endswith(":statement")


def statement_pairs(question_group: str, passage: Passage, source: str) -> list[Pair]:
    """The yes/no questions a candidate's own sentence settles, asked against it (it answers each)."""
    return [Pair(question, passage, 1, None, verdict, f"{question_group}|statement", f"{source}:statement")
            for question, verdict in inverted_questions(passage.text)]


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
