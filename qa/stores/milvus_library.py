"""A whole library in Milvus, so that any number of stateless app servers answer from it and write to it.

Collections, named from a prefix (``--milvus-collection NAME``, default ``qa``):

* ``NAME_passages``: one row per passage: its record (text, offsets, section, page) as JSON, its vector
  (inner product; FLAT up to 50,000 rows, IVF_FLAT above) and its analysed terms for Milvus's own BM25;
* ``NAME_units``: one row per sentence unit: its record and its vector;
* ``NAME_documents``: each cleaned document as JSON, in pieces (Milvus caps a text field at 65,535 bytes);
* ``NAME_files``: the source files themselves, base64 in pieces, keyed by their SHA-256 (a PDF's page
  view needs the file, and the store, not a server's folder, is the library);
* ``NAME_manifest``: the manifest (model, dimension, chunking, every document's content hash and source
  file) as JSON pieces per version, and one commit row per version;
* ``NAME_locks``: writers' claims (qa/stores/milvus_lock.py).

Every row of a document is keyed by ``doc_id@content-hash``, so a changed document's rows sit beside the old
ones. A writer adds its rows, then the manifest pieces of the next version, then that version's commit row,
one insert: the commit. Readers read the latest commit and load only rows the manifest lists, so they see a
library before an update or after it, never half of one, even if the writer is killed midway. Rows no
manifest of the last two versions lists are pruned after a commit (qa/stores/milvus_prune.py).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import asdict
from typing import Iterable, Iterator

import numpy as np

from qa.errors import QAError
from qa.stores.faiss_bm25 import BM25_B, BM25_K1, FLAT_INDEX_LIMIT
from qa.stores.milvus import connect, reason, where
from qa.types import Chunk, Document, Reference, Section, Unit

DEFAULT_PREFIX = "qa"
KINDS = ("passages", "units", "documents", "files", "manifest", "locks")
PIECE_BYTES = 60_000  # under Milvus's 65,535-byte cap on a text field
FILE_PIECE_BYTES = 45_000  # raw bytes per piece: 60,000 characters of base64
BATCH = 500
KEEP_VERSIONS = 2  # a reader loading version v while v+1 commits still finds its rows
LAYOUT = 1  # bump when the rows' layout changes


def doc_key(doc_id: str, content_hash: str) -> str:
    return f"{doc_id}@{content_hash[:16]}"


def pieces(text: str, size: int = PIECE_BYTES) -> list[str]:
    """ASCII text (JSON written with ensure_ascii) cut into pieces of at most ``size`` bytes."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class MilvusLibrary:
    """The collections of one library. ``uri``: a Milvus Lite path ending in .db or http://host:19530 (token from
    QA_MILVUS_TOKEN); ``prefix``: the collections' common name."""

    def __init__(self, uri: str, prefix: str = DEFAULT_PREFIX):
        if not prefix.replace("_", "").isalnum():
            raise QAError(f"--milvus-collection must be letters, digits and underscores. Currently, it is {prefix!r}.")
        self.uri, self.prefix = uri, prefix
        self.client = connect(uri)
        self.writer = uuid.uuid4().hex[:12]
        self._loaded = False

    def name(self, kind: str) -> str:
        return f"{self.prefix}_{kind}"

    @property
    def label(self) -> str:
        return f"{where(self.uri)}, collections {self.prefix}_*"

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass

    def call(self, what: str, call, *args, **kwargs):
        """A Milvus call whose failure is one line naming the server and what failed."""
        try:
            return call(*args, **kwargs)
        except QAError:
            raise
        except Exception as exc:
            raise QAError(f"{where(self.uri)} failed to {what} ({reason(exc)}); check that it is running, then try again.") from None

    # ---- collections ------------------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether a library lives under this prefix; its collections are loaded for reading the first time."""
        if self._loaded:
            return True
        if not self.call("list its collections", self.client.has_collection, self.name("manifest")):
            return False
        for kind in KINDS:  # a Milvus Lite folder opened afresh, or a server restarted, has them released
            if self.call("list its collections", self.client.has_collection, self.name(kind)):
                self.call(f"load collection {self.name(kind)}", self.client.load_collection, self.name(kind))
        self._loaded = True
        return True

    def ensure(self, dimension: int | None = None, expected_rows: int = 0) -> None:
        """Create the collections that are missing: without a dimension, those that hold no vectors of
        their own (enough to take the write lock and read the manifest); with it, passages and units too."""
        from qa.stores.milvus_schema import create

        kinds = KINDS if dimension else ("locks", "manifest", "documents", "files")
        for kind in kinds:
            name = self.name(kind)
            if not self.call("list its collections", self.client.has_collection, name):
                try:
                    create(self.client, name, kind, dimension or 2, expected_rows)
                except Exception as exc:
                    if not self._created_by_another(name):
                        raise QAError(f"{where(self.uri)} failed to create collection {name} ({reason(exc)}); check the server and its permissions.") from None
            self.call(f"load collection {name}", self.client.load_collection, name)
        self._loaded = bool(dimension)

    def _created_by_another(self, name: str, wait_s: float = 5.0) -> bool:
        """Whether another writer created the collection at the same moment: its creation can still be under
        way when ours fails (the server has its folder but does not list it yet), so look again for a while."""
        deadline = time.monotonic() + wait_s
        while not self.call("list its collections", self.client.has_collection, name):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    # ---- the manifest -----------------------------------------------------------------------------------
    def commits(self) -> list[dict]:
        """Commit rows, newest first: {"version", "writer", "pieces", "time"}; a cheap query (a few rows).
        None committed yet (or no library at all under this prefix): []."""
        if not self.exists():
            return []
        rows = self.call("read the manifest", self.client.query, self.name("manifest"), filter='kind == "commit"', output_fields=["version", "data"])
        found = [{"version": int(r["version"]), **json.loads(r["data"])} for r in rows]
        return sorted(found, key=lambda c: (-c["version"], c["writer"]))

    def current(self) -> dict | None:
        """The committed manifest readers use: the highest version, ties going to the lowest writer id."""
        commits = self.commits()
        if not commits:
            return None
        manifest = self.manifest_of(commits[0])
        if manifest is None:
            raise QAError(f"the manifest of version {commits[0]['version']} in {self.label} is incomplete; rebuild the library with `qa index --store milvus`.")
        return manifest

    def manifest_of(self, commit: dict) -> dict | None:
        """The manifest a commit row made current, or None when its pieces are not all there."""
        rows = self.call(
            "read the manifest", self.client.query, self.name("manifest"),
            filter=f'kind == "piece" and version == {commit["version"]} and writer == "{commit["writer"]}"', output_fields=["piece", "data"],
        )
        if len(rows) != commit["pieces"]:
            return None
        return json.loads("".join(r["data"] for r in sorted(rows, key=lambda r: int(r["piece"]))))

    def commit(self, manifest: dict) -> int:
        """Write ``manifest`` as the next version: its pieces first, then the commit row that makes it current.
        Returns the version; a QAError if another writer committed the same version first (the caller retries)."""
        version = int(manifest["version"])
        text = json.dumps(manifest, ensure_ascii=True, sort_keys=True)
        chunks = pieces(text)
        rows = [{"key": f"{version}:{self.writer}:{n}", "kind": "piece", "version": version, "writer": self.writer, "piece": n, "data": part, "vector": [0.0, 0.0]}
                for n, part in enumerate(chunks)]
        self._insert("manifest", rows)
        commit = {"writer": self.writer, "pieces": len(chunks), "time": round(time.time(), 3)}
        self._insert("manifest", [{"key": f"commit:{version}:{self.writer}", "kind": "commit", "version": version, "writer": self.writer, "piece": -1,
                                    "data": json.dumps(commit), "vector": [0.0, 0.0]}])
        winner = self.commits()[0]
        if winner["version"] == version and winner["writer"] != self.writer:
            self.call("withdraw a commit", self.client.delete, self.name("manifest"), filter=f'version == {version} and writer == "{self.writer}"')
            raise QAError(f"another writer committed version {version} of {self.label} first; build again on top of it.")
        return version

    # ---- rows -------------------------------------------------------------------------------------------
    def _insert(self, kind: str, rows: list[dict]) -> None:
        for start in range(0, len(rows), BATCH):
            self.call(f"write collection {self.name(kind)}", self.client.insert, self.name(kind), rows[start : start + BATCH])

    def present_keys(self, kind: str, field: str = "doc_key") -> set[str]:
        found: set[str] = set()
        for batch in self._iterate(kind, [field]):
            found.update(r[field] for r in batch)
        return found

    def write_document(self, document: Document, chunks: tuple[Chunk, ...], units: tuple[Unit, ...], chunk_vectors: np.ndarray, unit_vectors: np.ndarray, terms: list[list[str]]) -> None:
        """Every row of one document (passages, units, the document itself), keyed by its content hash."""
        key = doc_key(document.doc_id, document.content_hash)
        text = json.dumps(asdict(document), ensure_ascii=True)
        self._insert("documents", [{"key": f"{key}:{n}", "doc_key": key, "piece": n, "data": part, "vector": [0.0, 0.0]} for n, part in enumerate(pieces(text))])
        self._insert("passages", [
            {"key": f"{c.chunk_id}@{document.content_hash[:16]}", "doc_key": key, "position": i, "record": json.dumps(asdict(c), ensure_ascii=True),
             "terms": " ".join(t) or "_", "vector": v.tolist()}
            for i, (c, v, t) in enumerate(zip(chunks, np.asarray(chunk_vectors, np.float32), terms))
        ])
        self._insert("units", [
            {"key": f"{key}#{i}", "doc_key": key, "position": i, "record": json.dumps(asdict(u), ensure_ascii=True), "vector": v.tolist()}
            for i, (u, v) in enumerate(zip(units, np.asarray(unit_vectors, np.float32)))
        ])

    def write_file(self, data: bytes, sha256: str) -> None:
        if self.call("read collection files", self.client.query, self.name("files"), filter=f'sha == "{sha256}" and piece == 0', output_fields=["sha"]):
            return
        raw = [data[i : i + FILE_PIECE_BYTES] for i in range(0, len(data), FILE_PIECE_BYTES)] or [b""]
        self._insert("files", [{"key": f"{sha256}:{n}", "sha": sha256, "piece": n, "pieces": len(raw), "data": base64.b64encode(part).decode(), "vector": [0.0, 0.0]}
                               for n, part in enumerate(raw)])

    def read_file(self, sha256: str) -> bytes:
        rows = self.call("read collection files", self.client.query, self.name("files"), filter=f'sha == "{sha256}"', output_fields=["piece", "pieces", "data"])
        rows = sorted(rows, key=lambda r: int(r["piece"]))
        if not rows or len(rows) != int(rows[0]["pieces"]):
            raise QAError(f"the source file {sha256[:12]}… is missing from {self.label}; add the document again with `qa add`.")
        return b"".join(base64.b64decode(r["data"]) for r in rows)

    def documents(self, keys: Iterable[str]) -> dict[str, Document]:
        parts: dict[str, list[tuple[int, str]]] = {}
        for batch in self._rows("documents", keys, ["doc_key", "piece", "data"]):
            parts.setdefault(batch["doc_key"], []).append((int(batch["piece"]), batch["data"]))
        return {key: _document(json.loads("".join(p for _, p in sorted(found)))) for key, found in parts.items()}

    def passages(self, keys: Iterable[str]) -> dict[str, list[tuple[int, str, Chunk, np.ndarray | None]]]:
        """Per document key: (position, row key, Chunk), in no particular order."""
        found: dict[str, list] = {}
        for row in self._rows("passages", keys, ["key", "doc_key", "position", "record"]):
            found.setdefault(row["doc_key"], []).append((int(row["position"]), row["key"], Chunk(**json.loads(row["record"]))))
        return found

    def units(self, keys: Iterable[str]) -> dict[str, list[tuple[int, Unit, np.ndarray]]]:
        found: dict[str, list] = {}
        for row in self._rows("units", keys, ["doc_key", "position", "record", "vector"]):
            found.setdefault(row["doc_key"], []).append((int(row["position"]), Unit(**json.loads(row["record"])), np.asarray(row["vector"], dtype=np.float32)))
        return found

    def _rows(self, kind: str, keys: Iterable[str], fields: list[str]) -> Iterator[dict]:
        keys = sorted(set(keys))
        for start in range(0, len(keys), 100):
            listed = ", ".join(json.dumps(k) for k in keys[start : start + 100])
            yield from self.call(f"read collection {self.name(kind)}", self.client.query, self.name(kind), filter=f"doc_key in [{listed}]", output_fields=fields)

    def _iterate(self, kind: str, fields: list[str]) -> Iterator[list[dict]]:
        iterator = self.call(f"read collection {self.name(kind)}", self.client.query_iterator, self.name(kind), batch_size=BATCH * 10, filter="", output_fields=fields)
        try:
            while True:
                batch = self.call(f"read collection {self.name(kind)}", iterator.next)
                if not batch:
                    break
                yield batch
        finally:
            iterator.close()

def _document(record: dict) -> Document:
    record["sections"] = tuple(Section(**s) for s in record["sections"])
    record["references"] = tuple(Reference(**r) for r in record["references"])
    record["pages"] = tuple(tuple(p) for p in record.get("pages", ()))
    return Document(**record)


def bm25_parameters() -> dict:
    return {"bm25_k1": BM25_K1, "bm25_b": BM25_B}


def flat_or_ivf(expected_rows: int) -> dict:
    """The FAISS store's rule, from the same benchmark: exact search up to FLAT_INDEX_LIMIT rows."""
    if expected_rows <= FLAT_INDEX_LIMIT:
        return {"index_type": "FLAT", "metric_type": "IP"}
    return {"index_type": "IVF_FLAT", "metric_type": "IP", "params": {"nlist": int(4 * np.sqrt(expected_rows))}}
