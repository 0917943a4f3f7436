"""Embedding on a Ray cluster (`qa index --ray auto|ADDRESS`): Ray Data streams the passages through a pool
of actors, each holding the ONNX encoder once, and the vectors come back in the order they went out.

It offers what the indexer asks of any encoder (``encode_spans``, ``dimension``), so a build on Ray writes
through the same store code as a local one, with the same vectors (each actor runs the same ONNX model on
the same texts). ``auto`` starts a local Ray on this machine; an address joins a running cluster. Each
actor is restarted and its batches run again when its process dies (Ray Data's actor pools restart
actors and retry their tasks by default); a run that still fails raises before anything is written, so
the previous index keeps answering. Ray is an optional package (``make test`` installs it; ``make run`` does not).
"""

from __future__ import annotations

import json
import os
from typing import Callable, Sequence

import numpy as np

from qa.errors import QAError

RAY_BATCH = 16  # passages per actor call, as the local indexer batches them
# Ray gives a local node 30 s to register; on a loaded machine (seen in CI, right after the test suite)
# that can run out once, and a second start after a clean shutdown goes through.
LOCAL_START_ATTEMPTS = 2


class EmbedActor:
    """One Ray actor: the ONNX encoder, loaded once (NumPy when the model has no export)."""

    def __init__(self, model: str):
        from qa.embed.encoders import load_encoder, onnx_available

        self.encoder = load_encoder(model, "onnx" if onnx_available(model) else "numpy")

    def __call__(self, batch: dict) -> dict:
        texts = [str(t) for t in batch["text"]]
        spans = [[tuple(tuple(r) for r in span) for span in json.loads(s)] for s in batch["spans"]]
        vectors, per_chunk = self.encoder.encode_spans(texts, spans, len(texts))
        return {"row": batch["row"], "vector": [v.tolist() for v in vectors], "units": [json.dumps(u.tolist()) for u in per_chunk], "worker": [os.getpid()] * len(texts)}


class RayEncoder:
    backend = "onnx on ray"

    def __init__(self, model: str, address: str = "auto", workers: int | None = None):
        try:
            import ray
        except ImportError:
            raise QAError("--ray needs the ray package: pip install 'ray[data]' (make test installs it), or index without --ray.") from None
        from qa.embed.encoders import model_dimension

        self.model = model
        self.dimension = model_dimension(model)
        if address != "auto":
            _require_reachable(address)
        where = {"num_cpus": os.cpu_count(), "include_dashboard": False} if address == "auto" else {"address": address}
        attempts = LOCAL_START_ATTEMPTS if address == "auto" else 1
        for attempt in range(1, attempts + 1):
            try:
                ray.init(**where, log_to_driver=False, configure_logging=False, ignore_reinit_error=True)
                break
            except Exception as exc:
                ray.shutdown()  # a half-started local node is stopped before the next try
                if attempt == attempts:
                    message = " ".join(str(exc).split())[:200]
                    raise QAError(f"the Ray cluster at {address} cannot be joined ({message}); start it (ray start --head), check the address, or use --ray auto.") from None
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.worker_pids: set[int] = set()

    def encode_spans(self, texts: Sequence[str], spans, batch_size: int = RAY_BATCH, progress: Callable[[int], None] | None = None):
        import ray.data

        if not texts:
            return np.zeros((0, self.dimension), np.float32), []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of similar length pad less
        items = [{"row": i, "text": texts[i], "spans": json.dumps([[list(r) for r in span] for span in spans[i]])} for i in order]
        dataset = ray.data.from_items(items).map_batches(
            EmbedActor, fn_constructor_args=(self.model,), batch_size=RAY_BATCH, compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=1
        )
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        per_chunk: list[np.ndarray] = [np.zeros((0, self.dimension), np.float32)] * len(texts)
        for batch in dataset.iter_batches(batch_size=RAY_BATCH, batch_format="numpy"):
            for row, vector, units, worker in zip(batch["row"], batch["vector"], batch["units"], batch["worker"]):
                vectors[int(row)] = vector
                per_chunk[int(row)] = np.asarray(json.loads(units), np.float32).reshape(-1, self.dimension)
                self.worker_pids.add(int(worker))
            if progress:
                progress(len(batch["row"]))
        return vectors, per_chunk

    def close(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()


def _require_reachable(address: str, timeout: float = 5.0) -> None:
    """A cluster address (host:port, or ray://host:port for Ray Client) must accept a connection within
    ``timeout`` seconds; Ray itself would keep retrying for minutes."""
    import socket
    from urllib.parse import urlparse

    target = urlparse(address if "://" in address else f"ray://{address}")
    if not target.hostname or not target.port:
        raise QAError(f"--ray takes 'auto', host:port or ray://host:port. Currently, it is {address!r}.")
    try:
        socket.create_connection((target.hostname, target.port), timeout=timeout).close()
    except OSError as exc:
        raise QAError(f"the Ray cluster at {address} cannot be joined (nothing answers there: {exc.strerror or exc}); start it (ray start --head), check the address, or use --ray auto.") from None
