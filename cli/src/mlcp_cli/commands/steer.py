"""`mlcp abort ENDPOINT --reason ...` and `mlcp promote ENDPOINT --reason ...`: steer the rollout in
flight on an endpoint, as the caller (STS identity), audited (``mlcp_cli.rollout``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.identity import caller_identity
from mlcp_cli.commands.stack import (
    TargetError,
    add_account_option,
    add_json_option,
    add_stack_options,
    aws_wait_for,
    client,
    local_wait_for,
    tables,
)
from mlcp_cli.commands.status import readers
from mlcp_cli.rollout import RolloutError, abort, promote


def _cmd_abort(args: argparse.Namespace) -> int:
    names = tables(args)
    if names is None:
        return 2
    identity = caller_identity(client("sts"))
    try:
        done = abort(
            readers(args, *names),
            args.endpoint,
            reason=args.reason,
            identity=identity,
            audit=AuditTrail(names[1], client=client("dynamodb")),
            wait_for=local_wait_for()
            or aws_wait_for(args.timeout, "waiting for the rollback to start ...", 5),
        )
    except RolloutError as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 1
    except TargetError as exc:
        sys.stderr.write(f"mlcp abort: {exc}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps(done, sort_keys=True) + "\n")
    else:
        how = (
            f"alarm {done['alarm']} tripped; SageMaker is rolling back"
            if done["alarm"]
            else "the workflow rolled the traffic back"
        )
        sys.stdout.write(
            f"{done['endpoint']}: {done['aborted']} aborted by {done['by']} ({how} to {done['champion']}): "
            "the workflow records deployment.rolled_back and releases the lease (mlcp status)\n"
        )
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    names = tables(args)
    if names is None:
        return 2
    try:
        done = promote(
            readers(args, *names),
            args.endpoint,
            reason=args.reason,
            identity=caller_identity(client("sts")),
            audit=AuditTrail(names[1], client=client("dynamodb")),
        )
    except RolloutError as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 1
    except TargetError as exc:
        sys.stderr.write(f"mlcp promote: {exc}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps(done, sort_keys=True) + "\n")
    else:
        sys.stdout.write(
            f"{done['endpoint']}: the bake of {done['promoted']} at {done['step']} ended early by {done['by']}; "
            "the alarms are checked now, then the next step (mlcp status)\n"
        )
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "abort",
        help="roll the deployment in flight on ENDPOINT back (blue/green: SageMaker's rollback; managed: "
        "the workflow's, during a bake), audited",
    )
    parser.add_argument("endpoint")
    parser.add_argument("--reason", required=True, help="why; recorded in the audit trail and the alarm")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds to wait for the rollback to start / the workflow to finish (AWS)",
    )
    parser.add_argument("--state-machine", help="the deployment workflow's ARN (default: the stack's)")
    add_json_option(parser)
    add_account_option(parser, member_credentials=True)
    add_stack_options(parser)
    parser.set_defaults(func=_cmd_abort)

    parser = subparsers.add_parser(
        "promote", help="end the bake of the deployment in flight early, where the tier allows it, audited"
    )
    parser.add_argument("endpoint")
    parser.add_argument("--reason", required=True, help="why; recorded in the audit trail")
    parser.add_argument("--state-machine", help="the deployment workflow's ARN (default: the stack's)")
    add_json_option(parser)
    add_account_option(parser, member_credentials=True)
    add_stack_options(parser)
    parser.set_defaults(func=_cmd_promote)
