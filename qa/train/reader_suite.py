"""The reader's training pairs from the development suite's dev splits, through the product's own search:
the suite's questions (own, typo'd, foreign) are searched as `qa ask` searches them, and the candidate units
of the top passages are labelled by the gold evidence (qa/eval/fit_data.py). Hard negatives are the
candidates the fitted ranker puts highest among those without the evidence."""

from __future__ import annotations

import json
import random

import numpy as np

from qa.answer.model import load_rank_model
from qa.answer.reader import passage_for
from qa.eval.fit_data import collect_examples, read_half
from qa.eval.suite import original_id
from qa.train.reader_data import VERDICT_OF_DECISION, Pair, _ENTITY, answer_span, near_misses
from qa.train.verdict_data import statement_pairs

# Pairs per question, by kind of question: (positives, hard negatives).
PER_QUESTION = {"own": (2, 3), "typo": (1, 2), "message": (1, 2), "foreign": (0, 2), "unanswerable": (0, 3)}
NEAR_MISS_SHARE = 1.0  # of answerable own questions, one near miss each


def decisions(suite) -> dict[str, str]:
    """PubMedQA's labelled decisions (yes/no/maybe) by question id, from the suite's question files."""
    found = {}
    for corpus in suite.corpora:
        if corpus.questions and corpus.questions.is_file():
            for line in corpus.questions.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                if record.get("decision") in VERDICT_OF_DECISION and record.get("split") != "test":
                    found[record["id"]] = record["decision"]
    return found


def suite_pairs(suite, settings, seed: int = 0, progress: bool = True, log=None) -> tuple[list[Pair], list[Pair]]:
    """Pairs from every answer corpus's dev split (never a test split): those of the reader's half of the
    questions, to train on, and those of the other half (qa/eval/fit_data.read_half), to check it on."""
    rng = random.Random(seed)
    verdicts = decisions(suite)
    rank = load_rank_model()
    pairs: list[Pair] = []
    reserved: list[Pair] = []
    for corpus in collect_examples(suite, settings, splits=("dev",), progress=progress, log=log):
        answerer = corpus.pipeline.answerer
        index, links = answerer.index, answerer.table.links
        for example in corpus.examples:
            assert example.split == "dev", example.gold.id
            into = pairs if read_half(corpus.name, example.gold.id) == "reader" else reserved
            positions = example.candidates.positions
            if not positions:
                continue
            kind = example.kind if example.gold.answerable else ("foreign" if example.kind == "foreign" else "unanswerable")
            wanted_positive, wanted_negative = PER_QUESTION[kind]
            ranked = np.argsort(-rank.score(example.candidates.values), kind="stable")
            positives = [i for i in ranked if example.labels[i]][:wanted_positive]
            negatives = [i for i in ranked if not example.labels[i] and _can_read(index.units[positions[i]].text)][:wanted_negative]
            source = f"suite:{corpus.name}:{kind}"
            group = f"{corpus.name}:{original_id(example.gold.id)}"
            verdict = VERDICT_OF_DECISION.get(verdicts.get(original_id(example.gold.id), ""), -1)
            for i in positives:
                passage = passage_for(index, links, positions[i])
                span = answer_span(passage.text, example.gold.answers) if example.gold.answers else None
                into.append(Pair(example.searched, passage, 1, span, verdict, group, source))
            for i in negatives:
                into.append(Pair(example.searched, passage_for(index, links, positions[i]), 0, None, -1, group, source))
            if kind == "own" and positives:  # yes/no questions its evidence sentence settles (qa/train/verdict_data.py)
                into.extend(statement_pairs(group, passage_for(index, links, positions[positives[0]]), source))
            if kind == "own" and positives and rng.random() < NEAR_MISS_SHARE:
                passage = passage_for(index, links, positions[positives[0]])
                entities = sorted({e for e in _ENTITY.findall(index.documents[index.units[positions[positives[0]]].doc_id].text) if len(e) > 3})
                into.extend(near_misses(example.searched, passage, entities, group, rng))
    return pairs, reserved


def _can_read(text: str) -> bool:
    return len(text.split()) >= 3


