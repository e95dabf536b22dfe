"""Append one audit record on behalf of a state machine (its tasks cannot hash-chain in ASL)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlcp.audit import AuditAction
from mlcp.observability import MetricUnit, metrics
from mlcp.ports import AuditLog


class AuditAppendRequest(BaseModel):
    """What a state machine asks to record. Unknown fields are refused: the ASL and this agree."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    action: AuditAction
    stream: str = Field(min_length=3, max_length=512, pattern=r"^[a-z-]+#.+$|^control-plane$")
    subject: str = Field(min_length=1, max_length=2048)
    actor: str = Field(min_length=1, max_length=2048)
    decision_id: str = Field(min_length=1, max_length=1024)
    event_id: str | None = Field(default=None, max_length=256)
    evidence: dict[str, Any] = Field(default_factory=dict)


def append_audit(request: AuditAppendRequest, *, audit: AuditLog) -> dict[str, object]:
    """Append the requested record; idempotent on its decision id."""
    result = audit.append(
        stream=request.stream,
        action=request.action,
        actor=request.actor,
        subject=request.subject,
        evidence=request.evidence,
        decision_id=request.decision_id,
        event_id=request.event_id,
    )
    metrics.add_metric(
        name="AuditRecordsAppended" if result.appended else "AuditDuplicatesSkipped",
        unit=MetricUnit.Count,
        value=1,
    )
    return {
        "stream": result.record.stream,
        "seq": result.record.seq,
        "hash": result.record.hash,
        "appended": result.appended,
    }
