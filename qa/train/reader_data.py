"""The reader's training pairs: (question, candidate, answers or not, answer span, verdict).

Sources, never a test split:
* the development suite's dev splits (``suite``): every answer corpus's own questions, their typo'd copies and
  other corpora's questions (unanswerable there), searched through the product's own retrieval; the units
  holding the gold evidence are positives, the candidates the fitted ranker puts highest among the rest are
  the hard negatives, and PubMedQA's labelled decisions give the verdicts;
* a public SQuAD 2.0 training subset (``evals/reader-data/``, 10 articles): the answer's sentence against the
  nearest other sentence of its paragraph, and the unanswerable questions against their paragraph;
* near misses made from answerable questions (``synthetic:*``), each asked against the very candidate that
  answers the original: an entity swapped for another of the same document, a number changed, a negation
  added, or a neighbouring paragraph's question.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from qa.answer.reader import Passage
from qa.files import write_atomically
from qa.units import sentence_spans

SQUAD_SUBSET = Path(__file__).resolve().parents[2] / "evals" / "reader-data" / "squad2-train-10-articles.json"
VERDICT_OF_DECISION = {"yes": 0, "no": 1, "maybe": 2}
_AUXILIARY = re.compile(r"\b(does|do|did|can|could|should|will|would|has|have|had)\b", re.IGNORECASE)
_DETERMINER = re.compile(r"^(the|a|an|his|her|its|their|this|that|these|those)$", re.IGNORECASE)
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b")
_ENTITY = re.compile(r"(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_ANAPHOR = re.compile(r"^(this|these|that|those|such)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Pair:
    question: str
    passage: Passage
    label: int  # 1: the candidate answers the question
    span: tuple[int, int] | None  # the answer's characters in passage.text, when known
    verdict: int  # index into qa.answer.reader.VERDICTS, or -1
    group: str  # the question this pair asks (pairs of one question stay on one side of the held-out split)
    source: str  # where it came from: "suite:medquad:own", "squad-train", "synthetic:number", ...

    def to_json(self) -> dict:
        return {"question": self.question, "heading": self.passage.heading, "before": self.passage.before, "text": self.passage.text,
                "after": self.passage.after, "label": self.label, "span": list(self.span) if self.span else None,
                "verdict": self.verdict, "group": self.group, "source": self.source}

    @classmethod
    def from_json(cls, row: dict) -> "Pair":
        passage = Passage(row["heading"], row["before"], row["text"], row["after"])
        return cls(row["question"], passage, row["label"], tuple(row["span"]) if row["span"] else None, row["verdict"], row["group"], row["source"])


def answer_span(text: str, answers) -> tuple[int, int] | None:
    """Where the first of ``answers`` found in ``text`` stands (case-insensitive)."""
    lowered = text.lower()
    for answer in answers:
        at = lowered.find(answer.lower().strip()) if answer.strip() else -1
        if at >= 0:
            return at, at + len(answer.strip())
    return None


def perturbations(question: str, document_entities: list[str], rng: random.Random) -> list[tuple[str, str]]:
    """Near misses of an answerable question, by kind: ("entity", ...), ("number", ...), ("negation", ...)."""
    made = []
    own = _ENTITY.findall(question)
    others = [e for e in document_entities if e not in question and all(e.lower() not in o.lower() for o in own)]
    if own and others:
        target = rng.choice(own)
        made.append(("entity", question.replace(target, rng.choice(others), 1)))
    numbers = _NUMBER.findall(question)
    if numbers:
        target = rng.choice(numbers)
        value = float(target.replace(",", ""))
        changed = str(abs(int(value) + rng.choice([-7, -3, -2, 2, 3, 5, 11]))) if value.is_integer() else str(round(value * rng.choice([0.5, 2, 3]), 2))
        if changed != target:
            made.append(("number", re.sub(rf"\b{re.escape(target)}\b", changed, question, count=1)))
    negated = _negated(question)
    if negated:
        made.append(("negation", negated))
    return made


def _negated(question: str) -> str | None:
    """'When did Beyonce leave ...' -> 'When did Beyonce not leave ...': "not" after an auxiliary's subject
    (determiners, one word, and the capitalised words after it); None when there is no such auxiliary or the
    question is negated already."""
    auxiliary = _AUXILIARY.search(question)
    if not auxiliary or re.search(r"\bnot\b|n't", question, re.IGNORECASE):
        return None
    words = question[auxiliary.end() :].split()
    at = 0
    while at < len(words) and _DETERMINER.match(words[at]):
        at += 1
    at += 1
    while at < len(words) and words[at][:1].isupper():
        at += 1
    if at >= len(words):
        return None
    return f"{question[: auxiliary.end()]} {' '.join(words[:at] + ['not'] + words[at:])}"


def squad_pairs(path: Path = SQUAD_SUBSET, per_article: int | None = None, seed: int = 0, near_miss_share: float = 1.0) -> list[Pair]:
    """Pairs from the SQuAD 2.0 training subset: per article, its answerable questions (up to ``per_article``;
    each with the answer's sentence, and the paragraph's sentence sharing most words with the question), every
    unanswerable one (its paragraph's two nearest sentences), and a near miss of ``near_miss_share`` of the
    answerable ones."""
    rng = random.Random(seed)
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    pairs: list[Pair] = []
    for article in data["data"]:
        title = article["title"].replace("_", " ")
        paragraphs = [p for p in article["paragraphs"] if p["qas"]]
        entities = sorted({e for p in paragraphs for e in _ENTITY.findall(p["context"]) if len(e) > 3})
        answerable_budget = per_article if per_article is not None else float("inf")
        for number, paragraph in enumerate(paragraphs):
            context = paragraph["context"]
            sentences = [(s, e) for s, e in sentence_spans(context, 0, len(context))]
            passages = [_sentence_passage(title, context, sentences, i) for i in range(len(sentences))]
            neighbour = paragraphs[(number + 1) % len(paragraphs)]["qas"]
            for qa in paragraph["qas"]:
                group = f"squad:{qa['id']}"
                order = sorted(range(len(sentences)), key=lambda i: -_overlap(qa["question"], passages[i].text))
                if qa.get("is_impossible"):
                    pairs.extend(Pair(qa["question"], passages[i], 0, None, -1, group, "squad-train:unanswerable") for i in order[:2])
                    continue
                if answerable_budget <= 0:
                    continue
                answerable_budget -= 1
                answer = qa["answers"][0]
                at = next((i for i, (s, e) in enumerate(sentences) if s <= answer["answer_start"] < e), None)
                if at is None:
                    continue
                passage = passages[at]
                pairs.append(Pair(qa["question"], passage, 1, answer_span(passage.text, [a["text"] for a in qa["answers"]]), -1, group, "squad-train"))
                near = next((i for i in order if i != at), None)
                if near is not None:
                    pairs.append(Pair(qa["question"], passages[near], 0, None, -1, group, "squad-train:same-paragraph"))
                if rng.random() < near_miss_share:
                    pairs.extend(near_misses(qa["question"], passage, entities, group, rng, neighbour))
    return pairs


def near_misses(question: str, passage: Passage, entities: list[str], group: str, rng: random.Random, neighbour_questions=()) -> list[Pair]:
    """One near miss of the question (a random kind among those it allows), asked against ``passage``."""
    made = perturbations(question, entities, rng)
    neighbours = [q["question"] for q in neighbour_questions if not q.get("is_impossible")]
    if neighbours:
        made.append(("neighbour", rng.choice(neighbours)))
    if not made:
        return []
    kind, changed = rng.choice(made)
    return [Pair(changed, passage, 0, None, -1, f"{group}|{kind}", f"synthetic:{kind}")]


def _sentence_passage(title: str, context: str, sentences: list[tuple[int, int]], i: int) -> Passage:
    text = context[sentences[i][0] : sentences[i][1]]
    before = context[sentences[i - 1][0] : sentences[i - 1][1]] if i > 0 and _ANAPHOR.match(text) else ""
    return Passage(title, before, text)


def _overlap(question: str, text: str) -> int:
    asked = {w for w in re.findall(r"[a-z0-9]+", question.lower()) if len(w) > 3}
    return len(asked & set(re.findall(r"[a-z0-9]+", text.lower())))


def write_pairs(pairs: list[Pair], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, "".join(json.dumps(pair.to_json(), ensure_ascii=False, sort_keys=True) + "\n" for pair in pairs))


def read_pairs(path: Path) -> list[Pair]:
    return [Pair.from_json(json.loads(line)) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
