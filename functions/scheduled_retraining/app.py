"""The hourly EventBridge schedule -> retrain the pipelines whose policy asks for a schedule."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, reaction_deps
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.usecases.retraining_reactions import scheduled_retraining

runtime = Runtime("scheduled-retraining")
deps = reaction_deps(runtime.audit)


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tick = runtime.parse_schedule_or_reject(raw)
    if tick is None:
        return {"status": "rejected"}
    return {"status": "ticked", "retraining": scheduled_retraining(deps=deps, event_id=tick.id)}
