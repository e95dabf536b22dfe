"""New training data: an S3 object created under the configured prefix -> ``data.arrived``."""

from __future__ import annotations

from typing import Protocol

from mlcp.adapters.storage import ObjectFacts
from mlcp.audit import AuditAction
from mlcp.config import TrainingDataConfig
from mlcp.events.s3 import S3ObjectCreatedEvent
from mlcp.models.audit import AppendResult
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.ports import AuditLog


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectFacts | None: ...


def data_stream(bucket: str) -> str:
    """Audit stream of the data that lands in ``bucket``."""
    return f"data#{bucket}"


def record_data_arrival(
    event: S3ObjectCreatedEvent,
    *,
    config: TrainingDataConfig,
    objects: ObjectStore,
    audit: AuditLog,
) -> dict[str, object]:
    """Append ``data.arrived`` for a new object, with what S3 says about it now.

    Ignored (audited as ``event.ignored``, nothing else) when the object is outside the configured
    bucket/prefix or S3 no longer has it. Idempotent: the decision id is the object version, so
    a redelivered or re-emitted event appends nothing.
    """
    detail = event.detail.object
    version = detail.version_id or detail.etag or "unversioned"
    subject = f"s3://{event.bucket}/{event.key}"
    stream = data_stream(event.bucket)

    if event.bucket != config.bucket or not event.key.startswith(config.prefix):
        return _ignore(
            audit, stream, subject, event, version, f"outside s3://{config.bucket}/{config.prefix}"
        )
    facts = objects.head(event.bucket, event.key, detail.version_id)
    if facts is None:
        return _ignore(audit, stream, subject, event, version, "S3 does not have this object (any more)")

    result = audit.append(
        stream=stream,
        action=AuditAction.DATA_ARRIVED,
        actor=event.detail.requester or "unknown",
        subject=subject,
        evidence={
            "bucket": facts.bucket,
            "key": facts.key,
            "version_id": facts.version_id,
            "size": facts.size,
            "etag": facts.etag,
            "last_modified": facts.last_modified,
            "sequencer": detail.sequencer,
        },
        decision_id=f"data.arrived:{subject}@{facts.version_id or facts.etag}",
        event_id=event.id,
    )
    if result.appended:
        metrics.add_metric(name="TrainingObjectsArrived", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="TrainingBytesArrived", unit=MetricUnit.Bytes, value=facts.size)
    logger.info("data arrived", extra={"subject": subject, "appended": result.appended})
    return {**_outcome("recorded", result), "size": facts.size}


def _ignore(
    audit: AuditLog, stream: str, subject: str, event: S3ObjectCreatedEvent, version: str, reason: str
) -> dict[str, object]:
    logger.info("object ignored", extra={"subject": subject, "reason": reason})
    result = audit.append(
        stream=stream,
        action=AuditAction.EVENT_IGNORED,
        actor="mlcp",
        subject=subject,
        evidence={"reason": reason, "detail_type": event.detail_type},
        decision_id=f"event.ignored:{subject}@{version}",
        event_id=event.id,
    )
    return _outcome("ignored", result, reason)


def _outcome(status: str, result: AppendResult, reason: str | None = None) -> dict[str, object]:
    outcome: dict[str, object] = {
        "status": status,
        "stream": result.record.stream,
        "seq": result.record.seq,
        "appended": result.appended,
    }
    if reason:
        outcome["reason"] = reason
    return outcome
