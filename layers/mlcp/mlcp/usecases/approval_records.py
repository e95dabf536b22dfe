"""An approval's records and answers: asking approvers and parking the workflow's token, a person's
grant or denial (separation of duties, one answer per approval), rejecting a package and refusing a
promotion. None of them evaluates a gate or reads the policy: the functions that only ask, answer or
reject (request-human-approval, reject-package, console-decision) import this module and its few
adapters, not the gates and the policy model that :mod:`mlcp.usecases.approval` decides with.

Every answer reads the registry and the state table first and writes its audit record.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol
from urllib.parse import quote

from mlcp import clock as mlcp_clock
from mlcp.adapters.state import ControlPlaneState, PendingApproval
from mlcp.audit import AuditAction
from mlcp.errors import ApprovalDenied, ApprovalNotPending, SeparationOfDutiesViolation
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.ports import UNKNOWN, AuditLog, Clock, ModelRegistry, Notifier, TaskCallbacks
from mlcp.principals import same_identity
from mlcp.records import record_class


class ApprovalRecords(Protocol):
    """What an approval's records and answers use: the registry, the state table, the trail, the
    workflow's callbacks, the approvers' notifier and the clock (``ApprovalDeps`` has them too)."""

    @property
    def registry(self) -> ModelRegistry: ...
    @property
    def state(self) -> ControlPlaneState: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def callbacks(self) -> TaskCallbacks: ...
    @property
    def notifier(self) -> Notifier | None: ...
    @property
    def decision_state_machine_arn(self) -> str | None: ...
    @property
    def clock(self) -> Clock: ...


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class ApprovalRecordDeps:
    """The adapters of the functions that only ask, answer or reject (no gates, no policy)."""

    registry: ModelRegistry
    state: ControlPlaneState
    audit: AuditLog
    #: Answers the workflow's parked approval token.
    callbacks: TaskCallbacks
    notifier: Notifier | None = None
    #: Where approvers answer in the console (the approval-decision state machine), for the notification.
    decision_state_machine_arn: str | None = None
    clock: Clock = mlcp_clock.current


def group_stream(group: str) -> str:
    """A model group's audit stream (its registrations, approvals and rejections)."""
    return f"group#{group}"


def _console(region: str, fragment: str) -> str:
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/{fragment}"


def console_links(approval: PendingApproval, decision_state_machine_arn: str | None) -> dict[str, Any]:
    """What an approver needs in the console: the gate report, the waiting execution, and where to
    answer with which input (an execution of the approval-decision state machine)."""
    links: dict[str, Any] = {}
    if approval.report_uri and approval.report_uri.startswith("s3://"):
        bucket, _, key = approval.report_uri.removeprefix("s3://").partition("/")
        links["report_console_url"] = (
            f"https://s3.console.aws.amazon.com/s3/object/{bucket}?prefix={quote(key.partition('?')[0])}"
        )
    region = (approval.execution or decision_state_machine_arn or "").split(":")[3:4]
    if approval.execution and region:
        links["waiting_execution_url"] = _console(region[0], f"executions/details/{approval.execution}")
    if decision_state_machine_arn and region:
        links["answer_url"] = _console(region[0], f"statemachines/view/{decision_state_machine_arn}")
        links["answer_input"] = {
            "approval_id": approval.approval_id,
            "decision": "grant | deny",
            "reason": "why (required)",
        }
        links["answer_how"] = (
            "open answer_url, choose Start execution, paste answer_input with your decision and reason; "
            "the execution shows the verdict (granted, denied, or refused and why)"
        )
    return links


def announce_approval_request(
    subject: str, message: dict[str, Any], *, decision_id: str, event_id: str | None, deps: ApprovalRecords
) -> None:
    """Notify approvers (SNS) and record ``approval.requested`` with what they were told."""
    if deps.notifier is not None:
        deps.notifier.notify(subject, {"kind": "approval", **message})
    deps.audit.append(
        stream=group_stream(str(message["group"])),
        action=AuditAction.APPROVAL_REQUESTED,
        actor="mlcp",
        subject=str(message["model_package_arn"]),
        evidence=message,
        decision_id=decision_id,
        event_id=event_id,
    )


