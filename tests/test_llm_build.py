"""The llama.cpp build check (tools/check_llm_build.py, the last step of `make llm-server`): it finds AVX-512
and AMX instructions in a library, names the signal a crashing build dies of, and passes the real build."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import LLM_MODEL_FILE, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import check_llm_build as build_check  # noqa: E402

def _library(tmp_path, body: str):
    source = tmp_path / "kernel.c"
    source.write_text(f"void kernel(void) {{ {body} }}\n")
    library = tmp_path / "libggml-cpu.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return library


def test_avx512_and_amx_instructions_are_found(tmp_path):
    library = _library(tmp_path, '__asm__ volatile("vpxord %%zmm1, %%zmm1, %%zmm1\\n\\ttilezero %%tmm4\\n\\ttilezero %%tmm2" ::: "memory");')
    assert build_check.instructions_beyond_baseline(library) == {"zmm": 3, "tmm": 2}  # register operands


def test_an_avx2_library_passes(tmp_path):
    library = _library(tmp_path, '__asm__ volatile("vpxor %%ymm1, %%ymm1, %%ymm1\\n\\tvfmadd231ps %%ymm2, %%ymm3, %%ymm1" ::: "memory");')
    assert build_check.instructions_beyond_baseline(library) == {}


def test_a_child_dying_of_sigill_is_named():
    failure = build_check.generation_failure([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"])
    assert failure == "SIGILL, illegal instruction"
    assert build_check.generation_failure([sys.executable, "-c", "pass"]) is None
    assert build_check.generation_failure([sys.executable, "-c", "raise SystemExit('no model')"]) == "exit status 1: no model"


@pytest.mark.llm
def test_the_installed_build_is_portable_and_generates():
    libraries = build_check.cpu_libraries()
    assert libraries, "llama_cpp holds no libggml-cpu library"
    assert all(build_check.instructions_beyond_baseline(library) == {} for library in libraries)
    assert build_check.check(LLM_MODEL_FILE) == []
