"""Entry point of the `mlcp` CLI. Each command group lives in its own module with `register()`."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Sequence
from typing import Any, NoReturn


class _CurrentStderr(io.TextIOBase):
    """Whatever ``sys.stderr`` is at write time (the emulator swaps it to capture a function's logs)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def writable(self) -> bool:
        return True


def route_logs_to_stderr() -> None:
    """The use cases the CLI calls log JSON through Powertools to stdout, which is Lambda's log stream;
    on the command line stdout is the command's output (``--json`` must stay parseable), so their logs
    go to stderr."""
    import logging

    from mlcp.observability import logger

    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        try:
            handler.setStream(_CurrentStderr())
        except ValueError:  # the stream it was made with is closed (a test's capture): nothing to flush
            handler.stream = _CurrentStderr()


def build_parser(arguments: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``mlcp`` parser. Given the command line ``arguments``, only the command module of the
    command they name is imported and registered (ADR 38); what that command parses and prints is
    the same as with every module registered, which is what ``arguments=None`` (and ``mlcp --help``,
    an unknown command) builds."""
    from mlcp_cli import commands

    parser = argparse.ArgumentParser(prog="mlcp", description="Operate the mlcp ML control plane.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in commands.registrars(arguments[0] if arguments else None):
        register(sub)
    return parser


class _VersionAction(argparse._VersionAction):
    """``--version``, reading the installed version only when asked (importlib.metadata and the
    distribution's metadata cost every command ~40 ms)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        self.version = f"mlcp {_version()}"
        super().__call__(parser, namespace, values, option_string)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlcp-cli")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a reader that closes the pipe (``mlcp ... | head``) ends it quietly."""
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 141  # 128 + SIGPIPE, as a shell reports a command killed by a closed pipe
    return code


def console_main() -> NoReturn:
    """The ``mlcp`` console script: :func:`main`, then the process ends without the interpreter's
    teardown (ADR 38).

    After a local run the heap holds ~450k objects (moto's backends, botocore's models, the
    emulator's functions); freeing them one by one took about a second after the command had
    printed everything. :func:`end_process` does what a normal exit must do (atexit handlers, among
    them logging's flush and close; stdout and stderr flushed; the exit status) and then leaves. An
    exception (a bug, Ctrl-C) and ``SystemExit`` (``--help``, a usage error) take the interpreter's
    own path, traceback and all. ``main()`` called in-process (the tests) returns as before.
    """
    end_process(main())


def end_process(code: int) -> NoReturn:
    """End this process with status ``code`` without tearing the interpreter down, once nothing is
    left that teardown would do: atexit handlers run, stdout and stderr are flushed (a failed flush
    of stdout ends with 141 on a closed pipe, else 120, as the interpreter reports it). A thread
    that is not a daemon is still running: the interpreter's own exit, which waits for it."""
    import atexit
    import os
    import threading

    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()  # logging.shutdown among them: every handler flushed and closed
    os._exit(_flush_standard_streams(code))


def _flush_standard_streams(code: int) -> int:
    """Flush stdout and stderr (and the originals, if something swapped them); the exit status."""
    for stream in dict.fromkeys((sys.stdout, sys.__stdout__)):
        if stream is None:
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            _silence_stdout()
            return 141
        except (OSError, ValueError) as exc:  # a full disk, a closed file: as the interpreter says it
            sys.stderr.write(f"mlcp: could not write the output: {exc}\n")
            code = code or 120
    for stream in dict.fromkeys((sys.stderr, sys.__stderr__)):
        if stream is None:
            continue
        with contextlib.suppress(OSError, ValueError):  # nowhere left to say it
            stream.flush()
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise (and print) again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass


def _main(argv: Sequence[str] | None = None) -> int:
    from mlcp_cli.commands.stack import TargetError, reset_target, resolve_target

    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    if getattr(args, "local", False):
        from mlcp_cli.emulator.runtime import active_control_plane

        if active_control_plane() is None:  # the emulator runs in `mlcp local up`'s process
            return _forward(args, arguments)
    route_logs_to_stderr()
    reset_target()
    if getattr(args, "resolve_stack", False):
        try:
            resolve_target(args)
        except TargetError as exc:
            sys.stderr.write(f"mlcp: {exc}\n")
            return 2
    return int(args.func(args))


def _forward(args: argparse.Namespace, arguments: list[str]) -> int:
    """Run a ``--local`` command in the local control plane's process (``mlcp local up``)."""
    from mlcp_cli.local_server import LocalServerError, forward, forward_capture

    try:
        if getattr(args, "watch", False):  # redraw here; each read is one short command there
            import time

            from mlcp_cli.rollout import watch

            once = [a for a in arguments if a != "--watch"]
            watch(
                lambda: forward_capture(once, sys.stderr),
                sys.stdout,
                sleep=time.sleep,
                interval=args.interval,
                redraws=args.redraws,
                clear=sys.stdout.isatty(),
            )
            return 0
        return forward(arguments, sys.stdout, sys.stderr)
    except LocalServerError as exc:
        sys.stderr.write(f"mlcp: {exc}\n")
        return 2


if __name__ == "__main__":
    console_main()
