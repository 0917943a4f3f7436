"""`qa fit --ablation`: what each part of the answer model is worth. Every variant is fitted on the dev
splits exactly as `qa fit` fits the model (only what the variant changes differs) and scored on dev and
test; test is reported, never used to choose. Each fit reads its fitting questions with its own ranker (as
`qa fit` does); every variant is scored with the readings of the answerer's ranker, read once."""

from __future__ import annotations

from dataclasses import replace

from qa.eval.fit import fit_model, rank_groups, read_examples
from qa.eval.fit_statements import evaluate, macro
from qa.eval.fit_learners import fit_listwise
from qa.eval.fit_data import CorpusExamples

# Signals that come from hand-written word lists or patterns, grouped as they would be removed together.
WORD_LIST_SIGNALS = frozenset({"summary", "meta", "cue_asked", "answer_type", "figure_asked", "figure_missing", "title_question", "focus"})
MISMATCH_SIGNALS = frozenset({"names_missing", "numbers_missing", "negation_mismatch"})
CONTRAST_SIGNALS = frozenset({"dense_contrast", "passage_contrast", "bm25_contrast"})
UNKNOWN_WORD_SIGNALS = frozenset({"unknown_share", "rare_unknown", "common_unknown"})
SIGNAL_GROUPS = {"word-list": WORD_LIST_SIGNALS, "mismatch": MISMATCH_SIGNALS, "contrast": CONTRAST_SIGNALS, "unknown-word": UNKNOWN_WORD_SIGNALS}
REPORTED = ("evidence_cited", "evidence_top_k_cited", "answer_contained", "false_abstention", "typo.false_abstention", "abstention_recall", "cross_corpus_abstained")


def ablation(corpora: list[CorpusExamples], uncorrected: list[CorpusExamples] | None = None, log=print) -> list[dict]:
    """One row per variant: macro figures over the answer corpora, dev and test."""
    quiet = lambda line: None  # noqa: E731
    features = fit_model(corpora, frozenset({"reader"}), log=quiet).model
    reads = read_examples(corpora, features.rank, log=log)  # the ranker does not depend on the reader: the full model's
    full = fit_model(corpora, log=quiet)
    variants = [("the fitted model (features and reader)", corpora, full.model, reads), ("features alone (no reader)", corpora, features, {})]
    variants.append(("reader alone orders the 8 best-ranked", corpora, fit_model(corpora, frozenset({"rank"}), log=quiet).model, reads))
    for name, without in (("without word-list signals", WORD_LIST_SIGNALS), ("without mismatch signals", MISMATCH_SIGNALS),
                          ("without contrast signals", CONTRAST_SIGNALS), ("without unknown-word signals", UNKNOWN_WORD_SIGNALS)):
        variants.append((name, corpora, fit_model(corpora, without, log=quiet).model, reads))
    groups, weights, _ = rank_groups(corpora)
    listwise = replace(full.model, rank=fit_listwise(groups, weights, full.model.rank.signals))
    variants.append(("rank model: conditional logit instead of trees", corpora, listwise, read_examples(corpora, listwise.rank, log=log)))
    if uncorrected is not None:
        variants.append(("no spelling correction", uncorrected, full.model, read_examples(uncorrected, full.model.rank, log=log)))
    rows = []
    for name, examples, model, variant_reads in variants:
        row = {"variant": name}
        for split in ("dev", "test"):
            summaries = evaluate(examples, model, split, variant_reads)
            row[split] = {metric: macro(summaries, metric) for metric in REPORTED}
        log(f"{name}: test {row['test']}")
        rows.append(row)
    return rows


def ablation_markdown(rows: list[dict]) -> str:
    header = "| variant | " + " | ".join(m.replace("_", " ") for m in REPORTED) + " |"
    lines = [header, "|---|" + "---|" * len(REPORTED)]
    for row in rows:
        lines.append(f"| {row['variant']} | " + " | ".join(f"{row['test'][m]:.3f} ({row['dev'][m]:.3f})" for m in REPORTED) + " |")
    return "\n".join(lines) + "\n\nMacro over the answer corpora, test (dev in parentheses).\n"
