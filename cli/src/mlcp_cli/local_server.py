"""A local control plane that outlives one command (``mlcp local up`` / ``down``, ADR 21).

The server is one process that runs the emulated stack (``LocalControlPlane``: in-process moto,
the gap fills, IAM enforcement, the virtual clock) and listens on a Unix socket in its state
directory (``.mlcp-local/`` or ``$MLCP_LOCAL_DIR``). A ``--local`` command in another shell finds
no control plane in its own process, so ``mlcp_cli.main`` forwards its arguments here: the server
runs the very same command in-process against the live emulator (one command at a time), streams
its stdout and stderr back and returns its exit status; then it pumps, so that the control plane
reacts to what the command did. Nothing of the caller's environment is forwarded: local mode never
sees the user's AWS settings.

Time: the virtual clock follows real time times ``--speed`` (0: it moves only with
``mlcp local advance SECONDS``); a forwarded command that waits (``abort``, ``rollback``) runs the
clock itself, timer by timer, like a scenario's ``wait`` step.

Protocol (one request per connection): the client sends one JSON line ``{"argv": [...], "cwd":
"..."}`` (or ``{"advance": seconds}``, ``{"ping": true}``, ``{"down": true}``); the server answers
with JSON lines ``{"out": text}`` / ``{"err": text}`` and a last ``{"exit": status}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

DEFAULT_DIR = Path(".mlcp-local")
SOCKET_NAME = "mlcp.sock"
INFO_NAME = "server.json"
LOG_NAME = "server.log"
SCENARIO_LOG_NAME = "scenario.log"
TICK_SECONDS = 0.25
"""Real seconds between two moves of the virtual clock when it follows real time (``--speed``)."""


class LocalServerError(Exception):
    """No local control plane to talk to, or it could not start: what to do about it."""


def state_dir(directory: str | Path | None = None) -> Path:
    """The server's state directory: ``directory``, else ``$MLCP_LOCAL_DIR``, else the nearest
    ``.mlcp-local`` with a socket in this directory or a parent (a command run from a subdirectory
    of the checkout finds it), else ``.mlcp-local`` here."""
    if directory or os.environ.get("MLCP_LOCAL_DIR"):
        return Path(directory or os.environ["MLCP_LOCAL_DIR"])
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_DIR / SOCKET_NAME).exists():
            return folder / DEFAULT_DIR
    return DEFAULT_DIR


def _socket_path(directory: Path) -> str:
    return str(directory.resolve() / SOCKET_NAME)


# ------------------------------------------------------------------------------------ client


def request(directory: Path, message: dict[str, Any], out: TextIO, err: TextIO) -> int:
    """Send one request and copy the streamed answer to ``out`` / ``err``; the exit status."""
    path = _socket_path(directory)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except (FileNotFoundError, ConnectionRefusedError, OSError) as exc:
        connection.close()
        raise LocalServerError(
            f"no local control plane is running in {directory}/ ({type(exc).__name__}): start one with "
            "`mlcp local up` (or `mlcp local run SCENARIO --keep`)"
        ) from exc
    with connection, connection.makefile("rwb") as stream:
        stream.write(json.dumps(message).encode() + b"\n")
        stream.flush()
        for line in stream:
            frame = json.loads(line)
            if "out" in frame:
                out.write(frame["out"])
            elif "err" in frame:
                err.write(frame["err"])
            elif "exit" in frame:
                out.flush()
                return int(frame["exit"])
    raise LocalServerError(
        "the local control plane closed the connection without an answer (see its server.log)"
    )


def is_up(directory: Path) -> bool:
    """Whether a server answers on ``directory``'s socket."""
    import io

    try:
        return request(directory, {"ping": True}, io.StringIO(), io.StringIO()) == 0
    except (LocalServerError, OSError, ValueError):
        return False


def forward(argv: Sequence[str], out: TextIO, err: TextIO, directory: Path | None = None) -> int:
    """Run ``mlcp ARGV`` in the local control plane's process; its exit status."""
    return request(state_dir(directory), {"argv": list(argv), "cwd": os.getcwd()}, out, err)


