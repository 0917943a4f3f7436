"""Property-based tests (hypothesis) for cleaning and citation parsing; chunking's are in test_chunking.py."""

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.answer.base import CITATION_MARKER
from qa.render.citations import cited_reference_numbers, parse_span
from qa.ingest.cleaning import clean
from qa.errors import QAError
from qa.answer.support import split_statements

LINES = st.lists(
    st.one_of(
        st.text(alphabet=string.ascii_letters + " .,:;()'’-", min_size=0, max_size=80),
        st.sampled_from(["", "References", "Personalize", "Skip to main page content", "  • item one 1", "    1. A ref.", "Heading Here", "Last updated: May 1, 2025"]),
        st.text(min_size=0, max_size=40),  # anything at all, control characters and emoji included
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(LINES)
def test_cleaning_never_fails_and_leaves_clean_canonical_text(lines):
    cleaned = clean("\n".join(lines))
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", cleaned.text)
    assert "\n\n\n" not in cleaned.text and cleaned.text.endswith("\n")
    assert "Personalize" not in cleaned.text and "Skip to main page content" not in cleaned.text
    for section in cleaned.sections:
        assert 0 <= section.start <= section.end <= len(cleaned.text)
    assert [r.number for r in cleaned.references] == list(range(1, len(cleaned.references) + 1))


@settings(max_examples=150, deadline=None)
@given(LINES)
def test_cleaned_text_is_canonical(lines):
    """Cleaning its own output changes nothing: the text every offset points into is a fixed point."""
    cleaned = clean("\n".join(lines))
    again = clean(cleaned.text, title=cleaned.title if cleaned.titled else None, find_title=cleaned.titled)
    assert again.text == cleaned.text and again.title == cleaned.title


STATEMENT = st.text(alphabet=string.ascii_letters + " ,.", min_size=1, max_size=40).filter(lambda s: s.strip())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(STATEMENT, st.lists(st.integers(1, 20), min_size=0, max_size=3)), min_size=1, max_size=6))
def test_statements_and_their_markers_round_trip(parts):
    answer = " ".join(text.strip() + "".join(f" [{n}]" for n in cited) for text, cited in parts)
    statements = split_statements(answer)
    assert [n for s in statements for n in s.citations] == [int(n) for n in CITATION_MARKER.findall(answer)]
    assert " ".join(s.text for s in statements).split() == CITATION_MARKER.sub(" ", answer).split()


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_spans_parse_or_fail_clearly(start, length):
    assert parse_span(f"{start}-{start + length}") == (start, start + length)
    with pytest.raises(QAError):
        parse_span(f"{start + length}-{start}")


@given(st.lists(st.integers(1, 99), min_size=1, max_size=4), st.text(alphabet=string.ascii_letters + " ", min_size=1, max_size=30))
def test_trailing_reference_numbers_are_read(numbers, words):
    line = f"{words.strip() or 'Claim'}x {', '.join(str(n) for n in numbers)}"
    assert cited_reference_numbers(line) == sorted(set(numbers))


@given(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=14))
def test_a_word_is_searched_as_itself_or_as_the_adjective_it_compares(word):
    from qa.text import adjective_base

    base = adjective_base(word)
    if base != word:  # only a regular -er/-est form becomes its base, which is shorter and starts the same way
        assert word.endswith(("er", "est")) and len(base) < len(word) and word[: max(len(base) - 2, 1)] == base[: max(len(base) - 2, 1)]
    assert adjective_base(base) == base


@pytest.mark.parametrize(
    "form, other, same",
    [("lower back pain", "low back pain", True), ("the earliest signs", "early signs", True), ("bigger lesions", "big lesions", True),
     ("a higher dose", "a high dose", True), ("the number of patients", "numb patients", False), ("better outcomes", "good outcomes", False),
     ("the liver", "live", False), ("in a letter", "let", False)],
)
def test_comparatives_are_indexed_as_their_base_and_other_words_are_not(form, other, same):
    from qa.text import index_terms

    assert (index_terms(form)[0] == index_terms(other)[0]) is same
