"""May a package be deployed to a stage of its group's promotion path now (ADR 27)? Reads what the
control plane recorded about the previous stage (its endpoint's audit stream, the incidents open on
it) and applies the pure ``mlcp.promotion.promotion_refusal``. Called when the promotion starts
(verify-approval) and again at the moment of effect (deploy-model's re-check, after prod's approval
wait and the lease queue)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mlcp.accounts import account_stream
from mlcp.audit import AuditTrail
from mlcp.policy.model import GroupRule
from mlcp.promotion import promotion_refusal, stage_record

#: Open incidents on a resource (``endpoint/<account>:<name>``, or ``endpoint/<name>`` at home).
OpenIncidents = Callable[[str], int]


def endpoint_resource(account: str, endpoint: str, home: str | None) -> str:
    """The incident resource of an endpoint: keyed with its account in a member (ADR 26)."""
    return f"endpoint/{endpoint}" if home is None or account == home else f"endpoint/{account}:{endpoint}"


def stage_refusal(
    rule: GroupRule,
    stage: str,
    *,
    package_arn: str,
    version: int,
    audit: AuditTrail,
    open_incidents: OpenIncidents,
    home_account: str | None,
    now: datetime,
) -> str | None:
    """Why ``package_arn`` may not be deployed to ``stage`` now, or None when it may."""
    before = rule.previous_stage(stage)
    if before is None:
        return promotion_refusal(rule, stage, None, version=version, now=now)
    stream = account_stream(f"endpoint#{before.endpoint}", before.account, home_account)
    record = stage_record(
        audit.read(stream),
        package_arn,
        open_incidents=open_incidents(endpoint_resource(before.account, before.endpoint, home_account)),
    )
    return promotion_refusal(rule, stage, record, version=version, now=now)
