"""``mlcp asl check TEMPLATE``: static checks of the template's state machine definitions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    group = subparsers.add_parser("asl", help="Amazon States Language checks")
    asl_sub = group.add_subparsers(dest="asl_command", required=True)
    check = asl_sub.add_parser(
        "check",
        help="check every state machine's ASL file of a SAM template",
        description=(
            "Check each AWS::Serverless::StateMachine with a local DefinitionUri: JSON, StartAt and "
            "transitions, reachability, ways out, DefinitionSubstitutions, Retry/Catch error names "
            "against mlcp.errors, States.ALL placement. Exit 1 on any problem."
        ),
    )
    check.add_argument("template", type=Path, help="SAM template, e.g. template.yaml")
    check.add_argument("--json", action="store_true", help="print the problems as JSON")
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from mlcp_cli.asl_check import check_template, state_machine_ids

    problems = check_template(args.template)
    if args.json:
        print(json.dumps([problem.__dict__ for problem in problems], indent=2))
        return 1 if problems else 0
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"asl check: {len(problems)} problem(s) in {args.template}", file=sys.stderr)
        return 1
    machines = state_machine_ids(args.template)
    print(f"asl check: {len(machines)} state machine(s) OK in {args.template}")
    return 0
