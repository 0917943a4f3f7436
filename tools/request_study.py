"""What message_focus's two rules do (qa/retrieve/focus.py), measured on the test split of the suite's libraries of
consumer questions (MedQuAD, MedicationQA) through the product's own path, each rule against searching as written:

* long messages: every answerable question inside a message of more than MAX_WHOLE_WORDS words (a subject line, an
  opener, three sentences of circumstances, the question, a closing), searched as its subject line and the sentences
  that ask, or as written;
* short messages with a subject line: the suite's message copy of every answerable question (qa/eval/messages.py:
  a subject line, an opener, one sentence of circumstances, the question, a closing), the same two ways;
* requests for a topic: every "What is (are) X ?" question of MedQuAD asked as a request ("I want to know more about
  X."), searched as "What is X?" or as written; the templated question itself beside them.

Prints, per form and rule: answerable questions declined, evidence in a cited quote, right document cited.

    python tools/request_study.py [--suite evals/suite.json]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import qa.pipeline  # noqa: E402
from qa.eval.messages import CIRCUMSTANCES, CLOSINGS, OPENERS, as_message, subject_line  # noqa: E402
from qa.eval.scoring import score  # noqa: E402
from qa.eval.suite import corpus_questions, load_suite, suite_index  # noqa: E402
from qa.retrieve.focus import MAX_WHOLE_WORDS, message_focus  # noqa: E402
from qa.settings import Settings  # noqa: E402

LIBRARIES = ("medquad", "medicationqa")
TEMPLATED_WHAT_IS = re.compile(r"^What (?:is|are) \(are\) (?P<topic>.+?) \?$")
REQUESTS = ("I want to know more about {}.", "Tell me about {}", "Can you tell me about {}?", "I would like information on {}.")


def _rng(key: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"study:{key}".encode()).digest()[:8], "big"))


def long_message(question: str, key: str) -> str:
    rng = _rng(key)
    body = " ".join([rng.choice(OPENERS), *rng.sample(CIRCUMSTANCES, 4), question.strip(), rng.choice(CLOSINGS)]).strip()
    message = f"{subject_line(question)}\n{body}"
    assert len(message.split()) > MAX_WHOLE_WORDS, message
    return message


def request(topic: str, key: str) -> str:
    return _rng(key).choice(REQUESTS).format(topic)


def measured(pipeline, asked: list[tuple[object, str]]) -> dict[str, float]:
    records = [score(gold, pipeline.ask(text)) for gold, text in asked]
    share = lambda attribute: round(sum(bool(getattr(r, attribute)) for r in records) / max(len(records), 1), 3)  # noqa: E731
    return {"questions": len(records), "declined": share("abstained"), "evidence cited": share("evidence_in_quote"), "right document": share("right_document")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="evals/suite.json")
    args = parser.parse_args()
    suite = load_suite(args.suite)
    settings = Settings.from_env()
    rows = []
    for corpus in [c for c in suite.corpora if c.name in LIBRARIES]:
        index, _ = suite_index(corpus, suite.cache, settings.model, progress=False)
        pipeline = qa.pipeline.open_pipeline(settings.with_overrides(index=index), check_corpus=False)
        own = [q for q in corpus_questions(suite, corpus, pipeline.index.documents).own if q.answerable and q.split == "test"]
        forms = {"question as written": [(q, q.question) for q in own], "long message": [(q, long_message(q.question, q.id)) for q in own],
                 "short message with a subject line": [(q, as_message(q.question, q.id)) for q in own]}
        templated = [(q, m.group("topic")) for q in own if (m := TEMPLATED_WHAT_IS.match(q.question))]
        if templated:
            forms["'What is (are) X ?' as written"] = [(q, q.question) for q, _ in templated]
            forms["asked as a request for X"] = [(q, request(topic, q.id)) for q, topic in templated]
        for form, asked in forms.items():
            for rule, focus in (("focus", message_focus), ("as written", lambda message: message)):
                if rule == "as written" and form in ("question as written", "'What is (are) X ?' as written"):
                    continue
                qa.pipeline.message_focus = focus
                rows.append({"library": corpus.name, "form": form, "searched": rule, **measured(pipeline, asked)})
                qa.pipeline.message_focus = message_focus
                print(rows[-1], file=sys.stderr)
    print("| library | asked as | searched | questions | declined | evidence cited | right document |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['library']} | {row['form']} | {row['searched']} | {row['questions']} | {row['declined']:.3f} | {row['evidence cited']:.3f} | {row['right document']:.3f} |")


if __name__ == "__main__":
    main()
