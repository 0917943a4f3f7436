"""A long message never crashes the answerer: the reader reads what fits its share of tokens (the sentences that
ask and the first one), in one process, in a batch of questions, and in the page."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qa.answer.reader import QUESTION_SHARE, Passage, encode_pairs, question_within, shipped_reader
from qa.app import web_callbacks

from .test_cli import run

MESSAGE = (
    "Leg weakness and back pain. My husband is 58 and has had lower back pain for two weeks after lifting boxes in the garage. "
    + "He says the pain goes down his right leg and his foot feels numb and weak when he walks up the stairs at night. " * 6
    + "What imaging should he have for low back pain with leg weakness? He has no fever and no trouble with his bladder."
)

WORDS = st.sampled_from(["pain", "leg", "weakness", "MRI", "the", "of", "back", "husband", "numb", "Ocella", "DVT", "clot", "?", ".", "\n", "a" * 30])


@pytest.fixture(scope="module")
def tokenizer():
    return shipped_reader().tokenizer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(WORDS, min_size=1, max_size=600))
def test_a_question_of_any_length_is_read_within_its_share_with_room_for_the_candidate(tokenizer, pieces):
    question = " ".join(pieces)
    assume(question.split())  # a question of words (an empty one is refused before it is read)
    passage = Passage("Imaging", "", "Obtain urgent MRI of the lumbar spine when leg weakness is present.")
    encoded = encode_pairs(tokenizer, question, [passage])
    budget = int(tokenizer.truncation["max_length"] * QUESTION_SHARE)
    assert encoded.input_ids.shape[1] <= tokenizer.truncation["max_length"]
    assert encoded.focus[0][1] > encoded.focus[0][0]  # the candidate's own text is read
    readable = question_within(tokenizer, question, budget)
    assert readable.split() and set(readable.split()) <= set(question.split()) | {readable.split()[-1]}  # words of the question only (the last may be cut)


def test_a_short_question_is_read_whole(tokenizer):
    question = "What imaging for low back pain with leg weakness?"
    assert question_within(tokenizer, question, 64) == question


def test_a_long_message_is_read_as_its_subject_and_what_it_asks(tokenizer):
    readable = question_within(tokenizer, MESSAGE, 64)
    assert readable.startswith("Leg weakness and back pain.") and "What imaging should he have" in readable


def test_a_long_message_is_answered_in_the_cli_and_a_batch_goes_on_after_it(index_dir, tmp_path):
    result = run("ask", "--json", "--index", str(index_dir), MESSAGE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["question"] == MESSAGE
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"id": i, "question": q}) + "\n" for i, q in (("long", MESSAGE), ("next", "When is a nerve biopsy done?"))))
    result = run("ask", "--json", "--index", str(index_dir), "--file", str(questions))
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stderr
    assert [a["id"] for a in answers] == ["long", "next"] and answers[1]["citations"]


def test_a_long_message_is_answered_in_the_page(pipeline):
    live = web_callbacks.LiveLibrary(pipeline.settings, pipeline=pipeline)
    *_, (chat, turns, _) = web_callbacks.respond(live, MESSAGE, [], [], "hybrid", 8)
    assert turns and "Error" not in chat[-1]["content"]


def test_a_long_message_is_searched_as_its_subject_line_and_what_it_asks():
    from qa.retrieve.focus import MAX_WHOLE_WORDS, message_focus

    circumstances = "My daughter is 19 and has had a swollen calf for two days after a long flight home from her exams. "
    message = f"DVT\nCan a birth control called Ocella cause DVT? {circumstances * 3}What should she do? Thanks."
    assert len(message.split()) > MAX_WHOLE_WORDS
    assert message_focus(message) == "DVT Can a birth control called Ocella cause DVT? What should she do?"


def test_a_message_the_reader_reads_whole_is_searched_as_written():
    from qa.retrieve.focus import message_focus

    follow_up = "what about in children? (What does a negative head MRI mean in a patient with limb weakness?)"
    asked = ("What imaging for low back pain with leg weakness?", "I have had back pain since Monday and it is getting worse.",
             "Is it safe? Is it quick?", follow_up, "My patient has back pain, leg weakness and a pacemaker that is not MRI safe. What imaging then?",
             "Metered-dose inhalers. Do health care providers know what to teach?")
    for plain in asked:
        assert message_focus(plain) == plain  # the sentence before a question often names its topic


@pytest.mark.parametrize("request_, topic", [("I want to know more about aortic stenosis.", "aortic stenosis"), ("Tell me about narcolepsy", "narcolepsy"),
                                            ("Can you tell me about DVT?", "DVT"), ("Hello, I would like information on zinc!", "zinc")])
def test_a_request_for_a_topic_is_searched_as_what_the_topic_is(request_, topic):
    from qa.retrieve.focus import message_focus

    assert message_focus(request_) == f"What is {topic}?"
    ended = request_ if request_.endswith((".", "?", "!")) else f"{request_}."
    assert message_focus(f"{ended} What causes it?") == f"What is {topic}? What causes it?"


def test_an_answer_to_a_message_shows_the_message_as_written(pipeline):
    answer = pipeline.ask(MESSAGE)
    assert answer.question == MESSAGE and not answer.abstained
    assert any("MRI" in citation.quote for citation in answer.citations)


def test_a_short_message_with_a_subject_line_is_searched_as_its_subject_and_what_it_asks():
    from qa.retrieve.focus import MAX_WHOLE_WORDS, message_focus

    message = "Ocella\nHi, I am asking for my daughter. Can a birth control called Ocella cause DVT? Thanks in advance!"
    assert len(message.split()) <= MAX_WHOLE_WORDS
    assert message_focus(message) == "Ocella Can a birth control called Ocella cause DVT?"
    sentence_first = "My patient has back pain and a pacemaker.\nWhat imaging then?"  # a first line ended as a sentence is no subject line
    assert message_focus(sentence_first) == sentence_first


CONSUMER_WORDS = st.sampled_from(["metoclopramide", "supplied", "vitamin", "d", "take", "a", "day", "much", "cbd", "to", "treat", "shingles", "vaccine", "often", "Advil", "Tylenol", "with", "i", "can"])


@given(before=st.lists(CONSUMER_WORDS, max_size=4), after=st.lists(CONSUMER_WORDS, max_size=4), asked=st.sampled_from(["how", "what", "when", "which"]), key=st.text(max_size=8))
@settings(max_examples=200, deadline=None)
def test_a_question_without_its_question_mark_is_found_in_the_message_around_it(before, after, asked, key):
    """The public writes "metoclopramide how supplied" and then "Thanks in advance!": the question neither ends with
    a question mark nor opens as one, and runs on into the closing. It is still what the message is searched as."""
    from qa.eval.messages import as_message, subject_line
    from qa.retrieve.focus import message_focus

    question = " ".join(["metoclopramide", *before, asked, *after])
    assert message_focus(as_message(question, key)) == f"{subject_line(question)} {question}"


def test_a_capitalised_word_splits_a_run_on_sentence_only_where_a_new_sentence_starts():
    from qa.retrieve.focus import run_on_parts

    assert run_on_parts("metoclopramide how supplied Thanks in advance!") == ["metoclopramide how supplied", "Thanks in advance!"]
    assert run_on_parts("what dose of Advil can i take Please answer soon") == ["what dose of Advil can i take", "Please answer soon"]
    for whole in ("can I take Tylenol with coffee", "Do you have information about Blood Transfusion and Donation",
                  "How to diagnose High Blood Cholesterol ?", "or Received single dose of CoQ10 on the Health Executive Council",
                  "since she started it last May and her doctor says it is nothing"):
        assert run_on_parts(whole) == [whole]  # a name, "I", a title's words, a rarer word, a word that opens questions
