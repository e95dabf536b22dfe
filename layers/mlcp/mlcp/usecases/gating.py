"""Evaluate the gates for a model package, as the registry describes it now, and keep the evidence:
the gate report goes to S3 and a ``gates.evaluated`` record to the audit trail.

Shared by the registration flow (no approver yet) and the approval flow (the approver is whoever
last modified the package)."""

from __future__ import annotations

import hashlib

from mlcp import clock as mlcp_clock
from mlcp.audit import AuditAction
from mlcp.gates.evaluate import evaluate_gates, report_document
from mlcp.gates.evidence import collect_evidence, replay_inputs
from mlcp.models.gates import Candidate, GateReport
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.policy import GroupRule, Tier
from mlcp.policy.model import PromotionStage
from mlcp.ports import AuditLog, Clock, EvidenceSource, ModelRegistry, PolicySource, ReportStore
from mlcp.records import record_class


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class GatingDeps:
    """What a gate evaluation reads and writes."""

    registry: ModelRegistry
    policies: PolicySource
    reports: ReportStore
    audit: AuditLog
    evidence: EvidenceSource
    clock: Clock = mlcp_clock.current


@record_class
class Gated:
    """A candidate with the rule and tier that govern it and its gate report (None: no policy covers it)."""

    candidate: Candidate
    last_modified_time: str
    rule: GroupRule | None
    tier_name: str | None
    tier: Tier | None
    report: GateReport | None
    report_uri: str | None
    #: The promotion stage deployed to (ADR 27): its account, endpoint and tier; None: the group's.
    stage: PromotionStage | None = None

    @property
    def decision(self) -> str:
        return self.report.decision if self.report is not None else "needs_human"

    @property
    def reasons(self) -> list[str]:
        if self.report is None:
            return [f"no policy group matches model package group {self.candidate.group!r}"]
        return self.report.reasons()


def approval_id_for(
    model_package_arn: str, last_modified_time: str, stage: str | None = None, execution: str | None = None
) -> str:
    """A stable id for the human approval of one approval of one package (short enough to type).

    A promotion to ``stage`` (ADR 27) deploys the same registry approval again: its human approval
    is its own (ADR 36), never the previous stage's already decided one; and each promotion request
    (``execution``) its own too: a promotion denied or timed out may be asked again (ADR 35), and a
    decided approval is never stored again."""
    key = (
        f"{model_package_arn}@{last_modified_time}"
        + (f"#{stage}" if stage else "")
        + (f"!{execution}" if execution else "")
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def evaluate_candidate(
    candidate: Candidate,
    last_modified_time: str,
    *,
    approver: str | None,
    event_id: str | None,
    deps: GatingDeps,
    phase: str | None = None,
    fresh_policy: bool = False,
    stage: str | None = None,
) -> Gated:
    """Run every gate of the candidate's tier; write the report and ``gates.evaluated`` (once per
    package version, modification and ``phase``, whatever the number of deliveries).

    ``phase`` defaults to ``approval`` (an approver is given) or ``registration``; the re-check before
    a deployment names its own (``deployment:<execution>``). ``fresh_policy`` reads the policy from
    its store, not from the function's cache (a freeze published a moment ago counts).

    A group with a promotion path (ADR 27) is gated under the tier of the stage it deploys to:
    ``stage`` names it, else its first stage; a stage its rule does not have governs nothing."""
    policy = deps.policies.get(force_fetch=fresh_policy)
    matched = policy.tier_for(candidate.group)
    stream = f"group#{candidate.group}"
    phase = phase or ("approval" if approver else "registration")
    decision_id = f"gates.evaluated:{candidate.arn}:{last_modified_time}:{phase}"
    if matched is None:
        deps.audit.append(
            stream=stream,
            action=AuditAction.GATES_EVALUATED,
            actor="mlcp",
            subject=candidate.arn,
            evidence={
                "decision": "needs_human",
                "reason": "no policy group matches",
                "group": candidate.group,
            },
            decision_id=decision_id,
            event_id=event_id,
        )
        return Gated(candidate, last_modified_time, None, None, None, None, None)

    rule, tier = matched
    target = (rule.stage(stage) if stage else rule.promotion[0]) if rule.promotion else None
    if stage and target is None:
        return Gated(candidate, last_modified_time, rule, None, None, None, None)
    tier_name = target.tier if target is not None else rule.tier
    tier = policy.tiers[tier_name]
    now = deps.clock()
    evidence = collect_evidence(candidate, rule, now=now, approver=approver, tier=tier, source=deps.evidence)
    inputs = replay_inputs(candidate, evidence, tier)  # for mlcp policy dry-run
    report = evaluate_gates(policy, rule, tier_name, tier, candidate, evidence)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    document = report_document(report)
    document["inputs"] = inputs
    stored = deps.reports.write(
        f"{candidate.group}/{candidate.version}/{stamp}-{phase.split(':', 1)[0]}.json", document
    )
    deps.audit.append(
        stream=stream,
        action=AuditAction.GATES_EVALUATED,
        actor="mlcp",
        subject=candidate.arn,
        evidence={
            "decision": report.decision,
            "tier": tier_name,
            "stage": target.stage if target is not None else None,
            "report_uri": stored.uri,
            "report_sha256": stored.sha256,
            "approver": approver,
            "phase": phase.split(":", 1)[0],
            "results": [
                {"gate": r.gate, "outcome": r.outcome.value, "hard": r.hard, "reason": r.reason}
                for r in report.results
            ],
        },
        decision_id=decision_id,
        event_id=event_id,
    )
    metrics.add_metric(name="GateEvaluations", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="GateFailures", unit=MetricUnit.Count, value=len(report.failures))
    logger.info(
        "gates evaluated",
        extra={"model_package_arn": candidate.arn, "decision": report.decision, "failures": report.reasons()},
    )
    return Gated(candidate, last_modified_time, rule, tier_name, tier, report, stored.uri, target)
