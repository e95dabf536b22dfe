"""Model package registered (PendingManualApproval) or Rejected -> gates and a decision, or the
rejection recorded. What the registry says now decides, not the event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, governance_deps
from mlcp.errors import ModelPackageNotFound
from mlcp.events import ModelPackageStateChangeEvent
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.usecases.approval import handle_package_status

runtime = Runtime("model-package-status")
deps = governance_deps(runtime.audit)


# One decision per package status change, whatever the delivery or EventBridge id.
@runtime.idempotent(
    "[detail.ModelPackageArn, detail.ModelApprovalStatus, detail.LastModifiedTime || detail.CreationTime]"
)
def _handle(*, raw: dict[str, Any], event: ModelPackageStateChangeEvent) -> dict[str, Any]:
    return handle_package_status(event, deps)


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.register_lambda_context(context)
    event = runtime.parse_or_reject(raw, ModelPackageStateChangeEvent)
    if event is None:
        return {"status": "rejected"}
    try:
        outcome: dict[str, Any] = _handle(raw=raw, event=event)
    except ModelPackageNotFound as exc:  # an event about a package the registry does not know
        runtime.reject(raw, f"unknown model package: {exc}")
        return {"status": "rejected"}
    return outcome
