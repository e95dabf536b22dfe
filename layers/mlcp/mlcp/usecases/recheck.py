"""Re-verify an approval at the moment it takes effect.

Between the gates that let an approval through and the deployment it starts lie waits of up to two
days: a named approver's answer, the endpoint's lease queue, a redrive. Whatever can change in that
time is read again just before the endpoint is touched: the package's status in the registry (a second
reviewer may have rejected it), and every gate with the policy, champion, artifact and clock of now
(a change freeze published meanwhile, a better champion serving now, an artifact replaced), with
separation of duties checked against whoever granted the approval.
"""

from __future__ import annotations

from typing import Any

from mlcp.observability import logger
from mlcp.usecases.approval import ApprovalDeps
from mlcp.usecases.approval_records import is_approver
from mlcp.usecases.deployment_start import Recheck, Refusal
from mlcp.usecases.gating import evaluate_candidate
from mlcp.usecases.stage_promotion import OpenIncidents, stage_decision


def recheck_approval(
    package: dict[str, Any],
    *,
    granted_by: str | None,
    execution: str,
    event_id: str | None,
    deps: ApprovalDeps,
    stage: str | None = None,
    open_incidents: OpenIncidents | None = None,
    home_account: str | None = None,
    promotion: str | None = None,
) -> Refusal | None:
    """None while the approval still holds; else why not, and whether the package must be rejected.

    ``granted_by`` is the named approver's identity (a human grant), else the registry's approver is.
    ``promotion`` (the execution promotes the package to that stage, ADR 35): a refusal never rejects
    the package (it may serve in the previous stage); :func:`free_refused_promotion` then frees it.
    """
    refusal = _recheck(
        package,
        granted_by=granted_by,
        execution=execution,
        event_id=event_id,
        deps=deps,
        stage=stage,
        open_incidents=open_incidents,
        home_account=home_account,
    )
    if refusal is None or not promotion:
        return refusal
    return Refusal(
        refusal.reasons,
        reject_package=False,
        report_uri=refusal.report_uri,
        evidence={**refusal.evidence, "promotion": promotion, "would_reject": refusal.reject_package},
    )


def _recheck(
    package: dict[str, Any],
    *,
    granted_by: str | None,
    execution: str,
    event_id: str | None,
    deps: ApprovalDeps,
    stage: str | None,
    open_incidents: OpenIncidents | None,
    home_account: str | None,
) -> Refusal | None:
    candidate, modified = deps.gating.registry.candidate(package["arn"])
    if candidate.approval_status != "Approved":
        reason = (
            f"the registry says {candidate.approval_status} now "
            f"(by {candidate.last_modified_by} at {modified}); it said Approved when the approval was verified"
        )
        return Refusal(
            [reason],
            reject_package=False,
            evidence={"approval_status": candidate.approval_status, "granted_by": granted_by},
        )
    approver = granted_by or candidate.last_modified_by
    gated = evaluate_candidate(
        candidate,
        modified,
        approver=approver,
        event_id=event_id,
        deps=deps.gating,
        phase=f"deployment:{execution}",
        fresh_policy=True,
        stage=stage,
    )
    if granted_by and gated.tier is not None and not is_approver(granted_by, gated.tier.approvers):
        reason = f"granted by {granted_by}, who is not an approver of tier {gated.tier_name} now"
        return Refusal(
            [reason], reject_package=False, report_uri=gated.report_uri, evidence={"granted_by": granted_by}
        )
    if stage and gated.rule is not None and gated.stage is not None and open_incidents is not None:
        # The previous stage may have failed, been rolled back or opened an incident since (ADR 27).
        why, _ = stage_decision(
            gated.rule,
            stage,
            package_arn=package["arn"],
            version=int(package["version"]),
            audit=deps.gating.audit,
            open_incidents=open_incidents,
            home_account=home_account,
            now=deps.gating.clock(),
        )
        if why is not None:
            return Refusal(
                [f"re-checked before deploying to {stage}: {why}"],
                reject_package=False,
                report_uri=gated.report_uri,
                evidence={"stage": stage},
            )
    if gated.tier is None or gated.report is None or gated.report.hard_failures:
        logger.info("approval no longer holds", extra={"reasons": gated.reasons})
        hard = (
            [f"{r.gate}: {r.reason}" for r in gated.report.hard_failures]
            if gated.report is not None
            else gated.reasons
        )
        return Refusal(
            [f"re-checked before deploying: {reason}" for reason in hard],
            reject_package=True,
            report_uri=gated.report_uri,
            evidence={"approval_status": "Approved", "granted_by": granted_by, "approver": approver},
        )
    return None


def approval_recheck(
    *,
    human: dict[str, Any] | None,
    execution: str,
    event_id: str | None,
    deps: ApprovalDeps,
    stage: str | None = None,
    open_incidents: OpenIncidents | None = None,
    home_account: str | None = None,
    promotion: str | None = None,
) -> Recheck:
    """The deployment task's re-check for this execution (``human``: the named approver's answer)."""
    granted_by = str(human["decided_by"]) if human and human.get("decided_by") else None

    def recheck(package: dict[str, Any]) -> Refusal | None:
        return recheck_approval(
            package,
            granted_by=granted_by,
            execution=execution,
            event_id=event_id,
            deps=deps,
            stage=stage,
            open_incidents=open_incidents,
            home_account=home_account,
            promotion=promotion,
        )

    return recheck


def free_refused_promotion(
    result: dict[str, Any],
    package: dict[str, Any],
    *,
    promotion: str | None,
    execution: str,
    deps: ApprovalDeps,
) -> None:
    """A promotion the deployment task refused (at the moment of effect, or because its member
    account cannot run it): free its (package, stage) claim so that it may be asked again (ADR 35)."""
    if promotion and result.get("mode") == "refused":
        deps.state.release_stage_promotion(str(package["arn"]), promotion, execution)
