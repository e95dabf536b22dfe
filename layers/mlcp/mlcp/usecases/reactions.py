"""How the control plane reacts when production degrades: violations, alarms and failures open
(one) incident per resource and cause, alarms back to OK resolve theirs, and the policy decides
when to retrain, behind the retraining guards (lease, cooldown, daily maximum, debounce).

Every decision reads what it can from the API (the monitoring job, its violations report in S3)
and is audited: ``incident.*`` by the incident use cases, ``retraining.started|suppressed|
succeeded|failed`` here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from mlcp import clock as mlcp_clock
from mlcp.audit import AuditAction
from mlcp.errors import PipelineStartFailed
from mlcp.monitoring import (
    Violation,
    classify_constraint_violations,
    kinds_of,
    monitoring_job_facts,
    violating_features,
    violations_from_report,
)
from mlcp.observability import logger
from mlcp.policy import MonitoringPolicy
from mlcp.ports import AuditLog, Clock, MonitoringRuns, PipelineStarter, PolicySource, RetrainingGuards
from mlcp.records import record_class
from mlcp.retraining import RetrainingTrigger, retrain, streak_check

if TYPE_CHECKING:
    from mlcp.events import (
        AlarmStateChangeEvent,
        ControlPlaneEvent,
        PipelineExecutionStatusChangeEvent,
        ProcessingJobStateChangeEvent,
    )
    from mlcp.usecases.incidents import IncidentDeps


class DebounceScheduler(Protocol):
    def __call__(self, *, pipeline: str, wait_seconds: int, window_id: str) -> None: ...


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class ReactionDeps:
    policies: PolicySource
    #: The incident use cases' adapters, or a factory of them called with the first incident: a data
    #: arrival or a training event never opens one, so its function does not build them at init.
    incidents: IncidentDeps | Callable[[], IncidentDeps]
    retraining: RetrainingGuards
    audit: AuditLog
    pipelines: PipelineStarter
    monitoring_runs: MonitoringRuns
    schedule_recheck: DebounceScheduler | None = None
    clock: Clock = mlcp_clock.current
    #: The control plane's own account: a member's endpoint is ``<account>:<name>`` (ADR 26).
    home_account: str | None = None
    #: The pipeline starter acting in a member account (its deployment role, ADR 37); None: this
    #: control plane starts no member's pipeline (a member's retraining is then refused).
    member_pipelines: Callable[[str], PipelineStarter] | None = None

    def incident_deps(self) -> IncidentDeps:
        """The incident adapters (built now if ``incidents`` is a factory, once)."""
        if callable(self.incidents):
            self.incidents = self.incidents()
        return self.incidents


def endpoint_key(endpoint: str, account: str | None, home: str | None) -> str:
    """An endpoint's key (incident resource, audit stream, streaks): its name at home,
    ``<account>:<name>`` in a member (ADR 26, 36), so staging's ``churn`` and prod's ``churn`` never
    share an incident, a streak or a resolution."""
    if account is None or home is None or account == home:
        return endpoint
    return f"{account}:{endpoint}"


def _is_member(account: str | None, deps: ReactionDeps) -> bool:
    return account is not None and deps.home_account is not None and account != deps.home_account


def _member_stage(
    deps: ReactionDeps, account: str, *, endpoint: str | None = None, pipeline: str | None = None
) -> Any:
    """The promotion stage in ``account`` naming ``endpoint`` (or retraining with ``pipeline``)."""
    for rule in deps.policies.get().groups:
        for stage in rule.promotion or []:
            if stage.account != account:
                continue
            if (endpoint is not None and stage.endpoint == endpoint) or (
                pipeline is not None and stage.pipeline == pipeline
            ):
                return stage
    return None


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
    if (endpoint or pipeline) and _is_member(account, deps):
        assert account is not None
        stage = _member_stage(deps, account, endpoint=endpoint, pipeline=None if endpoint else pipeline)
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
    if _is_member(event.account, deps):
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
        result["retraining"] = _retrain(
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
            result["retraining"] = _retrain(
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


# ---------------------------------------------------------------------------- retraining


def _retrain(
    trigger: RetrainingTrigger,
    policy: Any,
    *,
    subject: str,
    deps: ReactionDeps,
    account: str | None = None,
    endpoint: str | None = None,
) -> dict[str, Any]:
    """Decide and (maybe) start the pipeline; audit ``retraining.started`` or ``retraining.suppressed``
    (or ``retraining.failed`` when SageMaker refuses the start, e.g. the pipeline does not exist).

    A member account's endpoint retrains with its own pipeline (its promotion stage's ``pipeline``),
    started in that account through the member's role, its guards and stream keyed
    ``<account>:<pipeline>`` (ADR 37); without one the retraining is refused (audited), never the
    governance account's pipeline run for a member's model."""
    key = policy.pipeline
    pipelines = deps.pipelines
    if _is_member(account, deps):
        assert account is not None
        stage = _member_stage(deps, account, endpoint=endpoint) if endpoint else None
        member_pipeline = stage.pipeline if stage is not None else None
        why = None
        if member_pipeline is None:
            why = (
                f"member account {account} has no retraining pipeline for "
                f"{endpoint or trigger.alarm_name} (the promotion stage names none); the governance "
                f"account's {policy.pipeline} is never run for a member's model"
            )
        elif deps.member_pipelines is None:
            why = f"this control plane starts no pipeline in member account {account}"
        if why is not None:
            stream_key = endpoint_key(member_pipeline or policy.pipeline, account, deps.home_account)
            deps.audit.append(
                stream=f"pipeline#{stream_key}",
                action=AuditAction.RETRAINING_SUPPRESSED,
                actor="mlcp",
                subject=subject,
                evidence={"trigger": trigger.kind, "account": account, "refused": True, "reason": why},
                decision_id=f"retraining.refused:{stream_key}:{trigger.kind}:{trigger.event_id}",
                event_id=trigger.event_id,
            )
            logger.warning("member retraining refused", extra={"account": account, "why": why})
            return {"started": False, "refused": True, "reason": why}
        assert member_pipeline is not None
        policy = policy.model_copy(update={"pipeline": member_pipeline})
        key = endpoint_key(member_pipeline, account, deps.home_account)
        assert deps.member_pipelines is not None
        pipelines = deps.member_pipelines(account)
    try:
        outcome = retrain(trigger, policy, deps.retraining, pipelines, deps.clock(), key=key)
    except PipelineStartFailed as exc:
        if exc.code not in {"ValidationException", "ResourceNotFound"}:
            raise  # throttling, 5xx: let the delivery retry
        deps.audit.append(
            stream=f"pipeline#{key}",
            action=AuditAction.RETRAINING_FAILED,
            actor="mlcp",
            subject=f"pipeline/{key}",
            evidence={"trigger": trigger.kind, "error": str(exc)},
            decision_id=f"retraining.failed:{key}:{trigger.kind}:{trigger.event_id}",
            event_id=trigger.event_id,
        )
        return {"started": False, "error": str(exc)}
    decision = outcome.decision
    started = outcome.execution_arn is not None
    if outcome.execution_arn is not None:
        _audit_started(key, trigger, decision, outcome.execution_arn, deps)
    else:
        deps.audit.append(
            stream=f"pipeline#{key}",
            action=AuditAction.RETRAINING_SUPPRESSED,
            actor="mlcp",
            subject=subject,
            evidence={"trigger": trigger.kind, "reason": decision.reason},
            decision_id=f"retraining.suppressed:{key}:{trigger.kind}:{trigger.event_id}",
            event_id=trigger.event_id,
        )
    logger.info(
        "retraining decided",
        extra={"pipeline": key, "started": started, "reason": decision.reason},
    )
    return {"started": started, "reason": decision.reason, "execution": outcome.execution_arn}


def react_to_data(s3_uri: str, size: int, *, event_id: str, deps: ReactionDeps) -> list[dict[str, Any]]:
    """New training data: count it in each covering pipeline's debounce window; retrain once the
    window holds enough and the quiet period passed, else schedule a re-check after the quiet period."""
    results: list[dict[str, Any]] = []
    for _rule, retraining in deps.policies.get().retraining_for_object(s3_uri):
        key = s3_uri.removeprefix("s3://")
        window = deps.retraining.accumulate_data(retraining.pipeline, size, key, event_id)
        results.append(
            recheck_data(retraining.pipeline, deps=deps, window_id=_window_id(window), event_id=event_id)
        )
    return results


def _window_id(window: Any) -> str:
    return (window.first_at.isoformat() if window.first_at else "empty").replace(":", "").replace("+", "")


def recheck_data(
    pipeline: str, *, deps: ReactionDeps, window_id: str, event_id: str | None = None
) -> dict[str, Any]:
    """Decide on a pipeline's data window now (at arrival, or when a scheduled re-check fires)."""
    policies = deps.policies.get()
    retraining = next(
        (
            p.monitoring.retraining
            for p in policies.tiers.values()
            if p.monitoring.retraining and p.monitoring.retraining.pipeline == pipeline
        ),
        None,
    )
    if retraining is None or retraining.data is None:
        return {"pipeline": pipeline, "started": False, "reason": "no data trigger"}
    window = deps.retraining.data_window(pipeline)
    if window.objects == 0:
        return {"pipeline": pipeline, "started": False, "reason": "nothing new", "wait_seconds": 0}
    trigger = RetrainingTrigger(
        kind="data", reason="new training data", event_id=event_id or f"window-{window_id}"
    )
    outcome = retrain(trigger, retraining, deps.retraining, deps.pipelines, deps.clock())
    decision = outcome.decision
    if outcome.execution_arn is not None:
        _audit_started(pipeline, trigger, decision, outcome.execution_arn, deps)
        return {"pipeline": pipeline, "started": True, "execution": outcome.execution_arn, "wait_seconds": 0}
    waiting = decision.reason.startswith("waiting for the quiet period")
    if waiting and deps.schedule_recheck is not None:
        deps.schedule_recheck(
            pipeline=pipeline, wait_seconds=retraining.data.quiet_period_seconds, window_id=_window_id(window)
        )
    elif not decision.reason.startswith("waiting for data"):
        deps.audit.append(
            stream=f"pipeline#{pipeline}",
            action=AuditAction.RETRAINING_SUPPRESSED,
            actor="mlcp",
            subject=f"pipeline/{pipeline}",
            evidence={
                "trigger": "data",
                "reason": decision.reason,
                "objects": window.objects,
                "bytes": window.bytes,
            },
            decision_id=f"retraining.suppressed:{pipeline}:data:{_window_id(window)}",
            event_id=event_id,
        )
    wait = retraining.data.quiet_period_seconds if waiting else 0
    return {"pipeline": pipeline, "started": False, "reason": decision.reason, "wait_seconds": wait}


