"""Held out by library (`make eval-held-out`, `qa eval --suite evals/suite.json --held-out`): every fitted choice
judged on a library it was not fitted on.

For each library of the suite (libraries asked the same questions, such as PubMedQA and its plain-text copy, are
left out together), everything `qa fit` fits is fitted again without it: the ranker and its size, the reader's
combination with it, the decline model and its threshold, the statement rule and the verdict threshold, and the
probe scale's quantile and cap (``choose_probe_scale``). Other libraries' foreign questions taken from it leave the
fit too. Its test split is then answered with that fit and scored beside the fit on every library, the in-sample
figure. The reader itself stays trained on half of every library's dev questions: it has read text and questions of
the held-out library's kind, never its test split.

Two decline thresholds are scored for every fit: the fitted model's own, and that threshold raised to the library's
probe scale (qa/answer/library_scale.py) with the quantile and cap chosen on the training libraries.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, replace

import numpy as np

from qa.answer.library_scale import load_probes, probe_confidences, probe_signals, scale_of
from qa.eval.fit import TARGET_DECLINED, Fitted, evaluate, fit_model, read_examples, threshold_within
from qa.eval.fit_data import CorpusExamples, collect_examples
from qa.eval.suite import Suite, question_families

QUANTILES = tuple(round(0.5 + 0.05 * step, 2) for step in range(11))  # the probe quantiles tried, 0.50 to 1.00
# The decline thresholds scored: the fitted model's own (each library declines at most TARGET_DECLINED of its answerable
# dev questions); that raised to the library's probe scale; and the threshold other targets would have given.
OTHER_TARGETS = (0.01, 0.02)
THRESHOLDS = ("model", "probes", *(f"target {t}" for t in OTHER_TARGETS))
REPORTED = ("false_abstention", "typo.false_abstention", "message.false_abstention", "abstention_recall", "cross_corpus_abstained", "evidence_cited",
            "right_document_cited", "answer_f1", "verdict_accuracy", "verdict_contradicted")


@dataclass(frozen=True)
class ProbeScale:
    """How a library's probes raise its threshold: their ``quantile``, never above ``cap``."""

    quantile: float
    cap: float


def library_families(suite: Suite, names: list[str]) -> list[tuple[str, ...]]:
    """The libraries left out together: each with the libraries asked the same questions."""
    related = question_families(suite.corpora)
    families: list[tuple[str, ...]] = []
    for name in names:
        family = tuple(sorted({name, *(related.get(name, ()))} & set(names)))
        if family not in families:
            families.append(family)
    return families


def leave_out(corpora: list[CorpusExamples], family: tuple[str, ...]) -> list[CorpusExamples]:
    """The other libraries, without the foreign questions they were asked from ``family`` ("x:<library>:<id>")."""
    return [
        CorpusExamples(c.name, c.pipeline, [e for e in c.examples if not (e.kind == "foreign" and e.gold.id.split(":")[1] in family)])
        for c in corpora
        if c.name not in family
    ]


def declined_share(confidences: list[float], threshold: float) -> float:
    return sum(c < threshold for c in confidences) / len(confidences) if confidences else 0.0


def choose_probe_scale(fitted: Fitted, probe_confidence: dict[str, list[float]]) -> ProbeScale | None:
    """The highest quantile at which no training library declines more of its answerable dev questions (own and
    typo'd apart, each scored by rankers fitted without it) than the target or than the model's threshold already
    does; the cap is the highest threshold that quantile gives a training library, rounded up to 0.01. None when no
    quantile keeps every library within the target."""
    threshold = fitted.model.threshold
    for quantile in sorted(QUANTILES, reverse=True):
        raised = {name: max(threshold, float(np.quantile(values, quantile))) for name, values in probe_confidence.items() if values}
        if all(declined_share(values, raised.get(name, threshold)) <= max(TARGET_DECLINED, declined_share(values, threshold))
               for (name, _), values in fitted.unseen_answerable.items()):
            return ProbeScale(quantile, math.ceil(max(raised.values(), default=threshold) * 100) / 100)
    return None


def library_threshold(confidences: list[float], threshold: float, scale: ProbeScale | None) -> float:
    return threshold if scale is None else scale_of(confidences, threshold, scale.quantile, scale.cap).threshold


