"""The statement rule of the answer model, chosen by the dev answers themselves: how close to the best candidate a
further statement must score (``keep_ratio``), and how close one that adds no question term must score
(``follow_ratio``; the rule before it: such a statement never followed, evals/README.md, *A statement that adds no
question term*). Every setting is scored through the answerer's own code and the harness's own scoring."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

from qa.answer.model import AnswerModel
from qa.answer.reading import NOTHING_READ, Read
from qa.eval.fit_data import CorpusExamples
from qa.eval.scoring import score
from qa.eval.suite import split_summary

KEEP_RATIOS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.2, 0.1, 0.05)
FOLLOW_RATIOS = (None, 0.5, 0.3, 0.2, 0.15, 0.1, 0.05)  # None first: of equal settings, the rule that adds least
MAX_MEDIAN_CHARS = 400
MAX_MEDIAN_CITATIONS = 3


def macro(summaries: dict[str, dict], metric: str) -> float:
    values = [s[metric] for s in summaries.values() if s.get(metric) is not None]
    return round(statistics.mean(values), 4) if values else 0.0


def evaluate(corpora: list[CorpusExamples], model: AnswerModel, split: str, reads: dict[int, Read] | None = None, weighed: dict | None = None,
             ranks: dict | None = None) -> dict[str, dict]:
    """Every example of the split answered by the answerer with ``model`` (and the reader's ``reads``, when
    the model has a reader), scored as the suite scores it. ``weighed``: each example's weighed candidates, kept
    across calls whose models weigh alike (they differ only in the statement rule or the threshold); ``ranks``:
    each corpus's own ranker in place of the model's."""
    summaries, given = {}, model
    for corpus in corpora:
        model = replace(given, rank=ranks[corpus.name]) if ranks else given
        answerer = corpus.pipeline.answerer
        records = []
        for example in (e for e in corpus.examples if e.split == split):
            started = time.perf_counter()
            if example.candidates.positions:
                read = (reads or {}).get(id(example), NOTHING_READ) if model.rerank is not None else NOTHING_READ
                kept = {} if weighed is None else weighed
                if id(example) not in kept:
                    kept[id(example)] = answerer.weigh(example.terms, example.candidates, example.hits, model, read)
                answer = answerer.compose(example.searched, example.hits, kept[id(example)], started, model)
            else:
                answer = answerer.answer(example.searched, example.hits)
            records.append(replace(score(example.gold, answer), id=example.gold.id))
        summaries[corpus.name] = split_summary(records)
    return summaries


def statement_rule_key(dev: dict[str, dict]) -> tuple[bool, float]:
    """What the statement rule is chosen by: within the limits on length and citations on every corpus, then
    evidence cited and answer F1, macro over corpora."""
    within = all((s.get("median_answer_chars") or 0) <= MAX_MEDIAN_CHARS and (s.get("median_citations") or 0) <= MAX_MEDIAN_CITATIONS for s in dev.values())
    return within, round((macro(dev, "evidence_cited") + macro(dev, "answer_f1")) / 2, 4)


def choose_statement_rule(corpora: list[CorpusExamples], base: AnswerModel, reads: dict[int, Read], ranks: dict | None, log=print) -> tuple[AnswerModel, dict]:
    """``keep_ratio`` from its grid (with no follow ratio, whatever ``base`` holds, so that choosing again for a
    model that has one chooses as the first time), then ``follow_ratio`` from its grid with that keep_ratio; a
    setting replaces the one before only when its key is higher. Returns the model and its dev summaries."""
    chosen, chosen_key, chosen_dev, weighed = replace(base, follow_ratio=None), None, {}, {}
    for name, grid in (("keep_ratio", KEEP_RATIOS), ("follow_ratio", FOLLOW_RATIOS)):
        start = chosen
        for value in grid:
            candidate = replace(start, **{name: value})
            dev = evaluate(corpora, candidate, "dev", reads, weighed, ranks)  # the statement rule alone differs: weighed once
            key = statement_rule_key(dev)
            log(f"{name} {value}: evidence cited {macro(dev, 'evidence_cited')}, answer F1 {macro(dev, 'answer_f1')}, within limits {key[0]}")
            if chosen_key is None or key > chosen_key:
                chosen, chosen_key, chosen_dev = candidate, key, dev
    return chosen, chosen_dev
