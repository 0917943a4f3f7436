"""Each library's decline threshold on its own scale.

One threshold for every library must sit below the least sure answers of the hardest library, so on the others
it declines few of the questions they cannot answer (evals/README.md, *A threshold on each library's own
scale*). A library finds its own scale without labels: questions from another collection (``probes.json``: 200
of SciFact's training claims) are asked of it, and it declines below the ``quantile`` of their confidences
(chosen on the suite's dev splits), never below the answer model's threshold and never above the probes' ``cap``
(the highest threshold they give a suite library: a library that answers the probes themselves, such as one of
SciFact's abstracts, would otherwise decline most of its own questions). The probes go through retrieval and
the ranker only (about 10 s a library on 2 cores); the result is kept beside the index, keyed by the index, the
answer model and the probes, and made again when any of them changes. A library with no folder of its own (one
kept in Milvus) keeps it in the user's cache (``$XDG_CACHE_HOME``, else ``~/.cache``), under the same key, so a
server that opens the same version of the library again reads it instead of asking the probes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from qa.answer.reading import NOTHING_READ
from qa.errors import QAError
from qa.files import write_atomically
from qa.retrieve.retriever import Retriever

PROBES_FILE = Path(__file__).with_name("probes.json")
KEPT_IN_USER_CACHE = 32  # libraries with no folder of their own (Milvus) keep this many thresholds
CACHE_FILE = "library_scale.json"
_PROBE_VECTORS: dict[str, dict[str, np.ndarray]] = {}  # model -> probe -> vector: embedded once per process


@dataclass(frozen=True)
class Probes:
    questions: tuple[str, ...]
    quantile: float
    sha256: str
    cap: float  # the highest threshold the probes may set (a library that answers them would otherwise decline most questions)


@dataclass(frozen=True)
class LibraryScale:
    """A library's threshold and how it was found."""

    threshold: float  # the answer model's, raised to the probes' quantile where that is higher
    probe_quantile_confidence: float
    probes: int


def load_probes(path: Path = PROBES_FILE) -> Probes:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Probes(tuple(data["questions"]), float(data["quantile"]), hashlib.sha256(path.read_bytes()).hexdigest(), float(data["cap"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise QAError(f"the probe questions at {path} cannot be read ({exc}); restore the file from the repository.") from exc


def library_scale(answerer, retriever: Retriever, correct: Callable[[str], str], mode: str, k: int, index_key: str, folder: Path | None) -> LibraryScale:
    """The library's threshold: read from ``folder`` when kept there for this index, model and probes, else
    found by asking the probes (each ``correct``-ed as a question is, then searched by ``retriever``) and kept
    there."""
    model, probes = answerer.model, load_probes()
    key = hashlib.sha256(json.dumps([index_key, model.fitted.get("data_sha256"), model.threshold, probes.sha256, mode, k]).encode()).hexdigest()
    folder = Path(folder) if folder is not None else _user_cache_folder(key)
    kept = _read(folder, key)
    if kept is not None:
        return kept
    scale = find_scale(answerer, retriever, correct, mode, k, probes)
    _write(folder, key, scale)
    return scale


def find_scale(answerer, retriever: Retriever, correct: Callable[[str], str], mode: str, k: int, probes: Probes) -> LibraryScale:
    """The probes asked of the library: the answer model's threshold, raised to the probes' quantile of the
    decline model's confidences where that is higher, but never above the probes' cap."""
    confidences = probe_confidences(answerer, answerer.model, probe_signals(answerer, retriever, correct, mode, k, probes))
    return scale_of(confidences, answerer.model.threshold, probes.quantile, probes.cap)


def scale_of(confidences: list[float], threshold: float, quantile: float, cap: float) -> LibraryScale:
    """The threshold ``confidences`` (the probes') give at ``quantile``: never below ``threshold``, never above ``cap``."""
    at_quantile = float(np.quantile(confidences, quantile)) if confidences else 0.0
    return LibraryScale(max(threshold, min(at_quantile, cap)), at_quantile, len(confidences))


def probe_signals(answerer, retriever: Retriever, correct: Callable[[str], str], mode: str, k: int, probes: Probes) -> list[tuple]:
    """Each probe as the library meets it: searched (``correct``-ed as a question is), with its candidates'
    signals (terms, candidates, hits); probes with no candidate are left out. They do not depend on the model."""
    searched_questions = [correct(question) for question in probes.questions]
    known = _PROBE_VECTORS.setdefault(retriever.encoder.model_name, {})
    known.update(retriever.embed_ahead(sorted(set(searched_questions)), known))
    signals = []
    for searched in searched_questions:
        hits = retriever.search(searched, mode, k)
        terms, candidates = answerer.signals(searched, hits)
        if candidates.positions:
            signals.append((terms, candidates, hits))
    return signals


def probe_confidences(answerer, model, signals: list[tuple]) -> list[float]:
    """The decline model's confidence that the library answers each probe (the ranker's view, no reader)."""
    confidences = []
    for terms, candidates, hits in signals:
        values = answerer.question_values(terms, candidates, hits, model, model.rank.score(candidates.values), NOTHING_READ)[1]
        confidences.append(float(model.decline.probability(values)[0]))
    return confidences


def user_cache() -> Path:
    """Where libraries with no folder of their own keep their thresholds, one folder per key."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa-medical" / "library-scale"


def _user_cache_folder(key: str) -> Path | None:
    folder = user_cache() / key[:32]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _prune(user_cache(), keep=folder)
    except OSError:
        return None  # no cache to keep it in: found again by the next process
    return folder


def _prune(cache: Path, keep: Path) -> None:
    """Each commit to a library is a new key: only the KEPT_IN_USER_CACHE most recently written keys stay."""
    folders = sorted((f for f in cache.iterdir() if f.is_dir() and f != keep), key=lambda f: f.stat().st_mtime, reverse=True)
    for stale in folders[KEPT_IN_USER_CACHE - 1 :]:
        shutil.rmtree(stale, ignore_errors=True)


def _read(folder: Path | None, key: str) -> LibraryScale | None:
    if folder is None:
        return None
    try:
        data = json.loads((folder / CACHE_FILE).read_text(encoding="utf-8"))
        return LibraryScale(float(data["threshold"]), float(data["probe_quantile_confidence"]), int(data["probes"])) if data.get("key") == key else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, damaged or of another index: found again


def _write(folder: Path | None, key: str, scale: LibraryScale) -> None:
    """Kept beside the index through a temporary file and a rename; a folder it cannot write is left as it is
    (the threshold is then found again by the next process)."""
    if folder is None:
        return
    try:
        write_atomically(folder / CACHE_FILE, json.dumps({"key": key, "threshold": scale.threshold, "probe_quantile_confidence": scale.probe_quantile_confidence, "probes": scale.probes}))
    except OSError:
        pass
