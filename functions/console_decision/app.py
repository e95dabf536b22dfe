"""CloudTrail's record of a StartExecution of the approval-decision state machine (via EventBridge):
apply the decision its input carries, as the identity CloudTrail recorded, and complete the decision
execution with the verdict. A malformed event is rejected (parked and audited) with the reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from mlcp.config import GovernanceConfig
from mlcp.entrypoint import Runtime, console_decision_deps
from mlcp.events import validation_reason
from mlcp.events.cloudtrail import StartExecutionCallEvent
from mlcp.observability import logger, metrics
from mlcp.usecases.console_decision import decide_from_console

runtime = Runtime("console-decision")
deps = console_decision_deps(runtime.audit, GovernanceConfig.from_env().decision_state_machine_arn or "")


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        event = StartExecutionCallEvent.model_validate(raw)
    except ValidationError as exc:
        reason = validation_reason(exc)
        runtime.reject(raw, reason)
        return {"verdict": "rejected", "why": reason}
    return decide_from_console(event, deps)
