"""The retraining guards on the control-plane table: ``mlcp.ports.RetrainingGuards`` on DynamoDB.

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
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from mlcp import clock
from mlcp.adapters import clients
from mlcp.adapters.dynamo import cancellation, condition_failed
from mlcp.clock import aware as _aware
from mlcp.clock import utc_text as _iso
from mlcp.ports import Admission, DataWindow

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STREAK_SK: Final = "streak"
WINDOW_SK: Final = "window"
LEASE_SK: Final = "lease"
LAST_SK: Final = "last"
EVENT_MARKER_TTL: Final = timedelta(days=30)
_TRANSACTION_ATTEMPTS: Final = 5


def _parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _epoch(moment: datetime) -> str:
    """DynamoDB number text of ``moment`` in seconds (microsecond precision)."""
    return f"{moment.timestamp():.6f}"


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
