"""Open, update and resolve incidents as SSM OpsCenter OpsItems, one open incident per (resource, cause).

Opening is a claim in the control-plane table first (a conditional write), the OpsItem second: of
any number of concurrent first occurrences exactly one claims and creates the OpsItem; the others
lose the condition and count as occurrences of the claimed incident. The OpsItem is created with
the incident id as its ``/aws/dedup`` string, so a claimant's retry (or a takeover of a claimant that
died between the claim and recording its OpsItem) finds the same OpsItem instead of a second one.

Every audit record has a decision id (``incident.opened:<id>``, ``incident.updated:<id>:event:<event
id>`` or ``:<n>`` without an event id, ``incident.resolved:<id>``), so a redelivery appends nothing;
an event id is counted once (its marker is written with the count, in one transaction).

Notifications: on open (at least once: a retried open may notify again) and when an occurrence
raises the severity (sent by the one writer whose conditional update raised it).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mlcp import clock as mlcp_clock
from mlcp.adapters.incident_store import MARKER_TTL_SECONDS, IncidentStore
from mlcp.audit import AuditAction, format_timestamp
from mlcp.errors import ControlPlaneError
from mlcp.models.incidents import Incident, IncidentOutcome, IncidentRequest, incident_id_for
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.ports import AuditLog, Clock, Notifier
from mlcp.records import record_class

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from mlcp.adapters.opscenter import OpsCenter

OPENING_STALE_SECONDS = 300.0
"""An opening claim older than this whose OpsItem is not recorded is taken over (its Lambda is gone)."""
OPENING_RETRY_SECONDS = 60.0
"""The opening event seen again this long after the claim is a retry (Lambda retries async
invocations after a minute or more), not a concurrent duplicate delivery: it finishes the opening."""
MAX_ATTEMPTS = 30
SOURCE = "mlcp"


class IncidentConflict(ControlPlaneError):
    """An incident changed under us more often than the retry budget allows."""


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class IncidentDeps:
    """Adapters of the incident use cases. ``ops_notifications_topic_arn``: SNS topic OpsCenter
    itself notifies when the OpsItem changes (optional; ``notifier`` is mlcp's own message)."""

    ops: OpsCenter
    table_name: str
    dynamodb: DynamoDBClient
    audit: AuditLog
    notifier: Notifier | None = None
    clock: Clock = mlcp_clock.current
    ops_notifications_topic_arn: str | None = None

    @cached_property
    def store(self) -> IncidentStore:
        return IncidentStore(self.table_name, self.dynamodb)


_jitter = random.Random()  # noqa: S311 - backoff jitter, not cryptography


def _backoff(attempt: int) -> None:
    time.sleep(_jitter.uniform(0, min(0.2, 0.004 * 2 ** min(attempt, 6))))


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


# ---------------------------------------------------------------------------- open / update


def open_incident(request: IncidentRequest, deps: IncidentDeps) -> IncidentOutcome:
    """Open the incident of (resource, cause), or count one more occurrence of the open one."""
    store = deps.store
    opened_here: IncidentOutcome | None = None  # took over an unfinished opening; still to count this
    for attempt in range(1, MAX_ATTEMPTS + 1):
        moment = deps.clock()
        now = format_timestamp(moment)
        expires_at = int(moment.timestamp()) + MARKER_TTL_SECONDS
        current = store.current(request.resource, request.cause)
        if current is None or current.status == "resolved":
            incident = _new_incident(request, now)
            claimed = store.claim(
                incident, replaces=current, event_id=request.event_id, expires_at=expires_at
            )
            if claimed == "claimed":
                return _finish_claimed(incident, request, deps)
            if claimed == "duplicate":
                return _duplicate(request, deps)
            continue  # someone else opened it meanwhile: count this as an occurrence of theirs

        if current.status == "opening" and current.ops_item_id is None and opened_here is None:
            resumed = _resume_opening(current, request, now, deps)
            if resumed is not None:
                if request.event_id is not None and request.event_id == current.opened_by_event:
                    return resumed  # the opening event itself: it was counted by the claim
                opened_here = resumed
                continue  # now count this occurrence too

        counted = store.count_occurrence(
            current, event_id=request.event_id, at=now, severity=request.severity, expires_at=expires_at
        )
        if counted == "duplicate":
            return _duplicate(request, deps)
        if counted == "conflict":
            _backoff(attempt)
            continue
        outcome = _after_occurrence(current, request, now, deps)
        if opened_here is not None:
            outcome = outcome.model_copy(update={"opened": True, "ops_item_id": opened_here.ops_item_id})
        return outcome
    raise IncidentConflict(
        f"incident {request.resource} / {request.cause} changed under us {MAX_ATTEMPTS} times"
    )


def _new_incident(request: IncidentRequest, now: str) -> Incident:
    return Incident(
        incident_id=incident_id_for(request.resource, request.cause, now),
        resource=request.resource,
        cause=request.cause,
        status="opening",
        severity=request.severity,
        title=request.title,
        stream=request.stream,
        occurrences=1,
        opened_at=now,
        updated_at=now,
        last_seen_at=now,
        runbook_url=request.runbook_url,
        last_event_id=request.event_id,
        opened_by_event=request.event_id,
        claim=uuid.uuid4().hex,
        claimed_at=now,
    )


def _resume_opening(
    current: Incident, request: IncidentRequest, now: str, deps: IncidentDeps
) -> IncidentOutcome | None:
    """An incident whose OpsItem is not recorded yet: finish it when this is the opening event again
    (a retry after a crash or timeout) or when its claimant has been gone too long; else None."""
    age = _seconds_between(current.claimed_at, now) if current.claimed_at else OPENING_STALE_SECONDS + 1
    retry = (
        request.event_id is not None
        and request.event_id == current.opened_by_event
        and age > OPENING_RETRY_SECONDS
    )
    stale = age > OPENING_STALE_SECONDS
    if not (retry or stale):
        return None
    taken = deps.store.take_over(current, uuid.uuid4().hex, now)
    if taken is None:
        return None  # it moved on meanwhile; the caller reads it again
    logger.warning(
        "finishing an unfinished incident opening",
        extra={"incident_id": current.incident_id, "retry": retry, "stale": stale},
    )
    return _finish_claimed(taken, request, deps)


def _finish_claimed(incident: Incident, request: IncidentRequest, deps: IncidentDeps) -> IncidentOutcome:
    """Finish an opening this call holds the claim of; on an error give the claim up at once (so
    the retry, or any occurrence, takes over without waiting for it to go stale)."""
    try:
        return _finish_opening(incident, request, deps)
    except Exception:
        deps.store.release_claim(incident)
        raise


def _ops_data(incident: Incident, request: IncidentRequest, *, occurrences: int, now: str) -> dict[str, str]:
    data = dict(request.operational_data)
    data.update(
        {
            "mlcp:incident_id": incident.incident_id,
            "mlcp:resource": incident.resource,
            "mlcp:cause": incident.cause,
            "mlcp:occurrences": str(occurrences),
            "mlcp:last_seen_at": now,
        }
    )
    if request.event_id:
        data["mlcp:last_event_id"] = request.event_id
    if incident.runbook_url:
        data["mlcp:runbook"] = incident.runbook_url
    return data


def _ops_description(request: IncidentRequest, runbook_url: str | None) -> str:
    parts = [request.description or request.title]
    if runbook_url:
        parts.append(f"Runbook: {runbook_url}")
    return "\n\n".join(parts)


def _finish_opening(incident: Incident, request: IncidentRequest, deps: IncidentDeps) -> IncidentOutcome:
    """The claimant's part: OpsItem (deduplicated by incident id), notification, audit, record."""
    ops_item_id = deps.ops.create(
        title=request.title,
        description=_ops_description(request, incident.runbook_url),
        severity=incident.severity,
        source=SOURCE,
        operational_data=_ops_data(incident, request, occurrences=1, now=incident.opened_at),
        category=request.category,
        notifications_topic_arn=deps.ops_notifications_topic_arn,
        dedup_string=incident.incident_id,
    )
    summary = _summary(incident, ops_item_id)
    if deps.notifier is not None:
        deps.notifier.notify(
            f"mlcp incident (sev {incident.severity}): {incident.title}",
            {"kind": "incident", "event": "opened", **summary},
        )
    deps.audit.append(
        stream=incident.stream,
        action=AuditAction.INCIDENT_OPENED,
        actor=SOURCE,
        subject=incident.resource,
        evidence={**summary, "operational_data": dict(request.operational_data)},
        decision_id=f"incident.opened:{incident.incident_id}",
        event_id=incident.opened_by_event,
    )
    recorded = deps.store.record_ops_item(incident, ops_item_id, format_timestamp(deps.clock()))
    if recorded is None:  # taken over meanwhile: whoever holds the claim records (the same OpsItem)
        latest = deps.store.current(incident.resource, incident.cause)
        occurrences = latest.occurrences if latest and latest.incident_id == incident.incident_id else 1
        return IncidentOutcome(
            incident_id=incident.incident_id, ops_item_id=ops_item_id, opened=True, occurrences=occurrences
        )
    if recorded.occurrences > 1:  # occurrences counted while the OpsItem was being created
        deps.ops.update(
            ops_item_id,
            operational_data={
                "mlcp:occurrences": str(recorded.occurrences),
                "mlcp:last_seen_at": recorded.last_seen_at,
                **({"mlcp:last_event_id": recorded.last_event_id} if recorded.last_event_id else {}),
            },
            severity=recorded.severity if recorded.severity < incident.severity else None,
        )
    metrics.add_metric(name="IncidentsOpened", unit=MetricUnit.Count, value=1)
    logger.info("incident opened", extra={"incident_id": incident.incident_id, "ops_item_id": ops_item_id})
    return IncidentOutcome(
        incident_id=incident.incident_id,
        ops_item_id=ops_item_id,
        opened=True,
        occurrences=recorded.occurrences,
    )


def _after_occurrence(
    before: Incident, request: IncidentRequest, now: str, deps: IncidentDeps
) -> IncidentOutcome:
    """This call counted occurrence ``before.occurrences + 1``: update the OpsItem, notify, audit."""
    n = before.occurrences + 1
    raised = request.severity < before.severity
    severity = min(request.severity, before.severity)
    if before.ops_item_id is not None:
        deps.ops.update(
            before.ops_item_id,
            operational_data=_ops_data(before, request, occurrences=n, now=now),
            severity=severity if raised else None,
        )
    summary = {**_summary(before, before.ops_item_id), "occurrences": n, "severity": severity}
    if raised and deps.notifier is not None:
        deps.notifier.notify(
            f"mlcp incident raised to sev {severity}: {before.title}",
            {"kind": "incident", "event": "severity_raised", "previous_severity": before.severity, **summary},
        )
    occurrence_key = f"event:{request.event_id}" if request.event_id is not None else str(n)
    deps.audit.append(
        stream=before.stream,
        action=AuditAction.INCIDENT_UPDATED,
        actor=SOURCE,
        subject=before.resource,
        evidence={
            **summary,
            "title": request.title,
            "reported_severity": request.severity,
            "severity_raised_from": before.severity if raised else None,
            "operational_data": dict(request.operational_data),
        },
        decision_id=f"incident.updated:{before.incident_id}:{occurrence_key}",
        event_id=request.event_id,
    )
    metrics.add_metric(name="IncidentOccurrences", unit=MetricUnit.Count, value=1)
    return IncidentOutcome(
        incident_id=before.incident_id,
        ops_item_id=before.ops_item_id,
        opened=False,
        occurrences=n,
        severity_raised=raised,
    )


def _duplicate(request: IncidentRequest, deps: IncidentDeps) -> IncidentOutcome:
    """``request.event_id`` was counted before: report what it counted toward, change nothing."""
    assert request.event_id is not None
    marker = deps.store.occurrence(request.resource, request.cause, request.event_id)
    current = deps.store.current(request.resource, request.cause)
    incident_id = marker.incident_id if marker else (current.incident_id if current else "")
    same = current is not None and current.incident_id == incident_id
    logger.info(
        "incident event seen before", extra={"incident_id": incident_id, "event_id": request.event_id}
    )
    return IncidentOutcome(
        incident_id=incident_id,
        ops_item_id=current.ops_item_id if same and current else None,
        opened=False,
        occurrences=current.occurrences if same and current else (marker.occurrence if marker else 0),
        duplicate=True,
    )


def _summary(incident: Incident, ops_item_id: str | None) -> dict[str, Any]:
    return {
        "incident_id": incident.incident_id,
        "resource": incident.resource,
        "cause": incident.cause,
        "severity": incident.severity,
        "title": incident.title,
        "ops_item_id": ops_item_id,
        "occurrences": incident.occurrences,
        "opened_at": incident.opened_at,
        "runbook_url": incident.runbook_url,
        "how": f"mlcp incidents resolve {incident.incident_id} --reason ...",
    }


# ---------------------------------------------------------------------------- resolve


def resolve_incident(
    resource: str,
    cause: str,
    *,
    reason: str,
    resolved_by: str,
    deps: IncidentDeps,
    incident_id: str | None = None,
) -> Incident | None:
    """Resolve the open incident of (resource, cause): OpsItem Resolved, ``incident.resolved`` with
    ``mttr_seconds``. None when none is open. A later occurrence opens a new incident.

    ``incident_id`` pins which incident is meant (None when the current one is another). Calling
    it again for an incident already resolved finishes what a crashed call left undone (OpsItem
    status, audit record) and returns None."""
    store = deps.store
    current = store.current(resource, cause)
    if current is None or (incident_id is not None and current.incident_id != incident_id):
        return None
    if current.status == "resolved":
        _resolved_tail(current, deps)
        return None
    if current.status != "open":
        return None  # still opening: there is no OpsItem to resolve yet
    resolved_at = format_timestamp(deps.clock())
    wanted = current.model_copy(
        update={
            "status": "resolved",
            "resolved_at": resolved_at,
            "resolved_by": resolved_by,
            "resolution_reason": reason,
            "mttr_seconds": round(_seconds_between(current.opened_at, resolved_at), 3),
        }
    )
    final = store.resolve(wanted)
    if final is None:
        return None
    _resolved_tail(final, deps)
    metrics.add_metric(name="IncidentsResolved", unit=MetricUnit.Count, value=1)
    logger.info("incident resolved", extra={"incident_id": final.incident_id, "mttr": final.mttr_seconds})
    return final


def _resolved_tail(incident: Incident, deps: IncidentDeps) -> None:
    if incident.ops_item_id is not None:
        deps.ops.update(
            incident.ops_item_id,
            status="Resolved",
            operational_data={
                "mlcp:resolved_by": incident.resolved_by or "unknown",
                "mlcp:resolution": incident.resolution_reason or "",
                "mlcp:mttr_seconds": str(incident.mttr_seconds),
            },
        )
    deps.store.keep_resolved(incident)
    deps.audit.append(
        stream=incident.stream,
        action=AuditAction.INCIDENT_RESOLVED,
        actor=incident.resolved_by or "unknown",
        subject=incident.resource,
        evidence={
            "incident_id": incident.incident_id,
            "cause": incident.cause,
            "ops_item_id": incident.ops_item_id,
            "reason": incident.resolution_reason,
            "opened_at": incident.opened_at,
            "resolved_at": incident.resolved_at,
            "mttr_seconds": incident.mttr_seconds,
            "occurrences": incident.occurrences,
            "severity": incident.severity,
        },
        decision_id=f"incident.resolved:{incident.incident_id}",
    )


# ---------------------------------------------------------------------------- reads


def list_incidents(deps: IncidentDeps, status: str | None = None) -> list[Incident]:
    """Incidents, newest first; ``status="open"`` lists open (and opening) ones."""
    return deps.store.list_incidents(status)


def get_incident(incident_id: str, deps: IncidentDeps) -> Incident | None:
    """One incident by id."""
    return deps.store.get_incident(incident_id)


def resolve_by_id(incident_id: str, *, reason: str, resolved_by: str, deps: IncidentDeps) -> Incident | None:
    """Resolve an incident named by id (what ``mlcp incidents resolve ID`` does); None unless it is
    the open incident of its (resource, cause)."""
    incident = get_incident(incident_id, deps)
    if incident is None or incident.status != "open":
        return None
    return resolve_incident(
        incident.resource,
        incident.cause,
        reason=reason,
        resolved_by=resolved_by,
        deps=deps,
        incident_id=incident_id,
    )
