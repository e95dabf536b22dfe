"""Deployment workflow task: take or release the endpoint's deployment lease (one update at a time)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import DeploymentsByAccount, Runtime
from mlcp.observability import logger, metrics
from mlcp.usecases.deployment import acquire_lease, release_lease

runtime = Runtime("endpoint-lease")
deployments = DeploymentsByAccount(runtime, opens_incidents=False)


@logger.inject_lambda_context(correlation_id_path="holder")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    endpoint, holder = str(raw["endpoint"]), str(raw["holder"])
    if raw.get("action") == "release":
        return release_lease(endpoint, holder, deps=deployments.keyed(raw.get("account")))
    return acquire_lease(
        endpoint,
        holder,
        int(raw["ttl_seconds"]),
        package_arn=str(raw["package_arn"]),
        deps=deployments.keyed(raw.get("account")),
    )
