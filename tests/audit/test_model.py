"""Canonical JSON, record hashing and the record model."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from mlcp.audit import (
    GENESIS_HASH,
    HASHED_FIELDS,
    AuditAction,
    AuditEncodingError,
    AuditRecord,
    canonical_json,
    format_timestamp,
    record_hash,
)
from mlcp.errors import ControlPlaneError

from .chains import make_record

CONTRACT_ACTIONS = {
    "event.received",
    "event.rejected",
    "event.ignored",
    "data.arrived",
    "package.registered",
    "gates.evaluated",
    "package.approved",
    "package.rejected",
    "approval.requested",
    "approval.granted",
    "approval.denied",
    "deployment.started",
    "deployment.promoted",
    "deployment.rolled_back",
    "deployment.failed",
    "deployment.abort_requested",
    "incident.opened",
    "incident.updated",
    "incident.resolved",
    "retraining.started",
    "retraining.suppressed",
    "retraining.succeeded",
    "retraining.failed",
    # Added with the governance gates: an approval attempt refused by separation of duties.
    "approval.blocked",
    # Added with canary deployments: a deployment waiting for the endpoint's lease.
    "deployment.queued",
    # Added with retirement: an unused model / endpoint config deleted past the tier's retention.
    "model.retired",
    "endpoint_config.retired",
    # Added with alarms on the control plane: an answer to an approval whose execution had ended.
    "approval.abandoned",
    # Added with re-verification at the moment of effect: an approval that no longer holds when its
    # deployment would start (registry status, a gate such as a change freeze).
    "deployment.refused",
    # Added with canary analysis: a candidate judged against its baseline (report in the reports bucket).
    "analysis.completed",
    # Added with operator steering of managed bakes (ADR 24): an early end of a bake, and a refusal of
    # one (who, why refused); neither counts in the change-failure rate.
    "deployment.promote_requested",
    "deployment.promote_refused",
    # Added with the shadow phase (ADR 25): the candidate added as a shadow variant, and removed.
    "shadow.started",
    "shadow.ended",
    # Added with promotion across accounts (ADR 35): who asked to promote a package to a stage
    # (mlcp promote-stage), and the decision (allowed by the path, or refused with the reason).
    "promotion.requested",
    "promotion.allowed",
    "promotion.refused",
}


def test_actions_are_exactly_the_contract() -> None:
    assert {a.value for a in AuditAction} == CONTRACT_ACTIONS
    assert len(AuditAction) == len(CONTRACT_ACTIONS)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    encoded = canonical_json({"b": 1, "a": {"z": [1, 2.5, None, True], "é": "ü✓"}})
    assert encoded == '{"a":{"z":[1,2.5,null,true],"é":"ü✓"},"b":1}'.encode()
    assert isinstance(encoded, bytes)


def test_canonical_json_does_not_depend_on_insertion_order() -> None:
    one = {"x": 1, "y": {"p": [3, 2, 1], "q": "s"}, "a": 0.1}
    two = {"a": 0.1, "y": {"q": "s", "p": [3, 2, 1]}, "x": 1}
    assert canonical_json(one) == canonical_json(two)


def test_canonical_json_round_trips_through_its_own_encoding() -> None:
    value = {"f": 1 / 3, "big": 2**70, "neg": -0.0, "s": 'line\nbreak "q" \\', "l": [{}, []]}
    first = canonical_json(value)
    assert canonical_json(json.loads(first)) == first


def test_record_hash_pinned_vector() -> None:
    # Fixed vector, cross-checked with `printf ... | sha256sum`: changing the encoding or the
    # hashed field set silently would invalidate every stored chain.
    fields = {
        "stream": "control-plane",
        "seq": 1,
        "prev_hash": GENESIS_HASH,
        "actor": "fn:x",
        "at": "2025-01-31T12:00:00.000000Z",
        "action": "event.received",
        "subject": "s",
        "evidence": {"b": [1, 2], "a": "é"},
        "event_id": None,
        "decision_id": "d-1",
    }
    assert (
        canonical_json(fields)
        == (
            '{"action":"event.received","actor":"fn:x","at":"2025-01-31T12:00:00.000000Z",'
            '"decision_id":"d-1","event_id":null,"evidence":{"a":"é","b":[1,2]},'
            '"prev_hash":"' + "0" * 64 + '","seq":1,"stream":"control-plane","subject":"s"}'
        ).encode()
    )
    assert record_hash(fields) == "43d1a1ba6f86e29f618376668dc0871c333ee3a922a4f3d72db15d1db5fa1091"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_canonical_json_rejects_non_finite(bad: float) -> None:
    with pytest.raises(AuditEncodingError, match="NaN/Infinity"):
        canonical_json({"deep": [1, {"x": bad}]})


@pytest.mark.parametrize("bad", [{1: "int key"}, {"s": {1, 2}}, {"d": datetime.now(UTC)}, {"b": b"x"}])
def test_canonical_json_rejects_non_json(bad: object) -> None:
    with pytest.raises(AuditEncodingError):
        canonical_json(bad)


def test_a_built_records_hash_is_the_checked_hash_and_still_refuses_what_json_cannot_encode() -> None:
    record = make_record("group#churn", 3, "a" * 64)
    assert record.computed_hash() == record_hash(record.hashed_fields()) == record.hash
    # model_copy skips validation: the encoder itself still refuses NaN and non-JSON types.
    for evidence in ({"x": float("nan")}, {"s": {1, 2}}):
        with pytest.raises(AuditEncodingError):
            record.model_copy(update={"evidence": evidence}).computed_hash()


def test_encoding_error_is_a_control_plane_error() -> None:
    assert issubclass(AuditEncodingError, ControlPlaneError)


def test_record_hash_covers_every_field_but_hash() -> None:
    record = make_record("group#churn", 3, "a" * 64)
    fields = record.hashed_fields()
    base = record_hash(fields)
    assert base == record.hash
    assert set(HASHED_FIELDS) == set(AuditRecord.model_fields) - {"hash"}
    changed = {
        "stream": "group#other",
        "seq": 4,
        "prev_hash": "b" * 64,
        "actor": "someone-else",
        "at": "2025-01-31T12:00:59.000000Z",
        "action": "package.rejected",
        "subject": "other",
        "evidence": {"n": 3, "tampered": True},
        "event_id": None,
        "decision_id": "other",
    }
    assert set(changed) == set(HASHED_FIELDS)
    for name, value in changed.items():
        assert record_hash(fields | {name: value}) != base, name
    assert record_hash(fields | {"hash": "c" * 64}) == base  # the hash field itself is ignored


def test_record_hash_treats_missing_event_id_as_null_and_requires_others() -> None:
    fields = make_record("s", 1, GENESIS_HASH, event_id=None).hashed_fields()
    without = {k: v for k, v in fields.items() if k != "event_id"}
    assert record_hash(without) == record_hash(fields)
    with pytest.raises(AuditEncodingError, match="actor"):
        record_hash({k: v for k, v in fields.items() if k != "actor"})


def test_record_hash_accepts_enum_action() -> None:
    fields = make_record("s", 1, GENESIS_HASH).hashed_fields()
    as_enum = fields | {"action": AuditAction(fields["action"])}
    assert record_hash(as_enum) == record_hash(fields)


def test_record_model_is_frozen_and_validated() -> None:
    record = make_record("s", 1, GENESIS_HASH)
    with pytest.raises(ValidationError):
        record.seq = 2  # type: ignore[misc]
    data = record.model_dump()
    for field, bad in [
        ("seq", 0),
        ("prev_hash", "xyz"),
        ("hash", "A" * 64),
        ("at", "yesterday"),
        ("at", "2025-01-31T12:00:00+02:00"),
        ("at", "2025-01-31T12:00:00"),
        ("action", "package.deleted"),
        ("evidence", {"x": float("nan")}),
    ]:
        with pytest.raises(ValidationError):
            AuditRecord(**(data | {field: bad}))


def test_format_timestamp_is_utc_iso() -> None:
    moment = datetime(2025, 1, 31, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2025-01-31T12:00:00.123456Z"
    with pytest.raises(AuditEncodingError):
        format_timestamp(datetime(2025, 1, 31, 12, 0))  # naive
