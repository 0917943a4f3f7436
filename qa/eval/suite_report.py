"""The development suite's report: report.json, report.md (a table per corpus, the macro average,
the targets) and suite.png, in one run folder."""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timezone
from pathlib import Path

from qa.eval.report import fmt

# (summary key, label) for the answer corpora, in table order.
ANSWER_ROWS = [
    ("answerable", "answerable questions"),
    ("retrieval.dense.success@5", "evidence in top 5, dense"),
    ("retrieval.bm25.success@5", "evidence in top 5, BM25"),
    ("retrieval.hybrid.success@5", "evidence in top 5, hybrid"),
    ("retrieval.hybrid.success@1", "evidence first, hybrid"),
    ("evidence_cited", "evidence in a cited passage"),
    ("evidence_cited_quote", "evidence in a citation's quote"),
    ("right_document_cited", "right document cited"),
    ("citation_precision", "citation precision"),
    ("answer_f1", "answer token F1"),
    ("key_fact_recall", "key-fact recall"),
    ("false_abstention", "false abstention"),
    ("abstention_recall", "unanswerable abstained (own set)"),
    ("cross_corpus_abstained", "other corpora's questions abstained"),
    ("median_answer_chars", "median answer (chars)"),
    ("latency.total.p50", "ask p50 (ms)"),
]
MACRO = ["evidence_cited", "evidence_cited_quote", "right_document_cited", "citation_precision", "answer_f1", "false_abstention", "cross_corpus_abstained", "retrieval.hybrid.success@5"]
# The targets, checked on the test split.
TARGETS = [
    ("medquad", "evidence_cited", ">=", 0.85),
    ("pubmedqa", "evidence_cited", ">=", 0.85),
    ("medquad", "right_document_cited", ">=", 0.95),
    ("pubmedqa", "right_document_cited", ">=", 0.95),
    ("medquad", "false_abstention", "<=", 0.05),
    ("pubmedqa", "false_abstention", "<=", 0.05),
    ("medquad", "cross_corpus_abstained", ">=", 0.85),
    ("pubmedqa", "cross_corpus_abstained", ">=", 0.85),
    ("seed", "key_fact_recall", ">=", 0.90),
    ("seed", "evidence_cited", ">=", 0.95),
    ("scifact", "beir.hybrid.ndcg@10", ">=", 0.74),
]


def summary_of(report: dict, corpus: str, split: str) -> dict:
    entry = report["corpora"].get(corpus, {})
    summary = dict(entry.get("splits", {}).get(split, {}).get("summary", {}))
    for key, values in entry.get("beir", {}).items():
        if key.startswith(f"{split}."):
            mode = key.split(".", 1)[1]
            summary.update({f"beir.{mode}.{metric}": value for metric, value in values.items()})
    return summary


def macro_average(report: dict, split: str) -> dict[str, float]:
    result = {}
    for metric in MACRO:
        values = [summary_of(report, name, split).get(metric) for name in report["corpora"]]
        values = [v for v in values if v is not None]
        if values:
            result[metric] = round(statistics.mean(values), 4)
    return result


def hybrid_never_worse(report: dict, split: str) -> list[str]:
    """Corpora where hybrid retrieval finds the evidence in the top 5 less often than its best single channel."""
    worse = []
    for name in report["corpora"]:
        summary = summary_of(report, name, split)
        channels = [summary.get(f"retrieval.{m}.success@5") for m in ("dense", "bm25")]
        hybrid = summary.get("retrieval.hybrid.success@5")
        if hybrid is not None and any(c is not None and c > hybrid for c in channels):
            worse.append(f"{name} (hybrid {hybrid} < {max(c for c in channels if c is not None)})")
        beir = [summary.get(f"beir.{m}.ndcg@10") for m in ("dense", "bm25")]
        hybrid_beir = summary.get("beir.hybrid.ndcg@10")
        if hybrid_beir is not None and any(c is not None and c > hybrid_beir for c in beir):
            worse.append(f"{name} nDCG@10 (hybrid {hybrid_beir} < {max(c for c in beir if c is not None)})")
    return worse


