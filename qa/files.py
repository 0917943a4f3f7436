"""Files written whole or not at all: a temporary file beside the target, renamed into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, content: str | bytes) -> None:
    """``path`` holds ``content`` afterwards, or (on any error) what it held before; the temporary file is
    unique per writer, so concurrent writers never mix their bytes, and it is removed if the write fails."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
