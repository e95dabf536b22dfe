"""Debounce workflow task: after the quiet period, decide on a pipeline's training-data window
(retrain now, or wait again because more data kept arriving)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, reaction_deps
from mlcp.observability import logger, metrics
from mlcp.usecases.retraining_reactions import recheck_data

runtime = Runtime("recheck-training-data")
deps = reaction_deps(runtime.audit)


@logger.inject_lambda_context(correlation_id_path="window_id")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return recheck_data(str(raw["pipeline"]), deps=deps, window_id=str(raw["window_id"]))