def refuse_promotion(
    verdict: dict[str, Any],
    stage: str,
    reasons: list[str],
    execution: str,
    deps: ApprovalRecords,
    facts: dict[str, Any],
) -> dict[str, Any]:
    """Audit ``promotion.refused`` (once per execution) and end the execution without an effect."""
    package = verdict["package"]
    deps.audit.append(
        stream=group_stream(package["group"]),
        action=AuditAction.PROMOTION_REFUSED,
        actor="mlcp",
        subject=package["arn"],
        evidence={
            "stage": stage,
            "version": package["version"],
            "reasons": reasons,
            "report_uri": verdict.get("report_uri"),
            "execution": execution,
            **facts,
        },
        decision_id=f"promotion.refused:{package['arn']}:{stage}:{execution}",
    )
    metrics.add_metric(name="PromotionsRefused", unit=MetricUnit.Count, value=1)
    return {
        **verdict,
        "outcome": "refused",
        "stage": stage,
        "reasons": [f"promotion refused: {r}" for r in reasons],
    }


def request_human_approval(request: dict[str, Any], *, deps: ApprovalRecords) -> dict[str, Any]:
    """Park the workflow's task token as a pending approval and tell approvers how to answer."""
    package = request["package"]
    now = deps.clock()
    approval = PendingApproval(
        approval_id=request["approval_id"],
        model_package_arn=package["arn"],
        group=package["group"],
        version=int(package["version"]),
        created_by=package["created_by"],
        tier=request.get("tier") or "none",
        status="pending",
        requested_at=now.isoformat(),
        expires_at=(now + timedelta(seconds=int(request["timeout_seconds"]))).isoformat(),
        report_uri=request.get("report_uri"),
        reasons=list(request.get("reasons") or []),
        approvers=list(request.get("approvers") or []),
        execution=request.get("execution"),
        account=request.get("account"),
        stage=request.get("stage"),
    )
    deps.state.put_pending_approval(approval, request["task_token"])
    announce_approval_request(
        f"mlcp: {approval.group} v{approval.version} waits for your approval",
        {
            "approval_id": approval.approval_id,
            "model_package_arn": approval.model_package_arn,
            "group": approval.group,
            "version": approval.version,
            "tier": approval.tier,
            "account": approval.account,
            "stage": approval.stage,
            "reasons": approval.reasons,
            "report_uri": approval.report_uri,
            "expires_at": approval.expires_at,
            "how": f"mlcp approve {approval.approval_id} --reason ... | mlcp reject {approval.approval_id} --reason ...",
            **console_links(approval, deps.decision_state_machine_arn),
        },
        decision_id=f"approval.requested:{approval.approval_id}",
        event_id=request.get("event_id"),
        deps=deps,
    )
    logger.info("human approval requested", extra={"approval_id": approval.approval_id})
    return {"approval_id": approval.approval_id}


def reject_package(
    package: dict[str, Any],
    reasons: list[str],
    *,
    decided_by: str,
    report_uri: str | None,
    event_id: str | None,
    deps: ApprovalRecords,
    promotion: str | None = None,
    execution: str | None = None,
) -> dict[str, Any]:
    """Set the package Rejected with the reasons, then record ``package.rejected`` (once).

    In an execution started as a promotion (``promotion``: its stage, with ``execution``), a denial,
    an approval timeout or a refusal at the moment of effect refuses the promotion instead: the
    package may be serving in the previous stage, so the registry is left as it is (ADR 35)."""
    arn = package["arn"]
    if promotion:
        deps.state.release_stage_promotion(arn, promotion, execution or "")
        verdict = {"package": package, "report_uri": report_uri}
        refused = refuse_promotion(
            verdict, promotion, reasons, execution or "", deps, {"decided_by": decided_by}
        )
        return {"refused": arn, "stage": promotion, "reasons": refused["reasons"]}
    registry = deps.registry
    description = "mlcp: rejected: " + "; ".join(reasons) + (f" (report {report_uri})" if report_uri else "")
    registry.set_status(arn, "Rejected", description)
    candidate, modified = deps.registry.candidate(arn)
    deps.state.record_status(arn, "Rejected", modified)
    deps.audit.append(
        stream=group_stream(package["group"]),
        action=AuditAction.PACKAGE_REJECTED,
        actor=decided_by,
        subject=arn,
        evidence={"reasons": reasons, "report_uri": report_uri, "version": candidate.version},
        # The id the Rejected event's handler computes too: one record whoever sees it first.
        decision_id=f"package.rejected:{arn}:{modified}",
        event_id=event_id,
    )
    metrics.add_metric(name="PackagesRejected", unit=MetricUnit.Count, value=1)
    return {"rejected": arn, "reasons": reasons}


