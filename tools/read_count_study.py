"""How many candidates must the reader read (evals/README.md, *How many it reads, held out*)? The shipped answer
model, unchanged, answers each test split reading the k best-ranked candidates that can stand as statements: every
question's 8 are read once, and k of them are a prefix of those readings, as the answerer reads with `read_count` k.
Also: reading fewer only when the ranker's best two candidates are apart by a margin. Then the reader's own time per
answer for a few counts, on the seed's gold questions (`read_rows`, the product's path).

    python tools/read_count_study.py --out DIR                                  # the model's own libraries (in sample)
    python tools/read_count_study.py --corpus cpgqa --corpus scifact --out DIR  # libraries the model never saw

Writes DIR/read_count-SPLIT.json; prints one line per variant and the variant chosen by the bars (`--split dev` to choose).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qa.answer.model import load_answer_model  # noqa: E402
from qa.answer.reading import Read, read_rows, rows_to_read  # noqa: E402
from qa.app.cli_common import settings_from_env  # noqa: E402
from qa.eval.fit import read_examples  # noqa: E402
from qa.eval.fit_statements import evaluate  # noqa: E402
from qa.eval.fit_data import collect_examples  # noqa: E402
from qa.eval.suite import load_suite  # noqa: E402

METRICS = ("evidence_cited", "typo.evidence_cited", "message.evidence_cited", "false_abstention", "typo.false_abstention", "message.false_abstention",
           "verdict_accuracy", "answer_f1", "key_fact_recall", "cross_corpus_abstained")
# The bar for reading fewer: evidence cited (clean, typo'd and message copies) within 0.01 of reading 8, verdicts
# and answers (the span's share of them) within 0.02, on every library.
BARS = {"evidence_cited": 0.01, "typo.evidence_cited": 0.01, "message.evidence_cited": 0.01, "verdict_accuracy": 0.02, "answer_f1": 0.02}
MARGINS = (1.0, 1.5, 2.0, 3.0)
MOST = 8


def variants(reads: dict, margins: dict) -> list[tuple[str, dict]]:
    def prefix(count: int, margin: float | None = None, when_sure: int = 0) -> dict:
        chosen = {}
        for key, read in reads.items():
            n = when_sure if margin is not None and margins.get(key, 0.0) >= margin else count
            chosen[key] = Read(read.rows[:n], read.readings[:n])
        return chosen

    made = [(f"read {k}", prefix(k)) for k in (MOST, 6, 4)]
    return made + [(f"read {small} when the ranker's margin >= {m}, else {MOST}", prefix(MOST, m, small)) for m in MARGINS for small in (4, 6)]


def chosen_variant(result: dict) -> str:
    """The variant reading fewest on average that stays within BARS of reading 8 on every library (on the split it
    was run on: dev, to choose)."""
    base = result[f"read {MOST}"]

    def within(name: str) -> bool:
        return all(base[c].get(m) is None or result[name][c].get(m) is None or base[c][m] - result[name][c][m] <= bar
                   for c in base if c != "mean_read" for m, bar in BARS.items())

    return min((name for name in result if within(name)), key=lambda name: result[name]["mean_read"])


def reader_time(counts=(MOST, 6, 4), questions: int = 40, passes: int = 3) -> dict[int, float]:
    """Median milliseconds the reader takes per answer reading each count, on the seed's first gold questions."""
    from qa.pipeline import open_pipeline
    from qa.settings import Settings

    pipeline = open_pipeline(Settings())
    answerer = pipeline.answerer
    model, reader = answerer.model, answerer.reader_for(answerer.model)
    gold = Path(__file__).resolve().parent.parent / "evals" / "gold.jsonl"
    prepared = []
    for line in gold.read_text(encoding="utf-8").splitlines()[:questions]:
        question = json.loads(line)["question"]
        _, candidates = answerer.signals(question, pipeline.search(question))
        if candidates.positions:
            prepared.append((question, candidates, model.rank.score(candidates.values)))
    medians = {}
    for count in counts:
        times = []
        for _ in range(passes):
            for question, candidates, scores in prepared:
                rows = rows_to_read(answerer.table, candidates, scores, count)
                started = time.perf_counter()
                read_rows(reader, question, answerer.table, candidates, rows)
                times.append((time.perf_counter() - started) * 1000)
        medians[count] = round(statistics.median(times), 1)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="evals/suite.json")
    parser.add_argument("--corpus", action="append", default=[], help="a library to score (default: those the model was fitted on)")
    parser.add_argument("--split", default="test", choices=("dev", "test"), help="dev: to choose a variant (printed); test: to judge it")
    parser.add_argument("--no-time", action="store_true", help="skip the reader's time per answer")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    model = load_answer_model()
    names = tuple(args.corpus) or tuple(model.fitted["corpora"])
    corpora = collect_examples(load_suite(args.suite), settings_from_env(), (args.split,), names=names, progress=False)
    reads = read_examples(corpora, model.rank, count=MOST, log=lambda line: None)
    margins = {}
    for corpus in corpora:
        for example in (e for e in corpus.examples if len(e.candidates.positions) > 1):
            top = np.sort(model.rank.score(example.candidates.values))[::-1]
            margins[id(example)] = float(top[0] - top[1])
    result = {}
    for name, chosen in variants(reads, margins):
        summaries = evaluate(corpora, model, args.split, chosen)
        result[name] = {"mean_read": float(np.mean([len(r.rows) for r in chosen.values()])),
                        **{c: {m: summaries[c].get(m) for m in METRICS} for c in summaries}}
        print(f"{name}: {result[name]['mean_read']:.2f} read; evidence cited " + ", ".join(f"{c} {s.get('evidence_cited')}" for c, s in summaries.items()))
    print(f"chosen on {args.split} (fewest read within the bars on every library): {chosen_variant(result)}")
    if not args.no_time:
        result["reader_ms_per_answer"] = reader_time()
        print("reader's time per answer, ms:", result["reader_ms_per_answer"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"read_count-{args.split}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
