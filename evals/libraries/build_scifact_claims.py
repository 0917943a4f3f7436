#!/usr/bin/env python3
"""Build scifact-claims: expert-written claims over 5,183 biomedical abstracts, asked as yes/no questions.

    python3 evals/libraries/build_scifact_claims.py MIRROR [--out DIR]

MIRROR is a bare git mirror (as the fetch tool gives) or a checkout of github.com/sumithra-p-v/claimverifier, whose
data/scifact.zip is a CSV export of SciFact (Wadden et al., EMNLP 2020; claims CC BY 4.0, abstracts ODC-By 1.0):
claims_validation.csv (the 300 claims BEIR calls SciFact's test set, one row per evidence set: the abstract, SUPPORT
or CONTRADICT, the rationale sentences by index) and corpus_train.csv (each abstract as its list of sentences).

The documents are ../shared/bench/scifact/corpus.jsonl (the same 5,183 abstracts, sentences joined with spaces), so
DIR (default: scifact-claims/ beside this script) gets questions.jsonl only:
- a claim with rationale sentences is answerable: "Is it true that <claim>?", evidence its rationale sentences (each
  a substring of its abstract in corpus.jsonl, checked), doc_id the abstract, decision yes (SUPPORT) or no
  (CONTRADICT; a claim with both gets no decision);
- a claim with no rationale in the abstract it cites is unanswerable (SciFact's NOT ENOUGH INFO): the library holds
  an abstract about it that does not settle it, a near miss.
- split: dev or test by the SHA-256 of the claim's first cited abstract (claims about one abstract stay together).
SciFact's training claims are not asked here (200 of them are the probes of qa/answer/probes.json); they are written,
each with the abstract it cites and its label, to evals/reader-data/scifact-train-claims.jsonl, where the reader learns
its yes/no verdicts from them (qa/train/verdict_data.py). Standard library only; the output is the same on every run.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import io
import json
import re
import subprocess
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

REPO = "sumithra-p-v/claimverifier"
ARCHIVE = "data/scifact.zip"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "bench" / "scifact" / "corpus.jsonl"
LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def archive(mirror: Path) -> zipfile.ZipFile:
    if (mirror / ARCHIVE).is_file():
        return zipfile.ZipFile(mirror / ARCHIVE)
    data = subprocess.run(["git", "--git-dir", str(mirror), "show", f"HEAD:{ARCHIVE}"], check=True, capture_output=True).stdout
    return zipfile.ZipFile(io.BytesIO(data))


def sentences_of(listed: str) -> list[str]:
    """An abstract's sentences from the export's printed list ("['First.'\\n 'Second.']")."""
    return [ast.literal_eval(literal) for literal in LITERAL.findall(listed)]


def numbers_of(listed: str) -> list[int]:
    """The integers of the export's printed list ("[2 5]", "[31715818]")."""
    return [int(n) for n in re.findall(r"\d+", listed)]


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def as_question(claim: str) -> str:
    claim = normalised(claim).rstrip(".")
    if len(claim) > 1 and claim[0].isupper() and claim[1].islower():
        claim = claim[0].lower() + claim[1:]
    return f"Is it true that {claim}?"