def render_markdown(report: dict) -> str:
    lines = [f"# Development suite — {report['created']}", "", f"Settings: {json.dumps(report['settings'])}", ""]
    lines += ["## Targets (test split)", "", "| corpus | metric | target | test | met |", "|---|---|---|---|---|"]
    for corpus, metric, direction, target in TARGETS:
        if corpus not in report["corpora"]:
            continue
        value = summary_of(report, corpus, "test").get(metric)
        met = value is not None and (value >= target if direction == ">=" else value <= target)
        lines.append(f"| {corpus} | {metric} | {direction} {target} | {fmt(value)} | {'yes' if met else '**no**'} |")
    for split in ("dev", "test"):
        worse = hybrid_never_worse(report, split)
        lines.append(f"\nHybrid at least as good as its best single channel ({split}): {'yes, on every corpus' if not worse else '**no**: ' + '; '.join(worse)}")
    lines += ["", "## Macro average over corpora", "", "| metric | dev | test |", "|---|---|---|"]
    dev, test = macro_average(report, "dev"), macro_average(report, "test")
    for metric in MACRO:
        lines.append(f"| {metric} | {fmt(dev.get(metric))} | {fmt(test.get(metric))} |")
    for name, entry in report["corpora"].items():
        build = f"built in {entry['build_seconds']} s" if entry.get("build_seconds") else "cached"
        lines += ["", f"## {name}", "", f"{entry['documents']} documents, {entry['passages']} passages, index {build}."]
        if entry.get("unlocated_evidence"):
            lines.append(f"{len(entry['unlocated_evidence'])} questions left out: their evidence is not in the cleaned text ({', '.join(entry['unlocated_evidence'][:5])}…).")
        if entry.get("splits"):
            lines += ["", "| metric | dev | test |", "|---|---|---|"]
            d, t = summary_of(report, name, "dev"), summary_of(report, name, "test")
            for key, label in ANSWER_ROWS:
                if d.get(key) is not None or t.get(key) is not None:
                    lines.append(f"| {label} | {fmt(d.get(key))} | {fmt(t.get(key))} |")
        if entry.get("beir"):
            lines += ["", "| retrieval (documents) | split | queries | nDCG@10 | recall@100 | MRR@10 |", "|---|---|---|---|---|---|"]
            for key, values in entry["beir"].items():
                split, mode = key.split(".", 1)
                lines.append(f"| {mode} | {split} | {values['queries']} | {fmt(values['ndcg@10'])} | {fmt(values['recall@100'])} | {fmt(values['mrr@10'])} |")
    return "\n".join(lines) + "\n"


def plot(report: dict, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["retrieval.hybrid.success@5", "evidence_cited", "right_document_cited", "citation_precision", "answer_f1", "cross_corpus_abstained"]
    corpora = [name for name, entry in report["corpora"].items() if entry.get("splits")]
    figure, axis = plt.subplots(figsize=(10, 4))
    width = 0.8 / max(len(corpora), 1)
    for i, name in enumerate(corpora):
        summary = summary_of(report, name, "test")
        axis.bar([m + i * width for m in range(len(metrics))], [summary.get(metric) or 0 for metric in metrics], width, label=name)
    axis.set_xticks([m + width * (len(corpora) - 1) / 2 for m in range(len(metrics))])
    axis.set_xticklabels([m.replace("retrieval.hybrid.", "hybrid ").replace("_", " ") for m in metrics], fontsize=8)
    axis.set_ylim(0, 1.05)
    axis.set_title("Development suite, test split")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(folder / "suite.png", dpi=110)
    plt.close(figure)


def write_suite_report(folder: Path, report: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    report = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **report}
    (folder / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(report), encoding="utf-8")
    plot(report, folder)
    return folder / "report.md"
