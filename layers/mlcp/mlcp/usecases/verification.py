"""Verifying an approval: is this "Approved" event a real, new approval that passes the gates, and
may it deploy where it asks (a promotion to a stage, ADR 27/35; a member account, ADR 26)? Every
decision reads the registry first (an event is a hint, never proof) and writes its audit record.
A module of its own: registration (:mod:`mlcp.usecases.approval`) never promotes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from mlcp.accounts import account_stream
from mlcp.audit import AuditAction
from mlcp.observability import MetricUnit, metrics
from mlcp.usecases.approval import ApprovalDeps, package_summary
from mlcp.usecases.approval_records import group_stream, refuse_promotion
from mlcp.usecases.gating import approval_id_for, evaluate_candidate
from mlcp.usecases.stage_promotion import OpenIncidents, stage_decision, stage_evidence

if TYPE_CHECKING:
    from mlcp.events import ModelPackageStateChangeEvent

Outcome = Literal["proceed", "needs_human", "reject", "ignore", "refused"]


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
            return refuse_promotion(
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
            return refuse_promotion(verdict, stage, [why], execution, deps, facts)
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
        return refuse_promotion(decided, stage, reasons, execution, deps, facts)
    if unsupported:
        return _refuse_in_member(
            decided, unsupported, execution, home_account=home_account, event_id=event.id, deps=deps
        )
    if stage is not None:
        deps.gating.audit.append(
            stream=group_stream(candidate.group),
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
