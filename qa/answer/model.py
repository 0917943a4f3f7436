"""The fitted answer model: which candidate units answer, and whether the documents answer at all.

Fitted on the development suite's dev splits by `qa fit` (qa/eval/fit.py) and stored as readable JSON in
``model.json`` beside this file, with the decline threshold, the statement rule and the SHA-256 of the
data it was fitted on:

* rank: gradient-boosted trees (LightGBM's LambdaRank) scoring each candidate unit of a question; each
  tree is written out as its splits (signal name, threshold) and leaf values. It measured better than a
  conditional logit over the same signals (evals/README.md), which the file format also holds.
* rerank (when fitted with the reader): a conditional logit over the reader's score and the ranker's for the
  candidates the reader read (qa/answer/reading.py).
* decline: a logistic regression over the question's signals as the ranker sees its candidates: names,
  means, scales, coefficients.

Applying either needs only NumPy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from qa.answer.signals import QUESTION_SIGNALS, UNIT_SIGNALS

from qa.errors import QAError
from qa.files import write_atomically

RERANK_SIGNALS = ("reader", "rank")  # the reader's score and the ranker's, for the candidates the reader read

MODEL_FILE = Path(__file__).with_name("model.json")
REFIT = "refit it with `make fit` (qa fit)"


def _signals_as_expected(data: dict, expected: tuple[str, ...], where: str) -> tuple[str, ...]:
    """The signal names a model file was fitted on, which must be the ones the code computes, in order."""
    names = tuple(data["signals"])
    if names != expected:
        missing, extra = sorted(set(expected) - set(names)), sorted(set(names) - set(expected))
        raise QAError(f"{where} was fitted on other signals (missing {missing or 'none'}, unknown {extra or 'none'}); {REFIT}.")
    return names


def softmax(scores: np.ndarray) -> np.ndarray:
    """A question's candidate scores as probabilities that sum to 1."""
    exponentials = np.exp(scores - scores.max())
    return exponentials / exponentials.sum()


@dataclass(frozen=True)
class LinearModel:
    """A linear score of standardised signals: a logistic regression's probability, or, for ranking the
    candidates of one question, their softmax (a conditional logit: its intercept is 0)."""

    signals: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coefficients: np.ndarray
    intercept: float

    def score(self, values: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(values) - self.mean) / self.scale) @ self.coefficients + self.intercept

    def probability(self, values: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.score(values)))

    def to_json(self) -> dict:
        return {
            "kind": "linear",
            "intercept": round(float(self.intercept), 6),
            "signals": {name: {"mean": round(float(m), 6), "scale": round(float(s), 6), "coefficient": round(float(c), 6)}
                        for name, m, s, c in zip(self.signals, self.mean, self.scale, self.coefficients)},
        }

    @classmethod
    def from_json(cls, data: dict, expected: tuple[str, ...], where: str) -> "LinearModel":
        names = _signals_as_expected(data, expected, where)
        rows = [data["signals"][n] for n in names]
        return cls(names, np.array([r["mean"] for r in rows]), np.array([r["scale"] for r in rows]), np.array([r["coefficient"] for r in rows]), float(data["intercept"]))


@dataclass(frozen=True)
class TreeEnsemble:
    """Boosted regression trees over the signals, packed one tree per row: node ``n`` of tree ``t`` splits
    on ``feature[t, n]`` at ``threshold[t, n]`` (``<=`` goes to ``left``), or is a leaf (feature -1) with
    ``value[t, n]``. The score is the sum of the leaves the values reach."""

    signals: tuple[str, ...]
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    sizes: np.ndarray  # nodes per tree (the rest of a row is padding)

    def score(self, values: np.ndarray) -> np.ndarray:
        """Every row through every tree at once: the nodes as one flat array (a node's number plus its tree's offset),
        one step down per level of the deepest tree."""
        values = np.atleast_2d(values)
        trees, rows = self.feature.shape[0], values.shape[0]
        feature, threshold, left, right, value, depth = self._flat
        by_feature = values.T.ravel()  # a row's value of signal f at f * rows + row
        row = np.tile(np.arange(rows), trees)
        node = np.repeat(np.arange(trees) * self.feature.shape[1], rows)
        for _ in range(depth):
            split = feature[node]
            goes_left = by_feature[np.maximum(split, 0) * rows + row] <= threshold[node]
            node = np.where(split >= 0, np.where(goes_left, left[node], right[node]), node)
        return value[node].reshape(trees, rows).sum(0)

    @cached_property
    def _flat(self) -> tuple:
        """The packed trees as flat arrays with global node numbers, and the deepest tree's depth."""
        offset = (np.arange(self.feature.shape[0]) * self.feature.shape[1])[:, None]
        depth, level = 0, np.zeros(self.feature.shape, dtype=np.int64)
        for column in range(self.feature.shape[1]):  # a node's children come after it in its tree's list
            inner = self.feature[:, column] >= 0
            rows = np.nonzero(inner)[0]
            level[rows, self.left[rows, column]] = level[rows, self.right[rows, column]] = level[rows, column] + 1
            depth = max(depth, int(level[rows, column].max(initial=-1)) + 1)
        return (self.feature.ravel(), self.threshold.ravel(), (self.left + offset).ravel(), (self.right + offset).ravel(), self.value.ravel(), depth)

    def to_json(self) -> dict:
        trees = []
        for t, size in enumerate(self.sizes):
            trees.append([
                [self.signals[self.feature[t, n]], round(float(self.threshold[t, n]), 6), int(self.left[t, n]), int(self.right[t, n])]
                if self.feature[t, n] >= 0 else round(float(self.value[t, n]), 6)
                for n in range(int(size))
            ])
        return {"kind": "boosted_trees", "node": "[signal, threshold, left, right]: a split (<= goes left); a number: a leaf's value", "signals": list(self.signals), "trees": trees}

    @classmethod
    def from_json(cls, data: dict, expected: tuple[str, ...], where: str) -> "TreeEnsemble":
        return pack_trees(_signals_as_expected(data, expected, where), data["trees"])


