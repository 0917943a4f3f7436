import json
import re
from pathlib import Path

import pytest

from qa.answer.base import NO_ANSWER
from qa.answer.base import CITATION_MARKER
from qa.errors import QAError
from qa.eval.scoring import contradicted

ANSWERABLE = [
    "What imaging for low back pain with leg weakness?",
    "Which red flags point to an emergency in a patient with back pain and weak legs?",
    "Can an MRI detect small fiber neuropathy?",
    "How many ALS and MMN patients were in the MRI study?",
    "Which lab tests are suggested for unexplained limb weakness?",
]


@pytest.mark.parametrize("question", ANSWERABLE)
def test_every_statement_cites_a_passage_it_shows(pipeline, question):
    answer = pipeline.ask(question)
    assert not answer.abstained
    markers = [int(n) for n in CITATION_MARKER.findall(answer.text)]
    assert markers and sorted(set(markers)) == [c.n for c in answer.citations]
    # Each statement ends with its marker: no uncited text after the last one.
    assert re.search(r"\[\d+\]$", answer.text)
    for citation in answer.citations:
        document = pipeline.index.documents[citation.chunk.doc_id]
        assert document.text[citation.start : citation.end] == citation.quote
        assert citation.chunk.start <= citation.start < citation.end <= citation.chunk.end


README_QUESTIONS = ("What imaging for low back pain with leg weakness?", "What imaging should be ordered for low back pain with new weakness in the lower leg?")


@pytest.mark.parametrize("question", README_QUESTIONS)
def test_the_readme_question_opens_with_the_mri_recommendation(pipeline, question):
    answer = pipeline.ask(question)
    assert "urgent MRI of the lumbar spine" in answer.statements[0].text
    assert len(answer.text) <= 420


def test_the_shipped_answer_model_reads_with_the_shipped_readers(pipeline):
    from qa.answer.reader import shipped_reader, verdict_reader

    model = pipeline.answerer.model
    assert model.rerank is not None and model.read_count > 0
    assert model.fitted["reader"]["manifest_sha256"] == shipped_reader().manifest["sha256"]
    assert model.fitted["verdict_reader"]["manifest_sha256"] == verdict_reader().manifest["sha256"]


@pytest.mark.parametrize(("role", "question"), [("reader", "What imaging for low back pain with leg weakness?"),
                                                ("verdict_reader", "Is MRI without contrast enough for most radiculopathy?")])
def test_a_model_fitted_with_another_reader_is_refused_naming_the_fix(pipeline, role, question):
    from dataclasses import replace

    from qa.answer.extractive import ExtractiveAnswerer

    model = pipeline.answerer.model
    other = replace(model, fitted={**model.fitted, role: {**model.fitted[role], "manifest_sha256": "0" * 64}})
    answerer = ExtractiveAnswerer(pipeline.index, pipeline.answerer.embed_query, pipeline.answerer.lexicon, other)
    refused = f"fitted with another {role.replace('_', ' ')} .*make fit-reader"
    with pytest.raises(QAError, match=refused):
        answerer.answer(question, pipeline.retriever.search(question, "hybrid", 8))
    with pytest.raises(QAError, match=refused):  # a server warms its readers at start: it refuses before any question
        answerer.warm()


def test_off_topic_questions_abstain(pipeline):
    answer = pipeline.ask("What is the capital of France?")
    assert answer.abstained and answer.text.startswith(NO_ANSWER) and answer.citations == ()


def test_a_question_about_something_no_document_mentions_is_declined_and_says_so(pipeline):
    answer = pipeline.ask("What dose of riluzole is recommended for ALS?")
    assert answer.abstained and answer.text.startswith(f"{NO_ANSWER} No document mentions 'riluzole'") and answer.citations == ()


@pytest.mark.parametrize(
    "question",
    ["What dose of riluzole is recommended for ALS?", "How much does a lumbar spine MRI cost?", "Which gene mutations cause familial ALS?",
     "Is edaravone or tofersen better for SOD1 carriers?", "What does the zanamivir trial say about carrageenan?"],
)
def test_a_decline_names_only_words_that_no_document_uses(pipeline, question):
    answer = pipeline.ask(question)
    named = re.findall(r"'([^']+)'", answer.text.removeprefix(NO_ANSWER)) if answer.abstained else []
    passages = " ".join(f"{d.title} {d.text}" for d in pipeline.index.documents.values()).lower()
    for word in named:
        assert word in question.lower() and word not in passages, (word, answer.text)


