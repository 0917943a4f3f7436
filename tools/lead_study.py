"""Which chosen statement leads an answer (evals/README.md, *Which statement leads*): the one the fitted
combination of reader and ranker scores highest, or the one the reader alone scores highest, always or only
when the reader's score beats the combination's choice by more than a margin?

1. ``collect``: every answerable dev question of the suite (own and typo'd) on the half the reader was not
   trained on, through the product's own path (spelling, retrieval, the shipped answer model and reader); for
   each answered one, its chosen statements in the combination's order with the reader's score and verdict and
   whether the statement's passage holds the gold evidence (about 5 minutes on 2 cores, cached indexes).
2. ``analyse``: per corpus and lead rule, the first statement's passage holds the evidence, and the verdict of
   the lead is right (PubMedQA's labelled decisions).

Usage: python tools/lead_study.py collect OUT.json
       python tools/lead_study.py analyse OUT.json
"""

from __future__ import annotations

import json
import sys

MARGINS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, float("inf"))  # inf: the combination always leads (the product)


def collect(out: str) -> None:
    from qa.app.cli_common import settings_from_env
    from qa.eval.fit_data import collect_examples, half_of, question_key
    from qa.eval.gold import holds_evidence
    from qa.eval.scoring import VERDICT_OF_DECISION
    from qa.eval.suite import load_suite

    corpora = collect_examples(load_suite("evals/suite.json"), settings_from_env(), ("dev",), progress=False, log=lambda m: print(m, file=sys.stderr))
    rows = []
    for corpus in corpora:
        answerer = corpus.pipeline.answerer
        model = answerer.model
        for example in corpus.examples:
            gold = example.gold
            if example.kind == "foreign" or not gold.answerable or half_of(question_key(corpus.name, gold.id)) != "fit" or not example.candidates.positions:
                continue
            weighed = answerer.weigh(example.terms, example.candidates, example.hits)
            if weighed.confidence < max(model.threshold, answerer.library_threshold):
                rows.append({"corpus": corpus.name, "declined": True})
                continue
            chosen = []
            for row, statement in answerer.choose_statements(example.searched, weighed, model):
                chunk = answerer.index.chunk(statement.chunk_id)
                reading = weighed.read.reading_for(row)
                verdict = (reading.verdict if reading.verdict_probability >= model.verdict_threshold else "unclear") if reading else None
                chosen.append({"reader": reading.score if reading else None, "verdict": verdict,
                               "evidence": holds_evidence(chunk.doc_id, chunk.start, chunk.end, gold)})
            rows.append({"corpus": corpus.name, "declined": False, "chosen": chosen, "decision": VERDICT_OF_DECISION.get(gold.decision) if gold.decision else None})
    with open(out, "w", encoding="utf-8") as file:
        json.dump(rows, file)
    print(f"{len(rows)} questions written to {out}", file=sys.stderr)


def lead_of(chosen: list[dict], margin: float) -> dict:
    """The lead under a margin: the reader's best chosen statement when its score beats the combination's
    first by more than ``margin``, else the combination's first."""
    read = [c for c in chosen if c["reader"] is not None]
    if not read or chosen[0]["reader"] is None:
        return chosen[0]
    best = max(read, key=lambda c: c["reader"])
    return best if best["reader"] - chosen[0]["reader"] > margin else chosen[0]


def analyse(path: str) -> None:
    with open(path, encoding="utf-8") as file:
        rows = json.load(file)
    corpora = list(dict.fromkeys(r["corpus"] for r in rows))
    print("| lead | " + " | ".join(corpora) + " | verdict right: " + " / ".join(c for c in corpora if any(r.get("decision") for r in rows if r["corpus"] == c)) + " |")
    print("|---" * (len(corpora) + 2) + "|")
    for margin in MARGINS:
        cells, verdicts = [], []
        for corpus in corpora:
            answered = [r for r in rows if r["corpus"] == corpus and not r["declined"]]
            leads = [lead_of(r["chosen"], margin) for r in answered]
            cells.append(f"{sum(l['evidence'] for l in leads) / len(leads):.3f}")
            decided = [(lead_of(r["chosen"], margin), r["decision"]) for r in answered if r["decision"]]
            if decided:
                verdicts.append(f"{sum(l['verdict'] == d for l, d in decided) / len(decided):.3f}")
        name = "the combination's best (shipped)" if margin == float("inf") else f"the reader's best, when ahead by > {margin}"
        print(f"| {name} | " + " | ".join(cells) + " | " + " / ".join(verdicts) + " |")
    print("\nanswered questions: " + ", ".join(f"{c} {sum(1 for r in rows if r['corpus'] == c and not r['declined'])}" for c in corpora))


if __name__ == "__main__":
    command, path = sys.argv[1:3]
    {"collect": collect, "analyse": analyse}[command](path)
