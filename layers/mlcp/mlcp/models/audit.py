"""The audit record, its canonical encoding and its hash.

Canonical encoding (``canonical_json``) — the byte string every audit hash is computed over:

* JSON (RFC 8259) with object keys sorted by code point (``sort_keys=True``);
* no insignificant whitespace (separators ``","`` and ``":"``);
* UTF-8, with non-ASCII characters written as themselves (``ensure_ascii=False``), so the
  bytes do not depend on escaping choices;
* ``NaN``, ``Infinity`` and ``-Infinity`` are rejected (they are not JSON); floats are written
  as Python's shortest round-trip ``repr``, integers exactly, ``None`` as ``null``;
* only ``dict`` (string keys), ``list``/``tuple``, ``str``, ``int``, ``float``, ``bool`` and
  ``None`` are accepted; anything else is rejected rather than stringified.

A record's hash (``record_hash``) is the lowercase hex SHA-256 of the canonical JSON of the
record's fields **except** ``hash`` itself: ``stream``, ``seq``, ``prev_hash``, ``actor``, ``at``,
``action``, ``subject``, ``evidence``, ``event_id`` (``null`` when absent) and ``decision_id``.
Because ``stream``, ``seq`` and ``prev_hash`` are covered, a record can be neither edited nor moved
to another position or stream without its hash (and its successor's link) breaking.
"""

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlcp.errors import ControlPlaneError
from mlcp.records import record_class

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first record of every stream."""

HASHED_FIELDS: tuple[str, ...] = (
    "stream",
    "seq",
    "prev_hash",
    "actor",
    "at",
    "action",
    "subject",
    "evidence",
    "event_id",
    "decision_id",
)
"""The record fields a record's hash covers (every field but ``hash``)."""

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class AuditEncodingError(ControlPlaneError, ValueError):
    """A value cannot be encoded canonically (NaN/Infinity, a non-JSON type, a non-string key)."""


