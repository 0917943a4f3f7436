"""Word-level text analysis shared by BM25 indexing, lexical scoring and the support check."""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers him
    his how i if in into is it its itself just me more most my no nor not of off on once only or other our out over own
    same she should so some such than that the their them then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your yours s t don doesn isn
    aren wasn weren shouldn""".split()
)
NEGATIONS = frozenset({"no", "not", "never", "none", "cannot", "without", "nor", "neither", "don", "doesn", "isn", "aren", "won", "shouldn"})
# Words that frame a question without saying what it is about ("which tests should be ordered" asks for tests).
QUESTION_FRAMING = frozenset(
    """what which who whom whose when where why how whether tell explain describe please patient patients person people
    someone anyone doctor doctors clinician clinicians recommend recommended recommendation order ordered ordering
    should would could can
    does do did is are was were mean means meaning say says said document documents article articles source sources
    according""".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


# British medical spellings mapped to American ones, applied to documents and questions alike.
_SPELLING = [
    (re.compile(r"(?<=\w{4})is(e|ed|es|ing|ation|ations)$"), r"iz\1"),
    (re.compile(r"^(an)?aesth"), r"\1esth"),
    (re.compile(r"haem"), "hem"),
    (re.compile(r"^paed"), "ped"),
    (re.compile(r"aem"), "em"),
    (re.compile(r"^oedem"), "edem"),
    (re.compile(r"^oesoph"), "esoph"),
    (re.compile(r"our$"), "or"),
]
_SPELLING_EXCEPTIONS = frozenset({"otherwise", "exercise", "exercised", "exercises", "exercising", "expertise", "franchise", "surprise", "surprised", "promise", "premise", "concise", "precise", "advise", "advised", "devise", "revise", "revised", "supervise", "supervised", "compromise", "compromised", "enterprise", "merchandise", "disguise", "hour", "four", "your", "our", "pour", "tour", "flour", "sour", "devour"})


@lru_cache(maxsize=200_000)
def american(word: str) -> str:
    if word in _SPELLING_EXCEPTIONS or len(word) < 5:
        return word
    for pattern, replacement in _SPELLING:
        word = pattern.sub(replacement, word)
    return word


def words(text: str) -> list[str]:
    """Lower-cased word tokens, apostrophes and inner dots dropped, American spelling ("characterise" -> "characterize")."""
    return [american(w.replace("'", "").replace(".", "")) for w in _WORD.findall(text.lower().replace("’", "'"))]


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer().stemWord(adjective_base(word))


@lru_cache(maxsize=1)
def _adjective_lemmas():
    from lemminflect import getLemma

    return getLemma


def adjective_base(word: str) -> str:
    """A regular comparative or superlative adjective as its base ("lower" -> "low", "earliest" -> "early",
    "bigger" -> "big"), so that "lower back pain" is searched and matched as "low back pain"; the stemmer
    leaves these apart. Only where lemminflect's dictionary (not a guess) knows the word as that adjective's
    form, the form is regular (the base and its ending, not "better" -> "good") and the base is at least as
    common in English as the word ("number" is not numb's comparative)."""
    if not word.endswith(("er", "est")) or len(word) < 5:
        return word
    lemmas = _adjective_lemmas()(word, upos="ADJ", lemmatize_oov=False)
    base = lemmas[0] if lemmas else word
    if base == word or not _regular_form(word, base) or english_zipf(base) < english_zipf(word):
        return word
    return base


def _regular_form(word: str, base: str) -> bool:
    """Whether ``word`` is ``base`` with -er/-est (low-er, larg-er, bigg-er, earli-er)."""
    stems = {base, base.rstrip("e"), base[:-1] + "i" if base.endswith("y") else base, base + base[-1]}
    return any(word in (s + "er", s + "est") for s in stems)


def index_terms(text: str) -> list[str]:
    """Terms for BM25: content words, stemmed; stopwords removed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def content_terms(text: str) -> list[str]:
    """Index terms minus question framing ("what", "patient", "recommended"); order kept, no repeats."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w in STOPWORDS or w in QUESTION_FRAMING:
            continue
        seen.setdefault(stem(w), None)
    return list(seen)


def has_negation(text: str) -> bool:
    lowered = text.lower()
    return any(w in NEGATIONS for w in words(lowered)) or "n't" in lowered


def numbers(text: str) -> set[str]:
    """Numbers written in the text ("75%", "4-6", "48") as plain digit strings."""
    return set(re.findall(r"\d+(?:\.\d+)?", text))


ABBREVIATION_DEFINITION = re.compile(r"((?:[A-Za-z][\w/-]*\s+){1,6}?)\(([A-Z][A-Za-z]{1,7})\)")


def defined_abbreviations(texts) -> dict[str, set[str]]:
    """Abbreviations the documents define, "nerve conduction studies (NCS)" -> {"ncs": {nerv, conduct, studi}}."""
    found: dict[str, set[str]] = {}
    for text in texts:
        for match in ABBREVIATION_DEFINITION.finditer(text):
            phrase, short = match.group(1).split(), match.group(2)
            letters = short.lower()
            # Take as many trailing words as the abbreviation has letters, if their initials spell it.
            candidate = phrase[-len(letters) :] if len(phrase) >= len(letters) else phrase
            if "".join(w[0].lower() for w in candidate) == letters:
                found.setdefault(letters, set()).update(index_terms(" ".join(candidate)))
    return found


@lru_cache(maxsize=50000)
def english_zipf(word: str) -> float:
    """How common a word is in general English (wordfreq's Zipf scale: 0 unknown, 3 rare, 6 and more very
    common); what tells a misspelling or a paraphrase from a drug, gene or syndrome name."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def capitalised(text: str) -> str:
    """The first letter upper case, the rest as written (str.capitalize would lowercase 'QA_LLM_URL')."""
    return text[:1].upper() + text[1:]
