from qa.ingest.cleaning import clean
from qa.indexing.chunking import split_document

# Page furniture from the scraped seed pages: none of it may reach an indexed passage.
BOILERPLATE = [
    "Skip to main page content",
    "An official website of the United States government",
    "The .gov means",
    "The site is secure",
    "Access keys",
    "All articles are reviewed for accuracy",
    "Educational purpose only",
    "Article Review Status",
    "Under Review",
    "Personalize",
    "Help us tailor your experience",
    "Which best describes you?",
    "View editorial policy",
    "Professional Medical Disclaimer",
    "assumes no liability",
    "Have a follow-up question?",
    "Our Medical A.I. is used by practicing medical doctors",
    "PubMed Disclaimer",
    "Publication types",
    "Affiliations",
]

# Content a reader needs: each must survive cleaning, in the document it belongs to.
CONTENT = {
    "limb-weakness-negative-head-mri": [
        "this indicates that the cause of weakness is not due to an intracranial lesion",
        "Neuromuscular junction",
        "Creatine kinase (CK) for muscle damage",
        "positive Hoover's sign",
        "Functional limb weakness and paralysis.",
    ],
    "imaging-low-back-pain-leg-weakness": [
        "obtain urgent MRI of the lumbar spine (or CT if MRI unavailable) immediately",
        "Saddle anesthesia (perineal numbness)",
        "approximately 75% sensitivity and 77% specificity",
    ],
    "neuropathy-on-mri": ["often appear normal on an MRI scan", "a nerve biopsy may be performed"],
    "als-mmn-nerve-muscle-mri-abstract": [
        "patients with ALS (n = 60) and MMN (n = 8)",
        "Muscle MRI changes were more common in ALS (57% vs. 33%)",
        "MRI findings in ALS (A, B) and MMN (C, D).",  # figure caption
        "Keywords: ALS; MR neurography",
    ],
}


def test_boilerplate_is_absent_from_every_chunk(corpus):
    for document in corpus.documents:
        for chunk in split_document(document):
            for phrase in BOILERPLATE:
                assert phrase.lower() not in chunk.text.lower(), (chunk.chunk_id, phrase)


def test_boilerplate_is_absent_from_cleaned_text(corpus):
    for document in corpus.documents:
        for phrase in BOILERPLATE:
            assert phrase.lower() not in document.text.lower(), (document.doc_id, phrase)


def test_content_survives_cleaning(corpus):
    by_id = {d.doc_id: d for d in corpus.documents}
    for doc_id, sentences in CONTENT.items():
        for sentence in sentences:
            assert sentence in by_id[doc_id].text, (doc_id, sentence)


def test_title_date_and_headings_are_kept(corpus):
    by_id = {d.doc_id: d for d in corpus.documents}
    limb = by_id["limb-weakness-negative-head-mri"]
    assert limb.text.startswith(limb.title)
    assert limb.date == "August 23, 2025"
    assert "Last updated: August 23, 2025" in limb.text
    headings = [s.heading for s in limb.sections]
    assert "Step 3: Laboratory Testing" in headings and "Common Diagnostic Pitfalls" in headings
    abstract = by_id["als-mmn-nerve-muscle-mri-abstract"]
    assert abstract.text.count(abstract.title) == 1, "PubMed prints the title twice; keep it once"


def test_reference_lists_are_parsed_and_numbered(corpus):
    by_id = {d.doc_id: d for d in corpus.documents}
    abstract = by_id["als-mmn-nerve-muscle-mri-abstract"]
    assert [r.number for r in abstract.references] == [1, 2, 3, 4, 5]
    assert abstract.references[4].text.startswith("Kamath S")
    assert "- PubMed" not in abstract.text
    limb = by_id["limb-weakness-negative-head-mri"]
    assert len(limb.references) == 3 and limb.references[2].text.startswith("Functional limb weakness")
    assert limb.cited_reference_max == 6  # the text cites up to 6: the captured list is incomplete


def test_lists_are_normalised_and_nested():
    raw = "Title here\n\nLead in:\n\n  • first item\n    • nested item 1\n  • second item 2\n\nReferences\n\n    1. A ref.\n    1. B ref.\n"
    cleaned = clean(raw)
    assert "- first item\n  - nested item 1\n- second item 2" in cleaned.text
    assert [r.text for r in cleaned.references] == ["A ref.", "B ref."]


def test_sections_span_their_bodies(corpus):
    for document in corpus.documents:
        for section in document.sections:
            body = document.text[section.start : section.end]
            assert body and not body.startswith("\n") and section.heading not in body.split("\n")[0:1]
