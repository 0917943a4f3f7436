"""The UI's callbacks as plain functions: what a user would see, without a browser."""

import html

import pytest

from qa.app import web_callbacks, web_logic
from qa.errors import QAError


def test_an_answer_has_clickable_citations_and_source_cards(pipeline):
    turn = web_logic.answer_turn(pipeline, "What imaging for low back pain with leg weakness?", [])
    html = web_logic.answer_html(0, turn.answer, pipeline.index)
    assert html.count('class="qa-cite"') >= 2 * len(turn.answer.citations)  # in the text and on each card
    for citation in turn.answer.citations:
        assert f'href="#qa-cite/0/{citation.n}"' in html
    assert "guideline summary" in html and "November 7, 2025" in html


def test_streamed_parts_grow_to_the_whole_answer(pipeline):
    answer = pipeline.ask("Can an MRI detect small fiber neuropathy?")
    parts = web_logic.streamed_parts(answer)
    assert parts[-1] == answer.text and all(a in b for a, b in zip(parts, parts[1:]))


def test_an_abstention_offers_the_closest_passages(pipeline):
    turn = web_logic.answer_turn(pipeline, "What dose of riluzole is recommended for ALS?", [])
    html = web_logic.answer_html(3, turn.answer, pipeline.index)
    assert "The documents do not answer this question." in html
    assert web_logic.CLOSEST_LABEL in html and 'href="#qa-passage/3/' in html


def test_markup_in_questions_and_answers_is_shown_not_run(pipeline):
    live = web_callbacks.LiveLibrary(pipeline.settings, pipeline=pipeline)
    question = "<script>alert('x')</script> What imaging for back pain with leg weakness? <img src=x onerror=alert(1)>"
    *_, (chat, turns, searched) = web_callbacks.respond(live, question, [], [], "hybrid", 8)
    shown = " ".join(message["content"] for message in chat) + searched
    assert "<script>" not in shown and "<img" not in shown
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in chat[0]["content"]  # the question, as text
    assert turns and 'class="qa-cite"' in chat[-1]["content"]  # and it was still answered


def test_errors_in_the_page_keep_their_names_as_written(pipeline):
    live = web_callbacks.LiveLibrary(pipeline.settings, pipeline=pipeline)
    *_, (chat, _, _) = web_callbacks.respond(live, "What imaging for back pain?", [], [], "hybrid", 8, answerer="llm")
    assert "QA_LLM_URL" in chat[-1]["content"] and chat[-1]["content"].count("The LLM answerer needs") == 1
    missing = web_callbacks.whole_document(live, ("corpus/Heart.pdf", (0, 1)))
    assert "corpus/Heart.pdf" in missing and missing.startswith("<div class='qa-panel'><p>Unknown document")


def test_follow_ups_are_rewritten_with_the_previous_question():
    previous = ["What does a negative head MRI mean in a patient with limb weakness?"]
    assert web_logic.rewrite_follow_up("what about in children?", previous) == f"what about in children? ({previous[0]})"
    assert web_logic.rewrite_follow_up("Is it urgent?", previous).endswith(f"({previous[0]})")
    standalone = "Which blood tests are suggested for unexplained limb weakness?"
    assert web_logic.rewrite_follow_up(standalone, previous) == standalone
    assert web_logic.rewrite_follow_up("what about in children?", []) == "what about in children?"
    # Only one level of context is carried, so searches do not grow without bound.
    chained = web_logic.rewrite_follow_up("and in adults?", [f"what about in children? ({previous[0]})"])
    assert chained == "and in adults? (what about in children?)"


def test_a_follow_up_about_children_finds_the_pediatric_advice(pipeline):
    first = web_logic.answer_turn(pipeline, "What does a negative head MRI mean in a patient with limb weakness?", [])
    follow = web_logic.answer_turn(pipeline, "what about in children?", [first.searched_for])
    assert "enterovirus" in follow.answer.text.lower()


def test_selecting_a_citation_opens_its_passage_highlighted(pipeline):
    turn = web_logic.answer_turn(pipeline, "Can an MRI detect small fiber neuropathy?", [])
    kind, number, key = web_logic.parse_cite_target("#qa-cite/0/1|1700000000")
    citation = web_logic.find_citation([turn], number, int(key))
    panel = web_logic.citation_panel_html(pipeline.index, citation.chunk.chunk_id, (citation.start, citation.end))
    assert kind == "cite" and '<mark id="qa-quote">' in panel
    assert " ".join(citation.quote.split())[:60] in " ".join(panel.split())
    assert "consumer article" in panel


