"""Retraining on new training data and on a schedule, behind the retraining guards (lease,
cooldown, daily maximum, debounce), and the dependencies every reaction shares (``ReactionDeps``).
The monitoring reactions (:mod:`mlcp.usecases.reactions`: violations, alarms, failures, incidents)
build on these; the data-arrival, debounce and schedule functions import only this module, never
the monitoring report parsers or the incident use case.

Every decision is audited: ``retraining.started|suppressed|failed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from mlcp import clock as mlcp_clock
from mlcp.audit import AuditAction
from mlcp.errors import PipelineStartFailed
from mlcp.observability import logger
from mlcp.ports import AuditLog, Clock, MonitoringRuns, PipelineStarter, PolicySource, RetrainingGuards
from mlcp.records import record_class
from mlcp.retraining import RetrainingTrigger, retrain

if TYPE_CHECKING:
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


def is_member(account: str | None, deps: ReactionDeps) -> bool:
    return account is not None and deps.home_account is not None and account != deps.home_account


def member_stage(
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


# ---------------------------------------------------------------------------- retraining


def retrain_guarded(
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
    if is_member(account, deps):
        assert account is not None
        stage = member_stage(deps, account, endpoint=endpoint) if endpoint else None
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
        outcome = retrain_guarded(trigger, retraining, subject=f"pipeline/{retraining.pipeline}", deps=deps)
        results.append({"pipeline": retraining.pipeline, "tick": event_id, **outcome})
    return results
