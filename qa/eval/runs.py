"""One `qa eval` run over a gold file: the same questions through the `qa ask` path, optionally swept over
retrieval modes and k (the winner chosen on dev), optionally the LLM answerer beside the extractive one,
written as a run folder and checked against recorded floors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.eval import report as eval_report
from qa.eval.gold import load_gold
from qa.eval.scoring import all_retrieval_scores, best_configuration, check_floors, records_to_json, run_evaluation, summarise

SWEEP_KS = (3, 5, 8, 10)


@dataclass(frozen=True)
class GoldRun:
    folder: Path  # where report.md, report.json and the plots are
    chosen: str  # the configuration reported: "hybrid k=8", with the LLM's name when it ran beside it
    swept: bool  # more than one configuration ran (the winner was chosen on dev)
    summary: dict  # the chosen configuration's summary on the split asked for


def run_gold_evaluation(pipeline, gold: str, split: str = "all", mode: str | None = None, k: int | None = None, out: str | None = None, llm: bool = False, progress: bool = True) -> GoldRun:
    """``mode`` "all" sweeps dense, BM25 and hybrid with k in SWEEP_KS; ``llm`` adds the LLM answerer at the
    chosen setting, same questions, same run."""
    if llm and mode == "all":
        raise QAError("--answerer llm compares two answerers at one retrieval setting; pick a mode other than 'all'.")
    questions = list(load_gold(gold, pipeline.index.documents))
    if split != "all":
        questions = [q for q in questions if q.split == split]  # the LLM is slow: ask only what is reported
    modes = ["dense", "bm25", "hybrid"] if mode == "all" else [mode or pipeline.settings.mode]
    ks = [k] if k else (list(SWEEP_KS) if mode == "all" else [pipeline.settings.k])
    retrieval = all_retrieval_scores(pipeline, questions)
    runs = {f"{m} k={kk}": run_evaluation(pipeline, questions, m, kk, progress=progress, retrieval=retrieval) for m in modes for kk in ks}
    chosen = best_configuration(runs) if len(runs) > 1 else next(iter(runs))
    mode_chosen, k_chosen = chosen.split()[0], int(chosen.split("=")[1])
    if llm:
        chosen = f"{chosen} {pipeline.answerer_for('llm').name}"
        runs[chosen] = run_evaluation(pipeline, questions, mode_chosen, k_chosen, progress=progress, retrieval=retrieval, answerer="llm")
    in_split = {name: [r for r in records if split == "all" or r.split == split] for name, records in runs.items()}
    report_runs = {name: {"summary": summarise(records), "records": records_to_json(records)} for name, records in in_split.items()}
    folder = Path(out) if out else eval_report.default_run_folder()
    settings = {"gold": gold, "split": split, "mode": mode_chosen, "k": k_chosen, "fusion": pipeline.retriever.fusion, "index": str(pipeline.index.folder),
                "answerer": "llm" if llm else "extractive"}
    eval_report.write_report(folder, report_runs, settings, pipeline.index.manifest, chosen)
    return GoldRun(folder, chosen, len(runs) > 1 + llm, report_runs[chosen]["summary"])


def enforce_floors(summary: dict, floors_file: str) -> int:
    """Raises QAError naming every gated metric out of its limits; returns how many were checked."""
    try:
        gate = json.loads(Path(floors_file).read_text())
        floors, ceilings = gate["floors"], gate.get("ceilings", {})
    except (OSError, ValueError, KeyError) as exc:
        raise QAError(f"cannot read floors from {floors_file!r} ({exc}); it must be JSON with a 'floors' object.") from exc
    failures = check_floors(summary, floors, ceilings)
    if failures:
        raise QAError("quality dropped below the recorded floors: " + "; ".join(failures))
    return len(floors) + len(ceilings)
