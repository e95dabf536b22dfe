"""Hourly schedule and the end of every deployment execution -> one signed digest of every audit
stream's head in the Object Lock bucket (mlcp.usecases.audit_digest)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from mlcp import clock
from mlcp.adapters import clients
from mlcp.adapters.digests import DigestBucket, DigestSigner
from mlcp.adapters.policy_ssm import PolicyStore
from mlcp.config import DigestConfig
from mlcp.entrypoint import Runtime
from mlcp.events import validation_reason
from mlcp.events.digest_triggers import ExecutionStatusChange
from mlcp.events.schedule import ScheduledEvent
from mlcp.models.digest import DigestTrigger
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.policy import PolicyError
from mlcp.usecases.audit_digest import DigestDeps, write_digest

runtime = Runtime("audit-digest")
config = DigestConfig.from_env()
policies = PolicyStore.from_env()


def _retention_days() -> int:
    """The policy's retention, never under the stack's floor (an unreadable policy keeps the floor)."""
    try:
        return max(policies.get().audit.retention_days, config.retention_floor_days)
    except PolicyError as exc:
        logger.warning("policy unreadable; locking for the stack's floor", extra={"reason": str(exc)})
        return config.retention_floor_days


deps = DigestDeps(
    audit=runtime.audit,
    bucket=DigestBucket(config.bucket, clients.s3()),
    signer=DigestSigner(config.key_arn, clients.kms()),
    key_arn=config.key_arn,
    retention_days=_retention_days,
    clock=clock.now,
)


def _trigger(raw: dict[str, Any]) -> DigestTrigger | None:
    try:
        if raw.get("detail-type") == "Scheduled Event":
            ScheduledEvent.model_validate(raw)
            return "schedule"
        ExecutionStatusChange.model_validate(raw)
        return "deployment"
    except ValidationError as exc:
        runtime.reject(raw, validation_reason(exc))
        return None


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    trigger = _trigger(raw) if isinstance(raw, dict) else None
    if trigger is None:
        if not isinstance(raw, dict):
            runtime.reject(raw, "not a JSON object")
        return {"status": "rejected"}
    digest = write_digest(deps, trigger)
    if digest is None:
        return {"status": "unchanged", "trigger": trigger}
    metrics.add_metric(name="AuditDigestStreams", unit="Count", value=len(digest.streams))
    return {"status": "written", "number": digest.number, "streams": len(digest.streams), "trigger": trigger}
