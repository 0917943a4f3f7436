"""Held out by library (`make eval-held-out`, `qa eval --suite evals/suite.json --held-out`): every fitted choice
judged on a library it was not fitted on.

For each library of the suite (libraries asked the same questions, such as PubMedQA and its plain-text copy, are
left out together), everything `qa fit` fits is fitted again without it: the ranker and its size, the reader's
combination with it, the decline model and its threshold, the statement rule and the verdict threshold. Other
libraries' foreign questions taken from it leave the fit too. Its test split is then answered with that fit and scored beside the fit on every library, the in-sample
figure. The reader itself stays trained on half of every library's dev questions: it has read text and questions of
the held-out library's kind, never its test split.

Every fit is scored under its own decline threshold (no training library declines more than TARGET_DECLINED of its
answerable dev questions) and under those other targets would give it, so that the target is judged held out too.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from qa.errors import QAError
from qa.eval.fit import Fitted, fit_model, read_examples, threshold_within
from qa.eval.fit_statements import evaluate
from qa.eval.fit_data import CorpusExamples, collect_examples
from qa.eval.suite import Suite, library_family

OTHER_TARGETS = (0.01, 0.02, 0.04)  # shares of answerable dev questions declined, beside qa fit's TARGET_DECLINED
THRESHOLDS = ("model", *(f"target {t}" for t in OTHER_TARGETS))
REPORTED = ("false_abstention", "typo.false_abstention", "message.false_abstention", "abstention_recall", "cross_corpus_abstained", "evidence_cited",
            "message.evidence_cited", "right_document_cited", "key_fact_recall", "answer_f1", "verdict_accuracy", "verdict_contradicted")


def library_families(suite: Suite, names: list[str]) -> list[tuple[str, ...]]:
    """The libraries left out together: each with the libraries asked the same questions."""
    families: list[tuple[str, ...]] = []
    for name in names:
        family = tuple(n for n in library_family(suite.corpora, name) if n in names)
        if family not in families:
            families.append(family)
    return families


def leave_out(corpora: list[CorpusExamples], family: tuple[str, ...]) -> list[CorpusExamples]:
    """The other libraries, without the foreign questions they were asked from ``family`` ("x:<library>:<id>")."""
    return [
        replace(c, examples=[e for e in c.examples if not (e.kind == "foreign" and e.gold.id.split(":")[1] in family)])
        for c in corpora
        if c.name not in family
    ]


def run_held_out(suite: Suite, settings, without: frozenset[str] = frozenset(), held: tuple[str, ...] = (), in_sample: bool = True, folds: str = "question",
                 progress: bool = True, log=None) -> dict:
    """Every library held out in turn (``held``: only these, each with its family), and the fit on every library
    (``in_sample``); test splits scored under each threshold. ``folds``: the fits' cross-validation (qa/eval/fit.Folds)."""
    log = log or (lambda message: print(message, file=sys.stderr))
    quiet = lambda message: None  # noqa: E731
    names = [c.name for c in suite.corpora if c.questions]
    unknown = sorted(set(held) - set(names))
    if unknown:
        raise QAError(f"no library {', '.join(unknown)} in the suite; name one of: {', '.join(names)}")
    started = time.perf_counter()
    corpora = collect_examples(suite, settings, ("dev", "test"), progress=progress, log=log)
    log(f"examples: {time.perf_counter() - started:.0f} s")
    families = [f for f in library_families(suite, names) if not held or set(f) & set(held)]
    read_cache: dict = {}
    report: dict = {"without": sorted(without), "folds": folds, "libraries": {name: {} for name in names if not held or any(name in f for f in families)}, "fits": {}}
    for family in [None, *families] if in_sample else families:
        fit_started = time.perf_counter()
        fitted = fit_model(corpora if family is None else leave_out(corpora, family), without, log=quiet, read_cache=read_cache, folds=folds)
        label = "in sample" if family is None else "held out"
        for corpus in [c for c in corpora if c.name in report["libraries"] and (family is None or c.name in family)]:
            report["libraries"][corpus.name][label] = _scored(corpus, fitted, read_cache)
        fit_name = "every library" if family is None else "without " + " and ".join(family)
        model = fitted.model
        report["fits"][fit_name] = {"threshold": round(model.threshold, 4), "keep_ratio": model.keep_ratio, "follow_ratio": model.follow_ratio,
                                    "seconds": round(time.perf_counter() - fit_started)}
        log(f"{fit_name}: threshold {model.threshold:.4f}, keep_ratio {model.keep_ratio}, follow_ratio {model.follow_ratio}, "
            f"{time.perf_counter() - fit_started:.0f} s")
    report["seconds"] = round(time.perf_counter() - started)
    return report


