"""The reader's yes/no verdict data (qa/train/verdict_data.py): questions made from a sentence are settled by it,
double negations included, and SciFact's claims give yes, no and unclear."""

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from qa.train.verdict_data import NO, UNCLEAR, YES, inverted_questions, scifact_pairs


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


def test_scifact_training_claims_give_yes_no_and_unclear_verdicts():
    pairs = scifact_pairs()
    kinds = Counter((p.source, p.verdict, p.label) for p in pairs)
    assert kinds[("scifact-train:support", YES, 1)] > 300 and kinds[("scifact-train:contradict", NO, 1)] > 150
    assert kinds[("scifact-train:not-enough-info", UNCLEAR, 0)] > 200 and kinds[("scifact-train:other-sentence", -1, 0)] > 300
    assert all(p.question.startswith("Is it true that ") and p.question.endswith("?") for p in pairs)