def build(mirror: Path, out: Path, corpus: Path) -> Counter:
    with archive(mirror) as zipped:
        abstracts = {row["doc_id"]: sentences_of(row["abstract"]) for row in csv.DictReader(io.TextIOWrapper(zipped.open("corpus_train.csv"), encoding="utf-8"))}
        rows = list(csv.DictReader(io.TextIOWrapper(zipped.open("claims_validation.csv"), encoding="utf-8")))
    texts = {}
    for line in corpus.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        texts[record["_id"]] = normalised(record["text"])
    claims, counts = defaultdict(list), Counter()
    for row in rows:
        claims[row["id"]].append(row)
    records = []
    for claim_id in sorted(claims, key=int):
        group = claims[claim_id]
        cited = [str(n) for n in numbers_of(group[0]["cited_doc_ids"])]
        evidence, labels, doc_ids = [], set(), []
        for row in group:
            if not row["evidence_doc_id"]:
                continue
            doc = row["evidence_doc_id"]
            for index in numbers_of(row["evidence_sentences"]):
                sentence = normalised(abstracts[doc][index])
                if sentence in texts.get(doc, ""):
                    evidence.append(sentence)
                    doc_ids.append(doc)
                else:
                    counts["rationale sentences not in corpus.jsonl"] += 1
            labels.add(row["evidence_label"])
        anchor = str((doc_ids or cited or [claim_id])[0])
        split = "dev" if int(hashlib.sha256(anchor.encode()).hexdigest(), 16) % 2 == 0 else "test"
        record = {"id": f"scifact-{claim_id}", "question": as_question(group[0]["claim"]), "answerable": bool(evidence), "split": split,
                  "source": "scifact-validation"}
        if evidence:
            record |= {"evidence": list(dict.fromkeys(evidence)), "doc_id": doc_ids[0], "documents": sorted(set(doc_ids)),
                       "answer": " ".join(dict.fromkeys(evidence))}
            if len(labels) == 1:
                record["decision"] = "yes" if labels == {"SUPPORT"} else "no"
        records.append(record)
    out.mkdir(parents=True, exist_ok=True)
    (out / "questions.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    counts["claims"] = len(records)
    counts["answerable"] = sum(r["answerable"] for r in records)
    counts["dev"] = sum(r["split"] == "dev" for r in records)
    counts["decision yes / no"] = f"{sum(r.get('decision') == 'yes' for r in records)} / {sum(r.get('decision') == 'no' for r in records)}"
    counts["questions.jsonl sha256 " + hashlib.sha256((out / "questions.jsonl").read_bytes()).hexdigest()] = 1
    return counts


def training_claims(mirror: Path, out: Path) -> Counter:
    """SciFact's training claims for the reader's verdicts (evals/reader-data/): each claim with the abstract it
    cites (title and sentences), its rationale sentences' indices and SUPPORT, CONTRADICT or NOT ENOUGH INFO."""
    with archive(mirror) as zipped:
        titles, abstracts = {}, {}
        for row in csv.DictReader(io.TextIOWrapper(zipped.open("corpus_train.csv"), encoding="utf-8")):
            titles[row["doc_id"]], abstracts[row["doc_id"]] = row["title"], sentences_of(row["abstract"])
        rows = list(csv.DictReader(io.TextIOWrapper(zipped.open("claims_train.csv"), encoding="utf-8")))
    merged: dict[tuple[str, str], dict] = {}  # (claim, abstract): one record, its evidence sets' sentences together
    counts = Counter()
    for row in rows:
        doc = row["evidence_doc_id"] or next((str(n) for n in numbers_of(row["cited_doc_ids"]) if str(n) in abstracts), "")
        if doc not in abstracts:
            counts["claims citing no abstract of the corpus"] += 1
            continue
        label = row["evidence_label"] or "NOT ENOUGH INFO"
        record = merged.setdefault((row["id"], doc), {"id": row["id"], "claim": normalised(row["claim"]), "title": normalised(titles[doc]),
                                                      "sentences": [normalised(x) for x in abstracts[doc]], "rationale": [], "label": label})
        record["rationale"] = sorted(set(record["rationale"]) | set(numbers_of(row["evidence_sentences"])))
        if record["label"] != label:
            record["label"] = "MIXED"
    records = list(merged.values())
    counts.update(r["label"] for r in records)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    counts[f"{out.name} sha256 " + hashlib.sha256(out.read_bytes()).hexdigest()] = 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mirror", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("scifact-claims"))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--training-claims", type=Path, default=Path(__file__).resolve().parents[1] / "reader-data" / "scifact-train-claims.jsonl")
    arguments = parser.parse_args()
    counts = {**build(arguments.mirror, arguments.out, arguments.corpus), **training_claims(arguments.mirror, arguments.training_claims)}
    for key, value in sorted(counts.items()):
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
