"""Intake of events that later capabilities act on: validated and recorded as ``event.received``.

Each event is filed under the resource it is about (endpoint, model package group, pipeline,
training job, alarm), so an operator reading a stream sees everything that happened to it.
The decision id is the event's content, not its EventBridge id: a re-emitted copy appends nothing.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, cast

from mlcp.accounts import account_stream
from mlcp.audit import AppendResult, AuditAction, AuditTrail, canonical_json
from mlcp.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from mlcp.events import (
        AlarmStateChangeEvent,
        ControlPlaneEvent,
        EndpointStateChangeEvent,
        ModelMonitoringReportEvent,
        ModelPackageStateChangeEvent,
        PipelineExecutionStatusChangeEvent,
        ProcessingJobStateChangeEvent,
        S3ObjectCreatedEvent,
        TrainingJobStateChangeEvent,
    )


def stream_and_subject(event: ControlPlaneEvent) -> tuple[str, str]:
    """The audit stream and subject an event belongs to.

    Dispatched on the model's name, not with class patterns: those would import every event model
    (event_intake takes eight) where only the received event's is loaded (cold start, ADR 32)."""
    match type(event).__name__:
        case "ModelPackageStateChangeEvent":
            package = cast("ModelPackageStateChangeEvent", event)
            return f"group#{package.group_name or 'unknown'}", package.model_package_arn
        case "EndpointStateChangeEvent" | "EndpointDeploymentStateChangeEvent":
            endpoint_event = cast("EndpointStateChangeEvent", event)
            return f"endpoint#{endpoint_event.endpoint_name}", f"endpoint/{endpoint_event.endpoint_name}"
        case "ModelMonitoringReportEvent":
            report = cast("ModelMonitoringReportEvent", event)
            return f"endpoint#{report.endpoint_name}", f"monitor/{report.monitor_name}"
        case "AlarmStateChangeEvent":
            alarm = cast("AlarmStateChangeEvent", event)
            endpoint = alarm.endpoint_name
            stream = f"endpoint#{endpoint}" if endpoint else f"alarm#{alarm.alarm_name}"
            return stream, f"alarm/{alarm.alarm_name}"
        case "PipelineExecutionStatusChangeEvent":
            execution = cast("PipelineExecutionStatusChangeEvent", event)
            return f"pipeline#{execution.pipeline_name or 'unknown'}", execution.pipeline_execution_arn
        case "TrainingJobStateChangeEvent":
            training = cast("TrainingJobStateChangeEvent", event)
            return (
                f"training#{training.training_job_name or 'unknown'}",
                f"training-job/{training.training_job_name}",
            )
        case "ProcessingJobStateChangeEvent":
            # Per job, like training: one shared "processing" head would be a hot stream for a
            # pipeline that fans out into many jobs (ADR 4 addendum).
            processing = cast("ProcessingJobStateChangeEvent", event)
            endpoint = processing.monitored_endpoint_name
            job = processing.processing_job_arn.rsplit("/", 1)[-1]
            stream = f"endpoint#{endpoint}" if endpoint else f"processing#{job}"
            return stream, processing.processing_job_arn
        case "S3ObjectCreatedEvent":
            created = cast("S3ObjectCreatedEvent", event)
            return f"data#{created.bucket}", created.s3_uri
    raise TypeError(f"no stream for {type(event).__name__}")


def content_digest(event: ControlPlaneEvent) -> str:
    """SHA-256 of what the event says (source, detail-type, detail), independent of its id and time."""
    body: dict[str, Any] = {
        "source": event.source,
        "detail-type": event.detail_type,
        "detail": event.detail.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def record_event_received(
    event: ControlPlaneEvent, *, audit: AuditTrail, home_account: str | None = None
) -> AppendResult:
    """Append ``event.received`` to the event's resource stream in its account (once per distinct
    content); a member account's event goes to that account's stream (:func:`account_stream`)."""
    stream, subject = stream_and_subject(event)
    stream = account_stream(stream, event.account, home_account)
    digest = content_digest(event)
    result = audit.append(
        stream=stream,
        action=AuditAction.EVENT_RECEIVED,
        actor=event.source,
        subject=subject,
        evidence={
            "detail_type": event.detail_type,
            "source": event.source,
            "time": event.time.isoformat(),
            "resources": list(event.resources),
            "digest": digest,
        },
        decision_id=f"event.received:{digest}",
        event_id=event.id,
    )
    if result.appended:
        metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=1)
    logger.info("event received", extra={"stream": stream, "subject": subject, "appended": result.appended})
    return result
