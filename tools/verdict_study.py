"""Yes/no verdicts (evals/README.md, *Yes/no verdicts*): how many of PubMedQA's labelled decisions the answer's
verdict gets right, and how many it gets wrong (a Yes or No against the label), as the verdict threshold of
the answer model moves (below it the answer says "The documents do not settle this").

1. ``collect``: every labelled question of PubMedQA and PubMedQA-plain (dev and test, own wording) through
   the product's own path with the shipped answer model and readers; the verdict and its probability as the answer
   reads them, of the statement it opens with (about 4 minutes on 2 cores from the suite's cached indexes).
2. ``analyse``: verdicts right / wrong per threshold, on dev's half the reader was not trained on (where
   `qa fit` chooses) and on test.

Usage: python tools/verdict_study.py collect OUT.json
       python tools/verdict_study.py analyse OUT.json
"""

from __future__ import annotations

import json
import sys


def collect(out: str) -> None:
    from qa.app.cli_common import settings_from_env
    from qa.eval.fit_data import collect_examples, half_of, question_key
    from qa.eval.scoring import VERDICT_OF_DECISION
    from qa.eval.suite import load_suite

    corpora = collect_examples(load_suite("evals/suite.json"), settings_from_env(), ("dev", "test"), names=("pubmedqa", "pubmedqa-plain"), progress=False)
    rows = []
    for corpus in corpora:
        answerer = corpus.pipeline.answerer
        for example in corpus.examples:
            if not example.gold.decision or not example.candidates.positions or example.kind != "own":
                continue
            weighed = answerer.weigh(example.terms, example.candidates, example.hits)
            reading = answerer.opening_verdict(example.searched, weighed, answerer.choose_statements(example.searched, weighed, answerer.model), answerer.model)
            rows.append({"corpus": corpus.name, "split": example.gold.split, "half": half_of(question_key(corpus.name, example.gold.id)),
                         "decision": VERDICT_OF_DECISION[example.gold.decision],
                         "verdict": reading.verdict if reading else None, "probability": reading.verdict_probability if reading else 0.0})
    with open(out, "w", encoding="utf-8") as file:
        json.dump(rows, file)
    print(f"{len(rows)} questions written to {out}", file=sys.stderr)


def analyse(path: str) -> None:
    from qa.eval.fit import VERDICT_THRESHOLDS, best_verdict_threshold

    with open(path, encoding="utf-8") as file:
        rows = json.load(file)
    groups = [(f"{corpus} {label}", [r for r in rows if r["corpus"] == corpus and keep(r)])
              for label, keep in (("dev (fit half)", lambda r: r["split"] == "dev" and r["half"] == "fit"), ("test", lambda r: r["split"] == "test"))
              for corpus in ("pubmedqa", "pubmedqa-plain")]
    print("| verdict threshold | " + " | ".join(f"{name}: right / wrong" for name, _ in groups) + " |")
    print("|---" * (len(groups) + 1) + "|")
    counts = [best_verdict_threshold([(r["verdict"] or "unclear", r["probability"], r["decision"]) for r in group])[1:] for _, group in groups]
    for threshold in VERDICT_THRESHOLDS:
        cells = [f"{right[threshold] / len(group):.3f} / {wrong[threshold] / len(group):.3f}" for (right, wrong), (_, group) in zip(counts, groups)]
        print(f"| {threshold} | " + " | ".join(cells) + " |")
    for name, group in groups:
        print(f"{name}: {len(group)} questions, answering 'yes' to all: {sum(r['decision'] == 'yes' for r in group) / len(group):.3f} right")


if __name__ == "__main__":
    command, path = sys.argv[1:3]
    {"collect": collect, "analyse": analyse}[command](path)
