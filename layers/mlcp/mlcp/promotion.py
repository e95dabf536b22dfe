"""May a model package move to the next stage of its group's promotion path (ADR 27)? A pure decision
on what the control plane recorded about the previous stage; the next stage's own tier then applies
its gates and approvals as for any deployment, re-checked at the moment of effect (ADR 15)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from mlcp.audit import AuditAction, AuditRecord
from mlcp.policy.model import GroupRule
from mlcp.records import record_class


@record_class
class StageRecord:
    """What the audit trail and the incident store say about one package in one stage."""

    promoted_at: datetime | None
    """When its deployment there was promoted (the new config took all traffic); None: never."""
    rolled_back_at: datetime | None
    """When a deployment of it there was rolled back, if ever (after or before promotion)."""
    open_incidents: int
    """Incidents open now on the stage's endpoint."""


def promotion_refusal(
    rule: GroupRule, target: str, previous: StageRecord | None, *, version: int, now: datetime
) -> str | None:
    """Why version ``version`` may not be deployed to stage ``target`` now, or None when it may.

    The first stage has no prerequisite. Any later stage needs the previous stage's deployment of
    the same version promoted, never rolled back, with no incident open, and run for the previous
    stage's ``soak_minutes`` since its promotion.
    """
    stage = rule.stage(target)
    if stage is None:
        known = ", ".join(s.stage for s in rule.promotion) or "none"
        return f"{target!r} is not a stage of {rule.match!r}'s promotion path (stages: {known})"
    before = rule.previous_stage(target)
    if before is None:
        return None
    where = f"{before.stage} ({before.account}/{before.endpoint})"
    if previous is None or previous.promoted_at is None:
        return f"version {version} has not been promoted in {where}"
    if previous.rolled_back_at is not None:
        return f"version {version} was rolled back in {where} at {previous.rolled_back_at.isoformat()}"
    if previous.open_incidents:
        return f"{where} has {previous.open_incidents} open incident(s)"
    soaked = now - previous.promoted_at
    needed = timedelta(minutes=before.soak_minutes)
    if soaked < needed:
        minutes = int(soaked.total_seconds() // 60)
        return f"version {version} has soaked {minutes} of {before.soak_minutes} minutes in {where}"
    return None


def stage_record(
    records: Iterable[AuditRecord],
    package_arn: str,
    *,
    open_incidents: int,
    config_name: str | None = None,
) -> StageRecord:
    """What a stage's endpoint stream says about ``package_arn``: its last promotion and whether a
    deployment of it was ever rolled back there (``deployment.*`` records name the package), or an
    operator rolled the endpoint back from it by hand (``mlcp rollback``: its record names the
    endpoint and the config it left, ``config_name`` being this version's config there)."""
    promoted_at: datetime | None = None
    rolled_back_at: datetime | None = None
    for record in records:
        manual = (
            config_name is not None
            and record.action == AuditAction.DEPLOYMENT_ROLLED_BACK
            and record.evidence.get("manual") is True
            and record.evidence.get("from_config") == config_name
        )
        if record.subject != package_arn and not manual:
            continue
        at = datetime.fromisoformat(record.at.replace("Z", "+00:00"))
        if record.action == AuditAction.DEPLOYMENT_PROMOTED:
            promoted_at = at
        elif record.action == AuditAction.DEPLOYMENT_ROLLED_BACK:
            rolled_back_at = at
    return StageRecord(promoted_at=promoted_at, rolled_back_at=rolled_back_at, open_incidents=open_incidents)
