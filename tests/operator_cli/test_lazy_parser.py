"""Building the parser for a command imports and registers only that command's module (ADR 38),
and every command parses and prints exactly what the parser with every module registered does."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from mlcp_cli import commands
from mlcp_cli.cli_reference import _commands, render
from mlcp_cli.main import build_parser


def _top_level(parser: argparse.ArgumentParser) -> list[str]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(action.choices)


def _shape(parser: argparse.ArgumentParser) -> list[tuple[object, ...]]:
    return [
        (a.dest, tuple(a.option_strings), a.nargs, a.default, a.type, a.required, a.help, a.choices is None)
        for a in parser._actions
    ]


def test_the_table_names_what_each_module_registers() -> None:
    for module, names in commands.COMMANDS:
        parser = argparse.ArgumentParser(prog="mlcp")
        sub = parser.add_subparsers(dest="command")
        commands.registrar(module)(sub)
        assert tuple(sub.choices) == names, module


def test_the_full_parser_registers_every_module_in_order() -> None:
    assert _top_level(build_parser()) == [name for _, names in commands.COMMANDS for name in names]
    assert _top_level(build_parser(["--help"])) == _top_level(build_parser())
    assert _top_level(build_parser(["no-such-command"])) == _top_level(build_parser())


FULL = dict(_commands(build_parser()))


@pytest.mark.parametrize("path", [path for path in FULL if path], ids=" ".join)
def test_each_command_parses_and_prints_as_with_every_module(path: tuple[str, ...]) -> None:
    lazy = build_parser(list(path))
    assert set(_top_level(lazy)) == set(next(n for _, n in commands.COMMANDS if path[0] in n))
    command = dict(_commands(lazy))[path]
    assert command.format_help() == FULL[path].format_help()
    assert command.format_usage() == FULL[path].format_usage()
    assert _shape(command) == _shape(FULL[path])


def _parsed(parser: argparse.ArgumentParser, argv: list[str]) -> dict[str, object]:
    """The parsed namespace; the command's function by its code (a register may make a lambda)."""
    parsed = vars(parser.parse_args(argv))
    return {**parsed, "func": parsed["func"].__code__}


def test_parsed_options_are_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "local",
        "run",
        "scenarios/full-loop.yaml",
        "--json",
        "--no-iam",
        "--iam-report",
        "r.json",
        "--speed",
        "0",
    ]
    assert _parsed(build_parser(argv), argv) == _parsed(build_parser(), argv)
    argv = ["approve", "a-1", "--local", "--reason", "ok", "--json"]
    assert _parsed(build_parser(argv), argv) == _parsed(build_parser(), argv)
    with pytest.raises(SystemExit) as exited:
        build_parser(["local"]).parse_args(["local", "run", "--bogus"])
    assert exited.value.code == 2
    lazy_error = capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["local", "run", "--bogus"])
    assert lazy_error == capsys.readouterr().err


def test_the_reference_is_rendered_from_every_module() -> None:
    assert render(build_parser()).count("\n## `mlcp") == len(FULL)


def test_the_local_run_parser_imports_no_other_command_and_no_aws_sdk() -> None:
    program = (
        "import sys; from mlcp_cli.main import build_parser; build_parser(['local', 'run']);"
        "print(sorted(m for m in sys.modules if m.startswith('mlcp_cli.commands.')));"
        "print('boto3' in sys.modules, 'pydantic' in sys.modules, 'importlib.metadata' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    imported, sdks = done.stdout.splitlines()
    assert imported == "['mlcp_cli.commands.local']"
    assert sdks == "False False False"


def test_version_is_read_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        build_parser(["--version"]).parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"mlcp {version('mlcp-cli')}\n"
