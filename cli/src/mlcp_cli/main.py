"""Entry point of the `mlcp` CLI. Each command group lives in its own module with `register()`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


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
