"""Deployment workflow task (.waitForTaskToken): park the task token as a pending approval and
notify approvers. The workflow resumes when `mlcp approve` / `mlcp reject` answers, or times out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, approval_record_deps
from mlcp.observability import logger, metrics
from mlcp.usecases.approval_records import request_human_approval

runtime = Runtime("request-human-approval")
deps = approval_record_deps(runtime.audit)  # the state table, the topic and the trail: no gates


@logger.inject_lambda_context(correlation_id_path="event_id")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return request_human_approval(raw, deps=deps)