def run_held_out(suite: Suite, settings, without: frozenset[str] = frozenset(), progress: bool = True, log=None) -> dict:
    """Every library held out in turn, and the fit on every library; test splits scored under both thresholds."""
    log = log or (lambda message: print(message, file=sys.stderr))
    quiet = lambda message: None  # noqa: E731
    started = time.perf_counter()
    corpora = collect_examples(suite, settings, ("dev", "test"), progress=progress, log=log)
    probes = load_probes()
    probes_met = {c.name: probe_signals(c.pipeline.answerer, c.pipeline.retriever, _corrector(c.pipeline), settings.mode, settings.k, probes) for c in corpora}
    log(f"examples and probes: {time.perf_counter() - started:.0f} s")
    names = [c.name for c in corpora]
    read_cache: dict = {}
    report: dict = {"without": sorted(without), "libraries": {name: {} for name in names}, "fits": {}}
    for family in [None, *library_families(suite, names)]:
        fit_started = time.perf_counter()
        training = corpora if family is None else leave_out(corpora, family)
        fitted = fit_model(training, without, log=quiet, read_cache=read_cache)
        confidence = {c.name: probe_confidences(c.pipeline.answerer, fitted.model, probes_met[c.name]) for c in corpora}
        scale = choose_probe_scale(fitted, {c.name: confidence[c.name] for c in training})
        label = "in sample" if family is None else "held out"
        for corpus in corpora if family is None else [c for c in corpora if c.name in family]:
            report["libraries"][corpus.name][label] = _scored(corpus, fitted, confidence[corpus.name], scale, read_cache)
        fit_name = "every library" if family is None else "without " + " and ".join(family)
        report["fits"][fit_name] = {"threshold": round(fitted.model.threshold, 4), "probe_scale": scale and vars(scale),
                                    "seconds": round(time.perf_counter() - fit_started)}
        log(f"{fit_name}: threshold {fitted.model.threshold:.4f}, probe scale {scale}, {time.perf_counter() - fit_started:.0f} s")
    report["seconds"] = round(time.perf_counter() - started)
    return report


def _scored(corpus: CorpusExamples, fitted: Fitted, probe_confidence: list[float], scale: ProbeScale | None, read_cache: dict) -> dict:
    """The library's test split answered with ``fitted`` under each threshold."""
    test = CorpusExamples(corpus.name, corpus.pipeline, [e for e in corpus.examples if e.split == "test"])
    reads = read_examples([test], fitted.model.rank, log=lambda message: None, cache=read_cache)
    thresholds = {"model": fitted.model.threshold, "probes": library_threshold(probe_confidence, fitted.model.threshold, scale),
                  **{f"target {t}": threshold_within(fitted.unseen_answerable, t) for t in OTHER_TARGETS}}
    weighed: dict = {}  # the thresholds do not change how candidates are weighed
    scored = {}
    for name, threshold in thresholds.items():
        summary = evaluate([corpus], replace(fitted.model, threshold=threshold), "test", reads, weighed)[corpus.name]
        scored[name] = {"threshold": round(threshold, 4), **{metric: summary.get(metric) for metric in REPORTED}}
    return scored


def _corrector(pipeline):
    return lambda question: pipeline.query(question).text


def held_out_markdown(report: dict) -> str:
    """Per threshold, one row per library, worst first: held out / in sample."""
    lines = []
    titles = ("answerable declined", "typo'd declined", "messages declined", "unanswerable declined", "other libraries' declined", "evidence cited", "right document cited",
              "answer F1", "verdicts right", "verdicts contradicted")
    for threshold in THRESHOLDS:
        described = {"model": "the fitted model's own", "probes": "raised to the library's probe scale"}.get(threshold, f"the fit's, for {threshold} of answerable questions declined")
        lines += [f"### Decline threshold: {described}", "",
                  "| library (held out / in sample) | threshold | " + " | ".join(titles) + " |", "|---|---|" + "---|" * len(titles)]
        for name in worst_first(report, threshold):
            held, inside = (report["libraries"][name].get(side, {}).get(threshold, {}) for side in ("held out", "in sample"))
            cells = [_pair(held.get(metric), inside.get(metric)) for metric in REPORTED]
            lines.append(f"| {name} | {_pair(held.get('threshold'), inside.get('threshold'))} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["| fit | threshold | probe quantile | cap | seconds |", "|---|---|---|---|---|"]
    for fit_name, fit in report["fits"].items():
        scale = fit["probe_scale"] or {}
        lines.append(f"| {fit_name} | {fit['threshold']} | {scale.get('quantile', '–')} | {scale.get('cap', '–')} | {fit['seconds']} |")
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
