"""A question's vector, embedded together with the questions other threads (a server's sessions) embed at about
the same time, once a server turns batching on: one pass of the encoder for them all (qa/embed/batching.py)."""

from __future__ import annotations

import threading

import numpy as np

from qa.embed.batching import MicroBatcher
from qa.embed.encoders import Encoder

WINDOW_S = 0.005  # how long the first question of a round waits for others
MAX_QUESTIONS = 16

_batchers: dict[int, MicroBatcher] = {}  # one per encoder (encoders are loaded once per process)
_lock = threading.Lock()
_enabled = False


def batch_queries_in_this_process() -> None:
    """From now on, concurrent threads' questions share their encoder's passes."""
    global _enabled
    _enabled = True


def encode_query(encoder: Encoder, question: str) -> np.ndarray:
    """The question's vector: alone, or in a micro-batch once `batch_queries_in_this_process` was called."""
    if not _enabled:
        return encoder.encode([question])[0]
    with _lock:
        batcher = _batchers.get(id(encoder))
        if batcher is None:  # the batcher keeps the encoder alive, so its id is never reused
            batcher = _batchers[id(encoder)] = MicroBatcher(lambda questions: list(encoder.encode(list(questions))), WINDOW_S, MAX_QUESTIONS)
    return batcher(question)


def query_batches(encoder: Encoder) -> tuple[int, int]:
    """(batched passes, questions) so far for this encoder's batcher; (0, 0) when none ran."""
    batcher = _batchers.get(id(encoder))
    return (batcher.batches, batcher.items) if batcher else (0, 0)
