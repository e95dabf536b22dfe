"""Deployment workflow task: set a package Rejected in the registry with the reasons; audit it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, approval_record_deps
from mlcp.observability import logger, metrics
from mlcp.usecases.approval_records import reject_package

runtime = Runtime("reject-package")
deps = approval_record_deps(runtime.audit)  # the registry, state and trail: no gates, no policy


@logger.inject_lambda_context(correlation_id_path="event_id")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return reject_package(
        raw["package"],
        [str(reason) for reason in raw.get("reasons") or []],
        decided_by=str(raw.get("decided_by", "mlcp")),
        report_uri=raw.get("report_uri"),
        event_id=raw.get("event_id"),
        deps=deps,
        promotion=raw.get("promotion") or None,
        execution=raw.get("execution") or None,
    )
