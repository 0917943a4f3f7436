"""`qa fit`: the ranker's trees, written out as the answer model reads them, score as LightGBM does, and the
decline threshold keeps every corpus within the share of answerable questions it may decline."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.answer.model import AnswerModel, load_answer_model, write_answer_model
from qa.answer.signals import UNIT_SIGNALS
from qa.eval.fit import READ_COUNT, VERDICT_THRESHOLDS, best_verdict_threshold, choose_threshold
from qa.eval.fit_learners import RANKER_FIXED, RANKER_GRID, fit_trees


@pytest.mark.parametrize("seed", [0, 1])
def test_ranker_trees_score_as_lightgbm_does_and_survive_the_model_file(seed, tmp_path):
    import lightgbm

    rng = np.random.default_rng(seed)
    groups = []
    for _ in range(120):
        values = rng.normal(size=(12, len(UNIT_SIGNALS)))
        labels = np.zeros(12, dtype=bool)
        labels[np.argmax(values[:, 0] - 0.5 * values[:, 2] + 0.3 * rng.normal(size=12))] = True
        groups.append((values, labels))
    weights = np.ones(len(groups))
    trees = fit_trees(groups, weights, UNIT_SIGNALS, RANKER_GRID[0])
    values = np.concatenate([g for g, _ in groups])
    reference = lightgbm.LGBMRanker(**RANKER_FIXED, **RANKER_GRID[0])
    reference.fit(values, np.concatenate([y for _, y in groups]).astype(int), group=[12] * len(groups), sample_weight=np.ones(len(values)))
    assert np.allclose(trees.score(values), reference.predict(values), atol=1e-9)

    shipped = load_answer_model()
    path = tmp_path / "model.json"
    write_answer_model(AnswerModel(trees, shipped.decline, 0.5, 0.5, 3, 420, {}), path)
    assert np.allclose(load_answer_model(path).rank.score(values), trees.score(values), atol=1e-4)  # written to 6 places


def _answerable(kind: str):
    return SimpleNamespace(gold=SimpleNamespace(answerable=True), kind=kind)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["own", "typo"]), st.floats(0, 1)), min_size=1, max_size=80),
       st.sampled_from([0.0, 0.04, 0.1, 0.5]))
def test_no_corpus_declines_more_of_its_answerable_questions_than_the_target(answerable, target):
    keys = [(corpus, _answerable(kind)) for corpus, kind, _ in answerable]
    confidences = np.array([confidence for *_, confidence in answerable])
    threshold = choose_threshold(confidences, keys, target)
    groups = {(corpus, kind) for corpus, kind, _ in answerable}
    values = {group: np.array([x for c, k, x in answerable if (c, k) == group]) for group in groups}
    for group in groups:
        assert np.mean(values[group] < threshold) <= target + 1e-12
    # and no higher threshold would do: some group would decline one question more just above it
    assert any(np.sum(values[group] <= threshold) > np.floor(target * len(values[group])) for group in groups)


VERDICT = st.sampled_from(["yes", "no", "unclear"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(VERDICT, st.floats(0.34, 1.0), VERDICT), min_size=1, max_size=60))
def test_the_verdict_threshold_gets_the_most_verdicts_right_and_is_the_highest_that_does(cases):
    chosen, right, wrong = best_verdict_threshold(cases)
    counted = {t: sum((v if p >= t else "unclear") == want for v, p, want in cases) for t in VERDICT_THRESHOLDS}
    assert right == counted and right[chosen] == max(counted.values())
    assert all(counted[t] < right[chosen] for t in VERDICT_THRESHOLDS if t > chosen)
    # a wrong verdict is a Yes or No against the label; "unclear" is never counted wrong
    assert all(wrong[t] == sum((v if p >= t else "unclear") not in (want, "unclear") for v, p, want in cases) for t in VERDICT_THRESHOLDS)


def _fit_on_the_seed(tmp_path, *options: str):
    """`qa fit` with ``options`` on the seed library alone, written under tmp_path: the CLI's result, the file."""
    import json

    from click.testing import CliRunner

    from qa.app.cli import main

    from .conftest import ROOT

    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"cache": "cache", "corpora": [{"name": "seed", "corpus": str(ROOT / "corpus"), "questions": str(ROOT / "evals" / "gold.jsonl"), "cross_questions": 0}]}))
    out = tmp_path / "model.json"
    return CliRunner().invoke(main, ["fit", *options, "-q", "--suite", str(suite), "--out", str(out)]), out


