"""Deployment workflow task (.waitForTaskToken): park the token until an endpoint event (or an
immediate check) says the deployment ended."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import DeploymentsByAccount, Runtime
from mlcp.observability import logger, metrics
from mlcp.usecases.deployment import await_endpoint

runtime = Runtime("await-endpoint")
deployments = DeploymentsByAccount(runtime, opens_incidents=False)


@logger.inject_lambda_context(correlation_id_path="endpoint")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return await_endpoint(
        str(raw["endpoint"]),
        str(raw["task_token"]),
        str(raw["target_config"]),
        raw.get("previous_config"),
        deps=deployments(raw.get("account")),
    )
