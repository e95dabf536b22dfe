"""Deployment workflow task: is this "Approved" event a real, new approval that passes the gates?

Input: ``{"event": <EventBridge event>, "execution": <execution ARN>}``. A malformed event, or one
naming a package the registry does not know, is rejected (parked and audited) and raised as
``InvalidEvent`` (the workflow's EventRejected branch).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, governance_deps
from mlcp.errors import InvalidEvent, ModelPackageNotFound
from mlcp.events import ModelPackageStateChangeEvent
from mlcp.observability import logger, metrics
from mlcp.usecases.approval import verify_approval

runtime = Runtime("verify-approval")
deps = governance_deps(runtime.audit)


@logger.inject_lambda_context(correlation_id_path="event.id")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = runtime.parse_or_reject(raw.get("event"), ModelPackageStateChangeEvent)
    if event is None:
        raise InvalidEvent("the deployment workflow was started by an event it does not take")
    try:
        return verify_approval(event, execution=str(raw.get("execution", "")), deps=deps)
    except ModelPackageNotFound as exc:  # an event about a package the registry does not know
        runtime.reject(raw.get("event"), f"unknown model package: {exc}")
        raise InvalidEvent(f"unknown model package: {exc}") from exc
