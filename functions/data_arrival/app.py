"""S3 ``Object Created`` under the training-data prefix -> ``data.arrived`` audit record."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.adapters.storage import S3ObjectStore
from mlcp.config import TrainingDataConfig
from mlcp.entrypoint import Runtime, reaction_deps
from mlcp.events import S3ObjectCreatedEvent
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.usecases.data_arrival import record_data_arrival
from mlcp.usecases.retraining_reactions import react_to_data

runtime = Runtime("data-arrival")
training_data = TrainingDataConfig.from_env()
objects = S3ObjectStore()
reactions = reaction_deps(runtime.audit)


# One object version is one arrival, whatever EventBridge id or delivery carries it.
@runtime.idempotent(
    '[detail.bucket.name, detail.object.key, detail.object."version-id" || detail.object.etag]'
)
def _record(*, raw: dict[str, Any], event: S3ObjectCreatedEvent) -> dict[str, object]:
    outcome = record_data_arrival(event, config=training_data, objects=objects, audit=runtime.audit)
    if outcome["status"] == "recorded":
        outcome["retraining"] = react_to_data(
            event.s3_uri, int(str(outcome["size"])), event_id=event.id, deps=reactions
        )
    return outcome


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    runtime.register_lambda_context(context)
    event = runtime.parse_or_reject(raw, S3ObjectCreatedEvent)
    if event is None:
        return {"status": "rejected"}
    outcome: dict[str, object] = _record(raw=raw, event=event)
    return outcome
