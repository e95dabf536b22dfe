"""How the control plane reacts when production degrades: violations, alarms and failures open
(one) incident per resource and cause, alarms back to OK resolve theirs, and the policy decides
when to retrain, behind the retraining guards (:mod:`mlcp.usecases.retraining_reactions`, which
also retrains on new data and on a schedule).

Every decision reads what it can from the API (the monitoring job, its violations report in S3)
and is audited: ``incident.*`` by the incident use cases, ``retraining.started|suppressed|
succeeded|failed`` here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlcp.audit import AuditAction
from mlcp.monitoring import (
    classify_constraint_violations,
    monitoring_job_facts,
    violations_from_report,
)
from mlcp.observability import logger
from mlcp.policy import MonitoringPolicy
from mlcp.retraining import RetrainingTrigger, streak_check
from mlcp.usecases.retraining_reactions import (
    ReactionDeps,
    endpoint_key,
    is_member,
    member_stage,
    retrain_guarded,
)
from mlcp.violations import Violation, kinds_of, violating_features

if TYPE_CHECKING:
    from mlcp.events import (
        AlarmStateChangeEvent,
        ControlPlaneEvent,
        PipelineExecutionStatusChangeEvent,
        ProcessingJobStateChangeEvent,
    )


def _monitoring(
    deps: ReactionDeps,
    endpoint: str | None,
    pipeline: str | None = None,
    *,
    account: str | None = None,
) -> MonitoringPolicy:
    """The monitoring policy of the endpoint's group, or of the first group (in policy order) whose
    tier retrains with ``pipeline``; the defaults for unmanaged resources. A member account's
    endpoint is governed by the promotion stage naming (account, endpoint), under the stage's tier
    (never by a home endpoint of the same name)."""
    if (endpoint or pipeline) and is_member(account, deps):
        assert account is not None
        stage = member_stage(deps, account, endpoint=endpoint, pipeline=None if endpoint else pipeline)
        if stage is not None:
            return deps.policies.get().tiers[stage.tier].monitoring
        return MonitoringPolicy()
    if endpoint:
        found = deps.policies.get().monitoring_for_endpoint(endpoint)
        if found is not None:
            return found[1]
    if pipeline:
        policy = deps.policies.get()
        rules = policy.rules_for_pipeline(pipeline)
        if rules:
            return policy.tiers[rules[0].tier].monitoring
    return MonitoringPolicy()


def react(event: ControlPlaneEvent, deps: ReactionDeps) -> dict[str, Any]:
    """Dispatch one validated event to its reaction (most events need none)."""
    # Here, not at import: the debounce and schedule tasks use this module but never see an event.
    from mlcp.events import (
        AlarmStateChangeEvent,
        EndpointStateChangeEvent,
        ModelMonitoringReportEvent,
        PipelineExecutionStatusChangeEvent,
        ProcessingJobStateChangeEvent,
        TrainingJobStateChangeEvent,
    )

    match event:
        case ProcessingJobStateChangeEvent():
            return react_to_monitoring_job(event, deps)
        case ModelMonitoringReportEvent():
            violations = violations_from_report(event)
            checked = kinds_of(violations) or []
            return react_to_violations(
                event.endpoint_name, violations, checked, run_id=event.id, deps=deps, account=event.account
            )
        case AlarmStateChangeEvent():
            return react_to_alarm(event, deps)
        case EndpointStateChangeEvent() if event.is_failed:
            # A member's endpoint is its own resource and stream (endpoint/<account>:<name>), as the
            # deployment's incidents are: staging's incident is not prod's nor the home endpoint's.
            key = endpoint_key(event.endpoint_name, event.account, deps.home_account)
            return _failure(
                f"endpoint/{key}", "endpoint", key, event, deps, policy_endpoint=event.endpoint_name
            )
        case TrainingJobStateChangeEvent() if event.status == "Failed":
            return _failure(f"training-job/{event.training_job_name}", "training", None, event, deps)
        case PipelineExecutionStatusChangeEvent():
            return react_to_pipeline(event, deps)
    return {"reaction": "none"}


# ---------------------------------------------------------------------------- violations


def react_to_monitoring_job(event: ProcessingJobStateChangeEvent, deps: ReactionDeps) -> dict[str, Any]:
    """A Model Monitor run ended: re-read the job, then its constraint_violations.json."""
    if not event.is_monitoring_job or event.status not in {"Completed", "Stopped"}:
        return {"reaction": "none", "status": event.status}
    if is_member(event.account, deps):
        # The job and its violations report are in the member account; reading them here would read
        # the governance account's job of that name (the wrong account). The member's monitoring
        # schedule reports through a Model Monitoring Report event instead (ADR 36).
        why = (
            f"monitoring job of member account {event.account}: the control plane reads no member's "
            "processing jobs; its Model Monitoring Report event carries the violations"
        )
        logger.warning("member monitoring job not read", extra={"account": event.account, "why": why})
        return {"reaction": "none", "why": why}
    name = event.processing_job_arn.rsplit("/", 1)[-1]
    described = deps.monitoring_runs.processing_job(name)
    if described is None:
        # The event names a job SageMaker does not know: nothing to read, nothing to react to.
        logger.warning("unknown processing job", extra={"processing_job": name})
        return {"reaction": "none", "why": f"unknown processing job {name}"}
    facts = monitoring_job_facts(described)
    if facts.endpoint is None or facts.kind is None:
        return {"reaction": "none", "why": "not a monitoring job of a known endpoint"}
    document = deps.monitoring_runs.violations(facts.violations_uri) if facts.violations_uri else None
    violations = classify_constraint_violations(document, facts.monitoring_type or "") if document else []
    return react_to_violations(
        facts.endpoint, violations, [facts.kind], run_id=event.processing_job_arn, deps=deps
    )


def react_to_violations(
    endpoint: str,
    violations: Sequence[Violation],
    checked_kinds: Sequence[str],
    *,
    run_id: str,
    deps: ReactionDeps,
    account: str | None = None,
) -> dict[str, Any]:
    """One monitoring run's violations: incidents per the policy's rules (feature count and
    consecutive bad runs), then retraining if the policy says so. ``account``: the endpoint's (the
    event's envelope); a member's endpoint is keyed ``<account>:<name>`` (its incident, stream and
    streak)."""
    from mlcp.models.incidents import IncidentRequest
    from mlcp.usecases.incidents import open_incident

    monitoring = _monitoring(deps, endpoint, account=account)
    name = endpoint
    endpoint = endpoint_key(name, account, deps.home_account)
    opened: list[str] = []
    for kind in sorted(set(checked_kinds) | set(kinds_of(violations))):
        of_kind = [v for v in violations if v.kind == kind]
        checks = sorted({v.check_type for v in of_kind})
        rule = monitoring.incident_rule("violation", kind, *checks)
        if rule is None:
            continue
        features = violating_features(of_kind)
        bad = len(features) >= rule.min_violating_features
        streak = deps.retraining.streak(
            endpoint, streak_check(kind, rule.min_violating_features), bad, run_id=run_id
        )
        if bad and streak >= rule.consecutive_runs:
            open_incident(
                IncidentRequest(
                    resource=f"endpoint/{endpoint}",
                    cause=f"violation:{kind}",
                    severity=rule.severity,
                    title=f"{endpoint}: {kind.replace('_', ' ')} violations on {len(features)} feature(s)",
                    description="; ".join(v.description or f"{v.feature}: {v.check_type}" for v in of_kind)[
                        :2000
                    ],
                    operational_data={
                        "endpoint": endpoint,
                        "account": account or deps.home_account or "-",
                        "kind": kind,
                        "features": ",".join(features),
                        "consecutive_runs": str(streak),
                        "run": run_id,
                    },
                    runbook_url=rule.runbook_url,
                    stream=f"endpoint#{endpoint}",
                    event_id=run_id,
                    category="Performance",
                ),
                deps.incident_deps(),
            )
            opened.append(kind)
    retraining = monitoring.retraining
    result: dict[str, Any] = {"reaction": "violations", "incidents": opened}
    if retraining is not None and violations:
        trigger = RetrainingTrigger(
            kind="violations",
            reason=f"violations on {endpoint}",
            event_id=run_id,
            endpoint=endpoint,
            violations=tuple(violations),
            checked_kinds=tuple(checked_kinds),  # type: ignore[arg-type]
        )
        result["retraining"] = retrain_guarded(
            trigger, retraining, subject=f"endpoint/{endpoint}", deps=deps, account=account, endpoint=name
        )
    return result


# ---------------------------------------------------------------------------- alarms


def react_to_alarm(event: AlarmStateChangeEvent, deps: ReactionDeps) -> dict[str, Any]:
    """ALARM opens (or counts) the alarm's incident and may retrain; OK resolves it where allowed."""
    from mlcp.models.incidents import IncidentRequest
    from mlcp.usecases.incidents import open_incident, resolve_incident

    name = event.endpoint_name
    monitoring = _monitoring(deps, name, account=event.account)
    rule = monitoring.incident_rule("alarm", event.alarm_name)
    # Keyed with the alarm's account in a member (ADR 36): staging's recovery never resolves prod's.
    endpoint = endpoint_key(name, event.account, deps.home_account) if name else None
    alarm = endpoint_key(event.alarm_name, event.account, deps.home_account)
    resource = f"endpoint/{endpoint}" if endpoint else f"alarm/{alarm}"
    cause = f"alarm:{event.alarm_name}"
    stream = f"endpoint#{endpoint}" if endpoint else f"alarm#{alarm}"
    if event.is_alarm:
        result: dict[str, Any] = {"reaction": "alarm"}
        if rule is not None:
            outcome = open_incident(
                IncidentRequest(
                    resource=resource,
                    cause=cause,
                    severity=rule.severity,
                    title=f"{event.alarm_name} in ALARM" + (f" on {endpoint}" if endpoint else ""),
                    description=event.detail.state.reason or "",
                    operational_data={
                        "alarm": event.alarm_name,
                        "endpoint": endpoint or "-",
                        "account": event.account,
                    },
                    runbook_url=rule.runbook_url,
                    stream=stream,
                    event_id=event.id,
                ),
                deps.incident_deps(),
            )
            result["incident"] = outcome.incident_id
        retraining = monitoring.retraining
        if retraining is not None and retraining.triggers_on_alarm(event.alarm_name):
            trigger = RetrainingTrigger(
                kind="alarm",
                reason=f"{event.alarm_name} in ALARM",
                event_id=event.id,
                alarm_name=event.alarm_name,
            )
            result["retraining"] = retrain_guarded(
                trigger, retraining, subject=resource, deps=deps, account=event.account, endpoint=name
            )
        return result
    if event.is_recovery and rule is not None and rule.auto_resolve:
        resolved = resolve_incident(
            resource,
            cause,
            reason=f"{event.alarm_name} back to OK",
            resolved_by="mlcp",
            deps=deps.incident_deps(),
        )
        return {"reaction": "recovered", "resolved": resolved.incident_id if resolved else None}
    return {"reaction": "none", "state": event.state}


