"""The decline study in evals/README.md (*Declining: the reader's view and boosted trees, measured again*): does the
reader's view, or boosted trees, decline more of the questions the documents do not answer?

1. ``collect``: every dev question of the suite through the product's own path, its question signals computed
   with a ranker fitted without its fold (qa/eval/fit.py), and the shipped reader over its 8 best-ranked
   candidates; written as JSON (about 7 minutes of signals and 5 of reading on 2 cores, from the suite's
   cached indexes).
2. ``analyse``: on the half of dev the reader was not trained on (or ``--half all``), decline models fitted by
   3-fold cross-validation, each given `qa fit`'s threshold rule; per corpus the answerable questions declined,
   the unanswerable and other corpora's questions declined, and the AUC of answerable against the rest.

The third study of the time, a threshold on each library's own scale set by probe questions, was shipped and then
removed when judged held out by library (evals/README.md, *Held out by library*): its code went with it.

Usage: python tools/decline_study.py collect OUT.json
       python tools/decline_study.py analyse OUT.json [--half fit|reader|all] [--trees N]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

FEATURE_SETS = (("question signals",), ("reader's best",), ("reader's four",), ("question signals", "reader's best"), ("question signals", "reader's four"))


def collect(out: str) -> None:
    from qa.answer.model import AnswerModel, LinearModel, load_answer_model
    from qa.answer.reader import shipped_reader
    from qa.answer.reading import NOTHING_READ, read_candidates
    from qa.answer.signals import QUESTION_SIGNALS
    from qa.app.cli_common import settings_from_env
    from qa.eval import fit
    from qa.eval.fit_data import collect_examples, half_of, question_key
    from qa.eval.suite import load_suite

    corpora = collect_examples(load_suite("evals/suite.json"), settings_from_env(), ("dev",), progress=False, log=lambda m: print(m, file=sys.stderr))
    groups, weights, keys = fit.rank_groups(corpora)
    chosen = load_answer_model().fitted["ranker"]["lightgbm"]
    parameters = {name: chosen[name] for name in ("n_estimators", "num_leaves")}
    folds = [fit.fold_of(key) for key in keys]
    rankers = [fit.fit_trees_on((i for i, f in enumerate(folds) if f != fold), groups, weights, parameters) for fold in range(fit.FOLDS)]
    blank = AnswerModel(rankers[0], LinearModel(QUESTION_SIGNALS, np.zeros(len(QUESTION_SIGNALS)), np.ones(len(QUESTION_SIGNALS)), np.zeros(len(QUESTION_SIGNALS)), 0.0), 0.0, 1.0, 3, 420, {})
    reader, rows = shipped_reader(), []
    for corpus in corpora:
        answerer = corpus.pipeline.answerer
        for example in (e for e in corpus.examples if e.candidates.positions):
            key = question_key(corpus.name, example.gold.id)
            scores = rankers[fit.fold_of(key)].score(example.candidates.values)
            question = answerer.question_values(example.terms, example.candidates, example.hits, blank, scores, NOTHING_READ)[1]
            read = read_candidates(reader, example.terms.question, answerer.table, example.candidates, scores, 8)
            readings = sorted((r.score for r in read.readings), reverse=True) + [-10.0, -10.0]
            first = read.readings[0].score if read.readings else -10.0
            mean = float(np.mean([r.score for r in read.readings])) if read.readings else -10.0
            rows.append({"corpus": corpus.name, "kind": example.kind, "answerable": bool(example.gold.answerable), "half": half_of(key), "key": key,
                         "question": [float(v) for v in question], "reader": [readings[0], readings[1], first, mean]})
    with open(out, "w", encoding="utf-8") as file:
        json.dump(rows, file)
    print(f"{len(rows)} questions written to {out}", file=sys.stderr)


def _features(row: dict, names: tuple[str, ...]) -> np.ndarray:
    parts = {"question signals": row["question"], "reader's best": row["reader"][:1], "reader's four": row["reader"]}
    return np.concatenate([np.asarray(parts[name], dtype=float) for name in names])


def _load(path: str, half: str) -> tuple[list[dict], np.ndarray, np.ndarray, np.ndarray, list]:
    """The rows of ``half``, their labels, weights (in each corpus the answerable and the rest weigh the same),
    folds of their own (apart from the rankers' folds; a typo'd copy with its original) and `qa fit`'s keys."""
    import hashlib
    from collections import Counter
    from types import SimpleNamespace

    with open(path, encoding="utf-8") as file:
        rows = [r for r in json.load(file) if half == "all" or r["half"] == half]
    labels = np.array([r["answerable"] for r in rows])
    sizes = Counter((r["corpus"], r["answerable"]) for r in rows)
    weights = np.array([0.5 / sizes[r["corpus"], r["answerable"]] for r in rows])
    weights *= len(weights) / weights.sum()
    folds = np.array([int(hashlib.sha256((r["key"] + "x").encode()).hexdigest(), 16) % 3 for r in rows])
    keys = [(r["corpus"], SimpleNamespace(kind=r["kind"], gold=SimpleNamespace(answerable=r["answerable"]))) for r in rows]
    return rows, labels, weights, folds, keys


