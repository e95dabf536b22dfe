"""Operational KPIs from the audit trail, per model package group and overall. Pure: no I/O.

Over a window ``[start, end]``:

* **deployments** — deployment attempts that finished in the window (``deployment.promoted``,
  ``deployment.rolled_back`` by the guardrails, ``deployment.failed``);
* **deployment frequency** — promotions per week (``promoted / window days * 7``);
* **lead time** — registration (the first record of the package in its group's stream) to its
  ``deployment.promoted``, for each promotion in the window; median and mean;
* **change-failure rate** — (guardrail rollbacks + failed deployments + manual rollbacks) /
  deployments; ``None`` without deployments;
* **time to restore** — ``incident.opened`` → ``incident.resolved`` (the times the incident
  records state), for incidents resolved in the window; median and mean; incidents opened in the
  window are counted too;
* **retraining frequency** — ``retraining.started`` per week. Pipelines are not tied to a group in
  the trail, so retraining is reported overall and per pipeline, not per group.

Incidents count for the group of the package they name, else of the package their endpoint
served when they opened (``audit_view.incident_package``); incidents on pipelines count overall only.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from mlcp.audit import AuditAction
from mlcp_cli.audit_view import (
    Deployment,
    Incident,
    ManualRollback,
    Snapshot,
    deployments,
    incident_package,
    incidents,
    manual_rollbacks,
    package_group,
    parse_time,
    registrations,
    retrainings,
)

OVERALL = "overall"
_WEEK_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Kpis:
    """The KPIs of one group (or overall) over one window. Durations in seconds."""

    deployments: int
    promoted: int
    rolled_back: int
    failed: int
    manual_rollbacks: int
    deployment_frequency_per_week: float
    change_failure_rate: float | None
    lead_time_median_seconds: float | None
    lead_time_mean_seconds: float | None
    lead_time_samples: int
    incidents_opened: int
    incidents_resolved: int
    time_to_restore_median_seconds: float | None
    time_to_restore_mean_seconds: float | None
    retrainings: int | None
    retraining_frequency_per_week: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TimelineEvent:
    """A mark on the report's timeline. ``end`` is set for incidents that were resolved."""

    kind: str  # deployment | rollback | failed | incident | retraining | analysis
    lane: str  # the endpoint, or the resource (pipeline, ...)
    at: datetime
    label: str
    end: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lane": self.lane,
            "at": self.at.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "label": self.label,
        }


@dataclass(frozen=True)
class KpiReport:
    start: datetime
    end: datetime
    overall: Kpis
    groups: dict[str, Kpis]
    retrainings_by_pipeline: dict[str, int]
    timeline: list[TimelineEvent]
    records: int
    streams: int
    chain_problems: list[str] = field(default_factory=list)

    @property
    def chain_ok(self) -> bool:
        return not self.chain_problems

    def to_json(self) -> dict[str, Any]:
        return {
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "overall": self.overall.to_json(),
            "groups": {name: kpis.to_json() for name, kpis in sorted(self.groups.items())},
            "retrainings_by_pipeline": dict(sorted(self.retrainings_by_pipeline.items())),
            "timeline": [event.to_json() for event in self.timeline],
            "chain": {"ok": self.chain_ok, "records": self.records, "streams": self.streams},
            "chain_problems": self.chain_problems,
        }


def _within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment <= end


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _per_week(count: int, start: datetime, end: datetime) -> float:
    seconds = (end - start).total_seconds()
    return count / seconds * _WEEK_SECONDS if seconds > 0 else 0.0


def kpis(
    *,
    finished: Iterable[Deployment],
    manual: Iterable[ManualRollback],
    opened: Iterable[Incident],
    resolved: Iterable[Incident],
    registered_at: dict[str, datetime],
    retraining_count: int | None,
    start: datetime,
    end: datetime,
) -> Kpis:
    """KPIs from what happened in the window (callers filter by window and group)."""
    done = list(finished)
    promoted = [d for d in done if d.outcome == "promoted"]
    rolled_back = sum(1 for d in done if d.outcome == "rolled_back")
    failed = sum(1 for d in done if d.outcome == "failed")
    manual_count = len(list(manual))
    lead_times = [
        (d.finished_at - registered_at[d.package_arn]).total_seconds()
        for d in promoted
        if d.finished_at is not None and d.package_arn in registered_at
    ]
    restored = [i for i in resolved if i.resolved_at is not None]
    restore_times = [
        (i.resolved_at - i.opened_at).total_seconds() for i in restored if i.resolved_at is not None
    ]
    return Kpis(
        deployments=len(done),
        promoted=len(promoted),
        rolled_back=rolled_back,
        failed=failed,
        manual_rollbacks=manual_count,
        deployment_frequency_per_week=round(_per_week(len(promoted), start, end), 4),
        change_failure_rate=round((rolled_back + failed + manual_count) / len(done), 4) if done else None,
        lead_time_median_seconds=_median(lead_times),
        lead_time_mean_seconds=_mean(lead_times),
        lead_time_samples=len(lead_times),
        incidents_opened=len(list(opened)),
        incidents_resolved=len(restored),
        time_to_restore_median_seconds=_median(restore_times),
        time_to_restore_mean_seconds=_mean(restore_times),
        retrainings=retraining_count,
        retraining_frequency_per_week=(
            round(_per_week(retraining_count, start, end), 4) if retraining_count is not None else None
        ),
    )


