"""`qa train-reader` (make train-reader): the pairs built, the reader fine-tuned, exported, quantised, checked
on held-out questions and written beside its manifest.

The manifest (``reader.json``) records the file's SHA-256 (the loader refuses any other file), the SHA-256 of
every input and of the pairs themselves, the settings and steps, the time, and the held-out figures of the
fp32 and int8 models with their agreement. Seeded: the same inputs give the same pairs and the same steps.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from qa.answer.reader import READER_DIR, SHIPPED_COMMANDS, VERDICT_READER_DIR, VERDICTS, load_tokenizer
from qa.embed.encoders import DEFAULT_MODEL, resolve_model_path
from qa.stores.index_folder import file_sha256
from qa.train.reader_data import SQUAD_SUBSET, Pair, read_pairs, squad_pairs, write_pairs
from qa.train.reader_net import TrainingSettings, distil, export, load_network, onnx_scores, save_network, train
from qa.train.verdict_data import SCIFACT_TRAIN, is_verdict_pair, scifact_pairs

ABOUT = {  # written into the manifest beside the file: what the reader is for, and the command that rebuilds it
    False: ("The reader: a MiniLM cross-encoder fine-tuned by `make train-reader` (qa/train/); applied by qa/answer/reader.py.",
            f"{SHIPPED_COMMANDS[READER_DIR]} (qa train-reader: seeded, about 25 minutes on 2 CPU cores), then make fit"),
    True: ("The verdict reader: the reader trained with the yes/no verdict data of qa/train/verdict_data.py beside the reader's pairs, by "
           "`make train-verdict-reader`; it reads the statement a yes/no answer opens with (qa/answer/reading.statement_reading).",
           f"{SHIPPED_COMMANDS[VERDICT_READER_DIR]} (qa train-reader --verdict-data: seeded, about 60 minutes on 2 CPU cores), then make fit-reader"),
}

HELD_OUT = 0.08  # share of the SQuAD subset's questions kept out of training to check the model on
MAX_CHECKED = 4000  # pairs of the suite's fit half the model is checked on
SHIPPED_FILE = "reader.int8.onnx"


def held_out(group: str) -> bool:
    """A fixed share of questions, by the SHA-256 of the question's group (all its pairs on one side)."""
    question = group.split("|")[0]  # a near miss ("group|kind") stays with the question it was made from
    return hashlib.sha256(question.encode()).digest()[0] < HELD_OUT * 256


def build_pairs(suite_path: Path | None, cache: Path, settings, seed: int, progress: bool, log) -> tuple[list[Pair], list[Pair], dict]:
    """The pairs to train on and to check on, and the inputs' hashes: the SQuAD subset's (a HELD_OUT share of
    its questions checks), and the suite's when a suite is given (the reader's half of the dev questions trains,
    the other half, which `qa fit` fits the answer model on, checks). Written to ``cache/pairs.jsonl``."""
    inputs = {"squad2-train-10-articles.json": file_sha256(SQUAD_SUBSET), "scifact-train-claims.jsonl": file_sha256(SCIFACT_TRAIN)}
    if suite_path is not None:
        from qa.eval.suite import load_suite

        inputs |= {f"{c.name}/questions.jsonl": file_sha256(c.questions) for c in load_suite(suite_path).corpora if c.questions}
    key = hashlib.sha256(json.dumps([inputs, seed, *(file_sha256(Path(__file__).with_name(f)) for f in PAIR_SOURCES)]).encode()).hexdigest()
    kept = _kept_pairs(cache, key)
    if kept is not None:
        log(f"pairs: kept in {cache} for these inputs")
        return kept[0], kept[1], inputs | {"pairs.jsonl": file_sha256(cache / "pairs.jsonl")}
    public = squad_pairs(seed=seed) + scifact_pairs(seed=seed)
    training, checking = [p for p in public if not held_out(p.group)], [p for p in public if held_out(p.group)]
    if suite_path is not None:
        from qa.eval.suite import load_suite
        from qa.train.reader_suite import suite_pairs

        reader_half, fit_half = suite_pairs(load_suite(suite_path), settings, seed=seed, progress=progress, log=log)
        training += reader_half
        checking += sorted(fit_half, key=lambda p: hashlib.sha256(p.group.encode()).hexdigest())[:MAX_CHECKED]
    path = cache / "pairs.jsonl"
    write_pairs(training + checking, path)
    (cache / "pairs.json").write_text(json.dumps({"key": key, "training": len(training)}), encoding="utf-8")
    inputs["pairs.jsonl"] = file_sha256(path)
    return training, checking, inputs