class AuditAction(StrEnum):
    """What an audit record says happened. The values are the audit contract; never rename one."""

    EVENT_RECEIVED = "event.received"
    EVENT_REJECTED = "event.rejected"
    EVENT_IGNORED = "event.ignored"
    DATA_ARRIVED = "data.arrived"
    PACKAGE_REGISTERED = "package.registered"
    GATES_EVALUATED = "gates.evaluated"
    PACKAGE_APPROVED = "package.approved"
    PACKAGE_REJECTED = "package.rejected"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_GRANTED = "approval.granted"
    APPROVAL_DENIED = "approval.denied"
    APPROVAL_BLOCKED = "approval.blocked"
    APPROVAL_ABANDONED = "approval.abandoned"
    DEPLOYMENT_STARTED = "deployment.started"
    DEPLOYMENT_QUEUED = "deployment.queued"
    DEPLOYMENT_REFUSED = "deployment.refused"
    DEPLOYMENT_PROMOTED = "deployment.promoted"
    DEPLOYMENT_ROLLED_BACK = "deployment.rolled_back"
    DEPLOYMENT_FAILED = "deployment.failed"
    DEPLOYMENT_ABORT_REQUESTED = "deployment.abort_requested"
    DEPLOYMENT_PROMOTE_REQUESTED = "deployment.promote_requested"
    DEPLOYMENT_PROMOTE_REFUSED = "deployment.promote_refused"
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_UPDATED = "incident.updated"
    INCIDENT_RESOLVED = "incident.resolved"
    RETRAINING_STARTED = "retraining.started"
    RETRAINING_SUPPRESSED = "retraining.suppressed"
    RETRAINING_SUCCEEDED = "retraining.succeeded"
    RETRAINING_FAILED = "retraining.failed"
    MODEL_RETIRED = "model.retired"
    ENDPOINT_CONFIG_RETIRED = "endpoint_config.retired"
    ANALYSIS_COMPLETED = "analysis.completed"
    SHADOW_STARTED = "shadow.started"
    SHADOW_ENDED = "shadow.ended"
    PROMOTION_REQUESTED = "promotion.requested"
    PROMOTION_ALLOWED = "promotion.allowed"
    PROMOTION_REFUSED = "promotion.refused"


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""The canonical encoder, built once (``json.dumps`` with options builds one per call)."""

_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})
"""Exact types that are always valid JSON: skipped without a call (verify hashes every record)."""


def _check_json(value: Any, path: str) -> None:
    """Reject what the canonical encoding does not accept, naming where it sits."""
    is_dict = type(value) is dict  # checked first: verify hashes every record, the ABC check is slow
    if not is_dict:
        if value is None or isinstance(value, str | bool | int):
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise AuditEncodingError(f"{path}: {value!r} is not valid JSON (NaN/Infinity)")
            return
    if is_dict or isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise AuditEncodingError(f"{path}: object key {key!r} is not a string")
            if type(item) not in _PLAIN_SCALARS:
                _check_json(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if type(item) not in _PLAIN_SCALARS:
                _check_json(item, f"{path}[{index}]")
        return
    raise AuditEncodingError(f"{path}: {type(value).__name__} is not a JSON type")


def canonical_json(obj: Any) -> bytes:
    """Encode ``obj`` canonically (see the module docstring) and return the UTF-8 bytes.

    Raises ``AuditEncodingError`` for NaN/Infinity, non-string object keys and non-JSON types.
    Enum members that are ``str``/``int`` subclasses (``AuditAction``) encode as their value.
    """
    _check_json(obj, "$")
    return _CANONICAL.encode(obj).encode("utf-8")


def record_hash(fields: Mapping[str, Any], *, checked: bool = False) -> str:
    """SHA-256 (lowercase hex) over the canonical JSON of every field in ``HASHED_FIELDS``.

    ``fields`` may carry a ``hash`` key (it is ignored); a missing optional ``event_id`` counts as
    ``null``. Any other missing field is an error, so a hash is never computed over half a record.
    ``checked``: the caller already validated the values (a built ``AuditRecord``); the JSON walk
    that names where a bad value sits is skipped.
    """
    body: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        if name in fields:
            value = fields[name]
        elif name == "event_id":
            value = None
        else:
            raise AuditEncodingError(f"record field {name!r} is missing; cannot hash")
        if type(value) not in _PLAIN_SCALARS and isinstance(value, StrEnum):
            value = value.value
        body[name] = value
    if not checked:
        return hashlib.sha256(canonical_json(body)).hexdigest()
    try:  # the encoder itself still refuses NaN/Infinity and non-JSON types
        encoded = _CANONICAL.encode(body).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise AuditEncodingError(f"$: {exc}") from None
    return hashlib.sha256(encoded).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and a ``Z`` suffix, e.g. ``2025-01-31T12:00:00.000000Z``.

    Raises ``AuditEncodingError`` for a naive datetime (its zone would be a guess).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise AuditEncodingError(f"timestamp {moment!r} is naive; audit times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditRecord(BaseModel):
    """One link of a stream's hash chain. Immutable once written.

    The model checks shapes only; whether ``hash`` matches the content is ``verify_chain``'s job,
    so a tampered record can still be loaded and reported.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    stream: str = Field(min_length=1)
    seq: int = Field(ge=1)
    prev_hash: str
    hash: str
    actor: str = Field(min_length=1)
    at: str
    action: AuditAction
    subject: str
    evidence: dict[str, Any]
    event_id: str | None = None
    decision_id: str = Field(min_length=1)

    @field_validator("prev_hash", "hash")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if not _HEX64.fullmatch(value):
            raise ValueError("must be 64 lowercase hex characters (a SHA-256 digest)")
        return value

    @field_validator("at")
    @classmethod
    def _utc_timestamp(cls, value: str) -> str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from exc
        if parsed.utcoffset() != timedelta(0):
            raise ValueError(f"timestamp must be UTC: {value!r}")
        return value

    @field_validator("evidence")
    @classmethod
    def _json_evidence(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_json(value, "evidence")
        return value

    def hashed_fields(self) -> dict[str, Any]:
        """The fields the hash covers, JSON-ready (action as its string value)."""
        fields = {name: getattr(self, name) for name in HASHED_FIELDS}
        fields["action"] = self.action.value
        return fields

    def computed_hash(self) -> str:
        """The hash this record's content should carry."""
        # The fields were checked when the record was built (types; evidence by _json_evidence) and
        # the record is frozen: verify hashes every record, so it skips the second walk (~20 %).
        return record_hash(self.hashed_fields(), checked=True)

    def to_json_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (what ``mlcp audit show --json`` prints)."""
        return self.hashed_fields() | {"hash": self.hash}


class StreamHead(BaseModel):
    """The stream head item: the seq and hash of the stream's last record."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    stream: str
    seq: int = Field(ge=1)
    hash: str


@record_class(slots=True)
class AppendResult:
    """The outcome of an audit append (``mlcp.ports.AuditLog.append``).

    ``appended`` is False when the decision was already recorded; ``record`` is then the record
    written the first time (possibly in another stream if the caller changed its mind).
    """

    record: AuditRecord
    appended: bool
