"""``mlcp doctor [--config-env ENV | --stack-name S | --local] [--json]``: what the control plane needs
but cannot create itself (``mlcp_cli.doctor``), one line per check with the fix; exit 1 on a failure
(a warning does not fail)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from mlcp_cli.commands.stack import active_target, add_stack_options, client
from mlcp_cli.doctor import Check, run_checks
from mlcp_cli.tables import WIDTH, wrap


def shell_fold(line: str, width: int = WIDTH) -> str:
    """A fix command folded at spaces with `` \\`` continuations (still pastes into a shell as is);
    ``&&`` starts a new line."""
    if len(line) <= width:
        return line
    body = line.lstrip(" ")
    indent = " " * (len(line) - len(body) + 5)
    words = body.split(" ")
    lines: list[str] = []
    current = line[: len(line) - len(body)]
    for word in words:
        candidate = f"{current} {word}" if current.strip() else current + word
        if current.strip() and (len(candidate) > width - 2 or word == "&&"):
            lines.append(current + " \\")
            current = indent + word
        else:
            current = candidate
    lines.append(current)
    return "\n".join(lines)


_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def write_checks(checks: list[Check], out: TextIO, *, as_json: bool) -> int:
    """Each check (JSON: one object per line); 1 when any failed."""
    for check in checks:
        if as_json:
            out.write(json.dumps(check.as_dict(), sort_keys=True) + "\n")
            continue
        out.write(wrap(f"{_MARK[check.status]}  {check.name}: {check.detail}", WIDTH, hang=6) + "\n")
        if check.fix:
            out.write(shell_fold(f"      fix: {check.fix}") + "\n")
    failed = sum(check.status == "fail" for check in checks)
    if not as_json:
        warned = sum(check.status == "warn" for check in checks)
        out.write(f"\n{len(checks)} checks: {failed} failed, {warned} warnings\n")
    return 1 if failed else 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    target = active_target()
    if not target.stack_name:
        sys.stderr.write("mlcp doctor: which stack? --config-env ENV, --stack-name NAME or --local\n")
        return 2
    session_region = target.region or client("sts").meta.region_name
    checks = run_checks(client, target.outputs, target.parameters, session_region)
    return write_checks(checks, sys.stdout, as_json=args.json)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="check what the deployed control plane needs but cannot create itself"
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object per check")
    add_stack_options(doctor)
    doctor.set_defaults(func=_cmd_doctor)
