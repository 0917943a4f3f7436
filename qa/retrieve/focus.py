"""What a message asks. People write messages, not queries: a subject line, what happened, then the question, and a
thank-you ("DVT" / "Can a birth control called Ocella cause DVT? My daughter has been on it for a year ..."). The
circumstances are words the documents do not use; searched and weighed with the question, they bury it. A message of
several sentences, some of which ask (end in "?") and some not, is searched as its subject line and the sentences that
ask; a single question, or a message that asks nothing in so many words ("I want to know more about aortic
stenosis."), is searched as it is. The answer still shows the message as it was written.
"""

from __future__ import annotations

from qa.units import sentence_spans

CLOSING = ")]}\"'”’"  # a question may close inside brackets or quotes: "(What does it mean?)"
MAX_SUBJECT_WORDS = 8  # a first line this short, not ending like a sentence, is a subject line


def message_focus(message: str) -> str:
    """The message's subject line and the sentences that ask, in their order; the message itself when it is one
    question, or asks nothing with a question mark."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    sentences = [line[a:b] for line in lines for a, b in sentence_spans(line, 0, len(line))]
    asking = [sentence for sentence in sentences if sentence.rstrip().rstrip(CLOSING).endswith("?")]
    if not asking or len(asking) == len(sentences):
        return message
    first = lines[0]
    subject = len(lines) > 1 and len(first.split()) <= MAX_SUBJECT_WORDS and not first.endswith((".", "?", "!", ":"))
    return " ".join(([first] if subject else []) + asking)
