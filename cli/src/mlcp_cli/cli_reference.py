"""docs/cli.md: the `mlcp` command reference, generated from the parser's own ``--help`` text.

The reference is what ``mlcp ... --help`` prints, command by command, so it cannot drift from the
code: ``tests/docs/test_docs.py`` fails when the file differs from what this module renders
(regenerate with ``python -m mlcp_cli.cli_reference --write``). The prose guides (docs/operate.md,
docs/approvers.md, docs/deploy.md) explain when to use which command; this file only lists them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

#: Help text is wrapped at this width whatever the terminal is, so the file is the same everywhere.
WIDTH = 100

HEADER = """# `mlcp` command reference

Generated from `mlcp --help` by `python -m mlcp_cli.cli_reference --write`; a test fails when it is
out of date. When to use which command: [operate.md](operate.md), [approvers.md](approvers.md),
[deploy.md](deploy.md), [local-mode.md](local-mode.md). Every command prints a table that fits 120
columns (`--wide` where a table has more to show) or, with `--json`, one JSON object per line.
"""


def _fixed_width(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=WIDTH)


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser under ``parser``, depth first, in the order the commands were registered."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


def render(parser: argparse.ArgumentParser) -> str:
    """The Markdown reference of ``parser`` and every subcommand: a contents list, then each
    command's ``--help`` in a text block."""
    found = list(_commands(parser))
    contents = [f"- [`mlcp {' '.join(path)}`](#{_anchor(path)})" for path, _ in found if path]
    sections = []
    for path, command in found:
        _fixed_width(command)
        title = " ".join(("mlcp", *path))
        sections.append(f"## `{title}`\n\n```text\n{command.format_help().rstrip()}\n```\n")
    return HEADER + "\n" + "\n".join(contents) + "\n\n" + "\n".join(sections)


def _anchor(path: Sequence[str]) -> str:
    """GitHub's anchor of the heading ``mlcp <path>`` in backticks (lowercase, spaces to dashes)."""
    return "-".join(("mlcp", *path)).lower()


def reference_path() -> Path:
    """docs/cli.md of the source tree this module belongs to."""
    return Path(__file__).resolve().parents[3] / "docs" / "cli.md"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the reference, or with ``--write`` write it to docs/cli.md."""
    from mlcp_cli.main import build_parser

    options = argparse.ArgumentParser(
        prog="python -m mlcp_cli.cli_reference", description=__doc__.splitlines()[0]
    )
    options.add_argument("--write", action="store_true", help="write docs/cli.md instead of printing")
    args = options.parse_args(argv)
    text = render(build_parser())
    if args.write:
        reference_path().write_text(text, encoding="utf-8")
        sys.stderr.write(f"wrote {reference_path()}\n")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
