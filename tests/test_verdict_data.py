"""The reader's yes/no verdict data (qa/train/verdict_data.py): questions made from a sentence are settled by it,
double negations included, and SciFact's claims give yes, no and unclear."""

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from qa.answer.reader import Passage
from qa.text import has_negation
from qa.train.verdict_data import NO, UNCLEAR, YES, inverted_questions, scifact_pairs, statement_pairs


def test_a_sentence_and_its_negation_give_opposite_verdicts_and_a_double_negation_reads_right():
    assert inverted_questions("MRI without IV contrast is sufficient for most cases of radiculopathy or disc herniation.") == [
        ("Is MRI without IV contrast sufficient for most cases of radiculopathy or disc herniation?", YES),
        ("Is MRI without IV contrast not sufficient for most cases of radiculopathy or disc herniation?", NO),
    ]
    assert inverted_questions("A negative brain MRI does not rule out spinal cord lesions that can cause limb weakness 1") == [
        ("Does a negative brain MRI rule out spinal cord lesions that can cause limb weakness?", NO),
        ("Does a negative brain MRI not rule out spinal cord lesions that can cause limb weakness?", YES),
    ]
    assert inverted_questions("Plain radiographs cannot visualize discs adequately.")[0] == ("Can plain radiographs visualize discs adequately?", NO)
    assert inverted_questions("In patients with ALS, abnormal MRIs were common.") == []  # no plain subject before the auxiliary


SUBJECTS = st.sampled_from(["MRI", "A normal scan", "The splint", "Nerve conduction studies"])
AUXILIARIES = st.sampled_from(["is", "can", "should", "does", "was", "cannot", "doesn't"])
RESTS = st.sampled_from(["show small fibre damage", "be worn at night", "rule out a spinal lesion", "sufficient for most patients"])


@given(SUBJECTS, AUXILIARIES, st.booleans(), RESTS)
def test_every_made_question_keeps_the_sentence_words_and_the_two_verdicts_differ(subject, auxiliary, negated, rest):
    sentence = f"{subject} {auxiliary}{' not' if negated and auxiliary in ('is', 'can', 'should', 'does', 'was') else ''} {rest}."
    made = inverted_questions(sentence)
    assert len(made) == 2 and {made[0][1], made[1][1]} == {YES, NO}
    for question, _ in made:
        assert question.endswith("?") and rest in question and subject.split()[-1] in question


def test_the_spinal_cord_sentence_says_yes_to_what_its_relative_clause_asks_whatever_its_main_verb_says():
    pairs = statement_pairs("seed:q1", Passage("Imaging", "", "A negative brain MRI does not rule out spinal cord lesions that can cause limb weakness 2"), "suite:seed:own")
    asked = [(p.passage.text, p.verdict) for p in pairs if p.question == "Can spinal cord lesions cause limb weakness?"]
    assert asked == [("A negative brain MRI does not rule out spinal cord lesions that can cause limb weakness.", YES),
                     ("A negative brain MRI does rule out spinal cord lesions that can cause limb weakness.", YES)]
    ruled_out = {p.passage.text: p.verdict for p in pairs if p.question == "Does a negative brain MRI rule out spinal cord lesions that can cause limb weakness?"}
    assert ruled_out == {asked[0][0]: NO, asked[1][0]: YES}


@given(SUBJECTS, AUXILIARIES, st.booleans(), RESTS)
def test_neither_a_not_in_the_question_nor_one_in_the_passage_tells_the_verdict_alone(subject, auxiliary, negated, rest):
    sentence = f"{subject} {auxiliary}{' not' if negated and auxiliary in ('is', 'can', 'should', 'does', 'was') else ''} {rest}."
    pairs = statement_pairs("g", Passage("", "", sentence), "suite:x:own")
    assert len(pairs) == 4 and all(p.label == 1 for p in pairs)
    for side in (lambda p: p.question, lambda p: p.passage.text):
        for negation in (True, False):
            assert {p.verdict for p in pairs if has_negation(side(p)) == negation} == {YES, NO}
    for question in {p.question for p in pairs}:  # one question, the sentence and its negation: opposite verdicts
        assert sorted(p.verdict for p in pairs if p.question == question) == sorted([YES, NO])


def test_scifact_training_claims_give_yes_no_and_unclear_verdicts():
    pairs = scifact_pairs()
    kinds = Counter((p.source, p.verdict, p.label) for p in pairs)
    assert kinds[("scifact-train:support", YES, 1)] > 300 and kinds[("scifact-train:contradict", NO, 1)] > 150
    assert kinds[("scifact-train:not-enough-info", UNCLEAR, 0)] > 200 and kinds[("scifact-train:other-sentence", -1, 0)] > 300
    assert all(p.question.startswith("Is it true that ") and p.question.endswith("?") for p in pairs)
