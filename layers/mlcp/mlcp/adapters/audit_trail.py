"""DynamoDB adapter of the audit trail: conditional, transactional appends to per-stream chains.

Table layout (template ``AuditTable``; string keys ``pk``/``sk``):

* record: ``pk=<stream>``, ``sk="rec#%012d" % seq``; the record's fields as typed attributes
  (``seq`` a number, ``evidence`` its canonical JSON as a string so the hash is stable,
  ``event_id`` absent when there is none);
* stream head: ``pk=<stream>``, ``sk="head"`` with ``seq`` and ``hash`` of the last record;
* decision marker: ``pk="decision#<decision_id>"``, ``sk="decision"`` with the ``stream``, ``seq`` and
  ``hash`` of the record that decision produced.

An append is one ``TransactWriteItems``: put the record if absent, move the head from the seq it
was read at (or create it), and put the decision marker if absent. Either all three happen or none.
So two writers can never both take a seq (no fork), the head only moves one step (no gap), and a
redelivered event whose decision was already recorded appends nothing.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.exceptions import ClientError
from pydantic import ValidationError

from mlcp import clock as mlcp_clock
from mlcp.adapters.dynamo import cancellation
from mlcp.errors import AuditConflict, ControlPlaneError
from mlcp.models.audit import (
    GENESIS_HASH,
    AppendResult,
    AuditAction,
    AuditRecord,
    StreamHead,
    canonical_json,
    format_timestamp,
    record_hash,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        TransactWriteItemTypeDef,
        UniversalAttributeValueTypeDef,
    )

logger = logging.getLogger(__name__)

HEAD_SK = "head"
RECORD_SK_PREFIX = "rec#"
DECISION_PK_PREFIX = "decision#"
DECISION_SK = "decision"

# Positions of the three writes inside the transaction (CancellationReasons come in this order).
_RECORD, _HEAD, _MARKER = 0, 1, 2


class InvalidAuditItem(ControlPlaneError):
    """A stored item under an audit key is not a valid audit record (damaged or forged)."""

    def __init__(self, pk: str, sk: str, reason: str) -> None:
        super().__init__(f"audit item pk={pk!r} sk={sk!r} is not a valid record: {reason}")
        self.pk = pk
        self.sk = sk
        self.reason = reason


def record_sk(seq: int) -> str:
    """Sort key of the record with sequence number ``seq``."""
    return f"{RECORD_SK_PREFIX}{seq:012d}"


def decision_pk(decision_id: str) -> str:
    """Partition key of the marker of ``decision_id``."""
    return f"{DECISION_PK_PREFIX}{decision_id}"


def _s(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, Mapping) or not isinstance(value.get("S"), str):
        raise ValueError(f"attribute {name!r} is missing or not a string")
    return cast(str, value["S"])


def _n(item: Mapping[str, Any], name: str) -> int:
    value = item.get(name)
    if not isinstance(value, Mapping) or not isinstance(value.get("N"), str):
        raise ValueError(f"attribute {name!r} is missing or not a number")
    return int(cast(str, value["N"]))


def record_to_item(record: AuditRecord) -> dict[str, UniversalAttributeValueTypeDef]:
    """The DynamoDB item (typed attributes) that stores ``record``."""
    item: dict[str, UniversalAttributeValueTypeDef] = {
        "pk": {"S": record.stream},
        "sk": {"S": record_sk(record.seq)},
        "stream": {"S": record.stream},
        "seq": {"N": str(record.seq)},
        "prev_hash": {"S": record.prev_hash},
        "hash": {"S": record.hash},
        "actor": {"S": record.actor},
        "at": {"S": record.at},
        "action": {"S": record.action.value},
        "subject": {"S": record.subject},
        "evidence": {"S": canonical_json(record.evidence).decode("utf-8")},
        "decision_id": {"S": record.decision_id},
    }
    if record.event_id is not None:
        item["event_id"] = {"S": record.event_id}
    return item


def record_from_item(item: Mapping[str, Any]) -> AuditRecord:
    """Parse a stored record item; raises ``InvalidAuditItem`` when it is not a valid record."""
    pk = item.get("pk", {}).get("S", "?")
    sk = item.get("sk", {}).get("S", "?")
    try:
        evidence = json.loads(_s(item, "evidence"))
        return AuditRecord(
            stream=_s(item, "stream"),
            seq=_n(item, "seq"),
            prev_hash=_s(item, "prev_hash"),
            hash=_s(item, "hash"),
            actor=_s(item, "actor"),
            at=_s(item, "at"),
            action=AuditAction(_s(item, "action")),
            subject=_s(item, "subject"),
            evidence=evidence,
            event_id=_s(item, "event_id") if "event_id" in item else None,
            decision_id=_s(item, "decision_id"),
        )
    except (ValueError, ValidationError) as exc:  # JSONDecodeError and ValidationError are ValueErrors
        raise InvalidAuditItem(pk, sk, str(exc)) from exc


class AuditTrail:
    """Append-only, hash-chained audit streams in one DynamoDB table.

    Thread-safe as far as boto3 clients are: one instance may be shared by threads.
    """

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        clock: Callable[[], datetime] | None = None,
        *,
        max_attempts: int = 50,
        base_delay: float = 0.005,
        max_delay: float = 0.25,
    ) -> None:
        """Bind to ``table_name``.

        ``client`` defaults to ``boto3.client("dynamodb")`` (region and endpoint from the standard
        AWS environment/config); ``clock`` to ``datetime.now(UTC)``. An append that loses the race
        for the stream head retries up to ``max_attempts`` times in all, sleeping a full-jitter
        exponential backoff (``base_delay`` doubling, capped at ``max_delay`` seconds) in between.

        With the defaults an append that loses every time sleeps about 11 s at most, inside the
        functions' 30 s timeout. Optimistic retries on one head are a lottery among the writers in flight, so the
        budget is sized for a handful of them: the functions that can fan out on one stream have
        their concurrency bounded instead (``DataArrivalConcurrency``, ADR 4).
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.table_name = table_name
        self._client: DynamoDBClient = client if client is not None else boto3.client("dynamodb")
        self._clock: Callable[[], datetime] = clock if clock is not None else mlcp_clock.current
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._jitter = random.Random()  # noqa: S311 - backoff jitter, not cryptography

    # ---------------------------------------------------------------- writes

    def append(
        self,
        *,
        stream: str,
        action: AuditAction,
        actor: str,
        subject: str,
        evidence: Mapping[str, Any],
        decision_id: str,
        event_id: str | None = None,
    ) -> AppendResult:
        """Append one record to ``stream``, at most once per ``decision_id``.

        Returns the new record with ``appended=True``, or, when ``decision_id`` was recorded
        before, that earlier record with ``appended=False``. Raises ``AuditConflict`` when the
        stream head moved under us more than ``max_attempts`` times, ``AuditEncodingError`` when
        ``evidence`` is not canonical JSON, and ``botocore`` ``ClientError`` for other failures.
        """
        evidence_dict = dict(evidence)
        for attempt in range(1, self._max_attempts + 1):
            head = self.head(stream)
            seq = head.seq + 1 if head is not None else 1
            fields: dict[str, Any] = {
                "stream": stream,
                "seq": seq,
                "prev_hash": head.hash if head is not None else GENESIS_HASH,
                "actor": actor,
                "at": format_timestamp(self._clock()),
                "action": AuditAction(action).value,
                "subject": subject,
                "evidence": evidence_dict,
                "event_id": event_id,
                "decision_id": decision_id,
            }
            record = AuditRecord(**fields, hash=record_hash(fields))
            try:
                self._client.transact_write_items(TransactItems=self._append_items(record, head))
            except ClientError as exc:
                cancelled = cancellation(exc)
                if cancelled is None:
                    raise
                if cancelled.condition_failed(_MARKER):
                    existing = self._recorded_decision(decision_id, cancelled.items[_MARKER])
                    logger.info(
                        "audit decision already recorded",
                        extra={"decision_id": decision_id, "stream": existing.stream, "seq": existing.seq},
                    )
                    return AppendResult(record=existing, appended=False)
                if not cancelled.any_condition_failed(below=_MARKER) and not cancelled.retryable:
                    raise
                logger.debug(
                    "audit head moved; retrying",
                    extra={"stream": stream, "seq": seq, "attempt": attempt, "reasons": cancelled.reasons},
                )
                if attempt < self._max_attempts:
                    cap = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
                    time.sleep(self._jitter.uniform(0, cap))
                continue
            return AppendResult(record=record, appended=True)
        raise AuditConflict(
            f"audit append to stream {stream!r} lost the race for the head {self._max_attempts} times"
        )

    def _append_items(self, record: AuditRecord, head: StreamHead | None) -> list[TransactWriteItemTypeDef]:
        """The three conditional writes of one append."""
        stream_key: dict[str, UniversalAttributeValueTypeDef] = {
            "pk": {"S": record.stream},
            "sk": {"S": HEAD_SK},
        }
        head_write: TransactWriteItemTypeDef
        if head is None:
            head_write = {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        **stream_key,
                        "stream": {"S": record.stream},
                        "seq": {"N": str(record.seq)},
                        "hash": {"S": record.hash},
                        "updated_at": {"S": record.at},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        else:
            head_write = {
                "Update": {
                    "TableName": self.table_name,
                    "Key": stream_key,
                    "UpdateExpression": "SET #seq = :seq, #hash = :hash, #updated_at = :at",
                    "ConditionExpression": "#seq = :prev_seq AND #hash = :prev_hash",
                    "ExpressionAttributeNames": {"#seq": "seq", "#hash": "hash", "#updated_at": "updated_at"},
                    "ExpressionAttributeValues": {
                        ":seq": {"N": str(record.seq)},
                        ":hash": {"S": record.hash},
                        ":at": {"S": record.at},
                        ":prev_seq": {"N": str(head.seq)},
                        ":prev_hash": {"S": head.hash},
                    },
                }
            }
        return [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": record_to_item(record),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            head_write,
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        "pk": {"S": decision_pk(record.decision_id)},
                        "sk": {"S": DECISION_SK},
                        "stream": {"S": record.stream},
                        "seq": {"N": str(record.seq)},
                        "hash": {"S": record.hash},
                        "at": {"S": record.at},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]

    def _recorded_decision(self, decision_id: str, marker: Any) -> AuditRecord:
        """The record an existing decision marker points at."""
        if not isinstance(marker, Mapping) or "stream" not in marker:
            response = self._client.get_item(
                TableName=self.table_name,
                Key={"pk": {"S": decision_pk(decision_id)}, "sk": {"S": DECISION_SK}},
                ConsistentRead=True,
            )
            marker = response.get("Item")
            if marker is None:
                raise ControlPlaneError(
                    f"decision {decision_id!r} marker vanished after it blocked an append"
                )
        try:
            stream, seq = _s(marker, "stream"), _n(marker, "seq")
        except ValueError as exc:
            raise InvalidAuditItem(decision_pk(decision_id), DECISION_SK, str(exc)) from exc
        response = self._client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": stream}, "sk": {"S": record_sk(seq)}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            raise InvalidAuditItem(stream, record_sk(seq), f"record of decision {decision_id!r} is missing")
        return record_from_item(item)

    # ---------------------------------------------------------------- reads

    def head(self, stream: str) -> StreamHead | None:
        """The stream head (seq and hash of the last record), or None for a new stream."""
        response = self._client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": stream}, "sk": {"S": HEAD_SK}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None
        try:
            return StreamHead(stream=stream, seq=_n(item, "seq"), hash=_s(item, "hash"))
        except (ValueError, ValidationError) as exc:
            raise InvalidAuditItem(stream, HEAD_SK, str(exc)) from exc

    def read(self, stream: str) -> list[AuditRecord]:
        """Every record of ``stream`` in stored (sort-key, i.e. seq) order; paginated, consistent.

        Raises ``InvalidAuditItem`` when an item under a record key is not a valid record.
        """
        return [record_from_item(item) for item in self._record_items(stream)]

    def _record_items(self, stream: str) -> Iterator[dict[str, AttributeValueTypeDef]]:
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": stream}, ":prefix": {"S": RECORD_SK_PREFIX}},
            ConsistentRead=True,
        ):
            yield from page.get("Items", [])

    def streams(self) -> list[str]:
        """Names of every stream in the table, sorted; paginated scan.

        A stream counts when it has a head *or* records, so a stream whose head was deleted still
        shows up (and then fails verification) rather than disappearing.
        """
        names: set[str] = set()
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            ProjectionExpression="pk",
            FilterExpression="sk = :head OR begins_with(sk, :prefix)",
            ExpressionAttributeValues={":head": {"S": HEAD_SK}, ":prefix": {"S": RECORD_SK_PREFIX}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                pk = item.get("pk", {}).get("S")
                if pk is not None and not pk.startswith(DECISION_PK_PREFIX):
                    names.add(pk)
        return sorted(names)

    def heads(self) -> list[tuple[StreamHead, str | None]]:
        """Every stream head with when it last moved (``updated_at``), sorted by stream; paginated,
        consistent scan of the head items (what a digest anchors)."""
        found: list[tuple[StreamHead, str | None]] = []
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            ProjectionExpression="pk, #seq, #hash, updated_at",
            FilterExpression="sk = :head",
            ExpressionAttributeNames={"#seq": "seq", "#hash": "hash"},
            ExpressionAttributeValues={":head": {"S": HEAD_SK}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                stream = item.get("pk", {}).get("S", "?")
                try:
                    head = StreamHead(stream=stream, seq=_n(item, "seq"), hash=_s(item, "hash"))
                except (ValueError, ValidationError) as exc:
                    raise InvalidAuditItem(stream, HEAD_SK, str(exc)) from exc
                updated = item.get("updated_at", {}).get("S")
                found.append((head, updated if isinstance(updated, str) else None))
        return sorted(found, key=lambda pair: pair[0].stream)
