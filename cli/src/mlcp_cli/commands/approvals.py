"""`mlcp approvals list [--wide]`, `mlcp approvals show ID`, `mlcp approve ID --reason ...`, `mlcp reject ID --reason ...`.

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
from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.identity import caller_identity
from mlcp.adapters.state import ControlPlaneState, PendingApproval
from mlcp.config import GovernanceConfig
from mlcp.entrypoint import approval_record_deps
from mlcp.errors import ApprovalNotPending, SeparationOfDutiesViolation
from mlcp.usecases.approval_records import ApprovalRecordDeps, decide_approval, expires_in
from mlcp_cli.commands.stack import add_table_options, client, tables
from mlcp_cli.tables import Column, short_arn, write_table


def approval_deps(client: Any, *, state_table: str, audit_table: str) -> ApprovalRecordDeps:
    """The approval adapters for an operator, from the composition root: ``client(service)`` makes
    boto3 clients; a human decision evaluates no gates (no policy)."""
    return approval_record_deps(
        AuditTrail(audit_table, client=client("dynamodb")),
        GovernanceConfig(state_table=state_table),
        client=client,
    )


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
    approvals: list[PendingApproval],
    out: TextIO,
    *,
    as_json: bool,
    ended: dict[str, str] | None = None,
    wide: bool = False,
) -> None:
    """A table, one approval per row with why a person is asked (``wide``: also the report and the
    execution); JSON: one object per line, plus ``execution_status`` where its deployment has ended."""
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
    rows = []
    for a in approvals:
        left = expires_in(a, now)
        due = f"expires in {left.total_seconds() / 3600:.1f} h" if a.status == "pending" else a.status
        if a.approval_id in ended:
            due = f"{due}; deployment {ended[a.approval_id]}"
        rows.append(
            (
                a.approval_id,
                f"{a.group} v{a.version}" + (f" to {a.stage} ({a.account})" if a.stage else ""),
                a.tier,
                due,
                a.created_by if wide else short_arn(a.created_by),
                "; ".join(a.reasons) or "-",
                a.report_uri or "-",
                a.execution or "-",
            )
        )
    write_table(out, _LIST_COLUMNS, rows, wide=wide)
    if ended:
        out.write(
            "\n! a deployment that has ended cannot be resumed by an answer; redrive its execution to ask again\n"
        )


_LIST_COLUMNS = (
    Column("id", keep=True),
    Column("package", min_width=20),
    Column("tier"),
    Column("status", min_width=20),
    Column("created by"),
    Column("why a person is asked"),
    Column("report", wide_only=True),
    Column("execution", wide_only=True),
)


def write_approval(approval: PendingApproval, out: TextIO, *, ended: str | None = None) -> None:
    """Every field of one approval, one per line, its reasons and its decision's reason in full."""
    now = clock.now()
    fields = [
        ("approval", approval.approval_id),
        ("package", f"{approval.group} v{approval.version}  {approval.model_package_arn}"),
        ("tier", approval.tier),
        ("deploys to", f"stage {approval.stage}, account {approval.account}" if approval.stage
         else f"account {approval.account}" if approval.account else "-"),
        ("status", approval.status + (f" (its deployment is {ended})" if ended else "")),
        ("requested", approval.requested_at),
        ("expires", approval.expires_at
            + (f" (in {expires_in(approval, now).total_seconds() / 3600:.1f} h)" if approval.status == "pending" else "")),
        ("created by", approval.created_by),
        ("who may answer", ", ".join(approval.approvers) or "anyone but the creator"),
        ("report", approval.report_uri or "-"),
        ("execution", approval.execution or "-"),
    ]  # fmt: skip
    if approval.decided_by:
        fields += [
            ("decided by", approval.decided_by),
            ("decided at", approval.decided_at or "-"),
            ("decision reason", approval.reason or "-"),
        ]
    for label, value in fields:
        out.write(f"{label + ':':<16} {value}\n")
    out.write("why a person is asked:\n")
    for reason in approval.reasons or ["(no reason recorded)"]:
        out.write(f"  - {reason}\n")


def _cmd_show(args: argparse.Namespace) -> int:
    names = tables(args)
    if names is None:
        return 2
    found = ControlPlaneState(names[0], client("dynamodb")).get_approval(args.approval_id)
    if found is None:
        sys.stderr.write(f"mlcp approvals show: no approval {args.approval_id}\n")
        return 1
    approval = found[0]
    ended = ended_executions([approval], client("stepfunctions")).get(approval.approval_id)
    if args.json:
        row = approval.model_dump(mode="json") | ({"execution_status": ended} if ended else {})
        sys.stdout.write(json.dumps(row, sort_keys=True) + "\n")
    else:
        write_approval(approval, sys.stdout, ended=ended)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    names = tables(args)
    if names is None:
        return 2
    state = ControlPlaneState(names[0], client("dynamodb"))
    approvals = state.list_approvals(None if args.all else "pending")
    ended = ended_executions(approvals, client("stepfunctions"))
    write_approvals(approvals, sys.stdout, as_json=args.json, ended=ended, wide=args.wide)
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
    listing.add_argument("--wide", action="store_true", help="every field in full, wider than 120 columns")
    add_table_options(listing)
    listing.set_defaults(func=_cmd_list)

    show = sub.add_parser(
        "show", help="one approval in full: who may answer, why a person is asked, the decision"
    )
    show.add_argument("approval_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="the approval as one JSON object")
    add_table_options(show)
    show.set_defaults(func=_cmd_show)

    for name, grant, text in (("approve", True, "grant"), ("reject", False, "deny")):
        parser = subparsers.add_parser(name, help=f"{text} a pending approval as the caller (STS identity)")
        parser.add_argument("approval_id")
        parser.add_argument("--reason", required=True, help="why; recorded in the audit trail")
        parser.add_argument("--json", action="store_true", help="the decided approval as JSON")
        add_table_options(parser)
        parser.set_defaults(func=lambda args, grant=grant: _cmd_decide(args, grant=grant))
