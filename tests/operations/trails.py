"""Synthetic, correctly chained audit streams for the pure operator tests (no DynamoDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mlcp.audit import GENESIS_HASH, AuditRecord, format_timestamp, record_hash
from mlcp_cli.audit_view import Snapshot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package"


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def package(group: str, version: int) -> str:
    return f"{ARN}/{group}/{version}"


class Trail:
    """Append records per stream in the order given; ``snapshot()`` verifies every chain."""

    def __init__(self) -> None:
        self.streams: dict[str, list[AuditRecord]] = {}

    def add(
        self, stream: str, action: str, when: datetime, subject: str, actor: str = "mlcp", **evidence: Any
    ) -> AuditRecord:
        records = self.streams.setdefault(stream, [])
        fields: dict[str, Any] = {
            "stream": stream,
            "seq": len(records) + 1,
            "prev_hash": records[-1].hash if records else GENESIS_HASH,
            "actor": actor,
            "at": format_timestamp(when),
            "action": action,
            "subject": subject,
            "evidence": evidence,
            "event_id": None,
            "decision_id": f"{stream}:{len(records) + 1}",
        }
        record = AuditRecord(**fields, hash=record_hash(fields))
        records.append(record)
        return record

    def registered(self, group: str, version: int, when: datetime, **evidence: Any) -> AuditRecord:
        evidence.setdefault("decision", "needs_human")
        evidence.setdefault("results", [])
        return self.add(f"group#{group}", "gates.evaluated", when, package(group, version), **evidence)

    def deployment(
        self, endpoint: str, group: str, version: int, started: datetime, finished: datetime, outcome: str
    ) -> None:
        arn = package(group, version)
        execution = f"exec-{endpoint}-{group}-{version}"
        base = {"endpoint": endpoint, "execution": execution, "model_package_arn": arn}
        self.add(
            f"endpoint#{endpoint}",
            "deployment.started",
            started,
            arn,
            **base,
            deployment={"strategy": "canary"},
        )
        self.add(
            f"endpoint#{endpoint}",
            f"deployment.{outcome}",
            finished,
            arn,
            **base,
            version=version,
            target_config=f"{endpoint}-{group}-v{version}",
            previous_config=None,
            failure_reason=None if outcome == "promoted" else f"{outcome} for a reason",
        )

    def incident(
        self, stream: str, incident_id: str, opened: datetime, resolved: datetime | None, **data: Any
    ) -> None:
        resource = data.pop("resource", stream.replace("#", "/", 1))
        self.add(
            stream,
            "incident.opened",
            opened,
            resource,
            incident_id=incident_id,
            cause=data.pop("cause", "alarm:x"),
            resource=resource,
            opened_at=format_timestamp(opened),
            title=f"incident {incident_id}",
            operational_data=data,
        )
        if resolved is not None:
            self.add(
                stream,
                "incident.resolved",
                resolved,
                resource,
                incident_id=incident_id,
                opened_at=format_timestamp(opened),
                resolved_at=format_timestamp(resolved),
            )

    def snapshot(self) -> Snapshot:
        return Snapshot.of(self.streams)
