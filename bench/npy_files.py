"""What the benchmark's embedding caches share: a text's cache key and an atomic .npy write (no pickle)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).hexdigest().encode()


def save_npy(path: Path, array: np.ndarray) -> None:
    """Written beside the target and renamed over it, so a stopped run never leaves a truncated file."""
    partial = path.with_suffix(".partial.npy")
    np.save(partial, array, allow_pickle=False)
    partial.replace(path)
