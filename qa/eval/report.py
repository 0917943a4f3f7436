"""Evaluation reports: report.json, report.md and PNG plots in a run folder, and run comparison."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path

from qa.errors import QAError
from qa.eval.scoring import METRICS, RETRIEVAL_KS, EvalRecord, badness, outcome, per_document, what_went_wrong

HEADLINE = [
    "key_fact_recall",
    "all_facts_rate",
    "evidence_cited",
    "citation_precision",
    "citation_recall",
    "abstention_precision",
    "abstention_recall",
    "false_abstention",
    "median_answer_chars",
    "retrieval.hybrid.success@5",
    "retrieval.hybrid.mrr",
    "latency.total.p50",
    "latency.total.p95",
]


# `qa eval --answerer llm`: what the LLM answerer costs and keeps, beside the extractive answerer.
ANSWERER_COLUMNS = [
    "citation_precision",
    "statements_dropped",
    "llm_answer_rate",
    "key_fact_recall",
    "evidence_cited",
    "false_abstention",
    "latency.total.p50",
    "latency.total.p95",
    "tokens_per_s",
]


def default_run_folder() -> Path:
    return Path("evals") / "runs" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def write_report(folder: Path, runs: dict[str, dict], settings: dict, manifest: dict, chosen: str) -> dict:
    """``runs`` maps a configuration name ("hybrid k=5") to {"summary", "records"}; ``chosen`` is the main one."""
    folder.mkdir(parents=True, exist_ok=True)
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("qa-medical", "faiss-cpu", "bm25s", "numpy", "pytrec-eval-terrier", "langchain-core"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    report = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "chosen": chosen,
        "index": {
            "built_at": manifest.get("built_at"),
            "embedding": manifest.get("embedding"),
            "corpus_fingerprint": {name: facts["sha256"] for name, facts in manifest.get("corpus", {}).get("files", {}).items()},
        },
        "versions": versions,
        "metrics": METRICS,
        "runs": runs,
    }
    (folder / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(report), encoding="utf-8")
    plot(report, folder)
    return report


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.5 else f"{value:.1f}"
    return str(value)


def render_markdown(report: dict) -> str:
    chosen = report["runs"][report["chosen"]]
    summary, records = chosen["summary"], chosen["records"]
    mode = report["settings"].get("mode", "hybrid")
    lines = [
        f"# Evaluation — {report['chosen']} on split '{report['settings'].get('split')}'",
        "",
        f"{report['created']} · {summary['questions']} questions ({summary['answerable']} answerable, {summary['unanswerable']} not) · "
        f"index built {report['index']['built_at']} with {report['index']['embedding']['model']}",
        "",
        "## Summary",
        "",
        "| configuration | " + " | ".join(HEADLINE) + " |",
        "|---|" + "---|" * len(HEADLINE),
    ]
    for name, run in report["runs"].items():
        mark = " **(chosen)**" if name == report["chosen"] else ""
        lines.append(f"| {name}{mark} | " + " | ".join(fmt(run["summary"].get(m)) for m in HEADLINE) + " |")
    if any("tokens_per_s" in run["summary"] for run in report["runs"].values()):
        lines += ["", "## Answerers side by side (same questions, same run)", "", "| configuration | " + " | ".join(ANSWERER_COLUMNS) + " |", "|---|" + "---|" * len(ANSWERER_COLUMNS)]
        for name, run in report["runs"].items():
            lines.append(f"| {name} | " + " | ".join(fmt(run["summary"].get(m)) for m in ANSWERER_COLUMNS) + " |")
    lines += ["", "## Retrieval (evidence level, answerable questions)", "", "| mode | " + " | ".join(f"recall@{k}" for k in RETRIEVAL_KS) + " | " + " | ".join(f"success@{k}" for k in RETRIEVAL_KS) + " | MRR |", "|---|" + "---|" * (2 * len(RETRIEVAL_KS) + 1)]
    for retrieval_mode in ("dense", "bm25", "hybrid"):
        if f"retrieval.{retrieval_mode}.mrr" in summary:
            recalls = " | ".join(fmt(summary[f"retrieval.{retrieval_mode}.recall@{k}"]) for k in RETRIEVAL_KS)
            successes = " | ".join(fmt(summary[f"retrieval.{retrieval_mode}.success@{k}"]) for k in RETRIEVAL_KS)
            lines.append(f"| {retrieval_mode} | {recalls} | {successes} | {fmt(summary[f'retrieval.{retrieval_mode}.mrr'])} |")
    lines += ["", "## Latency (ms)", "", "| stage | p50 | p95 |", "|---|---|---|"]
    for key in sorted(k for k in summary if k.startswith("latency.") and k.endswith(".p50")):
        stage = key.split(".")[1]
        lines.append(f"| {stage} | {fmt(summary[key])} | {fmt(summary[f'latency.{stage}.p95'])} |")
    lines += ["", "## Per document", "", "| document | questions | key-fact recall | evidence cited | false abstention |", "|---|---|---|---|---|"]
    for doc_id, row in per_document([_record(r) for r in records]).items():
        lines.append(f"| {doc_id} | {row['questions']} | {fmt(row['key_fact_recall'])} | {fmt(row['evidence_cited'])} | {fmt(row['false_abstention'])} |")
    worst = sorted(records, key=lambda r: (-badness(_record(r)), r["id"]))[:10]
    lines += ["", "## The 10 worst questions", "", "| id | question | what went wrong | answer |", "|---|---|---|---|"]
    for record in worst:
        if badness(_record(record)) <= 0:
            break
        answer = record["answer"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {record['id']} | {record['question']} | {what_went_wrong(_record(record), mode)} | {answer[:220]}{'…' if len(answer) > 220 else ''} |")
    lines += ["", "## Metric definitions", ""] + [f"- **{name}**: {text}." for name, text in report["metrics"].items()]
    return "\n".join(lines) + "\n"


def _record(data: dict) -> EvalRecord:
    """An EvalRecord back from report.json."""
    return EvalRecord(**{**data, "documents": tuple(data["documents"]), "missing_facts": tuple(data["missing_facts"]), "cited_chunks": tuple(data["cited_chunks"])})


def plot(report: dict, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = report["runs"][report["chosen"]]
    summary, records = chosen["summary"], chosen["records"]
    paths = []

    figure, axis = plt.subplots(figsize=(6, 4))
    for retrieval_mode, style in (("hybrid", "o-"), ("dense", "s--"), ("bm25", "^:")):
        if f"retrieval.{retrieval_mode}.mrr" in summary:
            axis.plot(RETRIEVAL_KS, [summary[f"retrieval.{retrieval_mode}.success@{k}"] for k in RETRIEVAL_KS], style, label=f"{retrieval_mode} success@k")
            axis.plot(RETRIEVAL_KS, [summary[f"retrieval.{retrieval_mode}.recall@{k}"] for k in RETRIEVAL_KS], style, alpha=0.4, label=f"{retrieval_mode} recall@k")
    axis.set(xlabel="k (passages retrieved)", ylabel="share", title="Evidence retrieval by mode", ylim=(0, 1.05), xticks=list(RETRIEVAL_KS))
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
    paths.append(_save(figure, folder / "recall_at_k.png"))

    figure, axis = plt.subplots(figsize=(6, 4))
    stages = [s for s in ("embed", "dense", "bm25", "fusion", "retrieve", "answer", "total") if any(s in r["timings_ms"] for r in records)]
    axis.boxplot([[r["timings_ms"][s] for r in records if s in r["timings_ms"]] for s in stages], tick_labels=stages, showfliers=True)
    axis.set(ylabel="milliseconds (log scale)", title=f"Latency per stage ({len(records)} questions, warm process)", yscale="log")
    axis.grid(alpha=0.3, axis="y")
    paths.append(_save(figure, folder / "latency.png"))

    table = per_document([_record(r) for r in records])
    figure, axis = plt.subplots(figsize=(6, 4))
    names = list(table)
    axis.barh(names, [table[n]["key_fact_recall"] or 0 for n in names], color="#4C72B0")
    for y, name in enumerate(names):
        axis.text((table[name]["key_fact_recall"] or 0) + 0.01, y, f"{fmt(table[name]['key_fact_recall'])} (n={table[name]['questions']})", va="center", fontsize=8)
    axis.set(xlim=(0, 1.2), xlabel="key-fact recall", title="Key-fact recall per document")
    figure.tight_layout()
    paths.append(_save(figure, folder / "key_facts_per_document.png"))
    return paths


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path


def load_report(folder: str | Path) -> dict:
    path = Path(folder) / "report.json" if Path(folder).is_dir() else Path(folder)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise QAError(f"cannot read an evaluation report at {str(path)!r} ({exc}); pass a run folder written by `qa eval`.") from exc


def compare(folder_a: str | Path, folder_b: str | Path) -> str:
    a, b = load_report(folder_a), load_report(folder_b)
    run_a, run_b = a["runs"][a["chosen"]], b["runs"][b["chosen"]]
    lines = [f"A: {folder_a} ({a['chosen']})", f"B: {folder_b} ({b['chosen']})", "", f"{'metric':34} {'A':>9} {'B':>9} {'B - A':>9}"]
    for metric in HEADLINE:
        value_a, value_b = run_a["summary"].get(metric), run_b["summary"].get(metric)
        delta = f"{value_b - value_a:+9.3f}" if isinstance(value_a, (int, float)) and isinstance(value_b, (int, float)) else f"{'–':>9}"
        lines.append(f"{metric:34} {fmt(value_a):>9} {fmt(value_b):>9} {delta}")
    records_a = {r["id"]: r for r in run_a["records"]}
    changed = []
    for record in run_b["records"]:
        before = records_a.get(record["id"])
        if before and outcome(_record(before)) != outcome(_record(record)):
            changed.append(f"  {record['id']}: {outcome(_record(before))} -> {outcome(_record(record))}  | {record['question']}")
    lines += ["", f"Questions whose outcome changed: {len(changed)}"] + changed
    return "\n".join(lines)
