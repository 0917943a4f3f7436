"""The Milvus search backend: dense search (inner product) and Milvus's own BM25 over a library's passages
collection (qa/stores/milvus_library.py), and the connection every Milvus call goes through.

The URI is a local path ending in ``.db`` (Milvus Lite: an embedded engine keeping its data in a folder of
that name, e.g. ``library.db``) or ``http://host:19530`` (a
Milvus server or cluster; ``QA_MILVUS_TOKEN`` from the environment if it needs one, never printed).

Milvus Lite's analysers tokenise but do not stem (``standard`` and ``jieba`` only), so the text given to
BM25 is already analysed by the project's own analyser (``qa.text.index_terms``: stemmed, stopwords
dropped), and so is every query. Milvus then computes BM25 over exactly the terms the FAISS store's bm25s
index holds, with the same k1 and b, on Lite and on a cluster alike.

Searches return only rows the loaded manifest lists (by their keys), so rows of an update being written, or
of one being pruned, are never part of an answer.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from qa.errors import QAError
from qa.stores.faiss_bm25 import BM25_B, BM25_K1, IVF_NPROBE

CONNECT_TIMEOUT = 10.0
LITE_SUFFIX = ".db"
BATCH = 1000
_REMOTE = re.compile(r"^(https?|tcp|grpc)://", re.IGNORECASE)


def is_remote(uri: str) -> bool:
    return bool(_REMOTE.match(uri))


def where(uri: str) -> str:
    return f"the Milvus server at {uri}" if is_remote(uri) else f"the Milvus Lite data at {uri}"


def connect(uri: str, timeout: float = CONNECT_TIMEOUT):
    """A MilvusClient for the URI (with QA_MILVUS_TOKEN from the environment, if set), or one error line
    naming the URI and what to do."""
    from pymilvus import MilvusClient

    token = os.environ.get("QA_MILVUS_TOKEN", "")
    # pymilvus and Milvus Lite log failures with tracebacks; the caller turns them into one line instead.
    for name in ("pymilvus", "milvus_lite"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if not is_remote(uri):
        path = Path(uri)
        if path.suffix != LITE_SUFFIX:
            raise QAError(
                f"--milvus-uri {uri!r} is neither http://host:port nor a Milvus Lite path: a Milvus Lite URI is a path ending in .db, "
                f"e.g. {str(path / 'library.db')!r} (Milvus Lite keeps its data in a folder of that name)."
            )
        if path.exists() and not path.is_dir():
            raise QAError(f"{where(uri)} is a file, and Milvus Lite keeps its data in a folder of that name; pass another path ending in .db as --milvus-uri.")
        path.parent.mkdir(parents=True, exist_ok=True)
        _require_unlocked(path)
    try:
        # A connection of its own, twice over. pymilvus pools one connection per address in a process and
        # reconnects it with whichever client's timeout came first; gRPC shares sockets between channels to one
        # address, and one that the server closed for pinging too often (an idle client's keepalive) fails the
        # next channel's first call at once instead of reconnecting.
        return MilvusClient(uri=uri, token=token, timeout=timeout, dedicated=True, grpc_options={"grpc.use_local_subchannel_pool": 1})
    except Exception as exc:
        if is_remote(uri):
            raise QAError(f"{where(uri)} does not answer ({reason(exc)}); start it, check the URI and QA_MILVUS_TOKEN, or use --store faiss.") from None
        raise QAError(
            f"{where(uri)} cannot be opened by Milvus Lite ({reason(exc)}); if it was written by another Milvus Lite version or is damaged, "
            "move it aside (it is not deleted) and rebuild the library with `qa index --store milvus`."
        ) from None


def _require_unlocked(path: Path) -> None:
    """Milvus Lite opens a data folder in one process at a time (it holds a lock on LOCK inside)."""
    import fcntl

    from milvus_lite.server_manager import server_manager_instance

    lock = path / "LOCK"
    if not lock.exists() or os.path.abspath(path) in server_manager_instance._servers:
        return  # nobody has opened it, or this process has (its clients share one engine)
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise QAError(
                f"{where(str(path))} is open in another process (a running `qa serve`?); Milvus Lite serves one process at a time: stop it, "
                f"or serve the folder with `milvus-lite server --data-dir {path}` and use its http:// URI (--milvus-uri) everywhere."
            ) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


def reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())[:200]


class MilvusSearch:
    kind = "milvus"

    def __init__(self, client, uri: str, collection: str, keys: list[str], dimension: int):
        self.client = client
        self.uri = uri
        self.collection = collection
        self.keys = keys
        self.positions = {key: position for position, key in enumerate(keys)}
        self.dimension = dimension
        self.count = len(keys)

    def _search(self, data, field: str, metric: str, depth: int, params: dict | None = None) -> list[dict]:
        try:
            # Only the key: no output fields means every scalar field (each hit's record, terms and sparse
            # vector), and decoding them doubled the client's CPU per search.
            found = self.client.search(
                self.collection, data=data, anns_field=field, limit=depth, output_fields=["key"], search_params={"metric_type": metric, "params": params or {}}
            )
        except Exception as exc:
            raise QAError(f"{where(self.uri)} failed to search collection {self.collection!r} ({reason(exc)}); check that it is running, then ask again.") from None
        return list(found[0]) if found else []

    def dense(self, vector: np.ndarray, depth: int) -> dict[int, float]:
        hits = self._search([np.asarray(vector, dtype=np.float32).tolist()], "vector", "IP", depth, {"nprobe": IVF_NPROBE})
        return self._positions(hits, lambda d: d)

    def lexical(self, terms: list[str], depth: int) -> dict[int, float]:
        if not terms:
            return {}
        # Milvus Lite reports BM25 as a negated distance, a server as the score itself.
        return self._positions(self._search([" ".join(terms)], "sparse", "BM25", depth, {"bm25_k1": BM25_K1, "bm25_b": BM25_B}), abs)

    def _positions(self, hits: list[dict], score) -> dict[int, float]:
        found: dict[int, float] = {}
        for hit in hits:
            position = self.positions.get(hit.get("id", hit.get("key")))
            if position is not None:  # rows of an update not yet (or no longer) in the manifest are skipped
                found.setdefault(position, float(score(hit["distance"])))
        return found

    def vectors(self) -> np.ndarray:
        rows: dict[str, list[float]] = {}
        for start in range(0, len(self.keys), BATCH):
            for record in self.client.get(self.collection, ids=self.keys[start : start + BATCH], output_fields=["vector"]):
                rows[record["key"]] = record["vector"]
        missing = [k for k in self.keys if k not in rows]
        if missing:
            raise QAError(f"collection {self.collection!r} at {self.uri} lacks {len(missing)} passages the manifest lists (e.g. {missing[0]!r}); rebuild it with `qa index --store milvus`.")
        return np.asarray([rows[k] for k in self.keys], dtype=np.float32).reshape(len(self.keys), self.dimension)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
