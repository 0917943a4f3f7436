"""One writer at a time for a Milvus library, across processes and machines.

A writer inserts a claim row (its id and the time); after a short settle it reads every live claim, and
the oldest one (ties broken by id) may write. A loser withdraws its claim and tries again until its
patience runs out. The holder refreshes its claim while it works; a claim not refreshed for STALE_S
(a writer that was killed) no longer counts. The commit itself is also checked (qa/stores/milvus_library.py:
a second commit of the same version loses), so even two writers that both believed they held the lock
could not both change the library. Clocks of the writers' machines are assumed to agree within SETTLE_S.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

from qa.errors import QAError

SETTLE_S = 0.5  # wait after claiming, so that a claim made at the same moment is seen
REFRESH_S = 5.0
STALE_S = 30.0
WAIT_S = 600.0  # how long a writer waits for another to finish before it gives up


def _now_ms() -> int:
    return int(time.time() * 1000)


@contextmanager
def writer_lock(library, wait_s: float = WAIT_S) -> Iterator[None]:
    """Hold the library's write lock for the duration of the block."""
    name = library.name("locks")
    claim = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    while True:
        library.call("claim the write lock", library.client.insert, name, [{"key": claim, "owner": library.writer, "since_ms": _now_ms(), "seen_ms": _now_ms(), "vector": [0.0, 0.0]}])
        time.sleep(SETTLE_S)
        live = [r for r in library.call("read the write lock", library.client.query, name, filter="", output_fields=["key", "since_ms", "seen_ms"])
                if _now_ms() - int(r["seen_ms"]) < STALE_S * 1000]
        if min(live, key=lambda r: (int(r["since_ms"]), r["key"]))["key"] == claim:
            break
        library.call("withdraw a claim", library.client.delete, name, ids=[claim])
        if time.monotonic() > deadline:
            raise QAError(f"another writer has held the write lock of {library.label} for over {wait_s:.0f} s; wait for it to finish, then try again.")
        time.sleep(1.0)
    stop = threading.Event()
    refresher = threading.Thread(target=_refresh, args=(library, name, claim, stop), daemon=True)
    refresher.start()
    try:
        yield
    finally:
        stop.set()
        refresher.join(timeout=REFRESH_S)
        try:
            library.client.delete(name, ids=[claim])
        except Exception:
            pass  # a claim that cannot be withdrawn goes stale on its own


def _refresh(library, name: str, claim: str, stop: threading.Event) -> None:
    row = None
    while not stop.wait(REFRESH_S):
        try:
            row = row or library.client.query(name, ids=[claim], output_fields=["since_ms"])[0]
            library.client.upsert(name, [{"key": claim, "owner": library.writer, "since_ms": int(row["since_ms"]), "seen_ms": _now_ms(), "vector": [0.0, 0.0]}])
        except Exception:
            continue
