"""The Milvus search backend: one collection holds each passage's vector and its analysed text, and Milvus
ranks both: inner product for the dense channel, its own BM25 function for the lexical one.

The URI is a local path (Milvus Lite: an embedded engine in a data folder) or ``http://host:19530`` (a
Milvus server or cluster; ``QA_MILVUS_TOKEN`` from the environment if it needs one, never printed).

Milvus Lite's analysers tokenise but do not stem (``standard`` and ``jieba`` only), so the text given to
BM25 is already analysed by the project's own analyser (``qa.text.index_terms``: stemmed, stopwords
dropped), and so is every query. Milvus then computes BM25 over exactly the terms the FAISS store's bm25s
index holds, with the same k1 and b, on Lite and on a cluster alike.

Updates are crash-safe without transactions: a row's primary key is ``chunk_id@content-hash``, so a
changed document gets new rows beside its old ones; rows are added before the index folder's manifest is
swapped in, old rows deleted after. Searches only return rows whose key the loaded manifest lists, so a
reader sees the index as it was before an update or as it is after, never half of it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from qa.errors import QAError
from qa.stores.faiss_bm25 import BM25_K1, BM25_B, FLAT_INDEX_LIMIT, IVF_NPROBE

DEFAULT_COLLECTION = "qa_passages"
KEYS_FILE = "milvus_keys.jsonl"  # in the index folder: the row key of each passage, in position order
CONNECT_TIMEOUT = 10.0
BATCH = 1000
_REMOTE = re.compile(r"^(https?|tcp|grpc)://", re.IGNORECASE)


def is_remote(uri: str) -> bool:
    return bool(_REMOTE.match(uri))


def default_lite_path(index_folder: Path) -> Path:
    """Milvus Lite's data folder beside the index folder (the folder is replaced whole on every write,
    so an engine's files inside it would not survive the swap)."""
    index_folder = Path(index_folder).resolve()
    return index_folder.parent / f"{index_folder.name}.milvus.db"


def row_key(chunk_id: str, content_hash: str) -> str:
    return f"{chunk_id}@{content_hash[:16]}"


def _where(uri: str) -> str:
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
        if path.exists() and not path.is_dir():
            raise QAError(f"{_where(uri)} is not a Milvus Lite data folder; remove it, or pass another --milvus-uri, and run `qa index --store milvus`.")
        path.parent.mkdir(parents=True, exist_ok=True)
        _require_unlocked(path)
    try:
        return MilvusClient(uri=uri, token=token, timeout=timeout)
    except Exception as exc:
        if is_remote(uri):
            raise QAError(f"{_where(uri)} does not answer ({_reason(exc)}); start it, check the URI and QA_MILVUS_TOKEN, or use --store faiss.") from None
        raise QAError(f"{_where(uri)} cannot be opened ({_reason(exc)}); it may be corrupted: delete it and rebuild with `qa index --store milvus`.") from None


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
                f"{_where(str(path))} is open in another process (a running `qa serve`?); Milvus Lite serves one process at a time: stop it, "
                f"or serve the folder with `milvus-lite server --data-dir {path}` and use its http:// URI (--milvus-uri) everywhere."
            ) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


def _reason(exc: Exception) -> str:
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

    # ---- reading ------------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: Path, manifest: dict) -> "MilvusSearch":
        """The collection the manifest names, searched through the row keys the index folder lists."""
        with (folder / KEYS_FILE).open(encoding="utf-8") as handle:
            keys = [json.loads(line)["key"] for line in handle if line.strip()]
        facts = manifest["store"]
        uri, collection = facts["uri"], facts["collection"]
        client = connect(uri)
        try:
            exists = client.has_collection(collection)
            description = client.describe_collection(collection) if exists else None
            if exists:
                client.load_collection(collection)
        except Exception as exc:
            raise QAError(f"{_where(uri)} failed to describe collection {collection!r} ({_reason(exc)}); check the server, or rebuild with `qa index --store milvus`.") from None
        if not exists:
            raise QAError(f"collection {collection!r} is missing from {_where(uri)}; rebuild it with `qa index --store milvus --milvus-uri {uri}`.")
        built = _collection_facts(description)
        embedding = manifest["embedding"]
        if built.get("model") != embedding["model"] or built.get("dimension") != embedding["dimension"]:
            raise QAError(
                f"collection {collection!r} at {uri} holds vectors of {built.get('model')!r} ({built.get('dimension')} dimensions), but the index "
                f"was built with {embedding['model']!r} ({embedding['dimension']}); rebuild it with `qa index --store milvus`, or use another --milvus-collection."
            )
        return cls(client, uri, collection, keys, embedding["dimension"])

    def _search(self, data, field: str, metric: str, depth: int, params: dict | None = None) -> list[dict]:
        try:
            found = self.client.search(
                self.collection, data=data, anns_field=field, limit=depth, output_fields=[], search_params={"metric_type": metric, "params": params or {}}
            )
        except Exception as exc:
            raise QAError(f"{_where(self.uri)} failed to search collection {self.collection!r} ({_reason(exc)}); check that it is running, then ask again.") from None
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
            raise QAError(f"collection {self.collection!r} at {self.uri} lacks {len(missing)} passages the index lists (e.g. {missing[0]!r}); rebuild it with `qa index --store milvus`.")
        return np.asarray([rows[k] for k in self.keys], dtype=np.float32).reshape(len(self.keys), self.dimension)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass

    # ---- writing ------------------------------------------------------------------------------------
    @staticmethod
    def add_rows(client, uri: str, collection: str, model: str, keys: list[str], chunk_ids: list[str], doc_ids: list[str], terms: list[list[str]], vectors: np.ndarray) -> dict:
        """Create the collection if needed and upsert the rows it does not hold yet. Returns the manifest's
        "store" facts. Rows of the previous build stay until ``prune`` (the manifest still lists them)."""
        dimension = int(vectors.shape[1])
        try:
            if not client.has_collection(collection):
                _create_collection(client, collection, model, dimension, len(keys))
            else:
                client.load_collection(collection)
                built = _collection_facts(client.describe_collection(collection))
                if built.get("model") != model or built.get("dimension") != dimension:
                    raise QAError(
                        f"collection {collection!r} at {uri} holds vectors of {built.get('model')!r} ({built.get('dimension')} dimensions), not "
                        f"{model!r} ({dimension}); pass another --milvus-collection, or drop that collection first."
                    )
            present = _existing_keys(client, collection)
            new = [i for i, key in enumerate(keys) if key not in present]
            for start in range(0, len(new), BATCH):
                batch = new[start : start + BATCH]
                client.upsert(
                    collection,
                    [{"key": keys[i], "chunk_id": chunk_ids[i], "doc_id": doc_ids[i], "terms": " ".join(terms[i]) or "_", "vector": vectors[i].tolist()} for i in batch],
                )
            index_type = _index_type(client, collection)
        except QAError:
            raise
        except Exception as exc:
            raise QAError(f"{_where(uri)} failed while writing collection {collection!r} ({_reason(exc)}); the previous index is unchanged. Check the server and run `qa index` again.") from None
        return {"kind": "milvus", "uri": uri, "collection": collection, "index_type": index_type, "rows_added": len(new), "metric": "inner_product"}

    @staticmethod
    def prune(client, uri: str, collection: str, keep: Iterable[str]) -> int:
        """Delete the rows the new manifest no longer lists (after it is in place)."""
        keep = set(keep)
        stale = [key for key in _existing_keys(client, collection) if key not in keep]
        for start in range(0, len(stale), BATCH):
            client.delete(collection, ids=stale[start : start + BATCH])
        return len(stale)


