"""Entry point of the `mlcp` CLI. Each command group lives in its own module with `register()`."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence


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
        handler.setStream(_CurrentStderr())


def build_parser() -> argparse.ArgumentParser:
    from mlcp_cli import commands

    parser = argparse.ArgumentParser(prog="mlcp", description="Operate the mlcp ML control plane.")
    parser.add_argument("--version", action="version", version=f"mlcp {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in commands.REGISTRARS:
        register(sub)
    return parser


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

    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
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
    sys.exit(main())
