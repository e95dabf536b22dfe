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
    args = parser.parse_args(argv)
    route_logs_to_stderr()
    reset_target()
    if getattr(args, "resolve_stack", False):
        try:
            resolve_target(args)
        except TargetError as exc:
            sys.stderr.write(f"mlcp: {exc}\n")
            return 2
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