def decide_approval(
    approval_id: str,
    *,
    grant: bool,
    reason: str,
    identity: str,
    deps: ApprovalRecords,
) -> PendingApproval:
    """A human's answer to a pending approval (``mlcp approve`` / ``mlcp reject``).

    Separation of duties: the approver must not be the package's creator, and an unknown identity
    fails closed (the attempt is audited as ``approval.blocked``). A grant or denial moves the
    approval out of pending (at most once), resumes the workflow and is audited.
    """
    current = deps.state.get_approval(approval_id)
    if current is None:
        raise ApprovalNotPending(f"no approval {approval_id!r}")
    approval, token = current
    candidate, _ = deps.registry.candidate(approval.model_package_arn)
    creator = candidate.created_by or approval.created_by
    why = refusal_of(approval, identity, creator, grant=grant)
    if why is not None:
        deps.audit.append(
            stream=group_stream(approval.group),
            action=AuditAction.APPROVAL_BLOCKED,
            actor=identity or UNKNOWN,
            subject=approval.model_package_arn,
            evidence={"approval_id": approval_id, "why": why, "creator": creator},
            decision_id=f"approval.blocked:{approval_id}:{identity}",
        )
        raise SeparationOfDutiesViolation(f"approval {approval_id}: {why}")

    status = "granted" if grant else "denied"
    # Claim first (one conditional write: one answer wins), then answer the workflow.
    decided = deps.state.decide(approval_id, status, identity, reason)
    try:
        if grant:
            answer = deps.callbacks.succeed(
                token,
                json.dumps(
                    {"decision": status, "decided_by": identity, "reason": reason, "approval_id": approval_id}
                ),
            )
        else:
            answer = deps.callbacks.fail(token, ApprovalDenied.__name__, f"denied by {identity}: {reason}")
    except Exception:
        deps.state.reopen(approval_id, status)  # the answer did not land: leave it to answer again
        raise
    if answer.gone is not None:
        _abandon(approval, status, identity, answer.gone, deps)
    deps.audit.append(
        stream=group_stream(approval.group),
        action=AuditAction.APPROVAL_GRANTED if grant else AuditAction.APPROVAL_DENIED,
        actor=identity,
        subject=approval.model_package_arn,
        evidence={"approval_id": approval_id, "reason": reason, "creator": creator, "tier": approval.tier},
        decision_id=f"approval.{status}:{approval_id}",
    )
    return decided


def is_approver(identity: str, approvers: list[str] | None) -> bool:
    """``identity`` is on the list (empty list: anyone is); a role entry covers its sessions."""
    return not approvers or any(same_identity(identity, approver) for approver in approvers)


def refusal_of(approval: PendingApproval, identity: str, creator: str, *, grant: bool) -> str | None:
    """Why ``identity`` may not give this answer (None: it may). Anyone on the list may deny; a grant
    needs a known identity that did not create the package."""
    if not identity or identity == UNKNOWN:
        return "the approver's identity is unknown" if grant else None
    if grant and creator not in {"", UNKNOWN} and same_identity(identity, creator):
        return "the approver created the package"
    if not is_approver(identity, approval.approvers):
        return f"{identity} is not an approver of tier {approval.tier}"
    if grant and creator in {"", UNKNOWN}:
        return "the package's creator is unknown"
    return None


def _abandon(
    approval: PendingApproval, answer: str, identity: str, code: str, deps: ApprovalRecords
) -> NoReturn:
    """The execution that asked for ``approval`` no longer waits (stopped, timed out, or failed
    outside the approval's own timeout): record that nothing was resumed, and refuse the answer."""
    why = (
        f"the deployment that asked for it has ended (Step Functions: {code}); nothing was resumed. "
        "Approve the package in the registry again to start a new deployment"
    )
    deps.state.abandon(approval.approval_id, answer, why)
    deps.audit.append(
        stream=group_stream(approval.group),
        action=AuditAction.APPROVAL_ABANDONED,
        actor=identity,
        subject=approval.model_package_arn,
        evidence={
            "approval_id": approval.approval_id,
            "answer": answer,
            "why": why,
            "execution": approval.execution,
        },
        decision_id=f"approval.abandoned:{approval.approval_id}",
    )
    raise ApprovalNotPending(f"approval {approval.approval_id}: {why}")


def expires_in(approval: PendingApproval, now: datetime | None = None) -> timedelta:
    """Time left before the approval times out (negative once past)."""
    moment = now or mlcp_clock.now()
    return datetime.fromisoformat(approval.expires_at) - moment
