"""Deployment workflow task: where the deployment stands, from DescribeEndpoint (polling fallback)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import DeploymentsByAccount, Runtime
from mlcp.observability import logger, metrics
from mlcp.usecases.deployment import check_deployment

runtime = Runtime("check-deployment")
deployments = DeploymentsByAccount(runtime, opens_incidents=False)


@logger.inject_lambda_context(correlation_id_path="endpoint")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return check_deployment(
        str(raw["endpoint"]),
        str(raw["target_config"]),
        raw.get("previous_config"),
        deps=deployments(raw.get("account")),
    )