def test_the_panel_lists_the_documents_references(pipeline):
    chunk = next(c for c in pipeline.index.chunks if "Acute Limb Weakness" in c.text)
    panel = web_logic.citation_panel_html(pipeline.index, chunk.chunk_id)
    assert "References this passage points to" in panel and "Guideline Directed Topic Overview" in panel
    assert "only 3 entries" in panel


def test_unknown_citations_get_a_clear_message(pipeline):
    turn = web_logic.answer_turn(pipeline, "Can an MRI detect small fiber neuropathy?", [])
    with pytest.raises(QAError, match="no citation"):
        web_logic.find_citation([turn], 0, 99)
    with pytest.raises(QAError, match="earlier conversation"):
        web_logic.find_citation([turn], 5, 1)
    assert web_logic.parse_cite_target("javascript:alert(1)") is None


def test_the_sources_tab_lists_every_document(pipeline):
    rows = web_logic.sources_rows(pipeline.index)
    assert {row[5] for row in rows} == set(pipeline.index.documents)
    assert all(row[4] > 0 for row in rows)
    assert {row[3] for row in rows} == {d.publisher or "—" for d in pipeline.index.documents.values()}


def test_the_whole_document_view_highlights_the_span(pipeline):
    document = next(iter(pipeline.index.documents.values()))
    html = web_logic.document_html(pipeline.index, document.doc_id, (10, 40))
    assert '<mark id="qa-doc-quote">' in html


def test_a_marked_unsupported_statement_is_struck_through_and_never_linked(pipeline):
    from dataclasses import replace

    from qa.answer.grounding import UNSUPPORTED_MARK
    from qa.types import Statement

    turn = web_logic.answer_turn(pipeline, "What imaging for low back pain with leg weakness?", [])
    claim = "Aspirin cures it <b>fast</b>"
    answer = replace(
        turn.answer,
        text=f"{turn.answer.text} {claim}. {UNSUPPORTED_MARK}",
        statements=(*turn.answer.statements, Statement(claim, (), False)),
        answerer="llm:some-model",
    )
    shown = web_logic.answer_html(0, answer, pipeline.index)
    assert '<s class="qa-unsupported" title="No cited passage supports this statement">Aspirin cures it &lt;b&gt;fast&lt;/b&gt;</s>' in shown
    assert '<span class="qa-unsupported-tag">unsupported</span>' in shown and UNSUPPORTED_MARK not in shown
    assert "Written by some-model" in shown


def test_the_page_recommends_the_mri_and_marks_an_answer_span_in_bold(pipeline):
    from dataclasses import replace

    turn = web_logic.answer_turn(pipeline, "What imaging for low back pain with leg weakness?", [])
    body = web_logic.answer_html(0, turn.answer, pipeline.index).split('<div class="qa-sources">')[0]
    assert "urgent MRI of the lumbar spine" in body.replace('<strong class="qa-span">', "").replace("</strong>", "")
    statement = turn.answer.statements[0].text
    start = statement.index(statement.split()[1])
    marked = replace(turn.answer, answer_span=(0, start, start + len(statement.split()[1])))  # a span as the reader gives it
    page = web_logic.answer_html(0, marked, pipeline.index)
    assert f'<strong class="qa-span">{html.escape(statement.split()[1])}</strong>' in page


def test_a_yes_no_answer_in_the_page_opens_with_its_verdict(pipeline):
    turn = web_logic.answer_turn(pipeline, "Does a negative brain MRI rule out a spinal cord lesion?", [])
    body = web_logic.answer_html(0, turn.answer, pipeline.index).split('<div class="qa-sources">')[0]
    opening = {"yes": "Yes.", "no": "No.", "unclear": "The documents do not settle this."}[turn.answer.verdict]
    assert body.startswith(f'<div class="qa-answer">{opening}')


def test_an_answer_span_is_in_the_json_and_bold_in_text(pipeline):
    from dataclasses import replace

    from qa.render.output import answer_to_json, answer_to_text

    answer = pipeline.ask("What imaging for low back pain with leg weakness?")
    statement = answer.statements[-1].text
    word = max(statement.split(), key=len).strip(".,;:")
    start = statement.index(word)
    marked = replace(answer, answer_span=(len(answer.statements) - 1, start, start + len(word)))
    record = answer_to_json(marked, pipeline.index)
    assert record["answer_span"] == {"statement": len(answer.statements) - 1, "start": start, "end": start + len(word), "text": word}
    assert f"**{word}**" in answer_to_text(marked, pipeline.index, width=10_000)
    unmarked = replace(answer, answer_span=None)
    assert answer_to_json(unmarked, pipeline.index)["answer_span"] is None and "**" not in answer_to_text(unmarked, pipeline.index)
