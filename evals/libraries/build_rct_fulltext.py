#!/usr/bin/env python3
"""Build rct-fulltext: doctors' questions over full-text randomised trial reports (Evidence Inference 2.0).

    python3 evals/libraries/build_rct_fulltext.py MIRROR [--out DIR] [--articles N]

MIRROR is a bare git mirror (as the fetch tool gives) or a checkout of github.com/jayded/evidence-inference (MIT).
Its annotations/ hold open-access PubMed Central articles as plain text (txt_files/PMC<id>.txt: title, abstract and
body sections, tables flattened to lines), prompts written by doctors reading each article (an outcome, an
intervention, a comparator) and, in v2_annotations.csv, each doctor's answer (significantly increased / decreased /
no significant difference) with the passage of the article that supports it.

DIR (default: rct-fulltext/ beside this script) gets:
- corpus/pmc<id>.md: the article as Markdown, `# Title`, then `## Section` for every section header of the text
  file ("ABSTRACT.RESULTS" -> "Abstract: Results"), each section's lines as one paragraph (a table stays a run of
  lines a reader can quote);
- questions.jsonl: one question per prompt with an answer both of its checks accepted, in one of three phrasings
  chosen by the SHA-256 of the prompt id ("What was the effect of I compared with C on O?", "How did O differ
  between I and C?", "Did I change O compared with C?", the last with decision yes/no); evidence: the doctors'
  supporting passages that are in the article's text (whitespace aside), an answer without one is dropped;
  split: dev or test by article (SHA-256 of the article id, alternating so that the splits stay even).
- README.md is written by hand; this script prints the counts it reports.

Articles: the first N (default 150) in SHA-256 order of their PMC id among those with an accepted answer and a text
file under 60,000 characters. Standard library only; the output is the same on every run.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

REPO = "jayded/evidence-inference"
ANNOTATIONS = "annotations/v2_annotations.csv"
PROMPTS = "annotations/prompts_merged.csv"
TEXT = "annotations/txt_files/PMC{}.txt"
LABELS = {"significantly increased": "significantly increased", "significantly increase": "significantly increased",
          "significantly decreased": "significantly decreased", "no significant difference": "no significant difference"}
# Prompts the dataset's own README flags as incorrect or questionable.
FLAGGED = {911, 912, 1262, 1261, 3044, 3248, 3111, 3620, 4308, 4490, 4491, 4324, 4325, 4492, 4824, 5000, 5001, 5002, 5046,
           5047, 4948, 5639, 5710, 5752, 5775, 5782, 5841, 5843, 5861, 5862, 5863, 5964, 5965, 5966, 5975, 4807, 5776, 5777,
           5778, 5779, 5780, 5781, 6034, 6065, 6066, 6666, 6667, 6668, 6669, 7040, 7042, 7944, 8590, 8605, 8606, 8639, 8640,
           8745, 8747, 8749, 8877, 8878, 8593, 8631, 8635, 8884, 8886, 8773, 10032, 10035, 8876, 8875, 8885, 8917, 8921, 8118,
           10885, 10886, 10887, 10888, 10889, 10890, 7811, 7812, 7813, 7814, 7815, 8197, 8198, 8199, 8200, 8201, 9429, 9430,
           9431, 8536, 9432, 3514, 346, 5037, 4715, 8767, 9295, 9297, 8870, 9862}
HEADER = re.compile(r"^(TITLE|(?:ABSTRACT|BODY)(?:\.[^:\n]*)?):\s*$")
MAX_CHARS = 60_000


def read(mirror: Path, path: str) -> str:
    if (mirror / path).is_file():
        return (mirror / path).read_text(encoding="utf-8")
    return subprocess.run(["git", "--git-dir", str(mirror), "show", f"HEAD:{path}"], check=True, capture_output=True).stdout.decode("utf-8")


def commit_of(mirror: Path) -> str:
    if (mirror / ".git").exists() or not (mirror / "HEAD").exists():
        return subprocess.run(["git", "-C", str(mirror), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    return subprocess.run(["git", "--git-dir", str(mirror), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def section_name(header: str) -> str:
    parts = [p.strip() for p in header.split(".") if p.strip()]
    if parts and parts[0] == "BODY":
        parts = parts[1:]
    return ": ".join(p.capitalize() for p in parts) or "Body"


def to_markdown(text: str) -> tuple[str, str] | None:
    """The article as Markdown and its title (None without one)."""
    title, sections, current = "", [], None
    for line in text.splitlines():
        found = HEADER.match(line.strip())
        if found:
            current = [section_name(found.group(1)), []] if found.group(1) != "TITLE" else ["TITLE", []]
            sections.append(current)
        elif current is not None and line.strip():
            current[1].append(re.sub(r"\s+", " ", line).strip())
    for name, lines in sections:
        if name == "TITLE":
            title = " ".join(lines)
    if not title:
        return None
    parts = [f"# {title}"]
    for name, lines in sections:
        if name != "TITLE" and lines:
            parts.append(f"## {name}\n\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n", title


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def lower_first(text: str) -> str:
    """"The relative risk" -> "the relative risk" inside a sentence; "BMI" and "IL-6" stay as written."""
    return text[0].lower() + text[1:] if len(text) > 1 and text[0].isupper() and text[1].islower() else text


def phrasing(prompt: dict, label: str) -> tuple[str, str]:
    outcome, intervention, comparator = (lower_first(normalised(prompt[k]).rstrip(".")) for k in ("Outcome", "Intervention", "Comparator"))
    kind = int(sha(prompt["PromptID"]), 16) % 3
    if kind == 0:
        return f"What was the effect of {intervention} compared with {comparator} on {outcome}?", ""
    if kind == 1:
        return f"How did {outcome} differ between {intervention} and {comparator}?", ""
    return f"Did {intervention} change {outcome} compared with {comparator}?", "no" if label == "no significant difference" else "yes"


def build(mirror: Path, out: Path, articles: int) -> Counter:
    answers = defaultdict(list)
    for row in csv.DictReader(io.StringIO(read(mirror, ANNOTATIONS))):
        if row["Valid Label"] == "True" and row["Valid Reasoning"] == "True" and row["Label"] in LABELS and int(row["PromptID"]) not in FLAGGED:
            answers[(row["PMCID"], row["PromptID"])].append((LABELS[row["Label"]], row["Annotations"]))
    prompts = {row["PromptID"]: row for row in csv.DictReader(io.StringIO(read(mirror, PROMPTS)))}
    by_article = defaultdict(list)
    for (pmcid, prompt_id) in answers:
        if prompt_id in prompts:
            by_article[pmcid].append(prompt_id)
    chosen, counts = [], Counter()
    for pmcid in sorted(by_article, key=sha):
        if len(chosen) >= articles:
            break
        try:
            text = read(mirror, TEXT.format(pmcid))
        except subprocess.CalledProcessError:
            counts["articles without a text file"] += 1
            continue
        if len(text) > MAX_CHARS:
            counts["articles over 60,000 characters"] += 1
            continue
        converted = to_markdown(text)
        if converted is None:
            counts["articles without a title"] += 1
            continue
        chosen.append((pmcid, converted[0]))
    if out.exists():
        shutil.rmtree(out / "corpus", ignore_errors=True)
    (out / "corpus").mkdir(parents=True, exist_ok=True)
    records, article_split = [], {}
    for n, (pmcid, markdown) in enumerate(sorted(chosen, key=lambda c: sha(c[0]))):
        article_split[pmcid] = "dev" if n % 2 == 0 else "test"
        (out / "corpus" / f"pmc{pmcid}.md").write_text(markdown, encoding="utf-8")
        body = normalised(markdown)
        for prompt_id in sorted(by_article[pmcid], key=int):
            given = answers[(pmcid, prompt_id)]
            labels = Counter(label for label, _ in given)
            label = labels.most_common(1)[0][0]
            evidence = list(dict.fromkeys(normalised(e) for lab, e in given if lab == label and normalised(e) and normalised(e) in body))
            if not evidence:
                counts["answers whose evidence is not in the text"] += 1
                continue
            question, decision = phrasing(prompts[prompt_id], label)
            records.append({"id": f"rct-{prompt_id}", "question": question, "answerable": True, "answer": label, "answers": [label],
                            "evidence": evidence, "doc_id": f"pmc{pmcid}", "split": article_split[pmcid], "source": "evidence-inference-2.0",
                            **({"decision": decision} if decision else {})})
    (out / "questions.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    counts["articles"] = len(chosen)
    counts["questions"] = len(records)
    counts["dev questions"] = sum(r["split"] == "dev" for r in records)
    counts["yes/no questions"] = sum("decision" in r for r in records)
    counts["characters"] = sum(len(m) for _, m in chosen)
    counts[f"{REPO}@{commit_of(mirror)}"] = 1
    counts["questions.jsonl sha256 " + hashlib.sha256((out / "questions.jsonl").read_bytes()).hexdigest()] = 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mirror", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("rct-fulltext"))
    parser.add_argument("--articles", type=int, default=150)
    arguments = parser.parse_args()
    for key, value in sorted(build(arguments.mirror, arguments.out, arguments.articles).items()):
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
