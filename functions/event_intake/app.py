"""SageMaker, CloudWatch alarm and monitoring-report events -> ``event.received``, then the
reaction the policy asks for: incidents opened, updated or resolved, retraining started or suppressed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, reaction_deps
from mlcp.events import ControlPlaneEvent, detail_types
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.usecases.event_intake import record_event_received
from mlcp.usecases.reactions import react

runtime = Runtime("event-intake")
deps = reaction_deps(runtime.audit)

# By model name: each model loads with the first event of its detail-type, not all eight at init.
ACCEPTED = detail_types(
    "ModelPackageStateChangeEvent",
    "EndpointStateChangeEvent",
    "EndpointDeploymentStateChangeEvent",
    "TrainingJobStateChangeEvent",
    "PipelineExecutionStatusChangeEvent",
    "ProcessingJobStateChangeEvent",
    "AlarmStateChangeEvent",
    "ModelMonitoringReportEvent",
)


# The business key is what the event says, not its EventBridge id: a re-emitted copy is a duplicate.
@runtime.idempotent('[source, "detail-type", detail]')
def _record(*, raw: dict[str, Any], event: ControlPlaneEvent) -> dict[str, object]:
    result = record_event_received(event, audit=runtime.audit, home_account=runtime.config.home_account)
    reaction = react(event, deps)
    return {
        "status": "recorded",
        "stream": result.record.stream,
        "seq": result.record.seq,
        "reaction": reaction,
    }


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    runtime.register_lambda_context(context)
    event = runtime.parse_any_or_reject(raw, ACCEPTED)
    if event is None:
        return {"status": "rejected"}
    outcome: dict[str, object] = _record(raw=raw, event=event)
    return outcome
