"""The approval side of governance that decides with the gates and the policy: a registered
package's decision (``ApprovalDeps`` serves the verification too, :mod:`mlcp.usecases.verification`).
Waiting for a human, rejecting and a human's decision on a pending approval are in
:mod:`mlcp.usecases.approval_records` (no gates, no policy).

Every decision reads the registry first (an event is a hint, never proof) and writes its audit record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlcp.adapters.state import ControlPlaneState
from mlcp.audit import AuditAction
from mlcp.models.gates import Candidate
from mlcp.observability import MetricUnit, metrics
from mlcp.ports import AuditLog, Clock, ModelRegistry, Notifier, TaskCallbacks
from mlcp.records import record_class
from mlcp.usecases.approval_records import (
    announce_approval_request,
    group_stream,
    reject_package,
)
from mlcp.usecases.gating import Gated, GatingDeps, evaluate_candidate

if TYPE_CHECKING:
    from mlcp.events import ModelPackageStateChangeEvent


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class ApprovalDeps:
    gating: GatingDeps
    state: ControlPlaneState
    #: Answers the workflow's parked approval token.
    callbacks: TaskCallbacks
    notifier: Notifier | None = None
    #: Where approvers answer in the console (the approval-decision state machine), for the notification.
    decision_state_machine_arn: str | None = None

    # What an approval's records and answers use (``approval_records.ApprovalRecords``): the gating's.
    @property
    def registry(self) -> ModelRegistry:
        return self.gating.registry

    @property
    def audit(self) -> AuditLog:
        return self.gating.audit

    @property
    def clock(self) -> Clock:
        return self.gating.clock


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


# ---------------------------------------------------------------------------- registration


def handle_package_status(event: ModelPackageStateChangeEvent, deps: ApprovalDeps) -> dict[str, Any]:
    """A package registered (PendingManualApproval) or rejected: act on what the registry says now."""
    candidate, modified = deps.gating.registry.candidate(event.model_package_arn)
    status = candidate.approval_status
    if status == "Rejected":
        return record_rejection(candidate, modified, event_id=event.id, deps=deps)
    if status != "PendingManualApproval":
        deps.gating.audit.append(
            stream=group_stream(candidate.group),
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
        stream=group_stream(candidate.group),
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
    announce_approval_request(
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