def _scored(corpus: CorpusExamples, fitted: Fitted, read_cache: dict) -> dict:
    """The library's test split answered with ``fitted`` under each threshold."""
    test = replace(corpus, examples=[e for e in corpus.examples if e.split == "test"])
    reads = read_examples([test], fitted.model.rank, log=lambda message: None, cache=read_cache)
    thresholds = {"model": fitted.model.threshold, **{f"target {t}": threshold_within(fitted.unseen_answerable, t) for t in OTHER_TARGETS}}
    weighed: dict = {}  # the thresholds do not change how candidates are weighed
    scored = {}
    for name, threshold in thresholds.items():
        summary = evaluate([test], replace(fitted.model, threshold=threshold), "test", reads, weighed)[corpus.name]
        scored[name] = {"threshold": round(threshold, 4), **{metric: summary.get(metric) for metric in REPORTED}}
    return scored


def held_out_markdown(report: dict) -> str:
    """Per threshold, one row per library, worst first: held out / in sample."""
    lines = []
    titles = ("answerable declined", "typo'd declined", "messages declined", "unanswerable declined", "other libraries' declined", "evidence cited",
              "messages: evidence cited", "right document cited", "key facts", "answer F1", "verdicts right", "verdicts contradicted")
    for threshold in THRESHOLDS:
        described = "the fitted model's own" if threshold == "model" else f"the fit's, for {threshold} of answerable questions declined"
        lines += [f"### Decline threshold: {described}", "",
                  "| library (held out / in sample) | threshold | " + " | ".join(titles) + " |", "|---|---|" + "---|" * len(titles)]
        for name in worst_first(report, threshold):
            held, inside = (report["libraries"][name].get(side, {}).get(threshold, {}) for side in ("held out", "in sample"))
            cells = [_pair(held.get(metric), inside.get(metric)) for metric in REPORTED]
            lines.append(f"| {name} | {_pair(held.get('threshold'), inside.get('threshold'))} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["| fit | threshold | keep ratio | follow ratio | seconds |", "|---|---|---|---|---|"]
    for fit_name, fit in report["fits"].items():  # runs before 2026-12-07 (evening) recorded no statement rule: "–"
        follow = "–" if "follow_ratio" not in fit else fit["follow_ratio"] or "none"
        lines.append(f"| {fit_name} | {fit['threshold']} | {fit.get('keep_ratio', '–')} | {follow} | {fit['seconds']} |")
    return "\n".join(lines) + f"\n\nTest splits; {report['seconds'] / 60:.0f} minutes in all.\n"


def worst_first(report: dict, threshold: str) -> list[str]:
    """Libraries by held-out answerable questions declined (most first), then by evidence cited (least first)."""
    def key(name: str):
        held = report["libraries"][name].get("held out", {}).get(threshold, {})
        return (-(held.get("false_abstention") or 0.0), held.get("evidence_cited") or 0.0)

    return sorted(report["libraries"], key=key)


def _pair(held, inside) -> str:
    def shown(value) -> str:
        return "–" if value is None else f"{value:.3f}"

    return f"{shown(held)} / {shown(inside)}"