def pack_trees(names: tuple[str, ...], trees: list[list]) -> TreeEnsemble:
    """Trees as lists of nodes ([signal, threshold, left, right] or a leaf value) packed into arrays."""
    width = max(len(tree) for tree in trees) if trees else 1
    shape = (len(trees), width)
    feature, left, right = np.full(shape, -1, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    threshold, value = np.zeros(shape), np.zeros(shape)
    position = {name: i for i, name in enumerate(names)}
    for t, tree in enumerate(trees):
        for n, node in enumerate(tree):
            if isinstance(node, list):
                feature[t, n], threshold[t, n], left[t, n], right[t, n] = position[node[0]], node[1], node[2], node[3]
            else:
                value[t, n] = node
    return TreeEnsemble(names, feature, threshold, left, right, value, np.array([len(tree) for tree in trees], dtype=np.int64))


def load_ranker(data: dict, where: str) -> "LinearModel | TreeEnsemble":
    if data.get("kind") == "boosted_trees":
        return TreeEnsemble.from_json(data, UNIT_SIGNALS, where)
    return LinearModel.from_json(data, UNIT_SIGNALS, where)


@dataclass(frozen=True)
class AnswerModel:
    rank: LinearModel | TreeEnsemble  # which of a question's candidate units holds the answer (softmax over them)
    decline: LinearModel  # confidence that the documents answer the question at all (from the ranker's view)
    threshold: float  # below this confidence the answerer declines
    keep_ratio: float  # a further statement needs this share of the best candidate's probability
    max_statements: int
    max_chars: int
    fitted: dict  # what it was fitted on: data hash, counts, date, versions, dev figures
    rerank: LinearModel | None = None  # the reader's score joined with the ranker's (qa/answer/reading.py); None: no reader
    read_count: int = 0  # candidates the reader reads per question
    verdict_threshold: float = 0.0  # below this probability the reader's yes/no verdict is "unclear"
    follow_ratio: float | None = None  # a further statement that adds no question term needs this share of the best's probability; None: it never follows

    def to_json(self) -> dict:
        return {
            "about": "Fitted by `qa fit` (make fit) on the development suite's dev splits; applied by qa/answer/model.py. "
                     "rank: which of a question's candidate units holds the answer (a score per unit; softmax over the candidates); "
                     "decline: the documents answer the question (logistic; the answerer declines below threshold).",
            "threshold": round(self.threshold, 6),
            "keep_ratio": self.keep_ratio,
            "max_statements": self.max_statements,
            "max_chars": self.max_chars,
            "rank": self.rank.to_json(),
            "rerank": self.rerank.to_json() if self.rerank else None,
            "read_count": self.read_count,
            "verdict_threshold": self.verdict_threshold,
            "follow_ratio": self.follow_ratio,
            "decline": self.decline.to_json(),
            "fitted": self.fitted,
        }


def load_answer_model(path: Path = MODEL_FILE) -> AnswerModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return AnswerModel(
            rank=load_ranker(data["rank"], f"{path} (rank)"),
            decline=LinearModel.from_json(data["decline"], QUESTION_SIGNALS, f"{path} (decline)"),
            threshold=float(data["threshold"]),
            keep_ratio=float(data["keep_ratio"]),
            max_statements=int(data["max_statements"]),
            max_chars=int(data["max_chars"]),
            fitted=dict(data.get("fitted", {})),
            rerank=LinearModel.from_json(data["rerank"], RERANK_SIGNALS, f"{path} (rerank)") if data.get("rerank") else None,
            read_count=int(data.get("read_count", 0)),
            verdict_threshold=float(data.get("verdict_threshold", 0.0)),
            follow_ratio=None if data.get("follow_ratio") is None else float(data["follow_ratio"]),
        )
    except OSError as exc:
        raise QAError(f"the answer model {path} cannot be read ({exc.strerror}); {REFIT}.") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise QAError(f"the answer model {path} is not a fitted model ({exc}); {REFIT}.") from None


def load_rank_model(path: Path = MODEL_FILE) -> "LinearModel | TreeEnsemble":
    """The ranker alone, from a model file whose other parts may predate the code's signals (the reader's
    training pairs are ranked with it before `qa fit` refits the rest)."""
    try:
        return load_ranker(json.loads(Path(path).read_text(encoding="utf-8"))["rank"], f"{path} (rank)")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise QAError(f"the answer model {path} has no usable ranker ({exc}); {REFIT}.") from None


def write_answer_model(model: AnswerModel, path: Path = MODEL_FILE) -> None:
    """Written whole or not at all (a temporary file renamed into place)."""
    write_atomically(Path(path), json.dumps(model.to_json(), indent=1) + "\n")
