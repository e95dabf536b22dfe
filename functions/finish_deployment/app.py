"""Deployment workflow task: record the outcome (promoted / rolled back / failed): audit, package
tags, and an incident when it did not go through."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import DeploymentsByAccount, Runtime
from mlcp.observability import logger, metrics
from mlcp.usecases.deployment import finish_deployment

runtime = Runtime("finish-deployment")
deployments = DeploymentsByAccount(runtime, opens_incidents=True)  # a rollback or failure opens one


@logger.inject_lambda_context(correlation_id_path="event_id")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return finish_deployment(
        raw["outcome"],
        raw["package"],
        str(raw["endpoint"]),
        dict(raw.get("deploy") or {}),
        execution=str(raw["execution"]),
        event_id=raw.get("event_id"),
        failure_reason=raw.get("failure_reason"),
        deps=deployments.keyed(raw.get("account")),
    )
