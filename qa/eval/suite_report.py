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
    ("evidence_top_k_cited", "evidence retrieved in the top k → cited"),
    ("evidence_cited_quote", "evidence in a citation's quote"),
    ("right_document_cited", "right document cited"),
    ("citation_precision", "citation precision"),
    ("answer_f1", "answer token F1"),
    ("answer_contained", "gold answer contained in the answer"),
    ("span_holds_answer", "the marked answer span holds a gold answer"),
    ("verdict_accuracy", "yes/no/maybe verdict right"),
    ("verdict_contradicted", "Yes/No contradicted by its own statement"),
    ("key_fact_recall", "key-fact recall"),
    ("false_abstention", "answerable declined"),
    ("abstention_recall", "unanswerable declined (own set)"),
    ("cross_corpus_abstained", "other corpora's questions declined"),
    ("typo.answerable", "typo'd questions"),
    ("typo.evidence_cited", "typo'd: evidence in a cited passage"),
    ("typo.evidence_top_k_cited", "typo'd: evidence retrieved in the top k → cited"),
    ("typo.false_abstention", "typo'd: answerable declined"),
    ("typo.answer_contained", "typo'd: gold answer contained"),
    ("typo.evidence_cited_gap", "evidence cited, clean minus typo'd"),
    ("message.evidence_cited", "as a consumer's message: evidence in a cited passage"),
    ("message.false_abstention", "as a consumer's message: answerable declined"),
    ("median_answer_chars", "median answer (chars)"),
    ("median_citations", "median citations per answer"),
    ("latency.total.p50", "ask p50 (ms)"),
]
MACRO = [
    "evidence_cited", "evidence_top_k_cited", "evidence_cited_quote", "right_document_cited", "citation_precision", "answer_f1", "answer_contained",
    "false_abstention", "abstention_recall", "cross_corpus_abstained", "typo.evidence_cited", "typo.false_abstention", "retrieval.hybrid.success@5",
    "verdict_accuracy", "verdict_contradicted",
]
ANSWER_CORPORA = ("seed", "medquad", "pubmedqa", "pubmedqa-plain", "squad2", "medicationqa", "cpgqa", "rct-fulltext", "scifact")
# The targets, checked on the test split: (corpus, metric, direction, target).
TARGETS = [
    *[(c, m, "<=", 0.05) for c in ANSWER_CORPORA for m in ("false_abstention", "typo.false_abstention")],
    *[(c, "evidence_cited", ">=", 0.85) for c in ANSWER_CORPORA],
    *[(c, "typo.evidence_cited_gap", "<=", 0.03) for c in ANSWER_CORPORA],
    *[(c, "evidence_top_k_cited", ">=", 0.92) for c in ANSWER_CORPORA],
    *[(c, "cross_corpus_abstained", ">=", 0.90) for c in ANSWER_CORPORA if c != "seed"],
    *[(c, "citation_precision", ">=", 0.95) for c in ANSWER_CORPORA],
    *[(c, "median_answer_chars", "<=", 400) for c in ANSWER_CORPORA],
    *[(c, "median_citations", "<=", 3) for c in ANSWER_CORPORA],
    ("squad2", "abstention_recall", ">=", 0.50),
    ("squad2", "answer_contained", ">=", 0.85),
    ("squad2", "span_holds_answer", ">=", 0.60),
    ("pubmedqa", "verdict_accuracy", ">=", 0.75),
    ("seed-yesno", "verdict_accuracy", ">=", 0.95),
    ("seed-yesno", "verdict_contradicted", "<=", 0.0),
    *[(c, "verdict_contradicted", "<=", 0.02) for c in ANSWER_CORPORA],
    *[(c, "message.false_abstention", "<=", 0.10) for c in ("medquad", "medicationqa")],
    ("medicationqa", "right_document_cited", ">=", 0.90),
    ("medicationqa", "evidence_cited", ">=", 0.85),
    ("seed", "abstention_recall", ">=", 0.85),
    ("medquad", "evidence_cited", ">=", 0.842),
    ("medquad", "right_document_cited", ">=", 0.988),
    ("pubmedqa", "evidence_cited", ">=", 0.994),
    ("pubmedqa", "right_document_cited", ">=", 0.996),
    ("pubmedqa-plain", "right_document_cited", ">=", 0.95),
    ("seed", "key_fact_recall", ">=", 0.85),
    ("seed", "evidence_cited", ">=", 0.90),
    ("seed", "latency.total.p50", "<=", 150),
    ("scifact", "beir.hybrid.ndcg@10", ">=", 0.72),
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


def decline_tradeoff(records: list[dict]) -> list[tuple[float, float, float]]:
    """(threshold, answerable declined, unanswerable declined) as the decline threshold on the answer's
    confidence moves; a question declined without a confidence (nothing retrieved) stays declined."""
    answerable = [r for r in records if r["answerable"] and not r["id"].startswith("t:")]
    unanswerable = [r for r in records if not r["answerable"]]
    scored = sorted({r["confidence"] for r in answerable + unanswerable if r.get("confidence") is not None})
    if not answerable or not unanswerable or not scored:
        return []

    def declined(record: dict, threshold: float) -> bool:
        return record["abstained"] if record.get("confidence") is None else record["confidence"] < threshold

    points = []
    for threshold in [0.0, *scored, 1.01]:
        points.append(
            (threshold, sum(declined(r, threshold) for r in answerable) / len(answerable), sum(declined(r, threshold) for r in unanswerable) / len(unanswerable))
        )
    return points


def plot_tradeoff(report: dict, folder: Path, split: str = "test") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 5))
    for name, entry in report["corpora"].items():
        points = decline_tradeoff(entry.get("splits", {}).get(split, {}).get("records", []))
        if points:
            axis.plot([p[1] for p in points], [p[2] for p in points], label=name)
    axis.axvline(0.05, color="grey", linestyle=":", linewidth=1)
    axis.set_xlabel("answerable questions declined")
    axis.set_ylabel("unanswerable and foreign questions declined")
    axis.set_xlim(0, 0.5)
    axis.set_ylim(0, 1.02)
    axis.set_title(f"Declining: the trade-off as the threshold moves ({split})")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(folder / "decline_tradeoff.png", dpi=110)
    plt.close(figure)


def write_suite_report(folder: Path, report: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    report = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **report}
    (folder / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(report), encoding="utf-8")
    plot(report, folder)
    plot_tradeoff(report, folder)
    return folder / "report.md"
