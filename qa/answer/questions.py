"""What a question asks for: its shape (why, when, how many, yes/no, a list), the word after
"what"/"which", what it excludes ("besides MRI"), and asks the documents may not cover."""

from __future__ import annotations

import re

from qa.text import QUESTION_FRAMING, STOPWORDS, words

YES_NO_START = re.compile(r"^(is|are|can|could|does|do|did|should|will|would|was|were|has|have|may|might|must)\b", re.IGNORECASE)
NUMERIC_ASK = re.compile(
    r"\b(how many|how much|how often|how common|how frequent(ly)?|how fast|how quickly|how long|how accurate|how soon|what (share|percentage|percent|proportion|fraction|number|rate)|within how|sensitivity|specificity|prevalence|incidence|how sensitive|how specific)\b",
    re.IGNORECASE,
)
LIST_ASK = re.compile(
    r"\b(which|what (are|kinds|types|tests|signs|symptoms|features|conditions|causes)|list|name the|red flags|signs|symptoms|tests|causes|steps|options|reasons|features)\b",
    re.IGNORECASE,
)
# "Besides MRI, what ..." : the excluded thing is not what the answer should be about.
EXCLUSION = re.compile(r"\b(?:besides|other than|apart from|aside from|except(?: for)?|instead of)\s+([^,?.;]+)", re.IGNORECASE)
# Things a question can ask for that the documents may simply not give. If a question uses one of
# these words and the chosen evidence (with its section heading) uses none of its group, abstain.
ASK_CUES: dict[str, frozenset[str]] = {
    "dose": frozenset({"dose", "doses", "dosage", "dosing", "mg", "milligram", "milligrams"}),
    "cost": frozenset({"cost", "costs", "price", "prices", "expensive", "cheap", "insurance", "afford"}),
    "prognosis": frozenset({"prognosis", "expectancy", "survival", "survive", "mortality", "lifespan", "recovery", "recover", "recovering", "rehabilitation"}),
    "accuracy": frozenset({"sensitivity", "specificity", "accuracy", "accurate", "predictive", "ppv", "npv"}),
    "genetics": frozenset({"gene", "genes", "genetic", "genetics", "mutation", "mutations", "hereditary", "inherited", "familial"}),
    "treatment": frozenset({"treatment", "treatments", "treat", "treated", "therapy", "therapies", "medication", "medications", "drug", "drugs", "cure"}),
    "safety": frozenset({"safe", "safety", "risk", "risks", "harmful", "dangerous", "side"}),
    "pregnancy": frozenset({"pregnancy", "pregnant", "breastfeeding"}),
}
# Body parts: a question about one that no document ever mentions asks about something else.
BODY_PARTS = frozenset(
    """knee knees hip hips elbow elbows wrist wrists ankle ankles shoulder shoulders jaw neck chest abdomen pelvis
    heart lung lungs liver kidney kidneys stomach bowel bladder eye eyes ear ears skull finger fingers thumb toe toes
    foot feet hand hands arm arms leg legs thigh calf face tongue throat breast prostate uterus""".split()
)
# Lay words and the clinical words documents use for the same thing; a question's lay word also
# matches its clinical equivalents ("neck" finds "cervical").
LAY_TERMS: dict[str, tuple[str, ...]] = {
    "neck": ("cervical",),
    "upper back": ("thoracic",),
    "lower back": ("lumbar",),
    "x-ray": ("radiograph", "radiography"),
    "x-rays": ("radiographs", "radiography"),
    "xray": ("radiograph", "radiography"),
    "child": ("pediatric", "children"),
    "kid": ("pediatric", "children"),
    "kids": ("pediatric", "children"),
    "scan": ("imaging",),
    "nerve damage": ("neuropathy",),
    "blood test": ("laboratory",),
    "blood tests": ("laboratory",),
    "heart attack": ("myocardial",),
    "pins and needles": ("tingling", "paresthesia"),
}


def lay_equivalents(question: str) -> list[str]:
    """Clinical words for the lay words a question uses."""
    lowered = f" {' '.join(words(question))} "
    found: list[str] = []
    for lay, clinical in LAY_TERMS.items():
        if f" {lay.replace('-', ' ')} " in lowered or f" {lay.replace('-', '')} " in lowered:
            found.extend(clinical)
    return found


# A word is "rare" (a name, drug, gene, body part) below this Zipf frequency in general English.
RARE_WORD_ZIPF = 3.0
FOCUS = re.compile(r"^\s*(?:what|which)\s+(?:kinds?\s+of\s+|types?\s+of\s+|sorts?\s+of\s+)?([a-z][\w-]*)", re.IGNORECASE)
COMPARISON_ASK = re.compile(r"\b(difference|differ|differs|compare|compared|comparison|versus|vs\.?|better than|more .+ than)\b", re.IGNORECASE)
CONDITION_ASK = re.compile(r"^\s*(when|in which cases|under what)\b", re.IGNORECASE)
REASON_ASK = re.compile(r"^\s*why\b", re.IGNORECASE)


def question_shape(question: str) -> set[str]:
    shape = set()
    if NUMERIC_ASK.search(question):
        shape.add("numeric")
    if COMPARISON_ASK.search(question):
        shape.add("comparison")
    if CONDITION_ASK.search(question):
        shape.add("condition")
    if REASON_ASK.search(question):
        shape.add("reason")
    if YES_NO_START.match(question.strip()):
        shape.add("yes-no")
    return shape


def content_words(question: str) -> list[str]:
    return [w for w in words(question) if w not in STOPWORDS and w not in QUESTION_FRAMING and not w.isdigit()]
