"""Held out by library (qa/eval/held_out.py): which libraries leave a fit together, what leaves with them, and the
probe scale chosen on the training libraries keeps each within its share of answerable questions declined."""

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.eval.fit import TARGET_DECLINED, Fitted
from qa.eval.fit_data import CorpusExamples
from qa.eval.held_out import QUANTILES, choose_probe_scale, declined_share, leave_out, library_families, worst_first
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


CONFIDENCES = st.lists(st.floats(0, 1), min_size=5, max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.tuples(CONFIDENCES, CONFIDENCES, CONFIDENCES), min_size=1), st.floats(0, 0.2))
def test_the_probe_scale_keeps_every_training_library_within_its_share_of_answerable_questions_declined(libraries, threshold):
    unseen = {}
    for name, (own, typo, _) in libraries.items():
        unseen[(name, "own")], unseen[(name, "typo")] = own, typo
    fitted = Fitted(SimpleNamespace(threshold=threshold), {}, unseen)
    probes = {name: probes for name, (_, _, probes) in libraries.items()}
    scale = choose_probe_scale(fitted, probes)

    def within(quantile: float, cap: float = 1.0) -> bool:
        return all(declined_share(values, max(threshold, min(float(np.quantile(probes[name], quantile)), cap)))
                   <= max(TARGET_DECLINED, declined_share(values, threshold)) + 1e-12 for (name, _), values in unseen.items())

    if scale is None:  # no quantile keeps every library within its share: the libraries keep the model's threshold
        assert not any(within(q) for q in QUANTILES)
        return
    assert within(scale.quantile, scale.cap) and within(scale.quantile)
    assert scale.cap >= threshold and round(scale.cap * 100, 6) == round(scale.cap * 100)
    assert not any(within(q) for q in QUANTILES if q > scale.quantile)  # the highest that does


def test_the_report_puts_the_library_that_declines_most_answerable_questions_first():
    report = {"libraries": {
        "a": {"held out": {"model": {"false_abstention": 0.01, "evidence_cited": 0.9}}},
        "b": {"held out": {"model": {"false_abstention": 0.20, "evidence_cited": 0.9}}},
        "c": {"held out": {"model": {"false_abstention": 0.01, "evidence_cited": 0.5}}},
    }}
    assert worst_first(report, "model") == ["b", "c", "a"]
