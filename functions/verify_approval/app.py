"""Deployment workflow task: is this "Approved" event a real, new approval that passes the gates?

Input: ``{"event": <EventBridge event>, "execution": <execution ARN>}``. A malformed event, or one
naming a package the registry does not know, is rejected (parked and audited) and raised as
``InvalidEvent`` (the workflow's EventRejected branch).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, governance_deps, open_incidents_counter
from mlcp.errors import InvalidEvent, ModelPackageNotFound
from mlcp.events import ModelPackageStateChangeEvent
from mlcp.observability import logger, metrics
from mlcp.usecases.verification import verify_approval

runtime = Runtime("verify-approval")
deps = governance_deps(runtime.audit)
open_incidents = open_incidents_counter()


@logger.inject_lambda_context(correlation_id_path="event.id")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A promotion (mlcp promote-stage, ADR 27) starts the workflow with the package's event and
    # {"promotion": {"stage": ...}}: only StartExecution can add it (EventBridge events have no such key).
    document = raw.get("event")
    promotion = document.pop("promotion", None) if isinstance(document, dict) else None
    stage = str(promotion["stage"]) if isinstance(promotion, dict) and promotion.get("stage") else None
    event = runtime.parse_or_reject(document, ModelPackageStateChangeEvent)
    if event is None:
        raise InvalidEvent("the deployment workflow was started by an event it does not take")
    try:
        return verify_approval(
            event,
            execution=str(raw.get("execution", "")),
            deps=deps,
            stage=stage,
            open_incidents=open_incidents if stage else None,
            home_account=runtime.config.home_account,
        )
    except ModelPackageNotFound as exc:  # an event about a package the registry does not know
        runtime.reject(raw.get("event"), f"unknown model package: {exc}")
        raise InvalidEvent(f"unknown model package: {exc}") from exc
