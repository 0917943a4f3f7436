"""The decline studies in evals/README.md (*Declining: the reader's view and boosted trees, measured again*;
*A threshold on each library's own scale*): does the reader's view, boosted trees, or a threshold per library
decline more of the questions the documents do not answer?

1. ``collect``: every dev question of the suite through the product's own path, its question signals computed
   with a ranker fitted without its fold (qa/eval/fit.py), and the shipped reader over its 8 best-ranked
   candidates; written as JSON (about 7 minutes of signals and 5 of reading on 2 cores, from the suite's
   cached indexes).
2. ``analyse``: on the half of dev the reader was not trained on (or ``--half all``), decline models fitted by
   3-fold cross-validation, each given `qa fit`'s threshold rule; per corpus the answerable questions declined,
   the unanswerable and other corpora's questions declined, and the AUC of answerable against the rest.

3. ``library-scale``: one threshold for every library against a threshold on each library's own scale: the
   ceiling (each corpus its threshold from its own labels), and label-free rules, the quantile of the
   confidences of questions from other collections asked of the library (``collect-probes``: SciFact's
   training claims and the SQuAD 2.0 training subset's questions, 200 of each, about 2 minutes).

Usage: python tools/decline_study.py collect OUT.json
       python tools/decline_study.py analyse OUT.json [--half fit|reader|all] [--trees N]
       python tools/decline_study.py collect-probes PROBES.json
       python tools/decline_study.py write-probes   (qa/answer/probes.json, the product's)
       python tools/decline_study.py library-scale OUT.json [--probes PROBES.json] [--half fit|reader|all]
"""

from __future__ import annotations

import argparse
import json
import math
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


PROBE_COUNT = 200  # questions of each bank asked of each library


