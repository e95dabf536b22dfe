"""The hourly EventBridge schedule -> retrain the pipelines whose policy asks for a schedule."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlcp.entrypoint import Runtime, reaction_deps
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.usecases.reactions import scheduled_retraining

runtime = Runtime("scheduled-retraining")
deps = reaction_deps(runtime.audit)


class ScheduledEvent(BaseModel):
    """EventBridge's ``Scheduled Event`` (only a schedule rule of this stack can send it)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(min_length=1)
    source: Literal["aws.events"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        tick = ScheduledEvent.model_validate(raw)
    except ValidationError as exc:
        runtime.reject(raw, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        return {"status": "rejected"}
    return {"status": "ticked", "retraining": scheduled_retraining(deps=deps, event_id=tick.id)}
