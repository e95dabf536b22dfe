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
    sub = parser.add_subparsers(dest="command", required=True)
    for register in commands.REGISTRARS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
