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
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
