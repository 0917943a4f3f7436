"""Settings, read once at the edges (CLI, UI) and passed down as plain arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from qa.embed.encoders import DEFAULT_MODEL
from qa.errors import QAError

RETRIEVAL_MODES = ("dense", "bm25", "hybrid")
ANSWERERS = ("extractive", "llm")
UNSUPPORTED = ("drop", "mark")
# Environment variables read by from_env, and the setting each one sets.
ENVIRONMENT = {
    "QA_CORPUS": "corpus",
    "QA_INDEX": "index",
    "QA_MODEL": "model",
    "QA_MODE": "mode",
    "QA_K": "k",
    "QA_ANSWERER": "answerer",
    "QA_UNSUPPORTED": "unsupported",
    "QA_LLM_URL": "llm_url",
    "QA_LLM_MODEL": "llm_model",
    "QA_LLM_API_KEY": "llm_api_key",
    "QA_LLM_TIMEOUT": "llm_timeout",
    "QA_LLM_MAX_TOKENS": "llm_max_tokens",
    "QA_MILVUS_URI": "milvus_uri",
    "QA_MILVUS_COLLECTION": "milvus_collection",
}
# Secrets read where they are used, straight from the environment, so no settings object ever holds them.
READ_WHERE_USED = ("QA_MILVUS_TOKEN",)


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
    # The optional LLM answerer (qa/answer/llm.py): an OpenAI-compatible server and what to do with
    # statements no cited passage supports. The key never appears in a repr, a log or a report.
    answerer: str = "extractive"
    unsupported: str = "drop"
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout: float = 30.0
    llm_max_tokens: int = 256
    # A library kept whole in Milvus (qa/stores/milvus_library.py): with a URI, every command reads and
    # writes it there and no index folder is used. The token comes from QA_MILVUS_TOKEN, read where used.
    milvus_uri: str | None = None
    milvus_collection: str = "qa"

    def __post_init__(self) -> None:
        if self.answerer not in ANSWERERS:
            raise QAError(f"answerer must be one of {', '.join(ANSWERERS)}. Currently, answerer is {self.answerer!r}.")
        if self.unsupported not in UNSUPPORTED:
            raise QAError(f"unsupported must be one of {', '.join(UNSUPPORTED)}. Currently, unsupported is {self.unsupported!r}.")
        if not isinstance(self.llm_timeout, (int, float)) or not 0 < self.llm_timeout <= 3600:
            raise QAError(f"QA_LLM_TIMEOUT must be a number of seconds between 0 and 3600. Currently, it is {self.llm_timeout!r}.")
        if not isinstance(self.llm_max_tokens, int) or not 16 <= self.llm_max_tokens <= 8192:
            raise QAError(f"QA_LLM_MAX_TOKENS must be a whole number from 16 to 8192. Currently, it is {self.llm_max_tokens!r}.")
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
        """Defaults overridden by the QA_* variables in ENVIRONMENT; an unknown QA_* variable is an error."""
        known = {*ENVIRONMENT, *READ_WHERE_USED}
        unknown = sorted(name for name in os.environ if name.startswith("QA_") and name not in known)
        if unknown:
            raise QAError(f"unknown setting(s) {', '.join(unknown)} in the environment; known settings are {', '.join(sorted(known))}.")
        overrides: dict = {name: os.environ[variable] for variable, name in ENVIRONMENT.items() if os.environ.get(variable)}
        for variable, name, kind, description in (
            ("QA_K", "k", int, "a whole number"),
            ("QA_LLM_TIMEOUT", "llm_timeout", float, "a number of seconds"),
            ("QA_LLM_MAX_TOKENS", "llm_max_tokens", int, "a whole number"),
        ):
            if name in overrides:
                try:
                    overrides[name] = kind(overrides[name])
                except ValueError as exc:
                    raise QAError(f"{variable} must be {description}. Currently, {variable} is {os.environ[variable]!r}.") from exc
        return cls().with_overrides(**overrides)

    def llm_config(self):
        """The LLM answerer's configuration; an error naming QA_LLM_URL when none is set."""
        from qa.answer.llm import LlmConfig

        if not self.llm_url:
            raise QAError(
                "the LLM answerer needs an OpenAI-compatible server: set QA_LLM_URL, e.g. http://127.0.0.1:8080/v1 (llama.cpp) "
                "or http://127.0.0.1:11434/v1 (Ollama), and QA_LLM_MODEL; or use --answerer extractive."
            )
        return LlmConfig(self.llm_url, self.llm_model, self.llm_api_key, float(self.llm_timeout), self.llm_max_tokens, unsupported=self.unsupported)
