"""Deployment workflow task: model and endpoint config from the package, then CreateEndpoint or
UpdateEndpoint with SageMaker's deployment guardrails (idempotent on retry and redrive)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, deployment_deps
from mlcp.observability import logger, metrics
from mlcp.usecases.deployment import start_deployment

runtime = Runtime("deploy-model")
deps = deployment_deps(runtime.audit)


@logger.inject_lambda_context(correlation_id_path="execution")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return start_deployment(raw["package"], str(raw["endpoint"]), dict(raw.get("settings") or {}), deps=deps)
