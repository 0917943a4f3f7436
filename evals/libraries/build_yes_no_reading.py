#!/usr/bin/env python3
"""Build the verdict reader's human-labelled yes/no reading data: natural questions against the sentence that settles
them, negations included.

    python3 evals/libraries/build_yes_no_reading.py CONDAQA_MIRROR BOOLQ_MIRROR [--out FILE]

Each MIRROR is a bare git mirror (as the fetch tool gives) or a checkout:
- CONDAQA_MIRROR: github.com/AbhilashaRavichander/CondaQA (Ravichander et al., EMNLP 2022; Apache-2.0). Questions
  written by people about a Wikipedia passage with a negation cue, each asked against the passage as written and
  against three edits of its cue sentence (paraphrased, the negation's scope changed, the negation removed), labelled
  YES, NO or DON'T KNOW. Read: data/condaqa_dev.json and data/few-shot/test_splits/conda_fewshot_test_[1-5].json (the
  test set, in five parts); the training file is not in the repository. Questions with a free-text answer are skipped.
- BOOLQ_MIRROR: github.com/d-eremeev/BoolQ-Question-Answering, whose data/dev.jsonl is BoolQ's dev set unchanged
  (Clark et al., NAACL 2019; CC BY-SA 3.0): 3,270 questions people typed into a search engine, each with a Wikipedia
  paragraph and its true/false answer.

FILE (default: evals/reader-data/yes-no-reading.jsonl) gets one line per question asked of one sentence, as the
product's verdict reader reads it (the statement an answer opens with, after the sentence before it):
``{"source", "group", "question", "heading", "before", "text", "verdict"}``, verdict "yes", "no" or "maybe" (DON'T
KNOW). CondaQA's sentence is the cue sentence, as edited; BoolQ's is the paragraph's sentence sharing most words
with the question. ``group``: one passage's questions and edits (they stay on one side of the reader's held-out
split). Standard library only; the output is the same on every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
from collections import Counter
from pathlib import Path

CONDAQA_FILES = ("data/condaqa_dev.json", *(f"data/few-shot/test_splits/conda_fewshot_test_{i}.json" for i in range(1, 6)))
BOOLQ_FILE = "data/dev.jsonl"
OUT = Path(__file__).resolve().parents[1] / "reader-data" / "yes-no-reading.jsonl"
VERDICT_OF_LABEL = {"YES": "yes", "NO": "no", "DON'T KNOW": "maybe"}
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])")
WORD = re.compile(r"[a-z0-9]+")
FUNCTION_WORDS = frozenset("a an the of in on at to for by with from and or is are was were be been do does did has have had it its this that as "
                           "can could will would should may might what which who how when where there their they he she his her".split())


def read_text(mirror: Path, path: str) -> str:
    if (mirror / path).is_file():
        return (mirror / path).read_text(encoding="utf-8")
    return subprocess.run(["git", "--git-dir", str(mirror), "show", f"HEAD:{path}"], check=True, capture_output=True).stdout.decode("utf-8")


def as_question(text: str) -> str:
    """BoolQ's typed queries ("does the us still produce 2 dollar bills") as questions."""
    text = text.strip().rstrip("?")
    return text[:1].upper() + text[1:] + "?"


def around_cue_sentence(record: dict) -> tuple[str, str]:
    """The passage before and after its cue sentence (the dev file does not list them: found in the original)."""
    if "pre sentence" in record:
        return record["pre sentence"], record["post sentence"]
    original, sentence = record["original passage"], record["original sentence"]
    at = original.find(sentence)
    return (original[:at], original[at + len(sentence) :]) if at >= 0 else ("\0", "")


def condaqa_rows(mirror: Path) -> list[dict]:
    rows, seen = [], set()
    for path in CONDAQA_FILES:
        for line in read_text(mirror, path).splitlines():
            record = json.loads(line)
            verdict = VERDICT_OF_LABEL.get(record["label"])
            passage, (pre, post) = record["sentence1"], around_cue_sentence(record)
            if verdict is None or record["SampleID"] in seen or not passage.startswith(pre) or not passage.endswith(post):
                continue
            seen.add(record["SampleID"])
            text = passage[len(pre) : len(passage) - len(post)].strip()
            earlier = SENTENCE_END.split(pre.strip()) if pre.strip() else []
            rows.append({"source": "condaqa", "group": f"condaqa:{record['PassageID']}", "question": record["sentence2"].strip(), "heading": "",
                         "before": earlier[-1] if earlier else "", "text": text, "verdict": verdict})
    return rows


def content_words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in FUNCTION_WORDS}


def boolq_rows(mirror: Path) -> list[dict]:
    rows = []
    for line in read_text(mirror, BOOLQ_FILE).splitlines():
        record = json.loads(line)
        question, sentences = as_question(record["question"]), SENTENCE_END.split(record["passage"].strip())
        asked = content_words(question)
        best = max(range(len(sentences)), key=lambda i: (len(asked & content_words(sentences[i])), -i))
        rows.append({"source": "boolq", "group": "boolq:" + hashlib.sha256(record["title"].encode()).hexdigest()[:12], "question": question,
                     "heading": record["title"], "before": sentences[best - 1] if best else "", "text": sentences[best],
                     "verdict": "yes" if record["answer"] else "no"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("condaqa", type=Path)
    parser.add_argument("boolq", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = [row for row in condaqa_rows(args.condaqa) + boolq_rows(args.boolq) if row["text"] and row["question"]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial")
    partial.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    partial.replace(args.out)
    print(f"{len(rows)} questions to {args.out}: " + ", ".join(f"{k[0]} {k[1]} {v}" for k, v in sorted(Counter((r['source'], r['verdict']) for r in rows).items())))
    print("sha256", hashlib.sha256(args.out.read_bytes()).hexdigest())


if __name__ == "__main__":
    main()
