"""Retraining: when a trigger (violations, an alarm, new data, a schedule) starts the tier's
SageMaker pipeline, and the guards that keep it from starting too often.

Pure: the guards are a port (``mlcp.ports.RetrainingGuards``; on DynamoDB in
``mlcp.adapters.retraining_state``, whose ``try_acquire`` admits at most one of any number of
concurrent triggers), and so is the start (``PipelineStarter``; ``mlcp.adapters.pipelines``).

- ``decide_retraining(trigger, policy, state, now)`` — whether ``trigger`` starts the pipeline under
  ``policy`` (its thresholds, streaks, the data window and quiet period), then the guards; the
  parameters to pass and the ``ClientRequestToken`` (derived from the trigger, so a redelivered
  event is admitted at most once and SageMaker deduplicates a repeated start).
- ``retrain(...)`` — decide, start, bookkeeping.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import field
from datetime import datetime, timedelta
from typing import Literal

from mlcp.clock import aware as _aware
from mlcp.clock import utc_text as _iso
from mlcp.errors import PipelineStartFailed
from mlcp.monitoring import Violation, kinds_of, violating_features
from mlcp.policy.model import MONITORING_KINDS, MonitoringKind, RetrainingPolicy
from mlcp.ports import MAX_PARAMETER_VALUE, TOKEN_PREFIX, DataWindow, PipelineStarter, RetrainingGuards
from mlcp.records import record_class

TriggerKind = Literal["violations", "alarm", "data", "schedule"]


@record_class(slots=True)
class RetrainingTrigger:
    """Something that may start a retraining.

    - ``violations``: a monitoring run on ``endpoint``; ``violations`` what it found and
      ``checked_kinds`` the kinds it checked (a checked kind without violations resets its streak;
      the kinds of ``violations`` count as checked).
    - ``alarm``: ``alarm_name`` went to ALARM.
    - ``data``: new training data arrived (the window, counted with ``accumulate_data``, decides).
    - ``schedule``: a scheduled retraining.

    ``event_id`` is the triggering event's id; ``data_uris`` the training data
    (``s3://bucket/key[?versionId=...]``), if the trigger knows them.
    """

    kind: TriggerKind
    reason: str
    event_id: str
    endpoint: str | None = None
    violations: tuple[Violation, ...] = ()
    checked_kinds: tuple[MonitoringKind, ...] = ()
    alarm_name: str | None = None
    data_uris: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.event_id:
            raise ValueError("a trigger needs its event id")
        if self.kind == "violations" and not self.endpoint:
            raise ValueError("a violations trigger needs the endpoint")
        if self.kind == "alarm" and not self.alarm_name:
            raise ValueError("an alarm trigger needs the alarm name")
        for kind in self.checked_kinds:
            if kind not in MONITORING_KINDS:
                raise ValueError(f"unknown monitoring kind {kind!r}")


@record_class(slots=True)
class RetrainingDecision:
    start: bool
    reason: str
    parameters: dict[str, str] = field(default_factory=dict)
    client_request_token: str = ""
    data_window: DataWindow | None = None
    """The data window the decision took (data triggers): reset it once the run started."""


def client_request_token(pipeline: str, trigger: RetrainingTrigger, window: DataWindow | None = None) -> str:
    """``mlcp-<sha256 hex>`` (69 characters; StartPipelineExecution takes 32..128) of the pipeline,
    the trigger kind and its identity: the event id, or for data the window's start (every event of
    one data window is the same retraining)."""
    if trigger.kind == "data" and window is not None and window.first_at is not None:
        identity = f"window@{_iso(window.first_at)}"
    else:
        identity = trigger.event_id
    digest = hashlib.sha256(f"{pipeline}\n{trigger.kind}\n{identity}".encode()).hexdigest()
    return f"{TOKEN_PREFIX}{digest}"


def streak_check(kind: str, min_violating_features: int) -> str:
    """The streak's ``<check>``: the kind, and the threshold that makes a run bad when above 1 (rules
    with the same definition share a streak; a run counts once per streak thanks to its run id)."""
    return kind if min_violating_features <= 1 else f"{kind}#min{min_violating_features}"


def _fit_uris(uris: Sequence[str]) -> str:
    """Comma-separated URIs within a parameter value's 1024 characters; too many: their distinct
    parent prefixes; still too many: the longest common prefix."""
    joined = ",".join(uris)
    if len(joined) <= MAX_PARAMETER_VALUE:
        return joined
    parents = list(dict.fromkeys(uri.split("?", 1)[0].rsplit("/", 1)[0] + "/" for uri in uris))
    joined = ",".join(parents)
    if len(joined) <= MAX_PARAMETER_VALUE:
        return joined
    common = os.path.commonprefix(parents)  # noqa: RUF071 (S3 prefixes are plain string prefixes)
    return common[:MAX_PARAMETER_VALUE]


def _parameters(policy: RetrainingPolicy, trigger: RetrainingTrigger, uris: Sequence[str]) -> dict[str, str]:
    return {
        **policy.parameters,
        "TrainingDataUris": _fit_uris(uris),
        "TriggerReason": trigger.reason[:MAX_PARAMETER_VALUE],
        "TriggerEventId": trigger.event_id[:MAX_PARAMETER_VALUE],
    }


def _violations_qualify(
    trigger: RetrainingTrigger, policy: RetrainingPolicy, state: RetrainingGuards
) -> tuple[bool, str]:
    assert trigger.endpoint is not None  # checked by RetrainingTrigger
    kinds = list(dict.fromkeys([*trigger.checked_kinds, *kinds_of(trigger.violations)]))
    if not kinds:
        return False, "the monitoring run checked nothing"
    notes: list[str] = []
    qualifying: list[str] = []
    for kind in kinds:
        features = violating_features(trigger.violations, kind)
        bad = len(features) >= policy.min_violating_features
        streak = state.streak(
            trigger.endpoint,
            streak_check(kind, policy.min_violating_features),
            bad,
            run_id=trigger.event_id,
        )
        if kind not in policy.on_violations:
            notes.append(f"{kind}: not a retraining kind")
        elif not bad:
            notes.append(f"{kind}: {len(features)} violating feature(s) < {policy.min_violating_features}")
        elif streak < policy.consecutive_runs:
            notes.append(f"{kind}: {streak} bad run(s) in a row < {policy.consecutive_runs}")
        else:
            qualifying.append(f"{kind}: {len(features)} violating feature(s), {streak} bad run(s) in a row")
    if qualifying:
        return True, "; ".join(qualifying)
    return False, "no qualifying violations (" + "; ".join(notes) + ")"


def decide_retraining(
    trigger: RetrainingTrigger,
    policy: RetrainingPolicy,
    state: RetrainingGuards,
    now: datetime,
    *,
    key: str | None = None,
) -> RetrainingDecision:
    """Whether ``trigger`` starts ``policy.pipeline`` now, after the guards (``try_acquire``). Pure
    apart from ``state``: streaks are recorded (once per run), and an admission takes the lease.
    ``key``: the guards' key (default the pipeline's name; a member account's pipeline is
    ``<account>:<pipeline>``, ADR 37, so its lease, cooldown and daily maximum are its own)."""
    now = _aware(now)
    key = key or policy.pipeline
    window: DataWindow | None = None
    uris: Sequence[str] = trigger.data_uris
    if trigger.kind == "violations":
        qualifies, why = _violations_qualify(trigger, policy, state)
    elif trigger.kind == "alarm":
        assert trigger.alarm_name is not None
        qualifies = policy.triggers_on_alarm(trigger.alarm_name)
        why = (
            f"alarm {trigger.alarm_name} in ALARM"
            if qualifies
            else f"alarm {trigger.alarm_name} matches none of on_alarms"
        )
    elif trigger.kind == "data":
        data = policy.data
        if data is None:
            return RetrainingDecision(False, "the policy has no data trigger")
        window = state.data_window(key)
        uris = trigger.data_uris or tuple(data.prefixes)
        if window.objects < data.min_objects or window.bytes < data.min_bytes:
            qualifies = False
            why = (
                f"waiting for data: {window.objects} of {data.min_objects} object(s), "
                f"{window.bytes} of {data.min_bytes} bytes"
            )
        elif window.last_at is not None and now - window.last_at < timedelta(
            seconds=data.quiet_period_seconds
        ):
            qualifies = False
            quiet_until = window.last_at + timedelta(seconds=data.quiet_period_seconds)
            why = f"waiting for the quiet period: last object at {_iso(window.last_at)}, quiet from {_iso(quiet_until)}"
        else:
            qualifies = True
            why = f"new data: {window.objects} object(s), {window.bytes} bytes"
    else:
        qualifies, why = True, "scheduled retraining"
    if not qualifies:
        return RetrainingDecision(False, why, data_window=window)
    token = client_request_token(key, trigger, window)
    parameters = _parameters(policy, trigger, uris)
    admission = state.try_acquire(
        key,
        token,
        now,
        timedelta(hours=policy.cooldown_hours),
        policy.max_per_day,
        lease=timedelta(hours=policy.lease_hours),
    )
    reason = f"{why}; {admission.reason}"
    return RetrainingDecision(admission.admitted, reason, parameters, token, window)


# ------------------------------------------------------------------------------ SageMaker


@record_class(slots=True)
class RetrainingOutcome:
    decision: RetrainingDecision
    execution_arn: str | None = None


def retrain(
    trigger: RetrainingTrigger,
    policy: RetrainingPolicy,
    state: RetrainingGuards,
    pipelines: PipelineStarter,
    now: datetime,
    *,
    key: str | None = None,
) -> RetrainingOutcome:
    """Decide; if admitted, start the pipeline, attach the execution to the lease and, for a data
    trigger, reset the window. A failed start gives the admission back (``abandon``) and raises.
    ``key``: the guards' key (see :func:`decide_retraining`); ``pipelines`` starts the pipeline in
    the account it belongs to."""
    key = key or policy.pipeline
    decision = decide_retraining(trigger, policy, state, now, key=key)
    if not decision.start:
        return RetrainingOutcome(decision)
    try:
        arn = pipelines.start(
            policy.pipeline,
            decision.parameters,
            f"mlcp retraining ({trigger.kind}): {decision.reason}",
            decision.client_request_token,
        )
    except PipelineStartFailed:
        state.abandon(key, decision.client_request_token, now)
        raise
    state.attach_execution(key, decision.client_request_token, arn)
    if trigger.kind == "data" and decision.data_window is not None:
        state.reset_data(key, window=decision.data_window)
    return RetrainingOutcome(decision, arn)