@dataclass
class PendingRows:
    """New rows written into the collection, waiting for the index folder's swap; ``finish`` then deletes
    the rows the new manifest no longer lists and closes the connection."""

    client: object
    facts: dict  # the manifest's "store" entry
    keys: list[str]

    def finish(self) -> None:
        try:  # if this fails the stale rows stay, unseen (no manifest lists them), until the next write
            MilvusSearch.prune(self.client, self.facts["uri"], self.facts["collection"], self.keys)
        except Exception:
            pass
        self.client.close()


def write_rows(staging: Path, index_folder: Path, uri: str | None, collection: str | None, documents, chunks, chunk_vectors: np.ndarray, terms: list[list[str]], model: str) -> PendingRows:
    """Add the passages' rows to the collection (the Milvus Lite folder beside the index by default) and
    write the row keys into the staging folder (KEYS_FILE), before the index folder is swapped in."""
    uri = uri or str(default_lite_path(index_folder))
    collection = collection or DEFAULT_COLLECTION
    client = connect(uri)
    content_hashes = {d.doc_id: d.content_hash for d in documents}
    keys = [row_key(c.chunk_id, content_hashes[c.doc_id]) for c in chunks]
    vectors = np.ascontiguousarray(chunk_vectors, dtype=np.float32).reshape(len(chunks), -1)
    facts = MilvusSearch.add_rows(client, uri, collection, model, keys, [c.chunk_id for c in chunks], [c.doc_id for c in chunks], terms, vectors)
    (staging / KEYS_FILE).write_text("".join(json.dumps({"key": key}) + "\n" for key in keys), encoding="utf-8")
    return PendingRows(client, facts, keys)


MODEL_PROPERTY = "qa.embedding_model"  # a collection property: which model wrote the vectors


def _collection_facts(description: dict | None) -> dict:
    """The model (a collection property set by `qa index`) and the vector field's dimension."""
    description = description or {}
    dimension = next((int(f.get("params", {}).get("dim", 0)) for f in description.get("fields", []) if f.get("name") == "vector"), None)
    return {"model": description.get("properties", {}).get(MODEL_PROPERTY), "dimension": dimension}


def _create_collection(client, collection: str, model: str, dimension: int, expected_rows: int) -> None:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description="passages written by qa index")
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=600)
    schema.add_field("chunk_id", DataType.VARCHAR, max_length=600)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=600)
    # Already analysed (stemmed, stopwords dropped) by qa.text.index_terms; "standard" only splits it.
    schema.add_field("terms", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params={"tokenizer": "standard"})
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]))
    index_params = client.prepare_index_params()
    if expected_rows <= FLAT_INDEX_LIMIT:  # the same rule as the FAISS store, from the same benchmark
        index_params.add_index("vector", index_type="FLAT", metric_type="IP")
    else:
        index_params.add_index("vector", index_type="IVF_FLAT", metric_type="IP", params={"nlist": int(4 * np.sqrt(expected_rows))})
    index_params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
    client.create_collection(collection, schema=schema, index_params=index_params, consistency_level="Strong", properties={MODEL_PROPERTY: model})


def _index_type(client, collection: str) -> str:
    try:
        return str(client.describe_index(collection, "vector").get("index_type", "")).lower() or "unknown"
    except Exception:
        return "unknown"


def _existing_keys(client, collection: str) -> set[str]:
    keys: set[str] = set()
    iterator = client.query_iterator(collection, batch_size=BATCH * 10, filter="", output_fields=["key"])
    try:
        while True:
            batch = iterator.next()
            if not batch:
                break
            keys.update(record["key"] for record in batch)
    finally:
        iterator.close()
    return keys