def forward_capture(argv: Sequence[str], err: TextIO, directory: Path | None = None) -> str:
    """``forward`` and return what the command wrote to stdout (``mlcp status --watch`` redraws it)."""
    import io

    buffer = io.StringIO()
    code = forward(argv, buffer, err, directory)
    if code != 0:
        raise LocalServerError(f"mlcp {' '.join(argv)} exited {code}")
    return buffer.getvalue()


def clean_environment() -> dict[str, str]:
    """This process's environment without any AWS setting of the user's (the server's own)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}


def start(
    directory: Path,
    *,
    template: Path,
    speed: float,
    scenario: Path | None,
    root: Path,
    iam: bool,
    timeout: float = 600.0,
) -> dict[str, Any]:
    """Start a server in the background and wait until it answers (and has played ``scenario``).
    Returns its ``server.json``. Raises ``LocalServerError`` if one is up already or it fails."""
    if is_up(directory):
        raise LocalServerError(
            f"a local control plane is already up in {directory}/ (`mlcp local down` ends it)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name in (INFO_NAME, SOCKET_NAME, SCENARIO_LOG_NAME):
        (directory / name).unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "mlcp_cli.local_server",
        "--dir",
        str(directory.resolve()),
        "--template",
        str(template.resolve()),
        "--speed",
        str(speed),
        "--root",
        str(root.resolve()),
    ]
    if scenario is not None:
        command += ["--scenario", str(scenario.resolve())]
    if not iam:
        command.append("--no-iam")
    with (directory / LOG_NAME).open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own module, with this interpreter
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=clean_environment(),
            start_new_session=True,  # survives the shell that started it; `local down` ends it
        )
    deadline = time.monotonic() + timeout
    info_path = directory / INFO_NAME
    while time.monotonic() < deadline:
        if info_path.exists():
            info: dict[str, Any] = json.loads(info_path.read_text(encoding="utf-8"))
            if info.get("ready"):
                return info
        if process.poll() is not None:
            tail = (directory / LOG_NAME).read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
            raise LocalServerError(
                f"the local control plane exited ({process.returncode}) while starting:\n  "
                + "\n  ".join(tail)
            )
        time.sleep(0.1)
    raise LocalServerError(
        f"the local control plane did not start within {timeout:.0f} s (see {directory}/{LOG_NAME})"
    )


def stop(directory: Path, timeout: float = 30.0) -> bool:
    """Ask the server to end; False when none was up."""
    import io

    if not is_up(directory):
        return False
    request(directory, {"down": True}, io.StringIO(), io.StringIO())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (directory / SOCKET_NAME).exists():
        time.sleep(0.05)
    return True


# ------------------------------------------------------------------------------------ server


class _Stream:
    """A text stream whose writes go to the client as frames of ``kind`` (``out`` | ``err``)."""

    def __init__(self, send: Callable[[dict[str, Any]], None], kind: str) -> None:
        self._send = send
        self._kind = kind

    def write(self, text: str) -> int:
        if text:
            self._send({self._kind: text})
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


class LocalServer(socketserver.ThreadingUnixStreamServer):
    """The Unix-socket server around one running ``LocalControlPlane``."""

    daemon_threads = True

    def __init__(self, cp: Any, directory: Path, speed: float) -> None:
        self.cp = cp
        self.directory = directory
        self.speed = speed
        self.lock = threading.RLock()
        """One command at a time, and the clock never moves under a running command."""
        self.stopping = threading.Event()
        super().__init__(_socket_path(directory), _Handler)

    def run_command(self, argv: list[str], cwd: str | None, out: _Stream, err: _Stream) -> int:
        from mlcp_cli.main import main

        with self.lock:
            previous = os.getcwd()
            try:
                if cwd and Path(cwd).is_dir():
                    os.chdir(cwd)
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    try:
                        code = main(argv)
                    except SystemExit as exc:  # argparse: --help, a usage error
                        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
                    except Exception as exc:  # the command's own failure, reported, never the server's
                        sys.stderr.write(f"mlcp: {type(exc).__name__}: {exc}\n")
                        code = 1
                    self.cp.pump()  # the control plane reacts to what the command did
                return code
            finally:
                os.chdir(previous)

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.cp.advance_time(seconds)

    def follow_real_time(self) -> None:
        """Move the virtual clock ``speed`` times as fast as real time, until the server stops."""
        last = time.monotonic()
        while not self.stopping.wait(TICK_SECONDS):
            now = time.monotonic()
            with self.lock:
                self.cp.advance_time((now - last) * self.speed)
            last = now


class _Handler(socketserver.StreamRequestHandler):
    server: LocalServer

    def handle(self) -> None:
        send_lock = threading.Lock()

        def send(frame: dict[str, Any]) -> None:
            with send_lock:
                self.wfile.write(json.dumps(frame).encode() + b"\n")
                self.wfile.flush()

        try:
            message = json.loads(self.rfile.readline() or b"{}")
            if message.get("ping"):
                send({"exit": 0})
            elif message.get("down"):
                send({"out": "local control plane: down\n"})
                send({"exit": 0})
                self.server.stopping.set()
                threading.Thread(target=self.server.shutdown, daemon=True).start()
            elif "advance" in message:
                seconds = float(message["advance"])
                self.server.advance(seconds)
                now = self.server.cp.now().isoformat()
                text = f"{seconds:g} simulated seconds passed; now {now}\n"
                if message.get("json"):
                    text = json.dumps({"advanced_seconds": seconds, "now": now}) + "\n"
                send({"out": text})
                send({"exit": 0})
            else:
                argv = [str(a) for a in message.get("argv") or []]
                if "--local" not in argv:  # it runs commands against its emulator, nothing else
                    send({"err": "mlcp: the local control plane runs --local commands only\n"})
                    send({"exit": 2})
                    return
                code = self.server.run_command(
                    argv, message.get("cwd"), _Stream(send, "out"), _Stream(send, "err")
                )
                send({"exit": code})
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away (Ctrl-C, a closed pipe): the command's effect stands


def serve(
    directory: Path, template: Path, *, speed: float, scenario_path: Path | None, root: Path, iam: bool
) -> int:
    """Run the control plane and serve until ``mlcp local down`` (or SIGTERM / SIGINT)."""
    from mlcp_cli.commands.local import play
    from mlcp_cli.emulator.runtime import LocalControlPlane
    from mlcp_cli.main import route_logs_to_stderr
    from mlcp_cli.scenario import load_scenario

    route_logs_to_stderr()
    scenario = load_scenario(scenario_path) if scenario_path is not None else None
    parameters = scenario.parameters if scenario is not None else {}
    start_at = scenario.start if scenario is not None else None
    info: dict[str, Any] = {
        "pid": os.getpid(),
        "socket": _socket_path(directory),
        "template": str(template),
        "scenario": str(scenario_path) if scenario_path else None,
        "speed": speed,
        "ready": False,
    }
    with LocalControlPlane(template, parameters=parameters, start=start_at, iam=iam) as cp:
        if scenario is not None and scenario_path is not None:
            with (directory / SCENARIO_LOG_NAME).open("w", encoding="utf-8") as log:
                info["scenario_exit"] = play(
                    cp, scenario, scenario_path, root=root, out=log, as_json=False, err=log
                )
        server = LocalServer(cp, directory, speed)
        info.update(ready=True, started=cp.now().isoformat())
        (directory / INFO_NAME).write_text(json.dumps(info, indent=1), encoding="utf-8")

        def end(signum: int, frame: Any) -> None:
            server.stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, end)
        signal.signal(signal.SIGINT, end)
        if speed > 0:
            threading.Thread(target=server.follow_real_time, name="mlcp-local-clock", daemon=True).start()
        try:
            server.serve_forever(poll_interval=0.1)
        finally:
            server.server_close()
            Path(_socket_path(directory)).unlink(missing_ok=True)
            (directory / INFO_NAME).unlink(missing_ok=True)
    return 0


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlcp_cli.local_server")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--scenario")
    parser.add_argument("--root", default=".")
    parser.add_argument("--no-iam", action="store_true")
    args = parser.parse_args(argv)
    return serve(
        Path(args.dir),
        Path(args.template),
        speed=args.speed,
        scenario_path=Path(args.scenario) if args.scenario else None,
        root=Path(args.root),
        iam=not args.no_iam,
    )


if __name__ == "__main__":
    sys.exit(_main())
