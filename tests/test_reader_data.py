"""The reader's near misses (qa/train/reader_data.py): a question changed so that the candidate which answers the
original no longer answers it."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.answer.reader import Passage
from qa.train.reader_data import near_misses, perturbations

PASSAGE = Passage("Solar energy", "", "Solar power plants in Spain produced 5 gigawatts in 2010.")
ENTITIES = ["Germany", "Italy", "Portugal", "Morocco"]
NEIGHBOURS = [{"question": "Which country built the first solar tower?", "is_impossible": False}]
QUESTIONS = st.sampled_from([
    "How many gigawatts did Spain produce in 2010?",
    "When did Spain produce 5 gigawatts?",
    "Did Spain produce solar power in 2010?",
    "What did the plants produce?",
    "Which plants are largest?",  # nothing to change: only a neighbour's question
])


@settings(max_examples=60, deadline=None)
@given(QUESTIONS, st.integers(0, 10_000))
def test_a_near_miss_is_a_changed_question_asked_of_the_candidate_that_answered_the_original(question, seed):
    made = near_misses(question, PASSAGE, ENTITIES, "g", random.Random(seed), NEIGHBOURS)
    assert len(made) == 1
    pair = made[0]
    kind = pair.source.removeprefix("synthetic:")
    assert pair.label == 0 and pair.span is None and pair.passage == PASSAGE
    assert pair.question != question and pair.group == f"g|{kind}"
    assert kind in {"entity", "number", "negation", "neighbour"}
    assert (kind == "neighbour") or question != "Which plants are largest?"


def test_a_question_with_an_entity_a_number_and_an_auxiliary_allows_all_three_changes():
    made = dict(perturbations("How many gigawatts did Spain produce in 2010?", ENTITIES, random.Random(0)))
    assert set(made) == {"entity", "number", "negation"}
    assert "Spain" not in made["entity"] and "2010" not in made["number"]
    assert made["negation"] == "How many gigawatts did Spain not produce in 2010?"


def test_no_near_miss_without_a_change_or_a_neighbour():
    assert near_misses("Which plants are largest?", PASSAGE, ENTITIES, "g", random.Random(0), ()) == []
