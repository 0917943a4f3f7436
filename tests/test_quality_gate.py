"""The CI quality gate: answers on the test split must stay at or above the floors in evals/floors.json."""

import json

from qa.eval.scoring import check_floors, run_evaluation, summarise
from qa.eval.gold import load_gold

from .conftest import ROOT


def test_quality_stays_above_the_recorded_floors(pipeline):
    gate = json.loads((ROOT / "evals" / "floors.json").read_text())
    questions = [q for q in load_gold(ROOT / "evals" / "gold.jsonl", pipeline.index.documents) if q.split == gate["split"]]
    summary = summarise(run_evaluation(pipeline, questions, pipeline.settings.mode, pipeline.settings.k, progress=False))
    assert check_floors(summary, gate["floors"], gate.get("ceilings")) == []


def test_the_gate_reports_a_drop():
    assert check_floors({"key_fact_recall": 0.5, "false_abstention": 0.2}, {"key_fact_recall": 0.8}, {"false_abstention": 0.1}) == [
        "key_fact_recall = 0.5 is below its floor 0.8",
        "false_abstention = 0.2 is above its ceiling 0.1",
    ]