def test_a_yes_no_question_starts_with_the_evidences_answer(pipeline):
    answer = pipeline.ask("Does a negative brain MRI rule out a spinal cord lesion?")
    assert answer.verdict == "no" and answer.text.startswith("No.") and "does not rule out spinal cord lesions" in answer.text


@pytest.mark.parametrize("question", ["Can plain X-rays show a herniated disc?", "Can an MRI detect small fiber neuropathy?", "Is urgent imaging needed for leg weakness with back pain?"])
def test_every_yes_no_answer_opens_with_a_verdict_that_matches_its_field(pipeline, question):
    answer = pipeline.ask(question)
    opening = {"yes": "Yes.", "no": "No.", "unclear": "The documents do not settle this."}
    if answer.verdict is None:  # no verdict: the answer opens with its first statement
        assert answer.abstained or answer.text.startswith(answer.statements[0].text)
    else:
        assert answer.text.startswith(opening[answer.verdict])


SEED_YES_NO = [json.loads(line)["question"] for line in (Path(__file__).resolve().parents[1] / "evals" / "yesno.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("question", SEED_YES_NO)
def test_a_yes_or_no_never_contradicts_the_statement_it_opens(pipeline, question):
    """The verdict is the first statement's, as the user sees it: read alone against the question, that statement
    never says the other of the answer's Yes or No (qa/eval/scoring.contradicted, the suite's check)."""
    answer = pipeline.ask(question)
    assert contradicted(answer) is not True, (answer.verdict, answer.text)


def test_a_misspelt_yes_or_no_question_is_judged_as_it_was_answered(pipeline):
    """The verdict is read against the question as searched (corrected); the answer keeps it, and the contradiction
    check reads the same question, not the one as typed."""
    answer = pipeline.ask("Is MRI without contrast enough for most radiculopaty?")
    assert answer.question.endswith("radiculopaty?") and "radiculopathy" in answer.searched
    assert answer.verdict in ("yes", "no", "unclear") and contradicted(answer) is not True, answer.text


def test_no_heading_is_quoted_as_a_statement(pipeline):
    for question in ANSWERABLE + ["What imaging should be ordered for low back pain with new weakness in the lower leg?"]:
        answer = pipeline.ask(question)
        assert not any(s.text.rstrip(".") == "Imaging for Lower Back Pain and Lower Leg Weakness" for s in answer.statements)
        assert not any(s.text.startswith("Keywords:") for s in answer.statements)


def test_a_dose_of_a_drug_no_document_mentions_is_declined_naming_it(pipeline):
    answer = pipeline.ask("What is the dose of gabapentin for neuropathic pain?")
    assert answer.abstained and answer.citations == ()
    assert answer.text.startswith(f"{NO_ANSWER} No document mentions 'gabapentin'")
    assert answer.corrections == ()  # 'neuropathic' is an English word: left as typed


def test_the_answer_span_lies_in_its_statement(pipeline):
    for question in ANSWERABLE + ["How many patients had peripheral nerve MRI abnormalities?"]:
        answer = pipeline.ask(question)
        if answer.answer_span is not None:
            statement, start, end = answer.answer_span
            assert 0 <= start < end <= len(answer.statements[statement].text)
            assert answer.statements[statement].text[start:end] in answer.text


def test_a_number_question_quotes_the_sentence_with_the_number(pipeline):
    answer = pipeline.ask("How accurate is nerve root compression on imaging compared with surgical findings?")
    assert "75% sensitivity and 77% specificity" in answer.text


def test_a_lead_in_brings_its_items(pipeline):
    answer = pipeline.ask("Where else in the nervous system could the problem be when the head MRI is negative?")
    for place in ("spinal cord", "peripheral nerves", "neuromuscular junction", "muscle"):
        assert place in answer.text.lower()


def test_answers_stay_short(pipeline):
    for question in ANSWERABLE:
        assert len(pipeline.ask(question).text) <= 450


@pytest.mark.parametrize("bad", ["", "   \n\t", "?!", "x" * 2001])
def test_bad_questions_get_a_clear_error(pipeline, bad):
    with pytest.raises(QAError) as raised:
        pipeline.ask(bad)
    assert "question" in str(raised.value)


def test_the_chain_is_a_langchain_runnable(pipeline):
    from langchain_core.runnables import Runnable

    chain = pipeline._chain("hybrid", 5, pipeline.answerer)
    assert isinstance(chain, Runnable)
    assert chain.invoke("When is a nerve biopsy done for neuropathy?").citations


def test_the_term_sets_read_on_demand_are_those_of_each_unit_and_passage(pipeline):
    """The answerer computes a unit's and a passage's terms when a question reads them (a bounded memo, not a
    table held for every unit): read in any order and more than once, each row is that row's own terms."""
    from qa.text import index_terms

    table = pipeline.answerer.table
    index = pipeline.index
    rows = list(range(len(index.units)))
    for position in rows[::-1] + rows[::3]:
        assert table.own_terms[position] == frozenset(index_terms(index.units[position].text))
        assert table.own_terms[position] <= table.context_terms[position]
    for row, chunk in enumerate(index.chunks):
        held = frozenset().union(*(table.own_terms[p] for p in index.units_by_chunk.get(chunk.chunk_id, ())))
        assert table.chunk_terms[row] == (held or frozenset(index_terms(chunk.text)))
        assert table.heading_terms[row] == frozenset(index_terms(chunk.section))
    assert table.own_terms[-1] == table.own_terms[len(index.units) - 1]
    with pytest.raises(IndexError):
        table.own_terms[len(index.units)]


FOLLOW_QUESTIONS = (*ANSWERABLE, "What is the difference between a nerve conduction study and an EMG?",
                    "How often were peripheral nerve MRI abnormalities found in ALS versus MMN?")


@pytest.mark.parametrize("question", FOLLOW_QUESTIONS)
def test_a_statement_that_adds_no_question_term_follows_only_when_it_scores_close_to_the_best(pipeline, question):
    """The statement rule's follow_ratio only adds statements after the first: the first (and so the verdict and
    the answer span) is the same under every setting, and every further statement either brings a question term
    the ones before lack or scores at least follow_ratio of the best."""
    from dataclasses import replace

    from qa.eval.fit_statements import FOLLOW_RATIOS

    answerer = pipeline.answerer_for("extractive")
    hits = pipeline.search(question)
    weighed = answerer.weigh(*answerer.signals(question, hits), hits)
    asked = set(weighed.terms.weights)

    def terms_of(statement):
        return set().union(*(answerer.table.context_terms[p] for p in statement.unit_positions)) & asked

    off = answerer.choose_statements(question, weighed, replace(answerer.model, follow_ratio=None))
    best = weighed.probabilities[off[0][0]]
    for ratio in FOLLOW_RATIOS:
        chosen = answerer.choose_statements(question, weighed, replace(answerer.model, follow_ratio=ratio))
        assert chosen[0] == off[0]
        answered = terms_of(chosen[0][1])
        for row, statement in chosen[1:]:
            assert terms_of(statement) - answered or (ratio is not None and weighed.probabilities[row] >= ratio * best)
            answered |= terms_of(statement)


def test_a_how_often_question_quotes_the_sentence_with_the_figures_once_it_may_follow(pipeline):
    """The best candidate names every term asked ("ALS and MMN are common"); the sentence with the figures adds no
    question term, so without a follow ratio it never follows, and with one it does when it scores close enough."""
    from dataclasses import replace

    question = "How often were peripheral nerve MRI abnormalities found in ALS versus MMN?"
    answerer = pipeline.answerer_for("extractive")
    hits = pipeline.search(question)
    weighed = answerer.weigh(*answerer.signals(question, hits), hits)
    said = {ratio: " ".join(s.text for _, s in answerer.choose_statements(question, weighed, replace(answerer.model, follow_ratio=ratio)))
            for ratio in (None, 0.5)}
    assert "ALS 58%, MMN 63%" not in said[None] and "ALS 58%, MMN 63%" in said[0.5]