# ---------------------------------------------------------------------------- failures and pipelines


def _failure(
    resource: str,
    kind: str,
    endpoint: str | None,
    event: ControlPlaneEvent,
    deps: ReactionDeps,
    *,
    pipeline: str | None = None,
    policy_endpoint: str | None = None,
) -> dict[str, Any]:
    from mlcp.models.incidents import IncidentRequest
    from mlcp.usecases.incidents import open_incident

    rule = _monitoring(
        deps,
        policy_endpoint or endpoint,
        pipeline,
        account=event.account if policy_endpoint or pipeline else None,
    ).incident_rule("failure", kind)
    if rule is None:
        return {"reaction": "none"}
    outcome = open_incident(
        IncidentRequest(
            resource=resource,
            cause=f"{kind}.failed",
            severity=rule.severity,
            title=f"{resource} failed",
            description=json.dumps(event.detail.model_dump(mode="json", by_alias=True, exclude_none=True))[
                :2000
            ],
            operational_data={"resource": resource, "kind": kind},
            runbook_url=rule.runbook_url,
            stream=f"endpoint#{endpoint}" if endpoint else resource.replace("/", "#", 1),
            event_id=event.id,
        ),
        deps.incident_deps(),
    )
    return {"reaction": "failure", "incident": outcome.incident_id}


