"""`mlcp approvals list`, `mlcp approve ID --reason ...`, `mlcp reject ID --reason ...`.

The caller's identity comes from STS (never from a flag): separation of duties holds for the CLI
exactly as it does for the registry. Tables default to $MLCP_STATE_TABLE and $MLCP_AUDIT_TABLE
(the stack's ControlPlaneTableName and AuditTableName outputs).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from botocore.exceptions import ClientError

from mlcp import clock
from mlcp.adapters.registry import SageMakerModelRegistry
from mlcp.adapters.reports import ReportWriter
from mlcp.adapters.state import ControlPlaneState, PendingApproval
from mlcp.audit import AuditTrail
from mlcp.errors import ApprovalNotPending, SeparationOfDutiesViolation
from mlcp.policy import PolicyNotConfigured
from mlcp.usecases.approval import ApprovalDeps, caller_identity, decide_approval, expires_in
from mlcp.usecases.gating import GatingDeps
from mlcp_cli.commands.stack import add_table_options, client, tables


def approval_deps(client: Any, *, state_table: str, audit_table: str) -> ApprovalDeps:
    """The governance adapters for an operator: ``client(service)`` makes boto3 clients."""
    gating = GatingDeps(
        registry=SageMakerModelRegistry(client("sagemaker")),
        policies=PolicyNotConfigured(),  # a human decision evaluates no gates
        reports=ReportWriter("", client("s3")),
        audit=AuditTrail(audit_table, client=client("dynamodb")),
        s3=client("s3"),
        sagemaker=client("sagemaker"),
    )
    return ApprovalDeps(gating=gating, state=ControlPlaneState(state_table, client("dynamodb")))


def decide(
    client: Any, approval_id: str, *, grant: bool, reason: str, state_table: str, audit_table: str
) -> PendingApproval:
    """Grant or deny a pending approval as whoever ``client``'s credentials belong to."""
    deps = approval_deps(client, state_table=state_table, audit_table=audit_table)
    return decide_approval(
        approval_id,
        grant=grant,
        reason=reason,
        identity=caller_identity(client("sts")),
        deps=deps,
        callbacks=client("stepfunctions"),
    )


def ended_executions(approvals: list[PendingApproval], sfn: Any) -> dict[str, str]:
    """approval id -> status of its execution, for pending approvals whose deployment no longer
    runs (stopped or timed out: an answer would be abandoned; a redrive asks again). An execution
    that cannot be described is left out: the listing does not guess."""
    ended: dict[str, str] = {}
    for approval in approvals:
        if approval.status != "pending" or not approval.execution:
            continue
        try:
            status = str(sfn.describe_execution(executionArn=approval.execution)["status"])
        except ClientError as exc:
            sys.stderr.write(f"{approval.approval_id}: cannot read its execution: {exc}\n")
            continue
        if status != "RUNNING":
            ended[approval.approval_id] = status
    return ended


def write_approvals(
    approvals: list[PendingApproval], out: TextIO, *, as_json: bool, ended: dict[str, str] | None = None
) -> None:
    """One approval per line (JSON: plus ``execution_status`` where its deployment has ended)."""
    ended = ended or {}
    now = clock.now()  # the simulated clock in local mode, like the expiry it compares with
    if as_json:
        for approval in approvals:
            row = approval.model_dump(mode="json")
            if approval.approval_id in ended:
                row["execution_status"] = ended[approval.approval_id]
            out.write(json.dumps(row, sort_keys=True) + "\n")
        return
    if not approvals:
        out.write("no approvals\n")
        return
    for a in approvals:
        left = expires_in(a, now)
        due = f"expires in {left.total_seconds() / 3600:.1f} h" if a.status == "pending" else a.status
        out.write(
            f"{a.approval_id}  {a.group} v{a.version}  tier {a.tier}  {due}  created by {a.created_by}\n"
        )
        if a.approval_id in ended:
            out.write(
                f"    ! its deployment is {ended[a.approval_id]}: an answer cannot resume it; "
                "redrive the execution to ask again\n"
            )
        for reason in a.reasons:
            out.write(f"    - {reason}\n")
        if a.report_uri:
            out.write(f"    report {a.report_uri}\n")


def _cmd_list(args: argparse.Namespace) -> int:
    names = tables(args)
    if names is None:
        return 2
    state = ControlPlaneState(names[0], client("dynamodb"))
    approvals = state.list_approvals(None if args.all else "pending")
    ended = ended_executions(approvals, client("stepfunctions"))
    write_approvals(approvals, sys.stdout, as_json=args.json, ended=ended)
    return 0


def _cmd_decide(args: argparse.Namespace, *, grant: bool) -> int:
    names = tables(args)
    if names is None:
        return 2
    try:
        decided = decide(
            client,
            args.approval_id,
            grant=grant,
            reason=args.reason,
            state_table=names[0],
            audit_table=names[1],
        )
    except (ApprovalNotPending, SeparationOfDutiesViolation) as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 1
    except ClientError as exc:  # the answer did not reach the workflow; the approval is pending again
        sys.stderr.write(f"failed, still pending (answer again): {exc}\n")
        return 1
    if args.json:
        sys.stdout.write(json.dumps(decided.model_dump(mode="json"), sort_keys=True) + "\n")
    else:
        sys.stdout.write(f"{decided.approval_id}: {decided.status} by {decided.decided_by}\n")
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    approvals = subparsers.add_parser("approvals", help="human approvals the deployment workflow waits for")
    sub = approvals.add_subparsers(dest="approvals_command", required=True)
    listing = sub.add_parser("list", help="pending approvals, oldest first")
    listing.add_argument("--all", action="store_true", help="also decided and expired ones")
    listing.add_argument("--json", action="store_true")
    add_table_options(listing)
    listing.set_defaults(func=_cmd_list)

    for name, grant, text in (("approve", True, "grant"), ("reject", False, "deny")):
        parser = subparsers.add_parser(name, help=f"{text} a pending approval as the caller (STS identity)")
        parser.add_argument("approval_id")
        parser.add_argument("--reason", required=True, help="why; recorded in the audit trail")
        parser.add_argument("--json", action="store_true", help="the decided approval as JSON")
        add_table_options(parser)
        parser.set_defaults(func=lambda args, grant=grant: _cmd_decide(args, grant=grant))
