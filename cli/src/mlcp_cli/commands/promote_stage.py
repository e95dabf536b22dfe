"""`mlcp promote-stage GROUP --to STAGE [--version N] --reason ...`: ask to promote an approved model
package to the next stage of its group's promotion path (issue 20, ADR 27/35).

The command starts the deployment workflow (StartExecution, the operator's ``RequestPromotions``
grant) with the package's state-change event, built from what the registry says now, plus
``{"promotion": {"stage": STAGE}}``; it audits who asked and why (``promotion.requested``), then
prints the workflow's decision (``promotion.allowed`` or ``promotion.refused`` with the reason: soak
time not elapsed, a rollback or an open incident in the previous stage, not promoted there yet, the
stage's gates). A refusal is a decision, not an error: exit status 3, nothing changed, and the same
promotion may be asked again later. The command does not decide anything itself: the operator holds
no policy, and verify-approval re-reads the registry and the previous stage's record.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcp import clock
from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.identity import caller_identity
from mlcp.audit import AuditAction, AuditRecord
from mlcp_cli.commands.stack import (
    active_target,
    add_json_option,
    add_stack_options,
    aws_wait_for,
    client,
    local_wait_for,
    tables,
)

#: Exit status of a refused (or ignored) promotion: a decision, distinct from errors (1) and usage (2).
REFUSED_EXIT = 3
STATE_MACHINE_OUTPUT = "DeploymentStateMachineArn"
_DECISIONS = {
    AuditAction.PROMOTION_ALLOWED: "allowed",
    AuditAction.PROMOTION_REFUSED: "refused",
    AuditAction.EVENT_IGNORED: "ignored",
}


class PromotionError(Exception):
    """The promotion could not be asked (no such approved package, no workflow): nothing started."""


@dataclass
class PromotionDecision:
    """What the workflow decided about one promotion request."""

    group: str
    version: int
    stage: str
    package_arn: str
    execution: str
    requested_by: str
    decision: str
    """allowed | refused | ignored | pending (no decision within the wait) | failed (the execution failed)"""
    reasons: list[str] = field(default_factory=list)
    account: str | None = None
    endpoint: str | None = None
    next: str | None = None
    """allowed: what the stage's tier does next (proceed: deploys; needs_human: waits for an approver)"""

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def execution_name(group: str, version: int, stage: str) -> str:
    """A unique, readable execution name (Step Functions: at most 80 of [A-Za-z0-9-_])."""
    suffix = f"-v{version}-{uuid.uuid4().hex[:8]}"
    head = re.sub(r"[^A-Za-z0-9_-]", "-", f"promote-{stage}-{group}")
    return head[: 80 - len(suffix)] + suffix


def package_arn(audit: AuditTrail, state_machine_arn: str, group: str, version: int | None) -> str:
    """The ARN of ``group``'s version ``version`` in the control plane's registry (its account and
    region: the deployment workflow's); without a version, the newest version whose approval the
    control plane recorded (``package.approved`` in the group's stream: an approval the workflow
    verified), read from the audit trail the operator already reads."""
    if version is None:
        approved = [
            record.subject
            for record in audit.read(f"group#{group}")
            if record.action == AuditAction.PACKAGE_APPROVED
        ]
        if not approved:
            raise PromotionError(f"{group}: no approval recorded in the audit trail (give --version)")
        return max(approved, key=lambda arn: int(arn.rsplit("/", 1)[-1]))
    _, partition, _, region, account = state_machine_arn.split(":")[:5]
    return f"arn:{partition}:sagemaker:{region}:{account}:model-package/{group}/{version}"


def promotion_input(described: dict[str, Any], stage: str, *, now: str) -> dict[str, Any]:
    """The workflow's input: the package's state-change event as the registry would send it (its
    account is the registry's, from the ARN), with the promotion's stage. A hint: verify-approval
    re-reads the package."""
    arn = str(described["ModelPackageArn"])
    region, account = arn.split(":")[3:5]
    detail = {
        "ModelPackageArn": arn,
        "ModelPackageGroupName": described["ModelPackageGroupName"],
        "ModelPackageVersion": described["ModelPackageVersion"],
        "ModelPackageName": described.get("ModelPackageName", described["ModelPackageGroupName"]),
        "ModelApprovalStatus": described["ModelApprovalStatus"],
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": now,
        "region": region,
        "resources": [arn],
        "detail": detail,
        "promotion": {"stage": stage},
    }


def _decision_of(records: list[AuditRecord], execution: str) -> AuditRecord | None:
    for record in records:
        if record.action in _DECISIONS and record.evidence.get("execution") == execution:
            return record
    return None


