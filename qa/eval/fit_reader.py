"""`qa fit --reader-only` (make fit-reader): after `make train-reader` or `make train-verdict-reader`, only what depends
on the readers is refitted; `qa fit --statements-only`: only the statement rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from qa.answer.model import AnswerModel
from qa.eval.fit_learners import RANKER_GRID
from qa.eval.fit import Fitted, Folds, choose_verdict_threshold, fit_reader_part, rank_groups, readers_fitted
from qa.eval.fit_statements import choose_statement_rule, evaluate
from qa.eval.fit_data import CorpusExamples
from qa.eval.suite import Suite


def the_models_libraries(suite: Suite, model: AnswerModel) -> Suite:
    """The suite's libraries the model was fitted on: a reader-only refit keeps them, as it keeps the rest of the
    model (libraries added to the suite since join with the next `make fit`)."""
    fitted_on = set(model.fitted.get("corpora", {})) or {c.name for c in suite.corpora}
    return replace(suite, corpora=[c for c in suite.corpora if c.name in fitted_on])


def reader_part_as_shipped(corpora: list[CorpusExamples], model: AnswerModel, log=print):
    """fit_reader_part with the model's own ranker size and folds: what both partial refits start from."""
    folds = model.fitted.get("ranker", {}).get("folds", "question")  # the shipped model's own
    parameters = {name: model.fitted["ranker"]["lightgbm"][name] for name in RANKER_GRID[0]}
    return fit_reader_part(corpora, model, rank_groups(corpora), parameters, Folds.of_corpora(corpora, folds), frozenset(), log)


def refit_reader_part(corpora: list[CorpusExamples], model: AnswerModel, log=print) -> Fitted:
    """`qa fit --reader-only`, after `make train-reader`: the reader's combination and the verdict threshold
    refitted for the shipped reader, while the model's ranker, decline model, threshold and statement rule stay
    as they are (a whole refit also moves the ranker's near-ties and the decline model: evals/README.md)."""
    with_reader, ranks, choosing, reads = reader_part_as_shipped(corpora, model, log)
    fitted = {key: value for key, value in model.fitted.items() if key != "verdict_threshold"} | readers_fitted()
    with_reader = replace(with_reader, fitted=fitted)  # fitted with the shipped readers from here on: the answerer reads with them
    dev = evaluate(choosing, with_reader, "dev", reads, ranks=ranks)
    verdict_threshold = choose_verdict_threshold(choosing, with_reader, reads, ranks, log)
    fitted = fitted | {
        "reader_part": {"refitted": datetime.now(timezone.utc).isoformat(timespec="seconds"), "by": "qa fit --reader-only (make fit-reader)",
                        "rerank_and_verdict_threshold_dev": {name: {k: s.get(k) for k in ("evidence_cited", "answer_f1", "verdict_accuracy")} for name, s in dev.items()}},
    }
    return Fitted(replace(with_reader, rank=model.rank, verdict_threshold=verdict_threshold, fitted=fitted), dev)


def refit_statement_rule(corpora: list[CorpusExamples], model: AnswerModel, log=print) -> Fitted:
    """`qa fit --statements-only`: the statement rule (keep_ratio, follow_ratio) chosen again for the model as it is,
    by the same dev answers as `qa fit` chooses it by (each library's answers ranked by a ranker fitted without their
    questions' fold); the ranker, the reader's combination, the decline model and both thresholds stay."""
    _, ranks, choosing, reads = reader_part_as_shipped(corpora, model, log)
    chosen, dev = choose_statement_rule(choosing, model, reads, ranks, log)
    fitted = model.fitted | {
        "statement_rule": {"refitted": datetime.now(timezone.utc).isoformat(timespec="seconds"), "by": "qa fit --statements-only",
                           "keep_ratio": chosen.keep_ratio, "follow_ratio": chosen.follow_ratio,
                           "dev": {name: {k: s.get(k) for k in ("evidence_cited", "answer_f1", "median_answer_chars")} for name, s in dev.items()}},
    }
    return Fitted(replace(chosen, fitted=fitted), dev)
