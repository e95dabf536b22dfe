"""Deployment workflow task: re-check the approval (registry, gates: it may have waited for a person,
the lease or a redrive), then model and endpoint config from the package, then CreateEndpoint or
UpdateEndpoint with SageMaker's deployment guardrails (idempotent on retry and redrive)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import DeploymentsByAccount, Runtime, governance_deps, open_incidents_counter
from mlcp.observability import logger, metrics
from mlcp.usecases.deployment_start import start_deployment
from mlcp.usecases.recheck import approval_recheck, free_refused_promotion

runtime = Runtime("deploy-model")
deployments = DeploymentsByAccount(runtime, opens_incidents=False)
governance = governance_deps(runtime.audit)
open_incidents = open_incidents_counter()


@logger.inject_lambda_context(correlation_id_path="execution")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    execution = str(raw.get("execution", ""))
    event_id = raw.get("event_id")
    recheck = approval_recheck(
        human=raw.get("human"),
        execution=execution,
        event_id=event_id,
        deps=governance,
        stage=raw.get("stage") or None,
        open_incidents=open_incidents,
        home_account=runtime.config.home_account,
        promotion=raw.get("promotion") or None,
    )
    result = start_deployment(
        raw["package"],
        str(raw["endpoint"]),
        dict(raw.get("settings") or {}),
        deps=deployments(raw.get("account")),
        recheck=recheck,
        execution=execution,
        event_id=event_id,
    )
    free_refused_promotion(
        result, raw["package"], promotion=raw.get("promotion") or None, execution=execution, deps=governance
    )
    return result
