"""Where `qa index` spends its time: the whole command under cProfile on an abstracts corpus and a full-text one,
the functions that take most of it (own time, and time inside them), and a flame graph of each run
(bench/profiles/<corpus>.svg, or <corpus>-quick.svg for the quick run's few files, drawn by flameprof from the same statistics)."""

from __future__ import annotations

import importlib.util
import os
import pstats
import subprocess
import tempfile
from pathlib import Path

from latency import ROOT
from product import PYTHON, SHARED, _subset

CORPORA = {"pubmedqa": SHARED / "pubmedqa" / "corpus", "squad2": SHARED / "squad2" / "corpus"}
QUICK_FILES = 5
TOP = 12
PROFILES = ROOT / "bench" / "profiles"


def run(quick: bool, log=print) -> dict:
    PROFILES.mkdir(exist_ok=True)
    result = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, folder in CORPORA.items():
            corpus = _subset(folder, Path(scratch) / name, QUICK_FILES) if quick else folder
            stats_file = Path(scratch) / f"{name}.prof"
            command = [PYTHON, "-m", "cProfile", "-o", str(stats_file), "-m", "qa.app.cli", "index", "-q", "--corpus", str(corpus), "--index", str(Path(scratch) / f"{name}-index")]
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            result[name] = {"files": len(list(corpus.iterdir())), **summary(stats_file), "flame_graph": flame_graph(stats_file, f"{name}-quick" if quick else name)}
            log(f"index profile, {name}: {result[name]['seconds']} s, top: {result[name]['top'][0]}")
    return result


def summary(stats_file: Path) -> dict:
    """The run's seconds and its TOP functions by own time, each with its share of the run."""
    stats = pstats.Stats(str(stats_file))
    total = stats.total_tt
    rows = []
    for (filename, line, function), (_, calls, own, inside, _) in sorted(stats.stats.items(), key=lambda item: -item[1][2])[:TOP]:
        rows.append({"function": _name(filename, line, function), "calls": calls, "own_s": round(own, 2), "cumulative_s": round(inside, 2), "share": round(own / total, 3)})
    return {"seconds": round(total, 1), "top": rows}


def flame_graph(stats_file: Path, name: str) -> str | None:
    """bench/profiles/<name>.svg, or None where flameprof is not installed (`make bench` installs it)."""
    if importlib.util.find_spec("flameprof") is None:
        return None
    target = PROFILES / f"{name}.svg"
    subprocess.run([PYTHON, "-m", "flameprof", "-o", str(target), str(stats_file)], check=True, capture_output=True)
    return str(target.relative_to(ROOT))


def _name(filename: str, line: int, function: str) -> str:
    if filename == "~":
        return function  # a built-in, e.g. ONNX Runtime's run
    path = Path(filename)
    try:
        return f"{path.relative_to(ROOT)}:{line}({function})"
    except ValueError:
        return f"{'/'.join(path.parts[-2:])}:{line}({function})"
