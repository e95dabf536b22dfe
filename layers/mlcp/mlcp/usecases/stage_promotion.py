"""May a package be deployed to a stage of its group's promotion path now (ADR 27)? Reads what the
control plane recorded about the previous stage (its endpoint's audit stream, the incidents open on
it) and applies the pure ``mlcp.promotion.promotion_refusal``. Called when the promotion starts
(verify-approval) and again at the moment of effect (deploy-model's re-check, after prod's approval
wait and the lease queue)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mlcp.accounts import account_stream
from mlcp.audit import AuditTrail
from mlcp.policy.model import GroupRule
from mlcp.promotion import StageRecord, promotion_refusal, stage_record

#: Open incidents on a resource (``endpoint/<account>:<name>``, or ``endpoint/<name>`` at home).
OpenIncidents = Callable[[str], int]


def endpoint_resource(account: str, endpoint: str, home: str | None) -> str:
    """The incident resource of an endpoint: keyed with its account in a member (ADR 26)."""
    return f"endpoint/{endpoint}" if home is None or account == home else f"endpoint/{account}:{endpoint}"


def stage_decision(
    rule: GroupRule,
    stage: str,
    *,
    package_arn: str,
    version: int,
    audit: AuditTrail,
    open_incidents: OpenIncidents,
    home_account: str | None,
    now: datetime,
) -> tuple[str | None, StageRecord | None]:
    """Why ``package_arn`` may not be deployed to ``stage`` now (None: it may), with what the previous
    stage's record says (None for the first stage): the evidence of the promotion's decision."""
    before = rule.previous_stage(stage)
    if before is None:
        return promotion_refusal(rule, stage, None, version=version, now=now), None
    stream = account_stream(f"endpoint#{before.endpoint}", before.account, home_account)
    record = stage_record(
        audit.read(stream),
        package_arn,
        open_incidents=open_incidents(endpoint_resource(before.account, before.endpoint, home_account)),
    )
    return promotion_refusal(rule, stage, record, version=version, now=now), record


def stage_evidence(
    rule: GroupRule, stage: str, record: StageRecord | None, *, now: datetime
) -> dict[str, Any]:
    """The previous stage's facts a promotion was decided on, for its audit record."""
    before = rule.previous_stage(stage)
    if before is None:
        return {"previous_stage": None}
    promoted = record.promoted_at if record is not None else None
    return {
        "previous_stage": {
            "stage": before.stage,
            "account": before.account,
            "endpoint": before.endpoint,
            "promoted_at": promoted.isoformat() if promoted is not None else None,
            "soaked_minutes": int((now - promoted).total_seconds() // 60) if promoted is not None else None,
            "soak_minutes": before.soak_minutes,
            "rolled_back_at": (
                record.rolled_back_at.isoformat() if record is not None and record.rolled_back_at else None
            ),
            "open_incidents": record.open_incidents if record is not None else None,
        }
    }
