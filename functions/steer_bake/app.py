"""mlcp promote / mlcp abort of a managed deployment's bake (ADR 24): re-check at the moment of
effect, claim the bake, audit who and why, answer the bake's parked task token."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp import clock
from mlcp.adapters import clients
from mlcp.adapters.endpoints import SageMakerHosting
from mlcp.adapters.state import ControlPlaneState
from mlcp.config import GovernanceConfig
from mlcp.entrypoint import Runtime
from mlcp.observability import logger, metrics
from mlcp.policy.appconfig import policy_source_from_env
from mlcp.usecases.steer_bake import SteerDeps, SteerRequest, steer_bake

runtime = Runtime("steer-bake")
deps = SteerDeps(
    bakes=ControlPlaneState(GovernanceConfig.from_env().state_table),
    hosting=SageMakerHosting(owner=runtime.config.audit_table),
    policies=policy_source_from_env(),
    audit=runtime.audit,
    callbacks=clients.stepfunctions(),
    clock=clock.now,
)


@logger.inject_lambda_context(correlation_id_path="endpoint")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return steer_bake(SteerRequest.parse(raw), deps=deps)
