"""Approval-decision workflow task (.waitForTaskToken): park the execution's task token until its
verdict is known (the CloudTrail record of the StartExecution call carries who started it)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, decision_wait_deps
from mlcp.observability import logger, metrics
from mlcp.usecases.decision_wait import await_decision

runtime = Runtime("await-console-decision")
deps = decision_wait_deps()  # the state table and Step Functions: the wait applies no verdict


@logger.inject_lambda_context(correlation_id_path="execution")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return await_decision(str(raw["execution"]), str(raw["task_token"]), deps)