def react_to_pipeline(event: PipelineExecutionStatusChangeEvent, deps: ReactionDeps) -> dict[str, Any]:
    """A pipeline execution ended: close the retraining loop (release the lease, audit) and open an
    incident when it failed. A member's pipeline (the envelope's ``account``, never ``detail``) is
    keyed ``<account>:<pipeline>``: its lease, stream and incident (ADR 37)."""
    status = event.status
    name = event.pipeline_name or "unknown"
    if status not in {"Succeeded", "Failed", "Stopped"}:
        return {"reaction": "none", "status": status}
    pipeline = endpoint_key(name, event.account, deps.home_account)
    ours = deps.retraining.release(
        pipeline, deps.clock(), status == "Succeeded", execution_arn=event.pipeline_execution_arn
    )
    if ours:
        deps.audit.append(
            stream=f"pipeline#{pipeline}",
            action=AuditAction.RETRAINING_SUCCEEDED
            if status == "Succeeded"
            else AuditAction.RETRAINING_FAILED,
            actor="aws.sagemaker",
            subject=event.pipeline_execution_arn,
            evidence={"pipeline": name, "account": event.account, "status": status},
            decision_id=f"retraining.finished:{event.pipeline_execution_arn}",
            event_id=event.id,
        )
    if status == "Succeeded":
        return {"reaction": "pipeline", "ours": ours}
    # The failure rule of the tier that retrains with this pipeline (before: always the defaults).
    failed = _failure(f"pipeline/{pipeline}", "pipeline", None, event, deps, pipeline=name)
    return {"reaction": "pipeline", "ours": ours, **failed}