def _audit_started(
    pipeline: str, trigger: RetrainingTrigger, decision: Any, execution_arn: str, deps: ReactionDeps
) -> None:
    """``retraining.started``, once per ClientRequestToken (the run's identity)."""
    deps.audit.append(
        stream=f"pipeline#{pipeline}",
        action=AuditAction.RETRAINING_STARTED,
        actor="mlcp",
        subject=execution_arn,
        evidence={
            "trigger": trigger.kind,
            "reason": decision.reason,
            "parameters": decision.parameters,
            "client_request_token": decision.client_request_token,
        },
        decision_id=f"retraining.started:{pipeline}:{decision.client_request_token}",
        event_id=trigger.event_id,
    )


def scheduled_retraining(*, deps: ReactionDeps, event_id: str) -> list[dict[str, Any]]:
    """The hourly tick: retrain each pipeline whose policy asks for it every N hours. The period
    number is the trigger's identity, so ticks within one period start (at most) one run; the
    cooldown and daily maximum still apply."""
    results: list[dict[str, Any]] = []
    now = deps.clock()
    seen: set[str] = set()
    for tier in deps.policies.get().tiers.values():
        retraining = tier.monitoring.retraining
        if retraining is None or retraining.every_hours is None or retraining.pipeline in seen:
            continue
        seen.add(retraining.pipeline)
        period = int(now.timestamp() // (retraining.every_hours * 3600))
        trigger = RetrainingTrigger(
            kind="schedule",
            reason=f"scheduled: every {retraining.every_hours} h (period {period})",
            event_id=f"schedule-{retraining.pipeline}-{period}",
        )
        outcome = _retrain(trigger, retraining, subject=f"pipeline/{retraining.pipeline}", deps=deps)
        results.append({"pipeline": retraining.pipeline, "tick": event_id, **outcome})
    return results
