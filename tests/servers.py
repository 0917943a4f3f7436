"""Servers the tests start (qa serve, milvus-lite, the LLM server), each a child process whose output is
drained to a log file rather than a pipe nobody reads (a pipe blocks the server once 64 KB are unread),
and which says how it died when a test finds it gone: its exit status or signal and its last lines."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from check_llm_build import killing_signal  # noqa: E402  (one reading of a return code for the build check and the tests)

TAIL_LINES = 20


def describe_exit(returncode: int) -> str:
    """'was killed by SIGKILL (killed)' for a negative return code, 'exited with status 3' otherwise."""
    killed = killing_signal(returncode)
    return f"was killed by {killed[0]} ({killed[1]})" if killed else f"exited with status {returncode}"


class ServerProcess:
    """A started server: ``name`` for messages, its output in ``log_path``."""

    def __init__(self, name: str, command: list[str], *, env: dict | None = None, cwd: Path | None = None, log_dir: Path | None = None):
        self.name = name
        folder = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="qa-test-server-"))
        self.log_path = folder / f"{name.replace(' ', '-')}.log"
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self, lines: int | None = None) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return text if lines is None else "\n".join(text.splitlines()[-lines:])

    def death(self) -> str | None:
        """None while it runs; else one message with how it ended and its last lines of output."""
        returncode = self.process.poll()
        if returncode is None:
            return None
        return f"{self.name} (pid {self.pid}) {describe_exit(returncode)}; its last output ({self.log_path}):\n{self.output(TAIL_LINES)}"

    def ensure_alive(self) -> None:
        """Fails the calling test, naming the exit status or signal, if the server is gone."""
        message = self.death()
        if message:
            pytest.fail(message, pytrace=False)

    def wait_until_ready(self, ready, seconds: float = 90) -> None:
        """Polls ``ready()`` until it holds; fails the test with the server's last output if it dies or times out."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            self.ensure_alive()
            if ready():
                return
            time.sleep(0.5)
        self.kill()
        pytest.fail(f"{self.name} did not start within {seconds:g} s; its last output:\n{self.output(TAIL_LINES)}", pytrace=False)

    def poll(self):
        return self.process.poll()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=20)

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
