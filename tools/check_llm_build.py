"""Checks a llama-cpp-python build before anything relies on it (`make llm-server` ends with this).

Two checks, each ending in one line that names the fault and the fix:
1. the CPU library holds no instruction beyond the portable baseline (AVX2, FMA, F16C): no AVX-512
   (``%zmm`` registers) and no AMX (``%tmm`` tiles), read from ``objdump -d``; a machine that advertises
   those features may still refuse them (a VM that hides AMX state), and then the first completion dies;
2. the assembled model generates a few tokens in a child process, so a crash (SIGILL, illegal instruction)
   fails the build step instead of surfacing later as "the LLM server cannot be reached".

Usage: python tools/check_llm_build.py MODEL.gguf
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

REBUILD = "rebuild with `rm .venv/.llm-installed && make llm-server` (the Makefile builds for AVX2 with GGML_NATIVE=OFF)"
# AVX-512 and AMX register operands as objdump prints them in AT&T syntax.
BEYOND_BASELINE = re.compile(r"%(zmm\d+|tmm\d+)\b")
GENERATE = """
import sys
from llama_cpp import Llama
model = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=2, seed=0, verbose=False)
print(model("What is MRI?", max_tokens=8)["choices"][0]["text"])
"""


def cpu_libraries() -> list[Path]:
    """The ggml CPU back-end libraries of the installed llama_cpp package (one, or one per CPU variant)."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        raise SystemExit("llama_cpp is not installed in this environment; run `make llm-server`.")
    package = Path(spec.origin).parent
    return sorted(path for path in package.rglob("libggml-cpu*.so*") if path.is_file())


def instructions_beyond_baseline(library: Path) -> dict[str, int]:
    """Counts of AVX-512 / AMX register operands in the library's disassembly, by register family."""
    objdump = shutil.which("objdump")
    if objdump is None:
        raise SystemExit("objdump is not on PATH (Debian package binutils); install it to check the llama.cpp build.")
    disassembly = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(library)], capture_output=True, text=True, check=True).stdout
    counts: dict[str, int] = {}
    for match in BEYOND_BASELINE.finditer(disassembly):
        family = match.group(1).rstrip("0123456789")
        counts[family] = counts.get(family, 0) + 1
    return counts


def killing_signal(returncode: int) -> tuple[str, str] | None:
    """("SIGILL", "illegal instruction") for a process a signal ended (negative return code), else None."""
    if returncode >= 0:
        return None
    number = -returncode
    try:
        return signal.Signals(number).name, signal.strsignal(number).lower()
    except ValueError:
        return f"signal {number}", "unknown signal"


def describe_exit(returncode: int) -> str:
    """'SIGILL, illegal instruction' for a child killed by a signal, 'exit status 3' otherwise."""
    killed = killing_signal(returncode)
    return f"{killed[0]}, {killed[1]}" if killed else f"exit status {returncode}"


def generation_failure(command: list[str], timeout: float = 300) -> str | None:
    """None when ``command`` (a child generating tokens) exits 0, else one line saying how it died."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"generating 8 tokens took over {timeout:g} s"
    if result.returncode == 0:
        return None
    last = " ".join((result.stderr or result.stdout).strip().splitlines()[-1:])
    return describe_exit(result.returncode) + (f": {last}" if last and result.returncode > 0 else "")


def check(model: Path) -> list[str]:
    """Every problem found, as one line each; an empty list means the build is usable here and portable."""
    problems = []
    libraries = cpu_libraries()
    if not libraries:
        problems.append("the llama_cpp package holds no libggml-cpu library; " + REBUILD)
    for library in libraries:
        found = instructions_beyond_baseline(library)
        if found:
            listed = ", ".join(f"{count} {family} operands" for family, count in sorted(found.items()))
            problems.append(f"{library.name} uses instructions beyond AVX2 ({listed}: AVX-512/AMX), so it crashes on CPUs without them; " + REBUILD)
    failure = generation_failure([sys.executable, "-c", GENERATE, str(model)])
    if failure:
        problems.append(f"the llama.cpp build crashes on this CPU ({failure}); " + REBUILD)
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    problems = check(Path(argv[0]))
    for line in problems:
        print(f"Error: {line}", file=sys.stderr)
    if not problems:
        print(f"llama.cpp build checked: AVX2 baseline, no AVX-512/AMX, generates with {Path(argv[0]).name}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
