"""Incidents in the control-plane table (keys ``pk``/``sk``); every write is conditional.

Items under ``pk = incident#<resource>#<cause>``:

* ``sk = incident`` — the current incident of (resource, cause): every ``Incident`` field as a typed
  attribute (``occurrences``/``severity``/``mttr_seconds`` numbers, absent when None). A new incident
  replaces a resolved one here (the claim's condition names the resolved incident it replaces).
* ``sk = event#<event_id>`` — an occurrence marker: ``incident_id`` and ``occurrence`` (its number);
  written in the same transaction as the count, so a redelivered event is never counted twice
  (nor reopens a resolved incident). ``expires_at`` (epoch seconds) lets a TTL reap old markers.
* ``sk = resolved#<incident_id>`` — a resolved incident's final state (kept after a reopening).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from mlcp.adapters import clients
from mlcp.adapters.dynamo import cancellation, condition_failed
from mlcp.models.incidents import Incident
from mlcp.records import record_class

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

INCIDENT_SK = "incident"
EVENT_SK_PREFIX = "event#"
RESOLVED_SK_PREFIX = "resolved#"
PK_PREFIX = "incident#"
MARKER_TTL_SECONDS = 30 * 24 * 3600
RELEASED_AT = "1970-01-01T00:00:00.000000Z"
"""``claimed_at`` of a claim its holder gave up: as stale as a claim can be."""

_INT_FIELDS = frozenset({"occurrences", "severity"})
_FLOAT_FIELDS = frozenset({"mttr_seconds"})

Claimed = Literal["claimed", "lost", "duplicate"]
Counted = Literal["counted", "conflict", "duplicate"]


def incident_pk(resource: str, cause: str) -> str:
    return f"{PK_PREFIX}{resource}#{cause}"


def incident_to_item(incident: Incident, sk: str = INCIDENT_SK) -> dict[str, Any]:
    """The item of ``incident`` under ``sk`` (None fields left out)."""
    item: dict[str, Any] = {
        "pk": {"S": incident_pk(incident.resource, incident.cause)},
        "sk": {"S": sk},
    }
    for name, value in incident.model_dump().items():
        if value is None:
            continue
        if name in _INT_FIELDS or name in _FLOAT_FIELDS:
            item[name] = {"N": str(value)}
        else:
            item[name] = {"S": str(value)}
    return item


def incident_from_item(item: Mapping[str, Any]) -> Incident:
    fields: dict[str, Any] = {}
    for name in Incident.model_fields:
        attribute = item.get(name)
        if attribute is None:
            continue
        if "N" in attribute:
            fields[name] = float(attribute["N"]) if name in _FLOAT_FIELDS else int(attribute["N"])
        else:
            fields[name] = attribute["S"]
    return Incident.model_validate(fields)


@record_class
class Occurrence:
    """An occurrence marker: which incident an event counted toward, as its n-th occurrence."""

    incident_id: str
    occurrence: int


class IncidentStore:
    """DynamoDB-backed incident state in the control-plane table."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client: DynamoDBClient = client or clients.dynamodb()

    # ------------------------------------------------------------ reads

    def current(self, resource: str, cause: str) -> Incident | None:
        """The current incident of (resource, cause): open, opening, or the last resolved one."""
        item = self._client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": incident_pk(resource, cause)}, "sk": {"S": INCIDENT_SK}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else incident_from_item(item)

    def occurrence(self, resource: str, cause: str, event_id: str) -> Occurrence | None:
        """The marker an event left, if it was counted."""
        item = self._client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": incident_pk(resource, cause)}, "sk": {"S": EVENT_SK_PREFIX + event_id}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return Occurrence(item["incident_id"]["S"], int(item["occurrence"]["N"]))

    def _incident_items(self, extra_filter: str = "", values: dict[str, Any] | None = None) -> Iterator[Any]:
        expression = "begins_with(pk, :pk) AND (sk = :current OR begins_with(sk, :resolved))"
        if extra_filter:
            expression = f"({expression}) AND ({extra_filter})"
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression=expression,
            ExpressionAttributeValues={
                ":pk": {"S": PK_PREFIX},
                ":current": {"S": INCIDENT_SK},
                ":resolved": {"S": RESOLVED_SK_PREFIX},
                **(values or {}),
            },
            ConsistentRead=True,
        ):
            yield from page.get("Items", [])

    def list_incidents(self, status: str | None = None) -> list[Incident]:
        """Every incident (current ones and resolved ones kept after a reopening), newest first;
        ``status`` ``open`` also lists ``opening`` ones."""
        found: dict[str, tuple[bool, Incident]] = {}
        for item in self._incident_items():
            incident = incident_from_item(item)
            is_current = item["sk"]["S"] == INCIDENT_SK
            known = found.get(incident.incident_id)
            if known is None or (is_current and not known[0]):
                found[incident.incident_id] = (is_current, incident)
        incidents = [incident for _, incident in found.values()]
        if status is not None:
            wanted = {"open", "opening"} if status == "open" else {status}
            incidents = [i for i in incidents if i.status in wanted]
        return sorted(incidents, key=lambda i: (i.opened_at, i.incident_id), reverse=True)

    def get_incident(self, incident_id: str) -> Incident | None:
        """The incident with this id (its current item when it has one, else its resolved copy)."""
        best: Incident | None = None
        for item in self._incident_items("incident_id = :id", {":id": {"S": incident_id}}):
            incident = incident_from_item(item)
            if item["sk"]["S"] == INCIDENT_SK:
                return incident
            best = incident
        return best

    # ------------------------------------------------------------ writes

    def claim(
        self, incident: Incident, *, replaces: Incident | None, event_id: str | None, expires_at: int
    ) -> Claimed:
        """Make ``incident`` (status opening, one occurrence) the current one of its (resource, cause).

        Only when there is none or the current one is ``replaces`` (resolved); that resolved one is
        kept under ``resolved#<id>``. ``lost`` when another writer got there first, ``duplicate``
        when ``event_id`` was counted before."""
        pk = incident_pk(incident.resource, incident.cause)
        put: dict[str, Any] = {"TableName": self.table_name, "Item": incident_to_item(incident)}
        if replaces is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "incident_id = :previous AND #status = :resolved"
            put["ExpressionAttributeNames"] = {"#status": "status"}
            put["ExpressionAttributeValues"] = {
                ":previous": {"S": replaces.incident_id},
                ":resolved": {"S": "resolved"},
            }
        writes: list[TransactWriteItemTypeDef] = [{"Put": put}]  # type: ignore[typeddict-item]
        if event_id is not None:
            writes.append(self._marker_write(pk, event_id, incident.incident_id, 1, expires_at))
        if replaces is not None:
            writes.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": incident_to_item(replaces, RESOLVED_SK_PREFIX + replaces.incident_id),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            cancelled = cancellation(exc)
            if cancelled is None:
                raise
            if event_id is not None and cancelled.condition_failed(1):
                return "duplicate"
            if cancelled.condition_failed(0) or cancelled.retryable:
                return "lost"
            raise
        return "claimed"

    def take_over(self, incident: Incident, claim: str, claimed_at: str) -> Incident | None:
        """Take over an opening whose owner vanished (the same incident id); None if it moved on."""
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": incident_pk(incident.resource, incident.cause)}, "sk": {"S": INCIDENT_SK}},
                UpdateExpression="SET claim = :claim, claimed_at = :at",
                ConditionExpression=(
                    "incident_id = :id AND #status = :opening AND claim = :old AND attribute_not_exists(ops_item_id)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":claim": {"S": claim},
                    ":at": {"S": claimed_at},
                    ":id": {"S": incident.incident_id},
                    ":opening": {"S": "opening"},
                    ":old": {"S": incident.claim or ""},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return incident_from_item(response["Attributes"])

    def release_claim(self, incident: Incident) -> bool:
        """Give up an opening claim (its holder failed): backdate ``claimed_at`` so the next caller
        takes it over. False when the claim is no longer ours or the OpsItem is recorded."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": incident_pk(incident.resource, incident.cause)}, "sk": {"S": INCIDENT_SK}},
                UpdateExpression="SET claimed_at = :released",
                ConditionExpression="incident_id = :id AND claim = :claim AND attribute_not_exists(ops_item_id)",
                ExpressionAttributeValues={
                    ":released": {"S": RELEASED_AT},
                    ":id": {"S": incident.incident_id},
                    ":claim": {"S": incident.claim or ""},
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def record_ops_item(self, incident: Incident, ops_item_id: str, at: str) -> Incident | None:
        """The claimant's OpsItem exists: status open. None when the claim was taken over meanwhile."""
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": incident_pk(incident.resource, incident.cause)}, "sk": {"S": INCIDENT_SK}},
                UpdateExpression="SET ops_item_id = :ops, #status = :open, updated_at = :at",
                ConditionExpression="incident_id = :id AND claim = :claim AND attribute_not_exists(ops_item_id)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":ops": {"S": ops_item_id},
                    ":open": {"S": "open"},
                    ":at": {"S": at},
                    ":id": {"S": incident.incident_id},
                    ":claim": {"S": incident.claim or ""},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return incident_from_item(response["Attributes"])

    def count_occurrence(
        self,
        current: Incident,
        *,
        event_id: str | None,
        at: str,
        severity: int,
        expires_at: int,
    ) -> Counted:
        """One more occurrence of ``current`` (open or opening), as read: ``occurrences + 1``.

        Optimistic: ``conflict`` when the incident changed since it was read (read again and retry);
        ``duplicate`` when ``event_id`` was counted before."""
        pk = incident_pk(current.resource, current.cause)
        n = current.occurrences + 1
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":n": {"N": str(n)},
            ":k": {"N": str(current.occurrences)},
            ":at": {"S": at},
            ":id": {"S": current.incident_id},
            ":open": {"S": "open"},
            ":opening": {"S": "opening"},
            ":severity": {"N": str(min(severity, current.severity))},
        }
        assignments = "occurrences = :n, updated_at = :at, last_seen_at = :at, severity = :severity"
        if event_id is not None:
            assignments += ", last_event_id = :event"
            values[":event"] = {"S": event_id}
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"pk": {"S": pk}, "sk": {"S": INCIDENT_SK}},
            "UpdateExpression": f"SET {assignments}",
            "ConditionExpression": "incident_id = :id AND occurrences = :k AND #status IN (:open, :opening)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        writes: list[TransactWriteItemTypeDef] = [{"Update": update}]  # type: ignore[typeddict-item]
        if event_id is not None:
            writes.append(self._marker_write(pk, event_id, current.incident_id, n, expires_at))
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            cancelled = cancellation(exc)
            if cancelled is None:
                raise
            if cancelled.condition_failed(1):
                return "duplicate"
            if cancelled.condition_failed(0) or cancelled.retryable:
                return "conflict"
            raise
        return "counted"

    def resolve(self, resolved: Incident) -> Incident | None:
        """Mark the open incident resolved (fields from ``resolved``); None if it is not open any more.
        Also keeps the final state under ``resolved#<id>``."""
        if resolved.resolved_at is None or resolved.mttr_seconds is None:
            raise ValueError("a resolved incident needs resolved_at and mttr_seconds")
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": incident_pk(resolved.resource, resolved.cause)}, "sk": {"S": INCIDENT_SK}},
                UpdateExpression=(
                    "SET #status = :resolved, resolved_at = :at, updated_at = :at, resolved_by = :by, "
                    "resolution_reason = :reason, mttr_seconds = :mttr"
                ),
                ConditionExpression="incident_id = :id AND #status = :open",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":resolved": {"S": "resolved"},
                    ":open": {"S": "open"},
                    ":at": {"S": resolved.resolved_at},
                    ":by": {"S": resolved.resolved_by or "unknown"},
                    ":reason": {"S": resolved.resolution_reason or ""},
                    ":mttr": {"N": str(resolved.mttr_seconds)},
                    ":id": {"S": resolved.incident_id},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        final = incident_from_item(response["Attributes"])
        self.keep_resolved(final)
        return final

    def keep_resolved(self, incident: Incident) -> None:
        """Write (or rewrite: same content) the resolved copy of ``incident``."""
        self._client.put_item(
            TableName=self.table_name,
            Item=incident_to_item(incident, RESOLVED_SK_PREFIX + incident.incident_id),
        )

    def _marker_write(
        self, pk: str, event_id: str, incident_id: str, n: int, expires_at: int
    ) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    "pk": {"S": pk},
                    "sk": {"S": EVENT_SK_PREFIX + event_id},
                    "incident_id": {"S": incident_id},
                    "occurrence": {"N": str(n)},
                    "expires_at": {"N": str(expires_at)},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
