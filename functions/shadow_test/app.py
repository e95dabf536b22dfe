"""Deployment workflow task: the shadow phase before the canary (ADR 25). ``action`` ``start`` puts
the candidate on the endpoint as a shadow variant of production; ``progress`` says whether an
update of the endpoint has applied; ``end`` re-reads the endpoint and the registry after the wait
and the analysis, puts the endpoint back on the config it served before and decides what comes next."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, refuse_member_account, shadow_deps
from mlcp.errors import InvalidEvent
from mlcp.observability import logger, metrics
from mlcp.usecases.shadow import end_shadow, endpoint_progress, start_shadow

runtime = Runtime("shadow-test")
deps = shadow_deps(runtime.audit)


@logger.inject_lambda_context(correlation_id_path="execution")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refuse_member_account(runtime.account_scope, raw.get("account"), "the shadow test")
    action, endpoint = raw.get("action"), str(raw["endpoint"])
    if action == "start":
        return start_shadow(
            raw["package"], endpoint, dict(raw["settings"]), execution=str(raw["execution"]), deps=deps
        )
    if action == "progress":
        return endpoint_progress(endpoint, str(raw["target_config"]), str(raw["started_at"]), deps=deps)
    if action == "end":
        return end_shadow(
            raw["package"],
            endpoint,
            dict(raw["shadow"]),
            dict(raw.get("verdict") or {}),
            execution=str(raw["execution"]),
            deps=deps,
        )
    raise InvalidEvent(f"shadow-test: unknown action {action!r} (start, progress, end)")
