from qa.answer.support import split_statements, supports

SOURCE = (
    "MRI typically does not show damage to very small nerve fibers, which are responsible for sensations like pain "
    "and temperature. Nerve root compression on imaging has approximately 75% sensitivity and 77% specificity for "
    "surgical findings."
)


def test_a_verbatim_sentence_is_supported():
    assert supports(SOURCE, "Nerve root compression on imaging has approximately 75% sensitivity and 77% specificity.")


def test_a_paraphrase_with_most_words_is_supported():
    assert supports(SOURCE, "MRI does not show damage to small nerve fibers.")


def test_a_changed_number_is_not_supported():
    assert not supports(SOURCE, "Nerve root compression on imaging has approximately 85% sensitivity and 77% specificity.")


def test_a_dropped_negation_is_not_supported():
    assert not supports(SOURCE, "MRI typically shows damage to very small nerve fibers.")


def test_an_added_negation_is_not_supported():
    assert not supports(SOURCE, "Nerve root compression on imaging has no sensitivity for surgical findings.")


def test_an_unrelated_claim_is_not_supported():
    assert not supports(SOURCE, "Cauda equina syndrome requires emergency decompression within 48 hours.")


def test_a_verdict_prefix_is_judged_by_the_claim():
    source = "A negative brain MRI does not rule out spinal cord lesions that can cause limb weakness."
    assert supports(source, "No. A negative brain MRI does not rule out spinal cord lesions.")
    assert not supports(source, "Yes. A negative brain MRI rules out spinal cord lesions.")


def test_statements_are_split_at_their_markers():
    statements = split_statements("First claim. [1] Second claim. [2][3] Uncited tail.")
    assert [(s.text, s.citations) for s in statements] == [
        ("First claim.", (1,)),
        ("Second claim.", (2, 3)),
        ("Uncited tail.", ()),
    ]
    assert split_statements("The documents do not answer this question.")[0].citations == ()


def test_a_list_statement_is_judged_item_by_item_with_its_lead_in():
    source = "Step 3\n\n- Complete blood count\n- Consider specialized testing based on clinical suspicion:\n  - Copper levels if deficiency suspected 3\n  - Autoimmune markers"
    assert supports(source, "Complete blood count; consider specialized testing based on clinical suspicion: copper levels if deficiency suspected, autoimmune markers.")
    assert not supports(source, "Complete blood count; consider specialized testing based on clinical suspicion: zinc levels, thyroid antibodies.")
