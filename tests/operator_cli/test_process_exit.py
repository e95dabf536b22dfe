"""The `mlcp` console script ends its process without the interpreter's teardown (ADR 38): what it
printed, logged and registered to run at exit still happens, and its exit status is the command's."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from mlcp_cli.main import end_process

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "mlcp"
SAMPLES = sorted(str(path) for path in (ROOT / "events").glob("*/*.json"))


def _console(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *argv], cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_console_script_is_the_entry_point_that_skips_teardown() -> None:
    assert "console_main" in SCRIPT.read_text(encoding="utf-8")


def test_a_long_output_reaches_a_pipe_in_full_and_the_status_is_the_commands() -> None:
    """More than a pipe's buffer (64 KiB), so most of it is still in the process when it ends."""
    many = SAMPLES * 8
    done = _console("events", "validate", "--json", *many)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(done.stdout) > 65536
    assert len(lines) == len(many)
    assert lines[-1].endswith("}")


def test_a_failing_command_keeps_its_status_and_both_streams(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    done = _console("events", "validate", SAMPLES[0], str(bad))
    assert done.returncode == 1
    assert "REJECTED" in done.stdout
    assert "missing detail-type" in done.stdout
    assert done.stdout.splitlines()[0].startswith("ACCEPTED")


def test_a_reader_that_closes_the_pipe_gets_141_and_no_traceback() -> None:
    process = subprocess.Popen(
        [str(SCRIPT), "events", "validate", "--json", *(SAMPLES * 20)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.readline().startswith("{")
    process.stdout.close()  # as `| head -1` does
    error = process.stderr.read()
    assert process.wait() == 141
    assert "Traceback" not in error
    assert "Exception ignored" not in error


def test_usage_errors_and_help_keep_the_interpreters_exit() -> None:
    assert _console("events", "schemas").returncode == 2
    helped = _console("local", "run", "--help")
    assert helped.returncode == 0
    assert "usage: mlcp local run" in helped.stdout


def test_atexit_handlers_and_logging_run_before_the_process_ends(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    program = textwrap.dedent(
        f"""
        import atexit, logging, sys
        from mlcp_cli.main import end_process
        handler = logging.FileHandler({str(log)!r})
        logging.getLogger("probe").addHandler(handler)
        logging.getLogger("probe").warning("logged, not yet closed")
        atexit.register(lambda: sys.stdout.write("at exit\\n"))
        sys.stdout.write("printed, still buffered\\n")
        sys.stderr.write("said on stderr\\n")
        end_process(7)
        sys.stdout.write("never\\n")
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)
    assert done.returncode == 7
    assert done.stdout == "printed, still buffered\nat exit\n"
    assert done.stderr == "said on stderr\n"
    assert log.read_text(encoding="utf-8") == "logged, not yet closed\n"


def test_a_running_thread_that_is_not_a_daemon_gets_the_interpreters_exit() -> None:
    """The interpreter waits for such a thread at exit; ending the process would cut it short."""
    release = threading.Event()
    worker = threading.Thread(target=release.wait, daemon=False)
    worker.start()
    try:
        with pytest.raises(SystemExit) as exited:
            end_process(3)
        assert exited.value.code == 3
    finally:
        release.set()
        worker.join()
