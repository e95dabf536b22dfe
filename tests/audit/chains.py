"""Build valid chains in memory (no DynamoDB) for the pure verification tests."""

from __future__ import annotations

from typing import Any

from mlcp.audit import GENESIS_HASH, AuditAction, AuditRecord, StreamHead, record_hash

ACTIONS = list(AuditAction)


def make_record(stream: str, seq: int, prev_hash: str, **overrides: Any) -> AuditRecord:
    """A correctly hashed record; ``overrides`` replace content fields before hashing."""
    fields: dict[str, Any] = {
        "stream": stream,
        "seq": seq,
        "prev_hash": prev_hash,
        "actor": "fn:event-intake",
        "at": f"2025-01-31T12:00:{seq % 60:02d}.000000Z",
        "action": ACTIONS[seq % len(ACTIONS)].value,
        "subject": f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/{seq}",
        "evidence": {"n": seq, "score": seq / 7, "tags": ["a", "b"], "nested": {"ok": seq % 2 == 0}},
        "event_id": f"evt-{seq}",
        "decision_id": f"{stream}:{seq}",
    }
    fields.update(overrides)
    return AuditRecord(**fields, hash=record_hash(fields))


def build_chain(stream: str, length: int) -> list[AuditRecord]:
    """``length`` correctly linked records of ``stream``."""
    records: list[AuditRecord] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        record = make_record(stream, seq, prev)
        records.append(record)
        prev = record.hash
    return records


def head_of(records: list[AuditRecord]) -> StreamHead:
    """The head a correct trail would hold for ``records``."""
    return StreamHead(stream=records[-1].stream, seq=records[-1].seq, hash=records[-1].hash)
