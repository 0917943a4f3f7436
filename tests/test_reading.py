"""What the reader's results become in an answer (qa/answer/reading.py, qa/answer/statements.py): which units
may stand as statements, where the answer span lands in a statement's text, and how scores join."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from qa.answer.model import LinearModel
from qa.answer.reader import Reading, best_span
from qa.answer.reading import Read, bold_span, combined_scores
from qa.answer.statements import can_stand
from qa.types import Unit


def _unit(text: str, kind: str = "sentence") -> Unit:
    return Unit("doc#0", "doc", kind, 0, len(text), text)


def test_headings_and_keyword_lines_never_stand_as_statements():
    assert not can_stand(_unit("Imaging for Lower Back Pain and Lower Leg Weakness"), "", "")
    assert not can_stand(_unit("Keywords: ALS; MR neurography; MRI; amyotrophic lateral sclerosis."), "", "")
    assert not can_stand(_unit("Direct Recommendation."), "Direct Recommendation", "")
    assert not can_stand(_unit("2015 Jul."), "", "")
    assert not can_stand(_unit("2015 Jul;52(1):137-9. doi: 10.1002/mus.24630."), "", "")
    assert can_stand(_unit("Obtain urgent MRI of the lumbar spine when the leg is weak."), "", "")
    assert can_stand(_unit("MRI is strongly preferred over CT for the following reasons:", "lead-in"), "", "")


@given(st.text(alphabet="abcdefgh XYZ", min_size=3, max_size=60), st.data())
def test_a_bold_span_is_found_inside_the_statement_it_marks(unit_text, data):
    start = data.draw(st.integers(0, len(unit_text) - 1))
    end = data.draw(st.integers(start + 1, len(unit_text)))
    lead = data.draw(st.sampled_from(["", "CT is an alternative when: "]))
    statement = lead + unit_text
    span = bold_span(statement, unit_text, Reading(1.0, (start, end), "yes", 0.9))
    if span is not None:
        first, last = span
        assert 0 <= first < last <= len(statement)
        assert unit_text[start:end].strip().rstrip(".").lower() in statement[first:last].lower()
        assert (first == 0 or not statement[first - 1].isalnum()) and (last == len(statement) or not statement[last].isalnum())


@given(st.lists(st.floats(-5, 5), min_size=2, max_size=12), st.lists(st.floats(-5, 5), min_size=2, max_size=12))
def test_the_best_span_starts_before_it_ends_and_stays_in_focus(starts, ends):
    size = min(len(starts), len(ends))
    focus = (1, size)
    first, last = best_span(np.array(starts[:size]), np.array(ends[:size]), focus)
    if size > 1:
        assert focus[0] <= first <= last < focus[1]
    else:
        assert (first, last) == (-1, -1)


def test_unread_candidates_score_below_every_read_one():
    rerank = LinearModel(("reader", "rank"), np.zeros(2), np.ones(2), np.array([1.0, 0.5]), 0.0)
    read = Read((2, 0), (Reading(3.0, (0, 1), "yes", 1.0), Reading(-4.0, (0, 1), "no", 1.0)))
    scores = combined_scores(read, np.array([1.0, 9.0, 0.0, 2.0]), rerank)
    assert scores[2] == 3.0 and scores[0] == -3.5 and np.isneginf(scores[[1, 3]]).all()
