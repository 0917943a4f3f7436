"""What a message asks. People write messages, not queries: a subject line, what happened, then the question, and a
thank-you ("DVT" / "Can a birth control called Ocella cause DVT? My daughter has been on it for a year ..."). In a long
message the circumstances are most of the words, words the documents do not use; searched and weighed with the
question, they bury it. A message with a subject line (a short first line of its own, not ended as a sentence), or
longer than the reader reads whole (about half its 128 word pieces), of several sentences some of which ask (end in
"?", or open as a question does) and some not, is searched as its subject line and the sentences that ask. A shorter
one on a single line is searched as written: there the sentence before the question often carries its topic ("My
patient has back pain and a pacemaker. What imaging then?", a PubMedQA title "Metered-dose inhalers. Do providers
know what to teach?"). What each rule gains, in sample and held out, is in evals/README.md (*Long messages and requests
for a topic*, *The subject-line rule, held out*, *Questions that run on*).

The public often asks without a question mark and runs on into the thank-you ("metoclopramide how supplied Thanks in
advance!"). A sentence therefore also ends before a capitalised word among the commonest in English that starts a new
clause, and when no sentence asks by its form, those with a question word anywhere are what it asks.

A request for a topic ("I want to know more about aortic stenosis.", "Can you tell me about DVT?") asks what the topic
is, and is searched as "What is aortic stenosis?", so that the statement defining it answers rather than passages that
share its "tell" and "know" (`tools/request_study.py` measured both rules). The answer shows the message as written.
"""

from __future__ import annotations

import re

from qa.text import english_zipf

CLOSING = ")]}\"'\u201d\u2019"  # a question may close inside brackets or quotes: "(What does it mean?)"
MAX_SUBJECT_WORDS = 8  # a first line this short, not ending like a sentence, is a subject line
# The public often asks without a question mark ("what are steroids"): a sentence opening with an interrogative word
# asks too (the closed class of English question openers, not a list fitted to any library).
QUESTION_OPENER = re.compile(r"^\W*(?:what|how|why|when|where|which|who|whom|whose|can|could|does|do|did|is|are|was|were|should|would|will|may|might|has|have)\b", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][)\]}\"'\u201d\u2019])\s+")  # a message's sentences, the next one capitalised or not ("... confused. what are")
RUN_ON = re.compile(r"(?<=[a-z0-9,;:)\"'\u201d])\s+(?P<next>(?!I\b|I')[A-Z][a-z']*)(?=,?\s+[a-z])")  # a capitalised word between lowercase ones
RUN_ON_ZIPF = 5.4  # the commonest English words, on wordfreq's scale (thanks 5.43, please 5.66, my 6.57; council 5.08, aspirin 3.34)
# A question word anywhere in a sentence. Not "who": in a message's circumstances it is mostly relative ("my husband,
# who is 67"), which qa/answer/questions.WH_WORD, for a question already found, need not tell apart.
QUESTION_WORD = re.compile(r"\b(?:what(?:'?s)?|how|which|why|when|where)\b", re.IGNORECASE)
MAX_WHOLE_WORDS = 45  # about the reader's share for a question (64 word pieces): read whole, searched whole
TOPIC_REQUEST = re.compile(
    r"^\W*(?:hi|hello)?\W*(?:please\W+)?(?:"
    r"(?:i|we)\s+(?:want|wanted|would like|'d like|need|am looking|was looking)\s+(?:to\s+(?:know|learn|read|find out)\s+|for\s+|some\s+)?"
    r"(?:(?:more|some)\s+)?(?:information|info|more)?\s*(?:about|on|regarding|of)"
    r"|(?:can|could|would)\s+you\s+(?:please\s+)?(?:tell|explain to)\s+me\s+(?:more\s+)?(?:about|on)"
    r"|(?:please\s+)?(?:tell|teach)\s+me\s+(?:more\s+)?(?:about|on)"
    r"|what\s+(?:can\s+you\s+tell\s+me|do\s+you\s+know|should\s+i\s+know)\s+about"
    r"|(?:more\s+)?(?:information|info)\s+(?:about|on|regarding)"
    r")\s+(?P<topic>.+?)[\s.?!]*$",
    re.IGNORECASE,
)


def topic_request(sentence: str) -> str | None:
    """ "What is <topic>?" for a sentence that asks for a topic as a whole, else None."""
    match = TOPIC_REQUEST.match(sentence.strip())
    return f"What is {match.group('topic')}?" if match else None


def asks(sentence: str) -> bool:
    """Whether a sentence asks: it ends with a question mark (perhaps inside brackets or quotes), or opens as a question."""
    return sentence.rstrip().rstrip(CLOSING).endswith("?") or bool(QUESTION_OPENER.match(sentence))


def run_on_parts(sentence: str) -> list[str]:
    """A sentence split where an unended one runs on into the next ("metoclopramide how supplied Thanks in advance!"):
    before a capitalised word that is among the commonest in English (a greeting, a pronoun or a thank-you, not a drug
    or a place: "can I take Advil" stays whole) and stands between lowercase words, as a sentence's first word does
    (not in a title: "information about Blood Transfusion and Donation" stays whole). Not before a word that opens
    questions: what follows it would be taken to ask ("since she started it last May and her doctor says ...")."""
    parts, start = [], 0
    for match in RUN_ON.finditer(sentence):
        word = match.group("next")
        if english_zipf(word.lower()) >= RUN_ON_ZIPF and not QUESTION_OPENER.match(word):
            parts.append(sentence[start : match.start("next")].strip())
            start = match.start("next")
    return [part for part in parts + [sentence[start:].strip()] if part]


def asking_sentences(sentences: list[str]) -> list[str]:
    """The sentences that ask; when none does by its form, those with a question word anywhere (the public writes
    "metoclopramide how supplied", "cbd from marijuana to treat what")."""
    return [s for s in sentences if asks(s)] or [s for s in sentences if QUESTION_WORD.search(s)]


def message_focus(message: str) -> str:
    """What the message is searched as: the subject line and the sentences that ask, in their order, of a message with
    a subject line or a long one, each request for a topic asked as what the topic is; otherwise the message as written."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    written = _sentences(lines)
    sentences = [topic_request(sentence) or sentence for sentence in written]
    whole = " ".join(sentences) if sentences != written else message  # requests asked as what their topic is
    first = lines[0] if lines else ""
    subject = len(lines) > 1 and len(first.split()) <= MAX_SUBJECT_WORDS and not first.endswith((".", "?", "!", ":"))
    if len(message.split()) <= MAX_WHOLE_WORDS and not subject:
        return whole
    body = sentences[len(_sentences(lines[:1])):] if subject else sentences  # the subject line's sentences come first
    asking = asking_sentences(body)
    if not asking or (len(asking) == len(body) and not subject):
        return whole
    return " ".join(([first] if subject else []) + asking)


def _sentences(lines: list[str]) -> list[str]:
    return [part for line in lines for sentence in SENTENCE_END.split(line) if sentence for part in run_on_parts(sentence)]
