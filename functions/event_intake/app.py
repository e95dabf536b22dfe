"""SageMaker, CloudWatch alarm and monitoring-report events -> ``event.received`` audit record."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime
from mlcp.events import (
    AlarmStateChangeEvent,
    ControlPlaneEvent,
    EndpointDeploymentStateChangeEvent,
    EndpointStateChangeEvent,
    ModelMonitoringReportEvent,
    ModelPackageStateChangeEvent,
    PipelineExecutionStatusChangeEvent,
    ProcessingJobStateChangeEvent,
    TrainingJobStateChangeEvent,
)
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.usecases.event_intake import record_event_received

runtime = Runtime("event-intake")
# The business key is what the event says, not its EventBridge id: a re-emitted copy is a duplicate.
idempotency = runtime.idempotency('[source, "detail-type", detail]')

ACCEPTED = (
    ModelPackageStateChangeEvent,
    EndpointStateChangeEvent,
    EndpointDeploymentStateChangeEvent,
    TrainingJobStateChangeEvent,
    PipelineExecutionStatusChangeEvent,
    ProcessingJobStateChangeEvent,
    AlarmStateChangeEvent,
    ModelMonitoringReportEvent,
)


@idempotent_function(
    data_keyword_argument="raw", config=idempotency, persistence_store=runtime.idempotency_store
)
def _record(*, raw: dict[str, Any], event: ControlPlaneEvent) -> dict[str, object]:
    result = record_event_received(event, audit=runtime.audit)
    return {"status": "recorded", "stream": result.record.stream, "seq": result.record.seq}


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    idempotency.register_lambda_context(context)
    event = runtime.parse_or_reject(raw, *ACCEPTED)
    if event is None:
        return {"status": "rejected"}
    outcome: dict[str, object] = _record(raw=raw, event=event)
    return outcome