def compute_report(snapshot: Snapshot, *, start: datetime, end: datetime) -> KpiReport:
    """Every KPI per group and overall, and the timeline, for the window ``[start, end]``."""
    registered_at = {arn: parse_time(record.at) for arn, record in registrations(snapshot).items()}
    finished = [d for d in deployments(snapshot) if _within(d.finished_at, start, end)]
    manual = [m for m in manual_rollbacks(snapshot) if _within(m.at, start, end)]
    every_incident = incidents(snapshot)
    opened = [i for i in every_incident if _within(i.opened_at, start, end)]
    resolved = [i for i in every_incident if _within(i.resolved_at, start, end)]
    started = [r for r in retrainings(snapshot) if _within(parse_time(r.at), start, end)]
    analysed = [
        r
        for stream, records in snapshot.records.items()
        if stream.startswith("endpoint#")
        for r in records
        if r.action == AuditAction.ANALYSIS_COMPLETED and _within(parse_time(r.at), start, end)
    ]

    incident_groups: dict[str, str | None] = {}
    for incident in opened + resolved:
        arn = incident_package(snapshot, incident)
        incident_groups[incident.incident_id] = package_group(arn) if arn else None

    def incident_group(incident: Incident) -> str | None:
        return incident_groups[incident.incident_id]

    def manual_group(rollback: ManualRollback) -> str | None:
        arn = rollback.to_package_arn or rollback.from_package_arn
        return package_group(arn) if arn else None

    names = (
        {d.group for d in finished}
        | {g for g in map(manual_group, manual) if g}
        | {g for g in map(incident_group, opened + resolved) if g}
    )
    groups = {
        name: kpis(
            finished=[d for d in finished if d.group == name],
            manual=[m for m in manual if manual_group(m) == name],
            opened=[i for i in opened if incident_group(i) == name],
            resolved=[i for i in resolved if incident_group(i) == name],
            registered_at=registered_at,
            retraining_count=None,
            start=start,
            end=end,
        )
        for name in sorted(names)
    }
    overall = kpis(
        finished=finished,
        manual=manual,
        opened=opened,
        resolved=resolved,
        registered_at=registered_at,
        retraining_count=len(started),
        start=start,
        end=end,
    )
    by_pipeline: dict[str, int] = {}
    for record in started:
        name = record.stream.removeprefix("pipeline#")
        by_pipeline[name] = by_pipeline.get(name, 0) + 1
    return KpiReport(
        start=start,
        end=end,
        overall=overall,
        groups=groups,
        retrainings_by_pipeline=by_pipeline,
        timeline=_timeline(finished, manual, opened, started, analysed),
        records=sum(len(records) for records in snapshot.records.values()),
        streams=len(snapshot.records),
        chain_problems=[problem.describe() for problem in snapshot.problems()],
    )


def _timeline(
    finished: list[Deployment],
    manual: list[ManualRollback],
    opened: list[Incident],
    started: list[Any],
    analysed: Iterable[Any] = (),
) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    kinds = {"promoted": "deployment", "rolled_back": "rollback", "failed": "failed"}
    for d in finished:
        version = d.package_arn.rsplit("/", 1)[-1]
        assert d.finished_at is not None  # finished in the window
        events.append(
            TimelineEvent(kinds[d.outcome], d.endpoint, d.finished_at, f"{d.group} v{version} {d.outcome}")
        )
    for m in manual:
        version = m.record.evidence.get("to_version", "?")
        events.append(TimelineEvent("rollback", m.endpoint, m.at, f"manual rollback to v{version}"))
    for i in opened:
        lane = i.endpoint or i.resource
        events.append(TimelineEvent("incident", lane, i.opened_at, i.title, end=i.resolved_at))
    for record in started:
        lane = record.stream.removeprefix("pipeline#")
        trigger = record.evidence.get("trigger", "?")
        events.append(TimelineEvent("retraining", lane, parse_time(record.at), f"retraining ({trigger})"))
    for record in analysed:
        e = record.evidence
        score = f" (score {e['score']:.0f})" if isinstance(e.get("score"), int | float) else ""
        label = f"{e.get('phase', 'canary')} analysis, step {e.get('step')}: {e.get('verdict')}{score}"
        events.append(
            TimelineEvent("analysis", record.stream.removeprefix("endpoint#"), parse_time(record.at), label)
        )
    return sorted(events, key=lambda e: (e.at, e.kind, e.lane))


def format_duration(seconds: float | None) -> str:
    """``2d 3h``, ``1h 05m``, ``4m 10s``, ``12s``; ``-`` for None."""
    if seconds is None:
        return "-"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_rate(rate: float | None) -> str:
    """A change-failure rate as a percentage; ``-`` for None."""
    return "-" if rate is None else f"{rate * 100:.1f}%"
