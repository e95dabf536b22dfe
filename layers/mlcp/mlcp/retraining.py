"""Retraining: when a trigger (violations, an alarm, new data, a schedule) starts the tier's
SageMaker pipeline, and the guards that keep it from starting too often.

- ``RetrainingState`` — the guards, on the control-plane table (pk / sk, every write conditional):

  ========================================== ======================= =====================================
  pk                                         sk                      what
  ========================================== ======================= =====================================
  ``monitor#<endpoint>#<check>``             ``streak``              consecutive bad monitoring runs
                                                                     (``count``, ``last_run``)
  ``data#<pipeline>``                        ``window``              debounce counters (``objects``,
                                                                     ``bytes``, ``first_at``, ``last_at``)
  ``data#<pipeline>``                        ``event#<event id>``    an S3 event already counted
                                                                     (``expires_at``: TTL, 30 days)
  ``retraining#<pipeline>``                  ``lease``               the run in flight (``holder`` token,
                                                                     ``expires_epoch``, ``execution_arn``)
  ``retraining#<pipeline>``                  ``day#<YYYY-MM-DD>``    starts that UTC day (``count``) and
                                                                     the tokens admitted (``tokens``)
  ``retraining#<pipeline>``                  ``last``                the last finished run
                                                                     (``finished_epoch``, ``succeeded``)
  ========================================== ======================= =====================================

  ``try_acquire`` is one TransactWriteItems: take the lease (free or expired), count the start in
  the day's counter (below the maximum, token not yet admitted) and check the cooldown since the last
  finished run — all or nothing, so of any number of concurrent triggers at most one is admitted.

- ``decide_retraining(trigger, policy, state, now)`` — whether ``trigger`` starts the pipeline under
  ``policy`` (its thresholds, streaks, the data window and quiet period), then the guards; the
  parameters to pass and the ``ClientRequestToken`` (derived from the trigger, so a redelivered
  event is admitted at most once and SageMaker deduplicates a repeated start).
- ``start_pipeline(...)`` — StartPipelineExecution; ``retrain(...)`` — decide, start, bookkeeping.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

from botocore.exceptions import ClientError

from mlcp import clock
from mlcp.adapters import clients
from mlcp.adapters.dynamo import cancellation, condition_failed
from mlcp.monitoring import Violation, kinds_of, violating_features
from mlcp.policy.model import MONITORING_KINDS, MonitoringKind, RetrainingPolicy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sagemaker import SageMakerClient

TriggerKind = Literal["violations", "alarm", "data", "schedule"]

STREAK_SK: Final = "streak"
WINDOW_SK: Final = "window"
LEASE_SK: Final = "lease"
LAST_SK: Final = "last"
EVENT_MARKER_TTL: Final = timedelta(days=30)
MAX_PARAMETER_VALUE: Final = 1024
MAX_DESCRIPTION: Final = 3072
TOKEN_PREFIX: Final = "mlcp-"  # noqa: S105 (a ClientRequestToken prefix, not a secret)
_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9-]{32,128}$")
_TRANSACTION_ATTEMPTS: Final = 5


def _iso(moment: datetime) -> str:
    """Fixed-width UTC text (sorts like the moments it names)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _epoch(moment: datetime) -> str:
    """DynamoDB number text of ``moment`` in seconds (microsecond precision)."""
    return f"{moment.timestamp():.6f}"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times need a timezone (UTC)")
    return moment


