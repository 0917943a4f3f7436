"""Held out by library (qa/eval/held_out.py): which libraries leave a fit together, what leaves with them, the
thresholds each target gives, and the report's order."""

from types import SimpleNamespace

from qa.eval.fit_data import CorpusExamples
from qa.eval.held_out import THRESHOLDS, held_out_markdown, leave_out, library_families, worst_first
from qa.eval.suite import load_suite

from .conftest import ROOT


def test_libraries_asked_the_same_questions_leave_a_fit_together():
    suite = load_suite(ROOT / "evals" / "suite.json")
    names = [c.name for c in suite.corpora if c.questions]
    families = library_families(suite, names)
    assert ("pubmedqa", "pubmedqa-plain") in families
    assert sorted(name for family in families for name in family) == sorted(names)  # each library once


def _example(question_id: str, kind: str):
    return SimpleNamespace(kind=kind, gold=SimpleNamespace(id=question_id))


def test_a_left_out_library_takes_the_foreign_questions_made_from_it_along():
    corpora = [
        CorpusExamples("a", None, [_example("a1", "own"), _example("x:b:7", "foreign"), _example("x:c:3", "foreign")]),
        CorpusExamples("b", None, [_example("b7", "own"), _example("x:a:1", "foreign")]),
        CorpusExamples("c", None, [_example("c3", "own"), _example("x:b:8", "foreign")]),
    ]
    kept = leave_out(corpora, ("b",))
    assert [c.name for c in kept] == ["a", "c"]
    assert [e.gold.id for e in kept[0].examples] == ["a1", "x:c:3"] and [e.gold.id for e in kept[1].examples] == ["c3"]


def test_the_threshold_for_a_target_keeps_every_group_within_it_and_is_the_fits_own_at_its_target():
    from qa.eval.fit import threshold_within

    groups = {("a", "own"): [0.01, 0.2, 0.3, 0.4], ("a", "typo"): [0.05, 0.5], ("b", "message"): [0.001, 0.02, 0.9, 0.95, 0.99]}
    for target in (0.0, 0.2, 0.25, 0.5):
        threshold = threshold_within(groups, target)
        assert all(sum(v < threshold for v in values) <= target * len(values) for values in groups.values())
    assert threshold_within(groups, 0.0) == 0.001 and threshold_within(groups, 0.25) == 0.02


def test_the_report_puts_the_library_that_declines_most_answerable_questions_first():
    report = {"libraries": {
        "a": {"held out": {"model": {"false_abstention": 0.01, "evidence_cited": 0.9}}},
        "b": {"held out": {"model": {"false_abstention": 0.20, "evidence_cited": 0.9}}},
        "c": {"held out": {"model": {"false_abstention": 0.01, "evidence_cited": 0.5}}},
    }}
    assert worst_first(report, "model") == ["b", "c", "a"]


def test_a_report_without_the_fit_on_every_library_shows_the_in_sample_side_as_missing():
    scored = {"threshold": 0.02, "false_abstention": 0.028, "evidence_cited": 0.899}
    report = {"libraries": {"squad2": {"held out": {threshold: scored for threshold in THRESHOLDS}}},
              "fits": {"without squad2": {"threshold": 0.0246, "keep_ratio": 0.1, "follow_ratio": None, "seconds": 354}}, "seconds": 600}
    rows = [line for line in held_out_markdown(report).splitlines() if line.startswith("| squad2 ")]
    assert len(rows) == len(THRESHOLDS) and all("| 0.028 / – |" in row and "| 0.899 / – |" in row for row in rows)
    assert "every library" not in held_out_markdown(report)
    assert "| without squad2 | 0.0246 | 0.1 | none | 354 |" in held_out_markdown(report)


def test_folds_by_library_put_each_library_in_a_fold_of_its_own_and_libraries_asked_the_same_questions_in_one():
    import pytest

    from qa.eval.fit import FOLDS, Folds, fold_of

    corpora = [CorpusExamples(name, None, [], family) for name, family in (("a", ""), ("b", "b"), ("b-plain", "b"), ("c", ""))]
    folding = Folds.of_corpora(corpora, "library")
    assert folding.count == 3 and folding.kind == "library"
    assert folding.of_key("b:17") == folding.of_key("b-plain:17") == folding.of_key("b-plain:4")
    assert len({folding.of_key("a:1"), folding.of_key("b:1"), folding.of_key("c:1")}) == 3
    keys = [f"{name}:{i}" for name in ("a", "b", "c") for i in range(30)]
    for by_question in (Folds.of_corpora(corpora), Folds.of_corpora(corpora[1:3], "library")):  # the default; too few libraries to fold by
        assert by_question.count == FOLDS and by_question.by_library is None and by_question.kind == "question"
        assert [by_question.of_key(key) for key in keys] == [fold_of(key) for key in keys]
    with pytest.raises(ValueError, match="folding 'corpus': use one of question, library"):
        Folds.of_corpora(corpora, "corpus")


def test_holding_out_a_library_the_suite_lacks_names_the_libraries_it_has_before_any_work(tmp_path):
    import pytest

    from qa.errors import QAError
    from qa.eval.held_out import run_held_out

    suite = load_suite(ROOT / "evals" / "suite.json")
    with pytest.raises(QAError, match="no library medquadd in the suite; name one of: .*medquad"):
        run_held_out(suite, None, held=("medquadd",))
