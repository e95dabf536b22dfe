"""The daily EventBridge schedule -> retire the models and endpoint configs nothing serves any more,
past their tier's retention (mlcp.usecases.retirement)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.adapters.inventory import SageMakerInventory
from mlcp.adapters.policy_appconfig import policy_source_from_env
from mlcp.entrypoint import Runtime
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.usecases.retirement import RetirementDeps, retire

runtime = Runtime("retirement")
deps = RetirementDeps(inventory=SageMakerInventory(), policies=policy_source_from_env(), audit=runtime.audit)


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tick = runtime.parse_schedule_or_reject(raw)
    if tick is None:
        return {"status": "rejected"}
    verdicts = retire(deps, apply=True, actor="mlcp", event_id=tick.id)
    retired = [f"{v.kind}/{v.name}" for v in verdicts if v.action == "retire"]
    logger.info("retirement done", extra={"retired": retired, "tick": tick.id})
    metrics.add_metric(name="ResourcesRetired", unit="Count", value=len(retired))
    return {"status": "ticked", "retired": retired, "kept": sum(v.action == "keep" for v in verdicts)}