def _held_out_confidences(values: np.ndarray, labels: np.ndarray, weights: np.ndarray, folds: np.ndarray, trees: int) -> np.ndarray:
    """Each row's confidence from a decline model fitted on the other two folds."""
    from sklearn.linear_model import LogisticRegression

    confidences = np.zeros(len(values))
    for fold in range(3):
        train, test = folds != fold, folds == fold
        mean, scale = values[train].mean(0), values[train].std(0)
        scale[scale < 1e-9] = 1.0
        if trees:
            import lightgbm

            model = lightgbm.LGBMClassifier(n_estimators=trees, num_leaves=7, learning_rate=0.05, min_child_samples=30, subsample=0.8, subsample_freq=1,
                                            colsample_bytree=0.8, verbose=-1, random_state=0).fit(values[train], labels[train], sample_weight=weights[train])
            confidences[test] = model.predict_proba(values[test])[:, 1]
        else:
            model = LogisticRegression(C=1.0, max_iter=5000).fit((values[train] - mean) / scale, labels[train], sample_weight=weights[train])
            confidences[test] = model.predict_proba((values[test] - mean) / scale)[:, 1]
    return confidences


def _declined_line(rows: list[dict], inside: list[int], declined: np.ndarray) -> str:
    def share(kind: str, answerable: bool) -> str:
        chosen = [i for i in inside if rows[i]["kind"] == kind and rows[i]["answerable"] == answerable]
        return f"{np.mean(declined[chosen]):.2f}" if chosen else "-"

    return f"answerable {share('own', True)} typo'd {share('typo', True)} unanswerable {share('own', False)} other corpora's {share('foreign', False)}"


def analyse(path: str, half: str, trees: int) -> None:
    from sklearn.metrics import roc_auc_score

    from qa.eval.fit import choose_threshold

    rows, labels, weights, folds, keys = _load(path, half)
    corpora = sorted({r["corpus"] for r in rows})
    for names in FEATURE_SETS:
        values = np.array([_features(r, names) for r in rows])
        confidences = _held_out_confidences(values, labels, weights, folds, trees)
        threshold = choose_threshold(confidences, keys)
        print(f"{' + '.join(names)} ({f'{trees} trees' if trees else 'logistic'}): threshold {threshold:.3f}")
        for corpus in corpora:
            inside = [i for i, r in enumerate(rows) if r["corpus"] == corpus]
            auc = roc_auc_score(labels[inside], confidences[inside]) if len(set(labels[inside])) > 1 else float("nan")
            print(f"  {corpus:15s} {_declined_line(rows, inside, confidences < threshold)}  AUC {auc:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("collect").add_argument("out")
    study = commands.add_parser("analyse")
    study.add_argument("data")
    study.add_argument("--half", choices=["fit", "reader", "all"], default="fit")
    study.add_argument("--trees", type=int, default=0, help="LightGBM trees instead of the logistic regression")
    args = parser.parse_args()
    if args.command == "collect":
        collect(args.out)
    else:
        analyse(args.data, args.half, args.trees)


if __name__ == "__main__":
    main()
