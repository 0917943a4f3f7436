"""The test servers' harness (tests/servers.py): output drained to a file, and a server that died between
two tests makes the next one fail naming its signal and its last output."""

from __future__ import annotations

import sys
import textwrap
import time

from tests.servers import ServerProcess, describe_exit



def test_a_server_writing_far_more_than_a_pipe_holds_keeps_running(tmp_path):
    done = tmp_path / "done"
    script = f"import pathlib, sys\nfor i in range(3000): print('line', i, 'x' * 100)\nsys.stdout.flush()\npathlib.Path({str(done)!r}).touch()\nimport time; time.sleep(60)"
    server = ServerProcess("chatty server", [sys.executable, "-c", script], log_dir=tmp_path)
    try:
        deadline = time.time() + 30
        while not done.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert done.exists(), "the server blocked on its output"
        assert server.death() is None and "line 2999" in server.output(3)
    finally:
        server.stop()


def test_exit_descriptions_name_the_signal_or_the_status():
    assert describe_exit(-9) == "was killed by SIGKILL (killed)"
    assert describe_exit(-4) == "was killed by SIGILL (illegal instruction)"
    assert describe_exit(3) == "exited with status 3"


def test_a_server_that_dies_between_tests_fails_the_next_test_with_its_signal(pytester):
    pytester.makeconftest(textwrap.dedent(f"""
        import sys, pytest
        from tests.servers import ServerProcess

        @pytest.fixture(scope="session")
        def process(tmp_path_factory):
            server = ServerProcess("toy server", [sys.executable, "-c", "print('serving on 8080', flush=True); import time; time.sleep(120)"],
                                   log_dir=tmp_path_factory.mktemp("log"))
            yield server
            server.stop()

        @pytest.fixture
        def guarded(process):
            process.ensure_alive()
            yield process
    """))
    pytester.makepyfile(textwrap.dedent("""
        import os, signal, time

        def test_first_kills_it(guarded):
            time.sleep(0.5)
            os.kill(guarded.pid, signal.SIGSEGV)
            guarded.wait(timeout=20)

        def test_second_meets_it_dead(guarded):
            pass
    """))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*toy server (pid *) was killed by SIGSEGV (segmentation fault)*", "*serving on 8080*"])
