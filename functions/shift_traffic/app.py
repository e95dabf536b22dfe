"""Deployment workflow task for managed traffic shifting (endpoints guardrails exclude): a step of
the shift, the alarm check after a bake, the promotion or the rollback. Each action reads
DescribeEndpoint before it acts, so a retry or a redrive never applies a change twice."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.accounts import AccountScope
from mlcp.adapters.alarms import CloudWatchAlarms
from mlcp.adapters.endpoints import SageMakerHosting
from mlcp.adapters.state import ControlPlaneState
from mlcp.config import CoreConfig, GovernanceConfig
from mlcp.entrypoint import refuse_member_account
from mlcp.errors import InvalidEvent
from mlcp.observability import logger, metrics
from mlcp.usecases.traffic_shift import ShiftDeps, check_alarms, park_bake, promote, roll_back, shift_step

core = CoreConfig.from_env()
scope = AccountScope.parse(core.home_account, core.member_accounts) if core.home_account else None
deps = ShiftDeps(
    hosting=SageMakerHosting(owner=core.audit_table),
    alarms=CloudWatchAlarms(),
    bakes=ControlPlaneState(GovernanceConfig.from_env().state_table),
)


@logger.inject_lambda_context(correlation_id_path="endpoint")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refuse_member_account(scope, raw.get("account"), "managed traffic shifting")
    action, endpoint, shift = raw.get("action"), str(raw["endpoint"]), dict(raw["shift"])
    if action == "step":
        return shift_step(endpoint, shift, int(raw["index"]), deps=deps)
    if action == "bake":
        return park_bake(
            endpoint,
            str(raw["task_token"]),
            shift,
            int(raw["index"]),
            execution=str(raw["execution"]),
            started_at=str(raw["started_at"]),
            package_arn=str(raw["package"]),
            deps=deps,
        )
    if action == "check":
        return check_alarms(endpoint, shift, int(raw["index"]), deps=deps)
    if action == "promote":
        return promote(endpoint, shift, deps=deps)
    if action == "roll_back":
        return roll_back(endpoint, shift, raw.get("reason"), deps=deps)
    raise InvalidEvent(f"shift-traffic: unknown action {action!r} (step, bake, check, promote, roll_back)")
