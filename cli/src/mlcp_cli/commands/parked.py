"""`mlcp parked list [--queue Q]` and `mlcp parked redrive Q [--apply]`: what the control plane
parked (undelivered events, failed invocations, rejected events) and sending it back once the cause
is fixed (mlcp_cli.parked). A redrive is a dry run unless ``--apply``; the target options say which
stack (``--config-env prod``, ``--local``, ...).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, get_args

from mlcp_cli.commands.stack import (
    active_target,
    add_json_option,
    add_stack_options,
    client,
    write_json,
    write_table,
)
from mlcp_cli.parked import (
    ParkedMessage,
    QueueKind,
    StackTargets,
    list_parked,
    redrive,
    stack_targets,
)

KINDS: tuple[QueueKind, ...] = get_args(QueueKind)


def _stack() -> StackTargets | None:
    name = active_target().stack_name
    if not name:
        sys.stderr.write("mlcp parked: which stack? --config-env, --stack-name or --local\n")
        return None
    return stack_targets(client("cloudformation"), client("lambda"), client("events"), name)


def _record(message: ParkedMessage, outcome: str | None = None) -> dict[str, Any]:
    record = {
        "queue": message.queue,
        "message_id": message.message_id,
        "sent_at": message.sent_at,
        "what": message.what,
        "target": message.target,
        "reason": message.reason,
        "problem": message.problem,
    }
    if outcome is not None:
        record["outcome"] = outcome
    return record


def _cmd_list(args: argparse.Namespace) -> int:
    stack = _stack()
    if stack is None:
        return 2
    kinds = [args.queue] if args.queue else list(KINDS)
    messages = list_parked(client("sqs"), stack, kinds, limit=args.max)
    if args.json:
        write_json([_record(m) for m in messages], sys.stdout)
        return 0
    if not messages:
        sys.stdout.write(f"nothing parked in {', '.join(kinds)}\n")
        return 0
    rows = [(m.queue, m.what, m.target or "-", m.problem or m.reason) for m in messages]
    write_table(
        rows,
        ("queue", "event", "target", "reason (or why it cannot be redriven)"),
        sys.stdout,
        wide=args.wide,
    )
    return 0


def _cmd_redrive(args: argparse.Namespace) -> int:
    stack = _stack()
    if stack is None:
        return 2
    done = redrive(
        args.queue,
        stack,
        sqs=client("sqs"),
        lambda_client=client("lambda"),
        sfn=client("stepfunctions"),
        apply=args.apply,
        limit=args.max,
    )
    if args.json:
        write_json([_record(d.message, d.outcome) for d in done], sys.stdout)
    else:
        rows = [(d.outcome, d.message.what, d.message.target or "-", d.message.reason) for d in done]
        write_table(rows, ("outcome", "event", "target", "why it was parked"), sys.stdout, wide=args.wide)
        sent = sum(d.outcome.startswith("redriven") for d in done)
        suffix = "" if args.apply else " (dry run: --apply sends and deletes)"
        sys.stdout.write(f"\n{sent} redriven, {len(done) - sent} left parked{suffix}\n")
    return 1 if any(d.outcome.startswith("kept") for d in done) else 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parked = subparsers.add_parser(
        "parked", help="undelivered events, failed invocations and rejected events, and their redrive"
    )
    sub = parked.add_subparsers(dest="parked_command", required=True)

    listing = sub.add_parser("list", help="what is parked, with why (messages stay in place)")
    listing.add_argument("--queue", choices=KINDS, help="one queue (default: all three)")
    listing.add_argument("--max", type=int, default=100, help="at most this many per queue (default 100)")
    listing.add_argument("--wide", action="store_true", help="every field in full, wider than 120 columns")
    add_json_option(listing)
    add_stack_options(listing)
    listing.set_defaults(func=_cmd_list)

    again = sub.add_parser("redrive", help="send a queue's parked events back to their targets (dry run)")
    again.add_argument("queue", choices=KINDS)
    again.add_argument("--apply", action="store_true", help="send each event and delete its message")
    again.add_argument("--max", type=int, default=100, help="at most this many messages (default 100)")
    again.add_argument("--wide", action="store_true", help="every field in full, wider than 120 columns")
    add_json_option(again)
    add_stack_options(again)
    again.set_defaults(func=_cmd_redrive)
