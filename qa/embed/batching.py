"""Micro-batching: calls made at about the same time by concurrent sessions (the server's worker threads) run
as one batched call. The first caller of a round waits up to ``window_s`` for others to join (or until
``max_items`` have), then runs the batch for all; each caller gets its own result, or the batch's error."""

from __future__ import annotations

import threading
import time
from typing import Callable, Generic, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Slot:
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item):
        self.item, self.done, self.result, self.error = item, threading.Event(), None, None


class MicroBatcher(Generic[Item, Result]):
    def __init__(self, run_batch: Callable[[Sequence[Item]], Sequence[Result]], window_s: float = 0.005, max_items: int = 16):
        if window_s < 0 or max_items < 1:
            raise ValueError(f"a micro-batch needs window_s >= 0 and max_items >= 1, not {window_s} and {max_items}")
        self.run_batch, self.window_s, self.max_items = run_batch, window_s, max_items
        self._lock = threading.Condition()
        self._pending: list[_Slot] = []
        self._leader = False
        self.batches = 0  # how many batched calls ran (for the benchmark's report)
        self.items = 0

    def __call__(self, item: Item) -> Result:
        slot = _Slot(item)
        with self._lock:
            self._pending.append(slot)
            lead = not self._leader
            if lead:
                self._leader = True
            elif len(self._pending) >= self.max_items:
                self._lock.notify_all()
        if lead:
            self._lead()
        slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _lead(self) -> None:
        deadline = time.monotonic() + self.window_s
        with self._lock:
            while len(self._pending) < self.max_items and (left := deadline - time.monotonic()) > 0:
                self._lock.wait(left)
            batch, self._pending = self._pending[: self.max_items], self._pending[self.max_items :]
            if self._pending:  # more came than one batch holds: the first of them leads the next round
                threading.Thread(target=self._lead, daemon=True).start()
            else:
                self._leader = False
        try:
            results = self.run_batch([slot.item for slot in batch])
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except BaseException as error:  # every caller of the batch sees the failure
            for slot in batch:
                slot.error = error
        finally:
            self.batches += 1
            self.items += len(batch)
            for slot in batch:
                slot.done.set()