PAIR_SOURCES = ("reader_data.py", "reader_suite.py", "verdict_data.py")  # the code the pairs come from: a change makes them again


def _kept_pairs(cache: Path, key: str) -> tuple[list[Pair], list[Pair]] | None:
    """The pairs written to ``cache`` for the same inputs, seed and code (training, checking), or None."""
    try:
        record = json.loads((cache / "pairs.json").read_text(encoding="utf-8"))
        if record["key"] != key:
            return None
        pairs = read_pairs(cache / "pairs.jsonl")
    except (OSError, ValueError, KeyError):
        return None
    return pairs[: record["training"]], pairs[record["training"] :]


def auc(positive: np.ndarray, negative: np.ndarray) -> float | None:
    if not len(positive) or not len(negative):
        return None
    order = np.concatenate([positive, negative]).argsort().argsort() + 1.0
    return float((order[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2) / (len(positive) * len(negative)))


def held_out_figures(pairs: list[Pair], readings: list) -> dict:
    """On the held-out pairs: answers-or-not AUC, overall and against each kind of negative; the answering
    candidate first among a question's candidates; span and verdict accuracy where labelled."""
    scores = np.array([r.score for r in readings])
    labels = np.array([p.label for p in pairs])
    figures: dict = {"pairs": len(pairs), "auc": _round(auc(scores[labels == 1], scores[labels == 0]))}
    kinds = sorted({p.source for p in pairs if not p.label})
    figures["auc_against"] = {kind: _round(auc(scores[labels == 1], scores[[p.source == kind and not p.label for p in pairs]])) for kind in kinds}
    by_group = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_group[pair.group].append(i)
    firsts = [labels[max(rows, key=lambda i: scores[i])] for rows in by_group.values() if labels[rows].any() and not labels[rows].all()]
    figures["answer_first"] = _round(float(np.mean(firsts)) if firsts else None)
    spans = [_span_f1(p, r) for p, r in zip(pairs, readings) if p.label and p.span]
    figures["span_f1"] = _round(float(np.mean(spans)) if spans else None)
    verdicts = [VERDICTS[p.verdict] == r.verdict for p, r in zip(pairs, readings) if p.label and p.verdict >= 0]
    figures["verdict_accuracy"] = _round(float(np.mean(verdicts)) if verdicts else None)
    figures["counts"] = {"span": len(spans), "verdict": len(verdicts), "questions_ranked": len(firsts)}
    return figures


def agreement(full: list, quantised: list) -> dict:
    """How closely the int8 model follows the fp32 one on the same pairs."""
    a, b = np.array([r.score for r in full]), np.array([r.score for r in quantised])
    return {
        "score_correlation": _round(float(np.corrcoef(a, b)[0, 1]) if len(a) > 1 else None),
        "same_side_of_zero": _round(float(np.mean((a > 0) == (b > 0)))),
        "same_span": _round(float(np.mean([x.span == y.span for x, y in zip(full, quantised)]))),
        "same_verdict": _round(float(np.mean([x.verdict == y.verdict for x, y in zip(full, quantised)]))),
        "mean_abs_score_difference": _round(float(np.mean(np.abs(a - b)))),
    }


def train_reader(out: Path = READER_DIR, suite_path: Path | None = None, settings: TrainingSettings = TrainingSettings(), cache: Path | None = None,
                 pairs: list[Pair] | None = None, run_settings=None, progress: bool = True, log=print, teacher_weights: Path | None = None,
                 verdict_data: bool = False) -> dict:
    """Builds (or takes) the pairs, trains, exports, checks, and writes ``out/reader.int8.onnx`` and
    ``out/reader.json``; returns the manifest. With a student to distil, the trained reader's weights are kept in
    ``cache/teacher.pt`` (``teacher_weights``: a teacher trained before, taught from instead of training one).
    ``verdict_data``: train on the yes/no pairs of qa/train/verdict_data.py too (the verdict reader)."""
    started = time.perf_counter()
    cache = Path(cache or tempfile.mkdtemp(prefix="qa-reader-"))
    cache.mkdir(parents=True, exist_ok=True)
    if pairs is None:
        training, checking, inputs = build_pairs(suite_path, cache, run_settings, settings.seed, progress, log)
    else:
        write_pairs(pairs, cache / "pairs.jsonl")
        inputs = {"pairs.jsonl": file_sha256(cache / "pairs.jsonl")}
        training = [p for p in pairs if not held_out(p.group)]
        checking = [p for p in pairs if held_out(p.group)] or pairs[: min(len(pairs), 32)]
    if not verdict_data:
        training, checking = [p for p in training if not is_verdict_pair(p)], [p for p in checking if not is_verdict_pair(p)]
    pairs = training + checking
    log(f"{len(training)} pairs to train on, {len(checking)} to check on: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(p.source for p in pairs).items())))
    model_folder = resolve_model_path(DEFAULT_MODEL)
    if teacher_weights is not None:
        network, facts = load_network(model_folder, teacher_weights), {"teacher_weights": str(teacher_weights), "teacher_sha256": file_sha256(teacher_weights)}
    else:
        network, facts = train(training, model_folder, settings, log)
        if settings.student_layers:
            save_network(network, cache / "teacher.pt")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(model_folder, settings.max_tokens)
    with tempfile.TemporaryDirectory(dir=out, prefix=".train-") as scratch:
        teacher = None
        if settings.student_layers:  # the trained reader teaches a smaller one, which is shipped
            teacher_full, teacher_int8 = Path(scratch) / "teacher.fp32.onnx", Path(scratch) / "teacher.int8.onnx"
            export(network, teacher_full, teacher_int8)
            teacher = {"layers": len(network.encoder.encoder.layer), "training": facts,
                       "held_out_int8": held_out_figures(checking, onnx_scores(teacher_int8, tokenizer, checking))}
            network, facts = distil(network, training, model_folder, settings, log)
        full, quantised = Path(scratch) / "reader.fp32.onnx", Path(scratch) / SHIPPED_FILE
        export(network, full, quantised)
        full_readings, int8_readings = onnx_scores(full, tokenizer, checking), onnx_scores(quantised, tokenizer, checking)
        manifest = {
            "about": ABOUT[verdict_data][0],
            "command": ABOUT[verdict_data][1],
            "file": SHIPPED_FILE, "sha256": file_sha256(quantised), "bytes": quantised.stat().st_size,
            "base_model": DEFAULT_MODEL, "max_tokens": settings.max_tokens,
            "settings": asdict(settings), "training": facts,
            "data": {"inputs_sha256": inputs, "verdict_data": verdict_data, "pairs": len(pairs), "training_pairs": len(training), "held_out_pairs": len(checking),
                     "held_out": "8% of the SQuAD subset's questions, and pairs of the suite's fit half of the dev questions (qa/eval/fit_data.read_half)",
                     "by_source": dict(sorted(Counter(p.source for p in pairs).items()))},
            "held_out": {"fp32": held_out_figures(checking, full_readings), "int8": held_out_figures(checking, int8_readings)},
            "int8_agreement": agreement(full_readings, int8_readings),
            **({"distilled_from": teacher} if teacher else {}),
            "built": {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "seconds": round(time.perf_counter() - started, 1),
                      "machine": f"{platform.machine()}, {os.cpu_count()} cores", **_versions()},
        }
        manifest_path = Path(scratch) / "reader.json"
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        shutil.move(str(quantised), out / SHIPPED_FILE)  # the model first: a manifest never names a file not yet there
        manifest_path.replace(out / "reader.json")
    return manifest


def _versions() -> dict:
    import onnxruntime
    import torch

    return {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__}


def _span_f1(pair: Pair, reading) -> float:
    gold = set(range(*pair.span))
    found = set(range(*reading.span))
    overlap = len(gold & found)
    return 0.0 if not overlap else 2 * overlap / (len(gold) + len(found))


def _round(value):
    return None if value is None else round(float(value), 4)

