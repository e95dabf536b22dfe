"""mlcp promote / mlcp abort of a managed deployment's bake (ADR 24): re-check at the moment of
effect, claim the bake, audit who and why, answer the bake's parked task token."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, steer_deps
from mlcp.observability import logger, metrics
from mlcp.usecases.steer_bake import SteerRequest, steer_bake

runtime = Runtime("steer-bake")
deps = steer_deps(runtime)


@logger.inject_lambda_context(correlation_id_path="endpoint")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return steer_bake(SteerRequest.parse(raw), deps=deps)