def probe_banks() -> dict[str, list[str]]:
    """Questions from collections outside the suite's answer corpora: the SQuAD 2.0 training subset the reader
    trains on (other Wikipedia articles than squad2's), and SciFact's training claims (biomedical statements);
    a seeded sample of each."""
    import random

    with open("evals/reader-data/squad2-train-10-articles.json", encoding="utf-8") as file:
        squad = [qa["question"] for article in json.load(file)["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    with open("../shared/bench/scifact/queries_train.jsonl", encoding="utf-8") as file:
        claims = [json.loads(line)["text"] for line in file if line.strip()]
    return {name: random.Random(0).sample(bank, PROBE_COUNT) for name, bank in (("squad-train", squad), ("scifact-claims", claims))}


SHIPPED_QUANTILE = 0.8  # chosen by library-scale on dev (0.85 / 0.80 / 0.75 on the three folds)


def write_probes(out: str = "qa/answer/probes.json") -> None:
    """The product's probe questions (qa/answer/library_scale.py): this study's SciFact sample and quantile, and the cap on the threshold they may set."""
    import hashlib
    from pathlib import Path

    from qa.files import write_atomically

    source = "../shared/bench/scifact/queries_train.jsonl"
    with open(source, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    questions = probe_banks()["scifact-claims"]
    needed = suite_library_thresholds(questions, SHIPPED_QUANTILE)
    data = {"about": "Questions from another collection, asked of each library to find its own decline threshold (qa/answer/library_scale.py); "
                     "written by `python tools/decline_study.py write-probes`.",
            "source": "SciFact training claims (bench/scifact/queries_train.jsonl), a seeded sample", "source_sha256": digest,
            "quantile": SHIPPED_QUANTILE, "chosen_by": "tools/decline_study.py library-scale on the suite's dev splits (evals/README.md)",
            "cap": math.ceil(max(needed.values()) * 100) / 100,
            "cap_by": "the highest threshold the probes give a suite answer library (rounded up to 0.01): no library is held stricter than "
                      f"one the suite has measured; {', '.join(f'{name} {value:.4f}' for name, value in needed.items())}",
            "questions": questions}
    write_atomically(Path(out), json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}", file=sys.stderr)


def suite_library_thresholds(questions: list[str], quantile: float) -> dict[str, float]:
    """The threshold ``questions`` at ``quantile`` give each of the suite's answer libraries (the shipped answer
    model, the product's own path, no cap)."""
    from qa.answer import library_scale as scale
    from qa.app.cli_common import settings_from_env
    from qa.eval.suite import load_suite, suite_index
    from qa.pipeline import open_pipeline

    settings, suite, found = settings_from_env(), load_suite("evals/suite.json"), {}
    probes = scale.Probes(tuple(questions), quantile, "uncapped", cap=1.0)
    for corpus in (c for c in suite.corpora if c.questions):
        pipeline = open_pipeline(settings.with_overrides(index=suite_index(corpus, suite.cache, settings.model, False)[0]), check_corpus=False, own_scale=False)
        correct = lambda question: pipeline.query(question).text  # noqa: E731
        found[corpus.name] = scale.find_scale(pipeline.answerer, pipeline.retriever, correct, settings.mode, settings.k, probes).threshold
    return found


def collect_probes(out: str) -> None:
    """Each bank's questions asked of each answer corpus's library (the suite's cached indexes), their question
    signals from the shipped ranker, which has seen none of them."""
    from qa.answer.reading import NOTHING_READ
    from qa.app.cli_common import settings_from_env
    from qa.eval.suite import load_suite, suite_index
    from qa.pipeline import open_pipeline

    settings, suite, banks, rows = settings_from_env(), load_suite("evals/suite.json"), probe_banks(), []
    for corpus in (c for c in suite.corpora if c.questions):
        pipeline = open_pipeline(settings.with_overrides(index=suite_index(corpus, suite.cache, settings.model, False)[0]), check_corpus=False, own_scale=False)
        answerer = pipeline.answerer
        for bank, questions in banks.items():
            for question in questions:
                searched = pipeline.query(question).text
                hits = pipeline.retriever.search(searched, settings.mode, settings.k)
                terms, candidates = answerer.signals(searched, hits)
                if not candidates.positions:
                    continue
                scores = answerer.model.rank.score(candidates.values)
                values = answerer.question_values(terms, candidates, hits, answerer.model, scores, NOTHING_READ)[1]
                rows.append({"corpus": corpus.name, "bank": bank, "question": [float(v) for v in values]})
        print(f"{corpus.name}: probes asked", file=sys.stderr)
    with open(out, "w", encoding="utf-8") as file:
        json.dump(rows, file)


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


def _held_out_confidences(values: np.ndarray, labels: np.ndarray, weights: np.ndarray, folds: np.ndarray, trees: int, extra: np.ndarray | None = None):
    """Each row's confidence from a decline model fitted on the other two folds; with ``extra`` (more rows'
    values), also their confidences under each fold's model: (confidences, [per fold])."""
    from sklearn.linear_model import LogisticRegression

    confidences, extra_confidences = np.zeros(len(values)), []
    for fold in range(3):
        train, test = folds != fold, folds == fold
        mean, scale = values[train].mean(0), values[train].std(0)
        scale[scale < 1e-9] = 1.0
        if trees:
            import lightgbm

            model = lightgbm.LGBMClassifier(n_estimators=trees, num_leaves=7, learning_rate=0.05, min_child_samples=30, subsample=0.8, subsample_freq=1,
                                            colsample_bytree=0.8, verbose=-1, random_state=0).fit(values[train], labels[train], sample_weight=weights[train])
            confidences[test] = model.predict_proba(values[test])[:, 1]
            if extra is not None:
                extra_confidences.append(model.predict_proba(extra)[:, 1])
        else:
            model = LogisticRegression(C=1.0, max_iter=5000).fit((values[train] - mean) / scale, labels[train], sample_weight=weights[train])
            confidences[test] = model.predict_proba((values[test] - mean) / scale)[:, 1]
            if extra is not None:
                extra_confidences.append(model.predict_proba((extra - mean) / scale)[:, 1])
    return (confidences, extra_confidences) if extra is not None else confidences


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


LIBRARY_QUANTILES = (0.5, 0.7, 0.8, 0.9)
PROBE_QUANTILES = (0.9, 0.95, 0.99, 1.0)


def library_scale(path: str, half: str, probes_path: str | None = None) -> None:
    """One threshold for every library against a threshold on each library's own scale.

    - "each corpus its own, from its labels": the threshold rule applied inside each corpus alone. It needs
      answerable questions the library is known to answer, so it is the ceiling of any per-library rule.
    - "quantile q of the library's probe questions": label-free. Questions from other collections are asked of
      the library; its threshold is the q-quantile of their confidences (so it declines about q of such
      questions), never below the one threshold. Here the probes are the other corpora's questions of two
      folds, and the rule is measured on the third.
    """
    from qa.eval.fit import choose_threshold

    rows, labels, weights, folds, keys = _load(path, half)
    corpora = sorted({r["corpus"] for r in rows})
    probes = []
    if probes_path:
        with open(probes_path, encoding="utf-8") as file:
            probes = json.load(file)
    extra = np.array([p["question"] for p in probes]) if probes else np.zeros((1, len(rows[0]["question"])))
    confidences, probe_confidences = _held_out_confidences(np.array([_features(r, ("question signals",)) for r in rows]), labels, weights, folds, 0, extra)
    shared = choose_threshold(confidences, keys)
    print(f"one threshold for every library: {shared:.3f}")
    for corpus in corpora:
        inside = [i for i, r in enumerate(rows) if r["corpus"] == corpus]
        print(f"  {corpus:15s} {_declined_line(rows, inside, confidences < shared)}")
    own = np.zeros(len(rows), dtype=bool)
    for corpus in corpora:
        for fold in range(3):
            fit_rows = [i for i, r in enumerate(rows) if r["corpus"] == corpus and folds[i] != fold]
            threshold = choose_threshold(confidences[fit_rows], [keys[i] for i in fit_rows])
            test = [i for i, r in enumerate(rows) if r["corpus"] == corpus and folds[i] == fold]
            own[test] = confidences[test] < threshold
    print("each corpus its own threshold, from its labels (the ceiling; held-out folds):")
    for corpus in corpora:
        print(f"  {corpus:15s} {_declined_line(rows, [i for i, r in enumerate(rows) if r['corpus'] == corpus], own)}")
    for quantile in LIBRARY_QUANTILES:
        def other_corpora(corpus: str, fold: int) -> list[float]:
            return [confidences[i] for i, r in enumerate(rows) if r["corpus"] == corpus and r["kind"] == "foreign" and folds[i] != fold]

        _per_library(rows, folds, confidences, shared, other_corpora, f"quantile {quantile} of the other corpora's questions", quantile)
    for bank in sorted({p["bank"] for p in probes}) + (["both banks"] if probes else []):
        _fitted_quantile(rows, folds, keys, confidences, probes, probe_confidences, shared, bank)
    for bank in sorted({p["bank"] for p in probes}):
        for quantile in PROBE_QUANTILES:
            def asked_of(corpus: str, fold: int, bank: str = bank) -> np.ndarray:
                return probe_confidences[fold][[j for j, p in enumerate(probes) if p["bank"] == bank and p["corpus"] == corpus]]

            _per_library(rows, folds, confidences, shared, asked_of, f"quantile {quantile} of {bank} asked of the library", quantile)


def _per_library(rows, folds, confidences, shared: float, bank_of, label: str, quantile: float) -> None:
    """Each corpus's threshold on each fold: the ``quantile`` of ``bank_of(corpus, fold)``'s confidences, never
    below the one threshold; the shares declined, measured on that fold."""
    declined, chosen = np.zeros(len(rows), dtype=bool), {}
    for corpus in sorted({r["corpus"] for r in rows}):
        for fold in range(3):
            bank = bank_of(corpus, fold)
            threshold = max(shared, float(np.quantile(bank, quantile))) if len(bank) else shared
            chosen.setdefault(corpus, []).append(threshold)
            test = [i for i, r in enumerate(rows) if r["corpus"] == corpus and folds[i] == fold]
            declined[test] = confidences[test] < threshold
    print(f"{label} (thresholds {', '.join(f'{c} {np.mean(t):.3f}' for c, t in chosen.items())}):")
    for corpus in chosen:
        print(f"  {corpus:15s} {_declined_line(rows, [i for i, r in enumerate(rows) if r['corpus'] == corpus], declined)}")


def _probe_thresholds(probes: list[dict], probe_confidences: np.ndarray, shared: float, bank: str, quantile: float) -> dict[str, float]:
    """Each library's threshold: the ``quantile`` of its probe confidences ("both banks": the higher of the
    two), never below the one threshold."""
    thresholds: dict[str, float] = {}
    for corpus in {p["corpus"] for p in probes}:
        for name in ({p["bank"] for p in probes} if bank == "both banks" else {bank}):
            asked = [j for j, p in enumerate(probes) if p["bank"] == name and p["corpus"] == corpus]
            thresholds[corpus] = max(thresholds.get(corpus, shared), float(np.quantile(probe_confidences[asked], quantile)))
    return thresholds


def _fitted_quantile(rows, folds, keys, confidences, probes, probe_confidences, shared: float, bank: str) -> None:
    """The quantile chosen on two folds (the highest at which no corpus declines more than `qa fit`'s target of
    its answerable questions, own and typo'd apart, or than the one threshold already declines), the
    libraries' thresholds from it, measured on the third."""
    from qa.eval.fit import TARGET_DECLINED

    grid = [round(q, 2) for q in np.arange(0.5, 1.0001, 0.05)]
    declined, chosen = np.zeros(len(rows), dtype=bool), []
    for fold in range(3):
        def within(quantile: float) -> bool:
            thresholds = _probe_thresholds(probes, probe_confidences[fold], shared, bank, quantile)
            for corpus in thresholds:
                for kind in ("own", "typo"):
                    group = [i for i, r in enumerate(rows) if r["corpus"] == corpus and r["kind"] == kind and r["answerable"] and folds[i] != fold]
                    allowed = max(TARGET_DECLINED, float(np.mean(confidences[group] < shared))) if group else 1.0
                    if group and np.mean(confidences[group] < thresholds[corpus]) > allowed:
                        return False
            return True

        quantile = max([q for q in grid if within(q)], default=None)
        chosen.append(quantile)
        thresholds = _probe_thresholds(probes, probe_confidences[fold], shared, bank, quantile) if quantile is not None else {}
        for i, r in enumerate(rows):
            if folds[i] == fold:
                declined[i] = confidences[i] < thresholds.get(r["corpus"], shared)
    print(f"{bank}, quantile chosen on two folds ({', '.join(str(q) for q in chosen)}), measured on the third:")
    for corpus in sorted({r["corpus"] for r in rows}):
        print(f"  {corpus:15s} {_declined_line(rows, [i for i, r in enumerate(rows) if r['corpus'] == corpus], declined)}")


def test_split(reports: list[str], probes_path: str, quantile: float) -> None:
    """The shipped answer model's test-split answers (suite reports, per-question confidences) declined by its
    one threshold, and by each library's own: the ``quantile`` (chosen on dev by ``library-scale``) of the
    SciFact probes' confidences under the shipped decline model, never below the one threshold."""
    from qa.answer.model import load_answer_model
    from qa.eval.suite import kind_of

    model = load_answer_model()
    with open(probes_path, encoding="utf-8") as file:
        probes = [p for p in json.load(file) if p["bank"] == "scifact-claims"]
    print(f"shipped threshold {model.threshold:.4f}; each library's: the {quantile} quantile of {len(probes) // 6} SciFact claims asked of it")
    for path in reports:
        with open(path, encoding="utf-8") as file:
            corpora = json.load(file)["corpora"]
        for name, entry in corpora.items():
            records = entry.get("splits", {}).get("test", {}).get("records", [])
            asked = np.array([p["question"] for p in probes if p["corpus"] == name])
            if not records or not len(asked):
                continue
            own = max(model.threshold, float(np.quantile(model.decline.probability(asked), quantile)))

            def share(threshold: float, kind: str, answerable: bool) -> str:
                chosen = [r for r in records if kind_of(r["id"]) == kind and r["answerable"] == answerable]
                declined = [r["abstained"] if r.get("confidence") is None else r["confidence"] < threshold for r in chosen]
                return f"{np.mean(declined):.3f}" if chosen else "-"

            for label, threshold in (("one threshold", model.threshold), (f"its own {own:.4f}", own)):
                print(f"  {name:15s} {label:18s} answerable {share(threshold, 'own', True)} typo'd {share(threshold, 'typo', True)} "
                      f"unanswerable {share(threshold, 'own', False)} other corpora's {share(threshold, 'foreign', False)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("collect").add_argument("out")
    study = commands.add_parser("analyse")
    study.add_argument("data")
    study.add_argument("--half", choices=["fit", "reader", "all"], default="fit")
    study.add_argument("--trees", type=int, default=0, help="LightGBM trees instead of the logistic regression")
    scale = commands.add_parser("library-scale")
    scale.add_argument("data")
    scale.add_argument("--half", choices=["fit", "reader", "all"], default="all")
    scale.add_argument("--probes", default=None, help="the output of collect-probes: also each bank's quantile as the library's threshold")
    commands.add_parser("collect-probes").add_argument("out")
    commands.add_parser("write-probes")
    test = commands.add_parser("test-split")
    test.add_argument("reports", nargs="+", help="report.json files of `qa eval --suite` runs")
    test.add_argument("--probes", required=True)
    test.add_argument("--quantile", type=float, default=0.8)
    args = parser.parse_args()
    if args.command == "collect":
        collect(args.out)
    elif args.command == "collect-probes":
        collect_probes(args.out)
    elif args.command == "write-probes":
        write_probes()
    elif args.command == "test-split":
        test_split(args.reports, args.probes, args.quantile)
    elif args.command == "analyse":
        analyse(args.data, args.half, args.trees)
    else:
        library_scale(args.data, args.half, args.probes)


if __name__ == "__main__":
    main()