@dataclass(frozen=True, slots=True)
class DataWindow:
    """New training data counted since the last retraining of a pipeline."""

    objects: int = 0
    bytes: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether the guards let a retraining start, and why (not)."""

    admitted: bool
    reason: str


class RetrainingState:
    """The retraining guards on the control-plane table (keys ``pk``/``sk``; see the module)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or clients.dynamodb()

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(
            TableName=self.table_name, Key=self._key(pk, sk), ConsistentRead=True
        ).get("Item")
        return item

    # ------------------------------------------------------------------ streaks

    def streak(self, endpoint: str, check_kind: str, bad: bool, *, run_id: str | None = None) -> int:
        """Record one monitoring run of ``check_kind`` on ``endpoint``: a bad run extends the streak,
        a good one resets it. Returns the consecutive bad runs so far. With ``run_id`` (the
        monitoring event's id) the same run counts once however often it is recorded."""
        key = self._key(f"monitor#{endpoint}#{check_kind}", STREAK_SK)
        names = {"#count": "count"}
        values: dict[str, Any] = {":run": {"S": run_id or ""}}
        if bad:
            expression = "ADD #count :one SET last_run = :run"
            values[":one"] = {"N": "1"}
        else:
            expression = "SET #count = :zero, last_run = :run"
            values[":zero"] = {"N": "0"}
        kwargs: dict[str, Any] = {}
        if run_id is not None:
            kwargs["ConditionExpression"] = "attribute_not_exists(last_run) OR last_run <> :run"
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                **kwargs,
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            item = self._get(f"monitor#{endpoint}#{check_kind}", STREAK_SK) or {}
            return int(item.get("count", {}).get("N", "0"))
        return int(response["Attributes"]["count"]["N"])

    # ------------------------------------------------------------------ data debounce

    def accumulate_data(
        self, pipeline: str, size: int, object_key: str, event_id: str, *, at: datetime | None = None
    ) -> DataWindow:
        """Count one new object (``size`` bytes) in the pipeline's window, once per ``event_id``
        (a redelivered event changes nothing). ``at``: when it arrived (default now). Returns the
        window after counting."""
        if size < 0:
            raise ValueError("size must be >= 0")
        arrived = _aware(at) if at is not None else clock.now()
        pk = f"data#{pipeline}"
        expires = int((arrived + EVENT_MARKER_TTL).timestamp())
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                **self._key(pk, f"event#{event_id}"),
                                "object_key": {"S": object_key},
                                "size": {"N": str(size)},
                                "expires_at": {"N": str(expires)},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": self._key(pk, WINDOW_SK),
                            "UpdateExpression": (
                                "ADD #objects :one, #bytes :size "
                                "SET first_at = if_not_exists(first_at, :at), last_at = :at, last_key = :key"
                            ),
                            "ExpressionAttributeNames": {"#objects": "objects", "#bytes": "bytes"},
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":size": {"N": str(size)},
                                ":at": {"S": _iso(arrived)},
                                ":key": {"S": object_key},
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if cancellation(exc) is None:
                raise
            if self._get(pk, f"event#{event_id}") is None:
                raise  # cancelled for another reason (a conflict): let the caller retry
        return self.data_window(pipeline)

    def data_window(self, pipeline: str) -> DataWindow:
        """The pipeline's current window (empty when nothing arrived since the last reset)."""
        item = self._get(f"data#{pipeline}", WINDOW_SK)
        if item is None:
            return DataWindow()
        return DataWindow(
            objects=int(item.get("objects", {}).get("N", "0")),
            bytes=int(item.get("bytes", {}).get("N", "0")),
            first_at=_parse_iso(item["first_at"]["S"]) if "first_at" in item else None,
            last_at=_parse_iso(item["last_at"]["S"]) if "last_at" in item else None,
        )

    def reset_data(self, pipeline: str, *, window: DataWindow | None = None) -> bool:
        """Empty the window (a retraining took the data). With ``window``: only if it is still the
        window that started on ``window.first_at``. False when there was nothing (or another window)
        to reset. Counted events stay counted: a late redelivery does not refill the window."""
        kwargs: dict[str, Any] = {}
        if window is not None and window.first_at is not None:
            kwargs = {
                "ConditionExpression": "first_at = :first",
                "ExpressionAttributeValues": {":first": {"S": _iso(window.first_at)}},
            }
        else:
            kwargs = {"ConditionExpression": "attribute_exists(pk)"}
        try:
            self._client.delete_item(
                TableName=self.table_name, Key=self._key(f"data#{pipeline}", WINDOW_SK), **kwargs
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    # ------------------------------------------------------------------ lease, cooldown, daily maximum

    def try_acquire(
        self,
        pipeline: str,
        execution_token: str,
        now: datetime,
        cooldown: timedelta,
        max_per_day: int,
        *,
        lease: timedelta = timedelta(hours=12),
    ) -> Admission:
        """Admit one retraining of ``pipeline`` for ``execution_token``, atomically: no other run in
        flight (or its lease expired), at least ``cooldown`` since the last run finished, fewer than
        ``max_per_day`` starts this UTC day, and this token not admitted before today. The lease
        lasts ``lease`` (or until ``release``). The same token while it holds the lease is admitted
        again (a redelivery: the start is repeated with the same ClientRequestToken)."""
        now = _aware(now)
        if max_per_day < 1:
            raise ValueError("max_per_day must be >= 1")
        pk = f"retraining#{pipeline}"
        day_sk = f"day#{now.astimezone(UTC):%Y-%m-%d}"
        cutoff = now - cooldown
        for _ in range(_TRANSACTION_ATTEMPTS):
            held = self._holder(pk, now)
            if held is not None and held[0] == execution_token:
                return Admission(True, f"already admitted for this trigger (lease until {_iso(held[1])})")
            try:
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self.table_name,
                                "Key": self._key(pk, LEASE_SK),
                                "UpdateExpression": (
                                    "SET holder = :token, expires_epoch = :expires, acquired_at = :now "
                                    "REMOVE execution_arn"
                                ),
                                "ConditionExpression": "attribute_not_exists(holder) OR expires_epoch <= :now_epoch",
                                "ExpressionAttributeValues": {
                                    ":token": {"S": execution_token},
                                    ":expires": {"N": _epoch(now + lease)},
                                    ":now": {"S": _iso(now)},
                                    ":now_epoch": {"N": _epoch(now)},
                                },
                            }
                        },
                        {
                            "Update": {
                                "TableName": self.table_name,
                                "Key": self._key(pk, day_sk),
                                "UpdateExpression": "ADD #count :one, #tokens :tokens",
                                "ConditionExpression": (
                                    "(attribute_not_exists(#count) OR #count < :max) "
                                    "AND (attribute_not_exists(#tokens) OR NOT contains(#tokens, :token))"
                                ),
                                "ExpressionAttributeNames": {"#count": "count", "#tokens": "tokens"},
                                "ExpressionAttributeValues": {
                                    ":one": {"N": "1"},
                                    ":max": {"N": str(max_per_day)},
                                    ":tokens": {"SS": [execution_token]},
                                    ":token": {"S": execution_token},
                                },
                            }
                        },
                        {
                            "ConditionCheck": {
                                "TableName": self.table_name,
                                "Key": self._key(pk, LAST_SK),
                                "ConditionExpression": (
                                    "attribute_not_exists(finished_epoch) OR finished_epoch <= :cutoff"
                                ),
                                "ExpressionAttributeValues": {":cutoff": {"N": _epoch(cutoff)}},
                            }
                        },
                    ]
                )
            except ClientError as exc:
                if cancellation(exc) is None:
                    raise
                refusal = self._refusal(pk, day_sk, execution_token, now, cutoff, cooldown, max_per_day)
                if refusal is not None:
                    return refusal
                # Cancelled by a conflicting transaction, and the state allows us now: try again.
                time.sleep(0.01)
                continue
            return Admission(True, f"admitted: lease until {_iso(now + lease)}")
        return Admission(False, "contention: the guards kept changing; try again")

    def _holder(self, pk: str, now: datetime) -> tuple[str, datetime] | None:
        item = self._get(pk, LEASE_SK)
        if item is None or "holder" not in item:
            return None
        expires = datetime.fromtimestamp(float(item["expires_epoch"]["N"]), UTC)
        return None if expires <= now else (item["holder"]["S"], expires)

    def _refusal(
        self,
        pk: str,
        day_sk: str,
        token: str,
        now: datetime,
        cutoff: datetime,
        cooldown: timedelta,
        max_per_day: int,
    ) -> Admission | None:
        held = self._holder(pk, now)
        if held is not None:
            if held[0] == token:
                return Admission(True, f"already admitted for this trigger (lease until {_iso(held[1])})")
            return Admission(False, f"another run is in flight (lease until {_iso(held[1])})")
        day = self._get(pk, day_sk) or {}
        if token in day.get("tokens", {}).get("SS", []):
            return Admission(False, "this trigger already started a run today (a redelivery)")
        count = int(day.get("count", {}).get("N", "0"))
        if count >= max_per_day:
            return Admission(False, f"daily maximum reached ({count} of {max_per_day} starts today)")
        last = self._get(pk, LAST_SK) or {}
        if "finished_epoch" in last:
            finished = datetime.fromtimestamp(float(last["finished_epoch"]["N"]), UTC)
            if finished > cutoff:
                return Admission(
                    False,
                    f"cooldown: the last run finished at {_iso(finished)}; "
                    f"next start from {_iso(finished + cooldown)}",
                )
        return None

    def attach_execution(self, pipeline: str, execution_token: str, execution_arn: str) -> bool:
        """Remember which execution holds the lease (False: the token no longer holds it)."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=self._key(f"retraining#{pipeline}", LEASE_SK),
                UpdateExpression="SET execution_arn = :arn",
                ConditionExpression="holder = :token",
                ExpressionAttributeValues={":arn": {"S": execution_arn}, ":token": {"S": execution_token}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def release(
        self,
        pipeline: str,
        finished_at: datetime,
        succeeded: bool,
        *,
        execution_arn: str | None = None,
    ) -> bool:
        """A run of ``pipeline`` finished: start the cooldown from ``finished_at`` (an older finish
        never moves it back) and free the lease — unless the lease belongs to another execution than
        ``execution_arn`` (a run started outside the control plane only starts the cooldown).
        True when the lease was freed."""
        finished_at = _aware(finished_at)
        pk = f"retraining#{pipeline}"
        values: dict[str, Any] = {
            ":f": {"N": _epoch(finished_at)},
            ":at": {"S": _iso(finished_at)},
            ":ok": {"BOOL": succeeded},
        }
        expression = "SET finished_epoch = :f, finished_at = :at, succeeded = :ok"
        if execution_arn is not None:
            expression += ", execution_arn = :arn"
            values[":arn"] = {"S": execution_arn}
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=self._key(pk, LAST_SK),
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(finished_epoch) OR finished_epoch <= :f",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        condition = "attribute_exists(holder)"
        lease_values: dict[str, Any] = {}
        if execution_arn is not None:
            condition += " AND (attribute_not_exists(execution_arn) OR execution_arn = :arn)"
            lease_values[":arn"] = {"S": execution_arn}
        kwargs: dict[str, Any] = {"ConditionExpression": condition}
        if lease_values:
            kwargs["ExpressionAttributeValues"] = lease_values
        try:
            self._client.delete_item(TableName=self.table_name, Key=self._key(pk, LEASE_SK), **kwargs)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def abandon(self, pipeline: str, execution_token: str, now: datetime) -> bool:
        """Undo an admission whose start failed: free the lease and take the start back from the
        day's count (no cooldown: nothing ran). False when the token does not hold the lease."""
        pk = f"retraining#{pipeline}"
        day_sk = f"day#{_aware(now).astimezone(UTC):%Y-%m-%d}"
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": self._key(pk, LEASE_SK),
                            "ConditionExpression": "holder = :token",
                            "ExpressionAttributeValues": {":token": {"S": execution_token}},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": self._key(pk, day_sk),
                            "UpdateExpression": "ADD #count :minus DELETE #tokens :tokens",
                            "ConditionExpression": "contains(#tokens, :token)",
                            "ExpressionAttributeNames": {"#count": "count", "#tokens": "tokens"},
                            "ExpressionAttributeValues": {
                                ":minus": {"N": "-1"},
                                ":tokens": {"SS": [execution_token]},
                                ":token": {"S": execution_token},
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if cancellation(exc) is not None:
                return False
            raise
        return True


# ------------------------------------------------------------------------------ the use case


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
    trigger: RetrainingTrigger, policy: RetrainingPolicy, state: RetrainingState
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
    trigger: RetrainingTrigger, policy: RetrainingPolicy, state: RetrainingState, now: datetime
) -> RetrainingDecision:
    """Whether ``trigger`` starts ``policy.pipeline`` now, after the guards (``try_acquire``). Pure
    apart from ``state``: streaks are recorded (once per run), and an admission takes the lease."""
    now = _aware(now)
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
        window = state.data_window(policy.pipeline)
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
    token = client_request_token(policy.pipeline, trigger, window)
    parameters = _parameters(policy, trigger, uris)
    admission = state.try_acquire(
        policy.pipeline,
        token,
        now,
        timedelta(hours=policy.cooldown_hours),
        policy.max_per_day,
        lease=timedelta(hours=policy.lease_hours),
    )
    reason = f"{why}; {admission.reason}"
    return RetrainingDecision(admission.admitted, reason, parameters, token, window)


