"""Reject an event the control plane will not act on: log, count, park with the reason, audit.

Nothing is lost: the full event goes to the rejected-events queue; the audit trail keeps the
reason and a digest. Rejecting the same event twice parks it twice (at-least-once) but audits once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Protocol

from mlcp.audit import AuditAction, canonical_json
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.ports import AuditLog

#: Audit stream of events rejected before they could be tied to a resource.
REJECTED_STREAM = "control-plane"


class Parking(Protocol):
    def park(self, message: dict[str, Any]) -> str: ...


def event_digest(raw: object) -> str:
    """SHA-256 of the event's canonical JSON (of its repr when it is not JSON at all)."""
    try:
        payload = canonical_json(raw)
    except (TypeError, ValueError):
        payload = repr(raw).encode()
    return hashlib.sha256(payload).hexdigest()


def reject_event(
    raw: object,
    reason: str,
    *,
    rejected_by: str,
    audit: AuditLog,
    parking: Parking,
) -> str:
    """Park ``raw`` with ``reason`` and append ``event.rejected``; returns the event digest."""
    digest = event_digest(raw)
    event_id = raw.get("id") if isinstance(raw, Mapping) else None
    event_id = event_id if isinstance(event_id, str) else None
    logger.warning("event rejected", extra={"reason": reason, "digest": digest, "event_id": event_id})
    metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
    parking.park({"reason": reason, "rejected_by": rejected_by, "digest": digest, "event": raw})
    audit.append(
        stream=REJECTED_STREAM,
        action=AuditAction.EVENT_REJECTED,
        actor=rejected_by,
        subject=f"event:{digest}",
        evidence={"reason": reason, "event_id": event_id, "digest": digest},
        decision_id=f"event.rejected:{digest}",
        event_id=event_id,
    )
    return digest
