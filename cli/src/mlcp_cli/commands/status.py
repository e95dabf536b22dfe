"""`mlcp status [ENDPOINT] [--watch] [--json]`: each endpoint's rollout as the AWS APIs and the
control plane's tables say it is now (``mlcp_cli.rollout``)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from mlcp import clock
from mlcp.adapters.state import ControlPlaneState
from mlcp_cli.commands.incidents import incident_deps
from mlcp_cli.commands.stack import (
    AccountChoice,
    TargetError,
    account_client,
    active_target,
    add_account_option,
    add_json_option,
    add_stack_options,
    client,
    resolve_account,
    tables,
)
from mlcp_cli.rollout import (
    Readers,
    RolloutError,
    read_rollouts,
    render,
    steer_invoker,
    watch,
    write_json,
)

STATE_MACHINE_OUTPUT = "DeploymentStateMachineArn"
STEER_BAKE_OUTPUT = "SteerBakeFunctionArn"


def readers(
    args: argparse.Namespace, state_table: str, audit_table: str, account: AccountChoice | None = None
) -> Readers:
    """The status readers of the resolved target (``client(service)`` for each AWS API): the
    endpoint's SageMaker and CloudWatch in ``account`` (``--account``), everything the control plane
    keeps (workflow, tables, steer-bake) in its own account."""
    account = account or resolve_account(args)
    machine = (
        getattr(args, "state_machine", None)
        or active_target().outputs.get(STATE_MACHINE_OUTPUT)
        or os.environ.get("MLCP_DEPLOYMENT_STATE_MACHINE")
    )
    return Readers(
        steer=steer_invoker(client("lambda"), active_target().outputs.get(STEER_BAKE_OUTPUT)),
        sagemaker=account_client("sagemaker", account),
        stepfunctions=client("stepfunctions"),
        cloudwatch=account_client("cloudwatch", account),
        state=ControlPlaneState(state_table, client("dynamodb")),
        incidents=incident_deps(client, state_table=state_table, audit_table=audit_table),
        state_machine_arn=machine,
        now=clock.now,
        account=account.account,
        home_account=account.home,
    )


def view(args: argparse.Namespace, state_table: str, audit_table: str) -> str:
    """The status text once (JSON lines with ``--json``)."""
    import io

    rollouts = read_rollouts(readers(args, state_table, audit_table), args.endpoint)
    if args.json:
        buffer = io.StringIO()
        write_json(rollouts, buffer)
        return buffer.getvalue()
    return render(rollouts)


def _cmd(args: argparse.Namespace) -> int:
    names = tables(args)
    if names is None:
        return 2
    try:
        if not args.watch:
            sys.stdout.write(view(args, *names))
            return 0
        watch(
            lambda: view(args, *names),
            sys.stdout,
            sleep=time.sleep,
            interval=args.interval,
            redraws=args.redraws,
            clear=sys.stdout.isatty(),
        )
    except RolloutError as exc:
        sys.stderr.write(f"mlcp status: {exc}\n")
        return 1
    except TargetError as exc:
        sys.stderr.write(f"mlcp status: {exc}\n")
        return 2
    return 0


def add_watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--watch", action="store_true", help="redraw whenever it changes (Ctrl-C ends)")
    parser.add_argument(
        "--interval", type=float, default=2.0, help="seconds between reads (default: %(default)s)"
    )
    parser.add_argument("--redraws", type=int, default=None, help="stop --watch after N redraws")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="each endpoint's rollout: champion, candidate, step, traffic, bake left, alarms, lease, incidents",
    )
    parser.add_argument("endpoint", nargs="?", help="one endpoint (default: every endpoint)")
    parser.add_argument(
        "--state-machine",
        help="the deployment workflow's ARN (default: the stack's DeploymentStateMachineArn)",
    )
    add_watch_options(parser)
    add_json_option(parser)
    add_account_option(parser, member_credentials=True)
    add_stack_options(parser)
    parser.set_defaults(func=_cmd)
