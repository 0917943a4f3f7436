"""The reader's yes/no verdict data (qa/train/verdict_data.py): questions made from a sentence are settled by it,
double negations included, and SciFact's claims give yes, no and unclear."""

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from qa.train.verdict_data import NO, UNCLEAR, YES, inverted_questions, is_verdict_pair, scifact_pairs, scifact_statement_pairs, settled_questions


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


def test_questions_are_asked_as_people_ask_them_first_clause_condition_and_relative_clause():
    assert settled_questions("Neuropathy is not a single disease but rather a broad term encompassing various conditions.") == [
        ("Is neuropathy a single disease?", NO), ("Is neuropathy not a single disease?", YES)]
    for listed in ("CT is an acceptable alternative when: MRI is unavailable or contraindicated",
                   "CT is an acceptable alternative when: 1\n\n  \u2022 MRI is unavailable or contraindicated\n  \u2022 Patient has implanted devices"):
        assert settled_questions(listed)[0] == ("Is CT an acceptable alternative if MRI is unavailable or contraindicated?", YES)
    made = settled_questions("1. Failing to consider spinal pathology: A negative brain MRI does not rule out spinal cord lesions that can cause limb weakness 1")
    assert ("Does a negative brain MRI rule out spinal cord lesions that can cause limb weakness?", NO) in made
    assert ("Can spinal cord lesions cause limb weakness?", YES) in made
    assert settled_questions("Magnetic resonance imaging (MRI) of nerve is performed first.")[0] == ("Is magnetic resonance imaging of nerve performed first?", YES)
    assert settled_questions("Patients who smoke are at higher risk of disc disease.") == []  # a relative clause inside the subject: no plain subject


WORDS = st.sampled_from(["MRI", "is", "not", "can", "that", "lesions", "cause", "weakness", "when:", "if", "but", "rather", "a", "disease", ",", "(CT)", "1"])


@given(st.lists(WORDS, min_size=3, max_size=16))
def test_no_made_question_carries_both_verdicts_or_loses_its_question_mark(words):
    made = settled_questions(" ".join(words) + ".")
    assert len({q for q, _ in made}) == len(made)
    assert all(question.endswith("?") and question[0].isupper() and verdict in (YES, NO) for question, verdict in made)


def test_scifact_abstract_sentences_read_alone_settle_their_own_questions():
    pairs = scifact_statement_pairs()
    assert len(pairs) > 1000 and all(is_verdict_pair(p) and p.label == 1 and p.verdict in (YES, NO) for p in pairs)
    assert Counter(p.verdict for p in pairs)[YES] > 0.3 * len(pairs) and Counter(p.verdict for p in pairs)[NO] > 0.3 * len(pairs)
    assert all(p.passage.text for p in pairs) and len({p.group for p in pairs}) > 500
