"""The approval side of governance: registration decisions, verifying an approval, waiting for a
human, rejecting, and a human's decision on a pending approval.

Every decision reads the registry first (an event is a hint, never proof) and writes its audit record.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NoReturn
from urllib.parse import quote

from mlcp import clock
from mlcp.accounts import account_stream
from mlcp.adapters.state import ControlPlaneState, PendingApproval
from mlcp.audit import AuditAction
from mlcp.errors import ApprovalDenied, ApprovalNotPending, SeparationOfDutiesViolation
from mlcp.gates.evaluate import same_identity
from mlcp.models.gates import Candidate
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.ports import UNKNOWN, Notifier, TaskCallbacks
from mlcp.records import record_class
from mlcp.usecases.gating import Gated, GatingDeps, approval_id_for, evaluate_candidate
from mlcp.usecases.stage_promotion import OpenIncidents, stage_decision, stage_evidence

if TYPE_CHECKING:
    from mlcp.events import ModelPackageStateChangeEvent

Outcome = Literal["proceed", "needs_human", "reject", "ignore", "refused"]


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class ApprovalDeps:
    gating: GatingDeps
    state: ControlPlaneState
    #: Answers the workflow's parked approval token.
    callbacks: TaskCallbacks
    notifier: Notifier | None = None
    #: Where approvers answer in the console (the approval-decision state machine), for the notification.
    decision_state_machine_arn: str | None = None


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


def package_summary(candidate: Candidate, last_modified_time: str) -> dict[str, Any]:
    """The package as the workflow carries it between states."""
    return {
        "arn": candidate.arn,
        "group": candidate.group,
        "version": candidate.version,
        "approval_status": candidate.approval_status,
        "created_by": candidate.created_by,
        "last_modified_by": candidate.last_modified_by,
        "last_modified_time": last_modified_time,
    }


def _stream(group: str) -> str:
    return f"group#{group}"


# ---------------------------------------------------------------------------- registration


def handle_package_status(event: ModelPackageStateChangeEvent, deps: ApprovalDeps) -> dict[str, Any]:
    """A package registered (PendingManualApproval) or rejected: act on what the registry says now."""
    candidate, modified = deps.gating.registry.candidate(event.model_package_arn)
    status = candidate.approval_status
    if status == "Rejected":
        return record_rejection(candidate, modified, event_id=event.id, deps=deps)
    if status != "PendingManualApproval":
        deps.gating.audit.append(
            stream=_stream(candidate.group),
            action=AuditAction.EVENT_IGNORED,
            actor="mlcp",
            subject=candidate.arn,
            evidence={
                "reason": f"the registry says {status}, not PendingManualApproval",
                "event_status": event.approval_status,
            },
            decision_id=f"event.ignored:{candidate.arn}:{status}:{modified}",
            event_id=event.id,
        )
        return {"outcome": "ignore", "status": status}
    deps.state.record_status(candidate.arn, status, modified)
    return evaluate_registration(candidate, modified, event_id=event.id, deps=deps)


def evaluate_registration(
    candidate: Candidate, modified: str, *, event_id: str | None, deps: ApprovalDeps
) -> dict[str, Any]:
    """Gates for a new package: auto-approve, reject, or leave pending and ask approvers."""
    gated = evaluate_candidate(candidate, modified, approver=None, event_id=event_id, deps=deps.gating)
    registry = deps.gating.registry
    if gated.decision == "approve":
        registry.set_status(
            candidate.arn,
            "Approved",
            f"mlcp: auto-approved, every gate of tier {gated.tier_name} passed; report {gated.report_uri}",
        )
        metrics.add_metric(name="PackagesAutoApproved", unit=MetricUnit.Count, value=1)
        return {"outcome": "approve", "report_uri": gated.report_uri}
    if gated.decision == "reject":
        reject_package(
            package_summary(candidate, modified),
            gated.reasons,
            decided_by="mlcp",
            report_uri=gated.report_uri,
            event_id=event_id,
            deps=deps,
        )
        return {"outcome": "reject", "reasons": gated.reasons, "report_uri": gated.report_uri}
    _ask_approvers(gated, event_id=event_id, deps=deps)
    return {"outcome": "needs_human", "reasons": gated.reasons, "report_uri": gated.report_uri}


def record_rejection(
    candidate: Candidate, modified: str, *, event_id: str | None, deps: ApprovalDeps
) -> dict[str, Any]:
    """A package is Rejected in the registry (by mlcp or by a person): remember and audit it once."""
    deps.state.record_status(candidate.arn, "Rejected", modified)
    deps.gating.audit.append(
        stream=_stream(candidate.group),
        action=AuditAction.PACKAGE_REJECTED,
        actor=candidate.last_modified_by,
        subject=candidate.arn,
        evidence={"approval_description": candidate.approval_description, "version": candidate.version},
        decision_id=f"package.rejected:{candidate.arn}:{modified}",
        event_id=event_id,
    )
    return {"outcome": "rejected"}


def _ask_approvers(gated: Gated, *, event_id: str | None, deps: ApprovalDeps) -> None:
    """A registered package waits for a person in the Model Registry: tell approvers why."""
    candidate = gated.candidate
    _announce_approval_request(
        f"mlcp: {candidate.group} v{candidate.version} needs an approver",
        {
            "model_package_arn": candidate.arn,
            "group": candidate.group,
            "version": candidate.version,
            "tier": gated.tier_name,
            "reasons": gated.reasons,
            "report_uri": gated.report_uri,
            "approval_id": None,
            "how": "approve in the SageMaker Model Registry",
        },
        decision_id=f"approval.requested:{candidate.arn}:{gated.last_modified_time}:registry",
        event_id=event_id,
        deps=deps,
    )


def _announce_approval_request(
    subject: str, message: dict[str, Any], *, decision_id: str, event_id: str | None, deps: ApprovalDeps
) -> None:
    """Notify approvers (SNS) and record ``approval.requested`` with what they were told."""
    if deps.notifier is not None:
        deps.notifier.notify(subject, {"kind": "approval", **message})
    deps.gating.audit.append(
        stream=_stream(str(message["group"])),
        action=AuditAction.APPROVAL_REQUESTED,
        actor="mlcp",
        subject=str(message["model_package_arn"]),
        evidence=message,
        decision_id=decision_id,
        event_id=event_id,
    )


# ---------------------------------------------------------------------------- approval flow


def verify_approval(
    event: ModelPackageStateChangeEvent,
    *,
    execution: str,
    deps: ApprovalDeps,
    stage: str | None = None,
    open_incidents: OpenIncidents | None = None,
    home_account: str | None = None,
) -> dict[str, Any]:
    """Decide what the deployment workflow does with an "Approved" event.

    ``ignore`` unless the registry says Approved and this is a real transition owned by this
    execution; otherwise the gates run again (approval cannot bypass a hard gate) with the registry's
    last modifier as the approver (separation of duties): ``reject`` on a hard failure, ``needs_human``
    when the tier wants a human or a soft gate failed, else ``proceed``. ``refused`` (audited here):
    the deployment cannot run in its account (a member account, ADR 35: no shadow test, no canary
    analysis there yet), or a promotion is refused.

    ``stage`` (a promotion, ADR 27/35: the workflow started with ``{"promotion": {"stage": ...}}``)
    deploys the approved package to that stage of its group's promotion path under the stage's tier,
    once per (package, stage). It is decided here and audited (``promotion.allowed`` /
    ``promotion.refused`` in ``group#<group>``): refused while the previous stage's record does not
    allow it, or when the stage's tier's gates fail — never a rejection of the package, which may
    still serve in the previous stage; a refused promotion may be asked again.
    """
    candidate, modified = deps.gating.registry.candidate(event.model_package_arn)
    verdict: dict[str, Any] = {
        "package": package_summary(candidate, modified),
        "reasons": [],
        "tier": None,
        "endpoint": None,
        # Where the deployment acts (ADR 26/27): the envelope's account, or the stage's.
        "account": event.account,
        "stage": None,
        # The stage this execution promotes to (started as a promotion), else None: a refusal after
        # the next waits (a denial, a timeout, the re-check) then leaves the package as it is.
        "promotion": stage,
        "report_uri": None,
        "approval_id": approval_id_for(candidate.arn, modified, stage, execution if stage else None),
        "approval_timeout_seconds": 3600,
        "deployment": None,
        # The named approver's answer, when the tier asks for one (RequestHumanApproval sets it).
        "human": None,
        "approvers": [],
    }
    if candidate.approval_status != "Approved":
        reason = f"the event says {event.approval_status}; the registry says {candidate.approval_status}"
        return {**verdict, "outcome": "ignore", "reasons": [reason]}
    facts: dict[str, Any] = {}
    if stage is not None:
        # Decided before the claim: a refused promotion may be asked again once the stage allows it.
        if open_incidents is None:
            raise ValueError("a promotion is decided with the incidents open on the previous stage")
        rule = deps.gating.policies.get(force_fetch=True).rule_for(candidate.group)
        now = deps.gating.clock()
        if rule is None:
            return _refuse_promotion(
                verdict, stage, [f"no policy group matches {candidate.group!r}"], execution, deps, facts
            )
        why, record = stage_decision(
            rule,
            stage,
            package_arn=candidate.arn,
            version=candidate.version,
            audit=deps.gating.audit,
            open_incidents=open_incidents,
            home_account=home_account,
            now=now,
        )
        facts = stage_evidence(rule, stage, record, now=now)
        if why is not None:
            return _refuse_promotion(verdict, stage, [why], execution, deps, facts)
    claimed = (
        deps.state.claim_approval_transition(candidate.arn, modified, execution)
        if stage is None
        else deps.state.claim_stage_promotion(candidate.arn, stage, execution)
    )
    if not claimed:
        reason = (
            "not a new approval: a metadata update of an approved package, or a redelivered event"
            if stage is None
            else f"already promoted to {stage} (or being promoted) by another execution"
        )
        return {**verdict, "outcome": "ignore", "reasons": [reason]}

    gated = evaluate_candidate(
        candidate,
        modified,
        approver=candidate.last_modified_by,
        event_id=event.id,
        deps=deps.gating,
        phase=f"promotion:{stage}" if stage else None,
        stage=stage,
    )
    outcome: Outcome
    if gated.tier is None or gated.report is None or gated.report.hard_failures:
        outcome = "reject"
    elif gated.tier.human_approval or gated.report.failures:
        outcome = "needs_human"
    else:
        outcome = "proceed"
    decided = {
        **verdict,
        "outcome": outcome,
        "reasons": gated.reasons,
        "tier": gated.tier_name,
        "endpoint": gated.stage.endpoint if gated.stage else gated.rule.endpoint if gated.rule else None,
        "account": gated.stage.account if gated.stage else event.account,
        "stage": gated.stage.stage if gated.stage else None,
        "report_uri": gated.report_uri,
        "approval_timeout_seconds": (gated.tier.approval_timeout_hours * 3600) if gated.tier else 3600,
        "deployment": gated.tier.deployment.model_dump(mode="json") if gated.tier else None,
        "approvers": list(gated.tier.approvers or []) if gated.tier else [],
    }
    unsupported = member_unsupported(decided, home_account)
    if stage is not None and (unsupported or outcome == "reject"):
        # The package may serve in the previous stage: the promotion is refused, the package kept.
        deps.state.release_stage_promotion(candidate.arn, stage, execution)
        reasons = unsupported or [f"{stage}'s gates (tier {gated.tier_name}): {r}" for r in gated.reasons]
        return _refuse_promotion(decided, stage, reasons, execution, deps, facts)
    if unsupported:
        return _refuse_in_member(
            decided, unsupported, execution, home_account=home_account, event_id=event.id, deps=deps
        )
    if stage is not None:
        deps.gating.audit.append(
            stream=_stream(candidate.group),
            action=AuditAction.PROMOTION_ALLOWED,
            actor="mlcp",
            subject=candidate.arn,
            evidence={
                "stage": stage,
                "version": candidate.version,
                "account": decided["account"],
                "endpoint": decided["endpoint"],
                "tier": gated.tier_name,
                "next": outcome,
                "execution": execution,
                **facts,
            },
            decision_id=f"promotion.allowed:{candidate.arn}:{stage}:{execution}",
            event_id=event.id,
        )
    metrics.add_metric(name=f"Approvals{outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    return decided


def member_unsupported(verdict: dict[str, Any], home_account: str | None) -> list[str]:
    """Why the verdict's deployment cannot run in its account: in a member account (ADR 35) the
    shadow test and the canary analysis are not supported yet (a member's tier deploys with
    SageMaker's guardrails). Decided before anything is deployed; empty: it can."""
    account = verdict.get("account")
    settings = verdict.get("deployment") or {}
    if home_account is None or not account or account == home_account:
        return []
    where = f"member account {account} ({verdict.get('endpoint')})"
    return [
        f"{what} ({key} in tier {verdict.get('tier')}) is not supported in {where} yet: "
        "a member's tier deploys with SageMaker's guardrails"
        for key, what in (
            ("deployment.shadow", "the shadow test"),
            ("deployment.analysis", "the canary analysis"),
        )
        if settings.get(key.split(".", 1)[1])
    ]


def _refuse_promotion(
    verdict: dict[str, Any],
    stage: str,
    reasons: list[str],
    execution: str,
    deps: ApprovalDeps,
    facts: dict[str, Any],
) -> dict[str, Any]:
    """Audit ``promotion.refused`` (once per execution) and end the execution without an effect."""
    package = verdict["package"]
    deps.gating.audit.append(
        stream=_stream(package["group"]),
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


def _refuse_in_member(
    verdict: dict[str, Any],
    reasons: list[str],
    execution: str,
    *,
    home_account: str | None,
    event_id: str | None,
    deps: ApprovalDeps,
) -> dict[str, Any]:
    """An approval whose deployment its member account cannot run: ``deployment.refused`` on the
    endpoint's stream (keyed with the account), nothing deployed, the package left as it is."""
    package, account, endpoint = verdict["package"], verdict["account"], verdict["endpoint"]
    deps.gating.audit.append(
        stream=account_stream(f"endpoint#{endpoint}", account, home_account),
        action=AuditAction.DEPLOYMENT_REFUSED,
        actor="mlcp",
        subject=package["arn"],
        evidence={"reasons": reasons, "rejects_package": False, "execution": execution, "account": account},
        decision_id=f"deployment.refused:{package['arn']}:{execution}",
        event_id=event_id,
    )
    metrics.add_metric(name="DeploymentsRefused", unit=MetricUnit.Count, value=1)
    return {**verdict, "outcome": "refused", "reasons": reasons}


def request_human_approval(request: dict[str, Any], *, deps: ApprovalDeps) -> dict[str, Any]:
    """Park the workflow's task token as a pending approval and tell approvers how to answer."""
    package = request["package"]
    now = deps.gating.clock()
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
    _announce_approval_request(
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
    deps: ApprovalDeps,
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
        refused = _refuse_promotion(
            verdict, promotion, reasons, execution or "", deps, {"decided_by": decided_by}
        )
        return {"refused": arn, "stage": promotion, "reasons": refused["reasons"]}
    registry = deps.gating.registry
    description = "mlcp: rejected: " + "; ".join(reasons) + (f" (report {report_uri})" if report_uri else "")
    registry.set_status(arn, "Rejected", description)
    candidate, modified = deps.gating.registry.candidate(arn)
    deps.state.record_status(arn, "Rejected", modified)
    deps.gating.audit.append(
        stream=_stream(package["group"]),
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
    deps: ApprovalDeps,
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
    candidate, _ = deps.gating.registry.candidate(approval.model_package_arn)
    creator = candidate.created_by or approval.created_by
    why = refusal_of(approval, identity, creator, grant=grant)
    if why is not None:
        deps.gating.audit.append(
            stream=_stream(approval.group),
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
    deps.gating.audit.append(
        stream=_stream(approval.group),
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
    approval: PendingApproval, answer: str, identity: str, code: str, deps: ApprovalDeps
) -> NoReturn:
    """The execution that asked for ``approval`` no longer waits (stopped, timed out, or failed
    outside the approval's own timeout): record that nothing was resumed, and refuse the answer."""
    why = (
        f"the deployment that asked for it has ended (Step Functions: {code}); nothing was resumed. "
        "Approve the package in the registry again to start a new deployment"
    )
    deps.state.abandon(approval.approval_id, answer, why)
    deps.gating.audit.append(
        stream=_stream(approval.group),
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
    moment = now or clock.now()
    return datetime.fromisoformat(approval.expires_at) - moment