# ------------------------------------------------------------------------------ SageMaker


def start_pipeline(
    sagemaker_client: SageMakerClient,
    pipeline: str,
    parameters: Mapping[str, str],
    description: str,
    client_request_token: str,
) -> str:
    """StartPipelineExecution with ``parameters`` (names as given, values as strings) and the
    idempotency token; returns the execution ARN. The same token starts nothing new at SageMaker."""
    if not _TOKEN_RE.match(client_request_token):
        raise ValueError("ClientRequestToken: 32..128 characters, letters, digits and '-'")
    for name, value in parameters.items():
        if len(value) > MAX_PARAMETER_VALUE:
            raise ValueError(f"pipeline parameter {name!r} is longer than {MAX_PARAMETER_VALUE} characters")
    response = sagemaker_client.start_pipeline_execution(
        PipelineName=pipeline,
        PipelineParameters=[{"Name": name, "Value": str(value)} for name, value in parameters.items()],
        PipelineExecutionDescription=description[:MAX_DESCRIPTION],
        PipelineExecutionDisplayName=f"mlcp-{client_request_token.removeprefix(TOKEN_PREFIX)[:40]}",
        ClientRequestToken=client_request_token,
    )
    return response["PipelineExecutionArn"]


@dataclass(frozen=True, slots=True)
class RetrainingOutcome:
    decision: RetrainingDecision
    execution_arn: str | None = None


def retrain(
    trigger: RetrainingTrigger,
    policy: RetrainingPolicy,
    state: RetrainingState,
    sagemaker_client: SageMakerClient,
    now: datetime,
) -> RetrainingOutcome:
    """Decide; if admitted, start the pipeline, attach the execution to the lease and, for a data
    trigger, reset the window. A failed start gives the admission back (``abandon``) and raises."""
    decision = decide_retraining(trigger, policy, state, now)
    if not decision.start:
        return RetrainingOutcome(decision)
    try:
        arn = start_pipeline(
            sagemaker_client,
            policy.pipeline,
            decision.parameters,
            f"mlcp retraining ({trigger.kind}): {decision.reason}",
            decision.client_request_token,
        )
    except ClientError:
        state.abandon(policy.pipeline, decision.client_request_token, now)
        raise
    state.attach_execution(policy.pipeline, decision.client_request_token, arn)
    if trigger.kind == "data" and decision.data_window is not None:
        state.reset_data(policy.pipeline, window=decision.data_window)
    return RetrainingOutcome(decision, arn)