@pytest.mark.slow
def test_qa_fit_reader_only_refits_the_readers_part_and_keeps_the_rest(tmp_path):
    """After `make train-reader`, `qa fit --reader-only` (make fit-reader) joins the shipped reader to the answer
    model: its weight beside the ranker and the verdict threshold are refitted for it, the ranker, decline model,
    threshold and statement rule stay, and the file names the reader it was fitted with (the answerer refuses any other)."""
    from qa.answer.model import MODEL_FILE
    from qa.answer.reader import shipped_reader, verdict_reader

    result, out = _fit_on_the_seed(tmp_path, "--reader-only")
    assert result.exit_code == 0, result.output
    shipped, refitted = load_answer_model(MODEL_FILE), load_answer_model(out)
    assert refitted.rank.to_json() == shipped.rank.to_json() and refitted.decline.to_json() == shipped.decline.to_json()
    assert (refitted.threshold, refitted.keep_ratio, refitted.follow_ratio) == (shipped.threshold, shipped.keep_ratio, shipped.follow_ratio)
    assert refitted.read_count == shipped.read_count == READ_COUNT  # the count the shipped model reads is the one the fit reads
    assert refitted.rerank is not None and refitted.verdict_threshold in VERDICT_THRESHOLDS
    assert refitted.fitted["reader"]["manifest_sha256"] == shipped_reader().manifest["sha256"]
    assert refitted.fitted["verdict_reader"]["manifest_sha256"] == verdict_reader().manifest["sha256"]
    assert refitted.fitted["reader_part"]["by"].startswith("qa fit --reader-only")
    assert "seed" in refitted.fitted["reader_part"]["rerank_and_verdict_threshold_dev"]


@pytest.mark.slow
def test_qa_fit_statements_only_chooses_the_statement_rule_and_keeps_the_rest(tmp_path):
    """`qa fit --statements-only` chooses keep_ratio and follow_ratio from their grids for the shipped model as it is:
    everything else in the file stays, and the file says how the rule was chosen."""
    from qa.answer.model import MODEL_FILE
    from qa.eval.fit_statements import FOLLOW_RATIOS, KEEP_RATIOS

    result, out = _fit_on_the_seed(tmp_path, "--statements-only")
    assert result.exit_code == 0, result.output
    shipped, refitted = load_answer_model(MODEL_FILE), load_answer_model(out)
    assert refitted.rank.to_json() == shipped.rank.to_json() and refitted.decline.to_json() == shipped.decline.to_json()
    assert refitted.rerank.to_json() == shipped.rerank.to_json()
    assert (refitted.threshold, refitted.verdict_threshold, refitted.read_count) == (shipped.threshold, shipped.verdict_threshold, shipped.read_count)
    assert refitted.keep_ratio in KEEP_RATIOS and refitted.follow_ratio in FOLLOW_RATIOS
    rule = refitted.fitted["statement_rule"]
    assert rule["by"] == "qa fit --statements-only" and (rule["keep_ratio"], rule["follow_ratio"]) == (refitted.keep_ratio, refitted.follow_ratio)
    assert "seed" in rule["dev"]
    result, _ = _fit_on_the_seed(tmp_path, "--statements-only", "--reader-only")
    assert result.exit_code != 0 and "--statements-only" in result.output
