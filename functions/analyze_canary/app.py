"""Deployment workflow task: the canary analysis (candidate vs baseline, Kayenta's judge) during a
guardrails bake (its verdict metric feeds the rollback alarm), after each managed shift step (the
workflow rolls back on it) or at the end of a shadow test (phase ``shadow``: the workflow rejects
the package on it). Evidence: a report in the reports bucket and ``analysis.completed``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import Runtime, analysis_deps, refuse_member_account
from mlcp.errors import InvalidEvent
from mlcp.models.analysis import ShadowTest
from mlcp.observability import logger, metrics
from mlcp.usecases.canary_analysis import AnalysisRequest, analyze, fleets, shadow_fleets

runtime = Runtime("analyze-canary")
deps = analysis_deps(runtime.audit)


def _time(value: Any, name: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidEvent(f"analyze-canary: {name} {value!r} is not an ISO 8601 time") from exc


@logger.inject_lambda_context(correlation_id_path="endpoint")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refuse_member_account(runtime.account_scope, raw.get("account"), "the canary analysis")
    endpoint = str(raw["endpoint"])
    if raw.get("phase") == "shadow":
        # The end of a shadow test (ADR 25): the shadow variant against production, one final judgement.
        shadow_request = AnalysisRequest(
            endpoint=endpoint,
            phase="shadow",
            step=0,
            final=True,
            since=_time(raw["since"], "since"),
            at=_time(raw["at"], "at"),
            package_arn=str(raw["package"]["arn"]),
            execution=str(raw["execution"]),
            settings=ShadowTest.model_validate(raw["settings"]).analysis().model_dump(mode="json"),
        )
        return analyze(shadow_request, shadow_fleets(endpoint, dict(raw["shadow"])), deps=deps)
    deploy = dict(raw["deploy"])
    index = raw.get("index")
    shift = deploy.get("shift") or {}
    steps = shift.get("steps") or []
    last = index is not None and int(index) >= len(steps) - 1
    request = AnalysisRequest(
        endpoint=endpoint,
        phase="canary",
        step=int(index if index is not None else raw.get("poll", 0)),
        final=last,
        since=_time(raw["since"], "since"),
        at=_time(raw["at"], "at"),
        package_arn=str(raw["package"]["arn"]),
        execution=str(raw["execution"]),
        settings=dict(raw["settings"]),
    )
    result = analyze(request, fleets(endpoint, deploy, deps.hosting), deps=deps)
    if index is None:
        return result
    # A managed shift step: the shape of the shift's step result, so the rollback path reads the reason.
    step = steps[int(index)]
    return {
        **result,
        "status": "alarm" if result["roll_back"] else "ok",
        "percent": step["percent"],
        "bake_seconds": step["bake_seconds"],
        "last": last,
    }