def request_promotion(
    client: Callable[[str], Any],
    group: str,
    stage: str,
    *,
    version: int | None,
    reason: str,
    audit_table: str,
    state_machine_arn: str,
    wait_for: Callable[[Callable[[], bool]], object],
) -> PromotionDecision:
    """Ask the deployment workflow to promote ``group``'s version to ``stage`` as whoever ``client``'s
    credentials belong to; wait (``wait_for``) for its decision and return it."""
    sagemaker, sfn = client("sagemaker"), client("stepfunctions")
    audit = AuditTrail(audit_table, client=client("dynamodb"))
    arn = package_arn(audit, state_machine_arn, group, version)
    try:
        described = sagemaker.describe_model_package(ModelPackageName=arn)
    except sagemaker.exceptions.ClientError as exc:
        raise PromotionError(f"{arn}: {exc.response.get('Error', {}).get('Message', exc)}") from exc
    status = described.get("ModelApprovalStatus")
    number = int(described["ModelPackageVersion"])
    if status != "Approved":
        raise PromotionError(
            f"{group} v{number} is {status} in the registry: only an Approved package is promoted"
        )
    identity = caller_identity(client("sts"))
    name = execution_name(group, number, stage)
    execution = state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
    stream = f"group#{group}"
    audit.append(
        stream=stream,
        action=AuditAction.PROMOTION_REQUESTED,
        actor=identity,
        subject=arn,
        evidence={"stage": stage, "version": number, "reason": reason, "execution": execution},
        decision_id=f"promotion.requested:{execution}",
    )
    document = promotion_input(described, stage, now=clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(document))

    found: list[AuditRecord] = []

    def decided() -> bool:
        record = _decision_of(audit.read(stream), execution)
        if record is not None:
            found.append(record)
            return True
        return bool(sfn.describe_execution(executionArn=execution)["status"] != "RUNNING")

    wait_for(decided)
    decision = PromotionDecision(group, number, stage, arn, execution, identity, "pending")
    if not found and (record := _decision_of(audit.read(stream), execution)) is not None:
        found.append(record)
    if found:
        evidence = found[0].evidence
        decision.decision = _DECISIONS[AuditAction(found[0].action)]
        decision.reasons = [str(r) for r in evidence.get("reasons") or []]
        decision.account, decision.endpoint = evidence.get("account"), evidence.get("endpoint")
        decision.next = evidence.get("next")
    else:
        _from_execution(decision, sfn.describe_execution(executionArn=execution))
    return decision


#: A verdict's outcome -> the decision the operator reads (an execution that ended with no record).
_OUTCOMES = {"ignore": "ignored", "refused": "refused", "reject": "refused"}


def _from_execution(decision: PromotionDecision, described: dict[str, Any]) -> None:
    """The decision of an execution that ended without a decision record naming it: its verdict (an
    ignored request's ``event.ignored`` is recorded once per package approval, whoever asks again)."""
    if described["status"] == "RUNNING":
        return
    try:
        verdict = json.loads(described.get("output") or "{}").get("verdict") or {}
    except (ValueError, AttributeError):
        verdict = {}
    outcome = _OUTCOMES.get(str(verdict.get("outcome")))
    if described["status"] == "SUCCEEDED" and outcome is not None:
        decision.decision = outcome
        decision.reasons = [str(r) for r in verdict.get("reasons") or []]
        return
    decision.decision = "failed"
    decision.reasons = [
        f"the deployment workflow ended {described['status']} without a decision (see its history)"
    ]


def render(decision: PromotionDecision) -> str:
    """One line per fact, the decision first."""
    head = f"{decision.group} v{decision.version} -> {decision.stage}: {decision.decision}"
    lines = [head]
    if decision.decision == "allowed":
        where = f"{decision.account}/{decision.endpoint}"
        then = (
            "the deployment waits for an approver (mlcp approvals list)"
            if decision.next == "needs_human"
            else "the deployment proceeds"
        )
        lines.append(f"  into {where}: {then}")
        lines.append(
            f"  follow: mlcp audit show --stream endpoint#{decision.endpoint} --account {decision.account}"
        )
    lines.extend(f"  {reason}" for reason in decision.reasons if decision.decision != "allowed")
    lines.append(f"  requested by {decision.requested_by}; execution {decision.execution}")
    return "\n".join(lines) + "\n"


def _cmd(args: argparse.Namespace) -> int:
    names = tables(args)
    if names is None:
        return 2
    machine = args.state_machine or active_target().outputs.get(STATE_MACHINE_OUTPUT)
    if not machine:
        sys.stderr.write("the deployment workflow is unknown: --state-machine, or target the stack\n")
        return 2
    try:
        decision = request_promotion(
            client,
            args.group,
            args.to,
            version=args.version,
            reason=args.reason,
            audit_table=names[1],
            state_machine_arn=machine,
            wait_for=local_wait_for()
            or aws_wait_for(args.timeout, "waiting for the promotion's decision ...", 2),
        )
    except PromotionError as exc:
        sys.stderr.write(f"mlcp promote-stage: {exc}\n")
        return 1
    if args.json:
        sys.stdout.write(json.dumps(decision.as_json(), sort_keys=True) + "\n")
    else:
        sys.stdout.write(render(decision))
    if decision.decision == "allowed":
        return 0
    return REFUSED_EXIT if decision.decision in {"refused", "ignored"} else 1


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "promote-stage",
        help="promote an approved model package to the next stage of its promotion path (e.g. staging -> "
        "prod), audited; prints the decision (exit 3: refused, with the reason)",
    )
    parser.add_argument("group", help="the model package group")
    parser.add_argument("--to", required=True, metavar="STAGE", help="the stage to promote to (e.g. prod)")
    parser.add_argument(
        "--version",
        type=int,
        help="the package version (default: the newest one whose approval the control plane recorded)",
    )
    parser.add_argument("--reason", required=True, help="why; recorded in the audit trail")
    parser.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="seconds to wait for the decision (AWS; default: %(default)s)",
    )
    parser.add_argument("--state-machine", help="the deployment workflow's ARN (default: the stack's)")
    add_json_option(parser)
    add_stack_options(parser)
    parser.set_defaults(func=_cmd)
