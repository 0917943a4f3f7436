"""Settings, read once at the edges (CLI, UI) and passed down as plain arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from qa.embeddings import DEFAULT_MODEL
from qa.errors import QAError

RETRIEVAL_MODES = ("dense", "bm25", "hybrid")


@dataclass(frozen=True)
class Settings:
    corpus: Path = Path("corpus")
    index: Path = Path("index")
    model: str = DEFAULT_MODEL
    mode: str = "hybrid"
    k: int = 8  # passages retrieved and weighed for the answer; 8 won the `qa eval --mode all` sweep on dev
    max_tokens: int = 256
    # "auto": ONNX Runtime when the model is exported (`qa export-onnx`, run by make install); otherwise
    # NumPy for small updates (fast start), sentence-transformers above 120 passages to embed.
    index_backend: str = "auto"

    def __post_init__(self) -> None:
        if self.mode not in RETRIEVAL_MODES:
            raise QAError(f"retrieval mode must be one of {', '.join(RETRIEVAL_MODES)}. Currently, mode is {self.mode!r}.")
        if not isinstance(self.k, int) or self.k <= 0:
            raise QAError(f"k must be greater than 0. Currently, k is {self.k!r}.")
        if self.k > 100:
            raise QAError(f"k must be at most 100. Currently, k is {self.k!r}.")

    def with_overrides(self, **overrides) -> "Settings":
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise QAError(f"unknown setting(s) {', '.join(unknown)}; known settings are {', '.join(sorted(known))}.")
        values = {k: v for k, v in overrides.items() if v is not None}
        for key in ("corpus", "index"):
            if key in values:
                values[key] = Path(values[key])
        return replace(self, **values)

    @classmethod
    def from_env(cls) -> "Settings":
        """Defaults overridden by QA_CORPUS, QA_INDEX, QA_MODEL, QA_MODE, QA_K."""
        known = {"QA_CORPUS", "QA_INDEX", "QA_MODEL", "QA_MODE", "QA_K"}
        unknown = sorted(name for name in os.environ if name.startswith("QA_") and name not in known)
        if unknown:
            raise QAError(f"unknown setting(s) {', '.join(unknown)} in the environment; known settings are {', '.join(sorted(known))}.")
        overrides = {}
        for name in ("corpus", "index", "model", "mode"):
            value = os.environ.get(f"QA_{name.upper()}")
            if value:
                overrides[name] = value
        if os.environ.get("QA_K"):
            try:
                overrides["k"] = int(os.environ["QA_K"])
            except ValueError as exc:
                raise QAError(f"QA_K must be a whole number. Currently, QA_K is {os.environ['QA_K']!r}.") from exc
        return cls().with_overrides(**overrides)
