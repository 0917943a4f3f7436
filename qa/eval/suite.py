"""The development suite: several corpora, each indexed through `qa index` and asked its questions
through the `qa ask` path, plus questions from the other corpora that its documents do not answer.

``evals/suite.json`` names the corpora. Each has a folder of documents (or one BEIR ``corpus.jsonl``)
and either gold questions (answers scored as by `qa eval`) or BEIR queries and qrels (retrieval
scored by nDCG@10 at document level). Indexes are cached under the suite's cache folder and rebuilt
incrementally when a corpus changes. Splits are fixed per question (see ``GoldQuestion.split``):
tune on dev, report test.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.eval.scoring import records_to_json, run_evaluation, summarise
from qa.eval.gold import GoldQuestion, load_gold, record_key

SPLITS = ("dev", "test")


@dataclass(frozen=True)
class SuiteCorpus:
    name: str
    corpus: Path  # a folder, or a single BEIR .jsonl file
    questions: Path | None = None  # gold JSONL (answers scored)
    beir_queries: dict[str, tuple[Path, Path]] | None = None  # split -> (queries.jsonl, qrels.tsv)
    cross_questions: int = 0  # questions from each other corpus asked here as unanswerable, per split
    # Another corpus asked the same questions (the same documents in another form, e.g. pubmedqa-plain):
    # neither is asked the other's questions as foreign ones, and they are foreign elsewhere only once.
    shares_questions_with: str | None = None
    typos: bool = True  # also ask a typo'd copy of every answerable question (qa/eval/typos.py)
    messages: bool = False  # also ask every answerable question as a consumer's message (qa/eval/messages.py)


@dataclass(frozen=True)
class Suite:
    path: Path
    cache: Path
    corpora: tuple[SuiteCorpus, ...]


def load_suite(path: str | Path) -> Suite:
    """Read a suite file; paths in it are relative to the file's folder."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QAError(f"cannot read the suite file {str(path)!r} ({exc.strerror}); pass --suite evals/suite.json.") from exc
    except json.JSONDecodeError as exc:
        raise QAError(f"the suite file {str(path)!r} is not valid JSON ({exc}); fix it.") from exc
    base = path.parent
    corpora = []
    for entry in data.get("corpora", []):
        try:
            beir = entry.get("beir")
            corpora.append(
                SuiteCorpus(
                    name=entry["name"],
                    corpus=(base / entry["corpus"]).resolve(),
                    questions=(base / entry["questions"]).resolve() if entry.get("questions") else None,
                    beir_queries={split: ((base / q).resolve(), (base / r).resolve()) for split, (q, r) in beir.items()} if beir else None,
                    cross_questions=int(entry.get("cross_questions", 0)),
                    shares_questions_with=entry.get("shares_questions_with"),
                    typos=bool(entry.get("typos", True)),
                    messages=bool(entry.get("messages", False)),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise QAError(f"{path}: corpus entry {entry!r} is incomplete ({exc}); each needs name, corpus and questions or beir.") from exc
    if not corpora:
        raise QAError(f"{path} names no corpora; add a 'corpora' list.")
    for corpus in corpora:
        if not corpus.corpus.exists():
            raise QAError(f"{path}: the corpus of {corpus.name!r} is missing at {corpus.corpus}; check the path (../shared must sit beside the checkout).")
    return Suite(path, (base / data.get("cache", "cache")).resolve(), tuple(corpora))


def corpus_folder(corpus: SuiteCorpus, cache: Path) -> Path:
    """The folder `qa index` reads: the corpus itself, or for a single .jsonl file a cache folder linking to it
    (so the queries and qrels beside it are not read as documents)."""
    if corpus.corpus.is_dir():
        return corpus.corpus
    folder = cache / corpus.name / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / corpus.corpus.name
    if not link.exists():
        link.symlink_to(corpus.corpus)
    return folder


def suite_index(corpus: SuiteCorpus, cache: Path, model: str, progress: bool = True, unit_vectors: str = "pooled") -> tuple[Path, float | None]:
    """The corpus's cached index, built or brought up to date first; and the seconds a build took (None if current)."""
    from qa.indexing.build import build_index, index_is_current

    folder = corpus_folder(corpus, cache)
    index = cache / corpus.name / f"index-{unit_vectors}"
    if index_is_current(folder, index, model, unit_vectors):
        return index, None
    started = time.perf_counter()
    build_index(folder, index, model, progress=progress, unit_vectors=unit_vectors)
    return index, round(time.perf_counter() - started, 1)


def cross_corpus_questions(own: str, others: dict[str, tuple[GoldQuestion, ...]], per_split: int, related: frozenset[str] = frozenset()) -> list[GoldQuestion]:
    """Questions of the other corpora, as unanswerable here: per corpus and split, the first `per_split`
    in SHA-256 order of their ids (deterministic, independent of file order). Corpora in `related` (asked
    the same questions as this one) are left out."""
    chosen = []
    for name, questions in sorted(others.items()):
        if name == own or name in related:
            continue
        for split in SPLITS:
            pool = sorted((q for q in questions if q.split == split and q.answerable), key=lambda q: hashlib.sha256(q.id.encode()).hexdigest())
            for question in pool[:per_split]:
                chosen.append(GoldQuestion(f"x:{name}:{question.id}", question.question, False, "", (), (), given_split=split))
    return chosen


def question_families(corpora: tuple[SuiteCorpus, ...]) -> dict[str, frozenset[str]]:
    """For each corpus, the corpora asked the same questions (itself excluded)."""
    family: dict[str, set[str]] = {c.name: set() for c in corpora}
    for corpus in corpora:
        if corpus.shares_questions_with:
            family[corpus.name].add(corpus.shares_questions_with)
            family.setdefault(corpus.shares_questions_with, set()).add(corpus.name)
    return {name: frozenset(names) for name, names in family.items()}


def library_family(corpora: tuple[SuiteCorpus, ...], name: str) -> tuple[str, ...]:
    """The library and the libraries asked the same questions, sorted: they leave a fit, or a fold, together."""
    return tuple(sorted({name, *question_families(corpora).get(name, ())}))


def foreign_pools(corpora: tuple[SuiteCorpus, ...]) -> dict[str, tuple[GoldQuestion, ...]]:
    """Each question set once: a corpus that shares another's questions contributes none of its own."""
    return {c.name: raw_questions(c) for c in corpora if c.questions and not c.shares_questions_with}


def raw_questions(corpus: SuiteCorpus) -> tuple[GoldQuestion, ...]:
    """A corpus's questions without locating evidence (for asking them of another corpus)."""
    if corpus.questions is None:
        return ()
    return load_gold(corpus.questions, {}, strict=False)


def beir_run(pipeline, queries: dict[str, str], mode: str, depth: int = 100, ids: dict[str, str] | None = None) -> dict[str, dict[str, float]]:
    """Documents ranked by their best passage, for each query, through the product's retriever. ``ids`` maps a
    record id's slug back to the id the qrels use, where the two differ."""
    key_of = {doc_id: record_key(document) for doc_id, document in pipeline.index.documents.items()}
    run = {}
    for qid, text in queries.items():
        ranking: dict[str, float] = {}
        for hit in pipeline.retriever.search(text, mode, depth):
            key = key_of[hit.chunk.doc_id]
            ranking.setdefault((ids or {}).get(key, key), float(depth - hit.rank + 1))
        run[qid] = ranking or {"none": 0.0}
    return run


def beir_scores(pipeline, corpus: SuiteCorpus, modes=("dense", "bm25", "hybrid")) -> dict[str, dict[str, float]]:
    """nDCG@10, recall@100 and MRR@10 per split and mode (pytrec_eval)."""
    from qa.ingest.documents import doc_id_for

    results: dict[str, dict[str, float]] = {}
    for split, (queries_path, qrels_path) in (corpus.beir_queries or {}).items():
        qrels: dict[str, dict[str, int]] = {}
        for line in qrels_path.read_text(encoding="utf-8").splitlines()[1:]:
            qid, doc, relevance = line.split("\t")
            qrels.setdefault(qid, {})[doc] = int(relevance)
        queries = {}
        for line in queries_path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["_id"] in qrels:
                queries[record["_id"]] = record["text"]
        ids = {doc_id_for(doc + ".txt"): doc for relevant in qrels.values() for doc in relevant}
        for mode in modes:
            results[f"{split}.{mode}"] = {"queries": len(queries), **beir_metrics(beir_run(pipeline, queries, mode, ids=ids), qrels)}
    return results


def beir_metrics(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """nDCG@10, recall@100 and MRR@10 (over the top 10) of a ranked run, by pytrec_eval."""
    import pytrec_eval

    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"}).evaluate(run)
    top10 = {q: dict(sorted(r.items(), key=lambda kv: -kv[1])[:10]) for q, r in run.items()}
    mrr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    return {
        "ndcg@10": round(statistics.mean(v["ndcg_cut_10"] for v in per_query.values()), 4),
        "recall@100": round(statistics.mean(v["recall_100"] for v in per_query.values()), 4),
        "mrr@10": round(statistics.mean(v["recip_rank"] for v in mrr.values()), 4),
    }


@dataclass(frozen=True)
class CorpusQuestions:
    """What a corpus is asked: its own questions (evidence located), their typo'd and message copies, and foreign ones."""

    own: tuple[GoldQuestion, ...]
    typos: tuple[GoldQuestion, ...]
    foreign: tuple[GoldQuestion, ...]
    unlocated: tuple[str, ...]  # answerable questions left out: their evidence is not in the cleaned text
    messages: tuple[GoldQuestion, ...] = ()

    def all(self) -> list[GoldQuestion]:
        return [*self.own, *self.typos, *self.messages, *self.foreign]


def corpus_questions(suite: Suite, corpus: SuiteCorpus, documents: dict) -> CorpusQuestions:
    from qa.eval.messages import message_copies
    from qa.eval.typos import typo_copies

    own = load_gold(corpus.questions, documents, strict=False)
    unlocated = tuple(q.id for q in own if q.answerable and not q.spans)
    own = tuple(q for q in own if q.spans or not q.answerable)
    foreign = ()
    if corpus.cross_questions:
        foreign = tuple(cross_corpus_questions(corpus.name, foreign_pools(suite.corpora), corpus.cross_questions, question_families(suite.corpora)[corpus.name]))
    return CorpusQuestions(own, tuple(typo_copies(own)) if corpus.typos else (), foreign, unlocated, tuple(message_copies(own)) if corpus.messages else ())


COPY_PREFIXES = {"t:": "typo", "m:": "message"}  # a copy of an own question: qa/eval/typos.py, qa/eval/messages.py


def kind_of(record_id: str) -> str:
    """"own", "typo" (a typo'd copy of an own question), "message" (it asked as a consumer's message) or "foreign"
    (another corpus's question)."""
    if record_id.startswith("x:"):
        return "foreign"
    return next((kind for prefix, kind in COPY_PREFIXES.items() if record_id.startswith(prefix)), "own")


def original_id(record_id: str) -> str:
    """The id of the own question a copy was made from (a foreign or own question's id as it is)."""
    return next((record_id[len(prefix):] for prefix in COPY_PREFIXES if record_id.startswith(prefix)), record_id)


def split_summary(records: list) -> dict:
    """The summary of one split: own questions, with the copies' (typo'd, messages) and foreign questions' figures added."""
    own = [r for r in records if kind_of(r.id) == "own"]
    foreign = [r for r in records if kind_of(r.id) == "foreign"]
    summary = summarise(own)
    summary["cross_corpus_questions"] = len(foreign)
    summary["cross_corpus_abstained"] = round(sum(r.abstained for r in foreign) / len(foreign), 4) if foreign else None
    for kind in COPY_PREFIXES.values():
        copies = [r for r in records if kind_of(r.id) == kind]
        if not copies:
            continue
        copy_summary = summarise(copies)
        for key in TYPO_METRICS:
            summary[f"{kind}.{key}"] = copy_summary.get(key)
        if summary.get("evidence_cited") is not None and copy_summary.get("evidence_cited") is not None:
            summary[f"{kind}.evidence_cited_gap"] = round(summary["evidence_cited"] - copy_summary["evidence_cited"], 4)
    return summary


# The figures reported for the typo'd and message copies beside the clean questions.
TYPO_METRICS = ("answerable", "evidence_cited", "right_document_cited", "false_abstention", "evidence_top_k_cited", "answer_contained", "answer_f1")


def run_suite(suite: Suite, settings, names: tuple[str, ...] = (), progress: bool = True, log=None, unit_vectors: str = "pooled") -> dict:
    """Every corpus of the suite (or those named): index, ask, score. Returns the report's data."""
    from qa.pipeline import open_pipeline

    log = log or (lambda message: print(message, file=sys.stderr))
    chosen = [c for c in suite.corpora if not names or c.name in names]
    unknown = sorted(set(names) - {c.name for c in suite.corpora})
    if unknown:
        raise QAError(f"the suite has no corpus named {', '.join(unknown)}; it has {', '.join(c.name for c in suite.corpora)}.")
    report: dict = {"suite": str(suite.path), "settings": {"mode": settings.mode, "k": settings.k}, "corpora": {}}
    for corpus in chosen:
        index, build_seconds = suite_index(corpus, suite.cache, settings.model, progress, unit_vectors)
        log(f"{corpus.name}: index {'built in ' + str(build_seconds) + ' s' if build_seconds else 'up to date'} ({index})")
        pipeline = open_pipeline(settings.with_overrides(index=index), check_corpus=False)
        entry: dict = {"index": str(index), "build_seconds": build_seconds, "documents": len(pipeline.index.documents), "passages": len(pipeline.index.chunks)}
        if corpus.beir_queries:
            entry["beir"] = beir_scores(pipeline, corpus)
        if corpus.questions:
            asked = corpus_questions(suite, corpus, pipeline.index.documents)
            records = run_evaluation(pipeline, asked.all(), settings.mode, settings.k, progress=progress)
            entry["unlocated_evidence"] = list(asked.unlocated)
            entry["splits"] = {}
            for split in SPLITS:
                in_split = [r for r in records if r.split == split]
                entry["splits"][split] = {"summary": split_summary(in_split), "records": records_to_json(in_split)}
        report["corpora"][corpus.name] = entry
        log(f"{corpus.name}: done")
    return report
