"""The audit trail read once, verified, and turned into the facts operators ask about.

``load_snapshot`` reads every stream and verifies each chain (with its head). The rest is pure:
``deployments``, ``incidents``, ``retrainings`` and ``registrations`` pick the records that say
what happened, and ``serving_package`` says which package an endpoint served at a moment.

A record counts as *verified* when its whole stream verifies. That is deliberately conservative:
one edited record puts every record of its stream in doubt, not just itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from mlcp.audit import (
    AuditAction,
    AuditRecord,
    AuditTrail,
    ChainProblem,
    ChainVerification,
    InvalidAuditItem,
    ProblemKind,
    verify_chain,
)

_PACKAGE_MARK = ":model-package/"


def parse_time(value: str) -> datetime:
    """An audit timestamp (ISO-8601, ``Z`` or offset) as an aware datetime."""
    return datetime.fromisoformat(value)


def is_package_arn(value: str) -> bool:
    """True for a versioned model package ARN (``arn:...:model-package/<group>/<version>``)."""
    return value.startswith("arn:") and _PACKAGE_MARK in value and value.count("/") >= 2


def package_group(arn: str) -> str:
    """The model package group of a versioned package ARN."""
    return arn.split(_PACKAGE_MARK, 1)[1].split("/", maxsplit=1)[0]


def package_version(arn: str) -> int | None:
    """The version of a versioned package ARN, or None when it has none."""
    tail = arn.split(_PACKAGE_MARK, 1)[1].split("/")
    return int(tail[1]) if len(tail) > 1 and tail[1].isdigit() else None


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a fact comes from: one audit record, and whether its stream's chain verifies."""

    stream: str
    seq: int
    hash: str
    action: str
    at: str
    verified: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "seq": self.seq,
            "hash": self.hash,
            "action": self.action,
            "at": self.at,
            "verified": self.verified,
        }

    def short(self) -> str:
        """``stream#seq hash12`` for humans."""
        return f"{self.stream} seq {self.seq} {self.hash[:12]}"


@dataclass(frozen=True)
class Snapshot:
    """Every stream's records (stored order) and its chain verification."""

    records: Mapping[str, list[AuditRecord]]
    verification: Mapping[str, ChainVerification]

    @classmethod
    def of(cls, streams: Mapping[str, list[AuditRecord]]) -> Snapshot:
        """A snapshot of in-memory records, each chain verified without a head (tests, fixtures)."""
        return cls(
            records=dict(streams),
            verification={name: verify_chain(records) for name, records in streams.items()},
        )

    def verified(self, stream: str) -> bool:
        result = self.verification.get(stream)
        return result is not None and result.ok

    def cite(self, record: AuditRecord) -> Citation:
        return Citation(
            stream=record.stream,
            seq=record.seq,
            hash=record.hash,
            action=record.action.value,
            at=record.at,
            verified=self.verified(record.stream),
        )

    def all_records(self) -> list[AuditRecord]:
        """Every record of every stream, oldest first (by ``at``, then stream and seq)."""
        every = [record for records in self.records.values() for record in records]
        return sorted(every, key=lambda r: (parse_time(r.at), r.stream, r.seq))

    def streams_with(self, prefix: str) -> list[str]:
        return sorted(name for name in self.records if name.startswith(prefix))

    def problems(self) -> list[ChainProblem]:
        return [problem for result in self.verification.values() for problem in result.problems]

    # Derived views, computed once per snapshot (a snapshot never changes).
    @cached_property
    def deployments(self) -> list[Deployment]:
        return _deployments(self)

    @cached_property
    def manual_rollbacks(self) -> list[ManualRollback]:
        return _manual_rollbacks(self)

    @cached_property
    def incidents(self) -> list[Incident]:
        return _incidents(self)


def read_verified(trail: AuditTrail, name: str) -> tuple[list[AuditRecord], ChainVerification]:
    """One stream's records and its verification (records and head). An unreadable stream has no
    records and one ``unreadable`` problem."""
    try:
        records = trail.read(name)
        head = trail.head(name)
    except InvalidAuditItem as exc:
        problem = ChainProblem(stream=name, seq=None, kind=ProblemKind.UNREADABLE, message=str(exc))
        return [], ChainVerification(stream=name, records=0, problems=(problem,))
    return records, verify_chain(records, head, require_head=True)


def load_snapshot(trail: AuditTrail) -> Snapshot:
    """Read and verify every stream of ``trail`` (see :func:`read_verified`)."""
    records: dict[str, list[AuditRecord]] = {}
    verification: dict[str, ChainVerification] = {}
    for name in trail.streams():
        records[name], verification[name] = read_verified(trail, name)
    return Snapshot(records=records, verification=verification)


# ---------------------------------------------------------------------------- deployments


@dataclass(frozen=True)
class Deployment:
    """One deployment attempt of a package to an endpoint (``deployment.started`` → its outcome)."""

    endpoint: str
    package_arn: str
    execution: str | None
    started: AuditRecord | None
    finished: AuditRecord | None

    @property
    def group(self) -> str:
        return package_group(self.package_arn)

    @property
    def outcome(self) -> str:
        """``promoted``, ``rolled_back``, ``failed`` or ``in_progress``."""
        if self.finished is None:
            return "in_progress"
        return self.finished.action.value.removeprefix("deployment.")

    @property
    def target_config(self) -> str | None:
        value = self.finished.evidence.get("target_config") if self.finished else None
        return str(value) if value else None

    @property
    def started_at(self) -> datetime | None:
        return parse_time(self.started.at) if self.started else None

    @property
    def finished_at(self) -> datetime | None:
        return parse_time(self.finished.at) if self.finished else None


@dataclass(frozen=True)
class ManualRollback:
    """``mlcp rollback``: an endpoint put back by hand on the config a version was promoted with."""

    endpoint: str
    record: AuditRecord
    to_config: str
    from_config: str | None
    to_package_arn: str | None
    """The package promoted with ``to_config`` (None when the trail does not say)."""
    from_package_arn: str | None

    @property
    def at(self) -> datetime:
        return parse_time(self.record.at)


_OUTCOMES = {
    AuditAction.DEPLOYMENT_PROMOTED,
    AuditAction.DEPLOYMENT_ROLLED_BACK,
    AuditAction.DEPLOYMENT_FAILED,
}


def _endpoint_of(stream: str) -> str:
    return stream.removeprefix("endpoint#")


def split_endpoint(key: str) -> tuple[str | None, str]:
    """(account, name) of an endpoint key: a member's is ``<account>:<name>`` (ADR 26), the control
    plane's own has no account (None)."""
    account, sep, name = key.partition(":")
    if sep and len(account) == 12 and account.isdigit() and name:
        return account, name
    return None, key


def endpoint_where(key: str) -> str:
    """An endpoint key as an operator reads it: ``name`` at home, ``name (account <id>)`` in a member."""
    account, name = split_endpoint(key)
    return name if account is None else f"{name} (account {account})"


def deployments(snapshot: Snapshot) -> list[Deployment]:
    """Every deployment attempt on every endpoint, in the order they started (manual rollbacks
    are not deployments: see ``manual_rollbacks``)."""
    return snapshot.deployments


def _deployments(snapshot: Snapshot) -> list[Deployment]:
    found: list[Deployment] = []
    for stream in snapshot.streams_with("endpoint#"):
        by_execution: dict[str, dict[str, AuditRecord]] = {}
        order: list[str] = []
        for record in snapshot.records[stream]:
            if record.action not in _OUTCOMES and record.action != AuditAction.DEPLOYMENT_STARTED:
                continue
            if record.evidence.get("manual"):
                continue
            arn = str(record.evidence.get("model_package_arn") or record.subject)
            key = str(record.evidence.get("execution") or f"{arn}@{record.seq}")
            if key not in by_execution:
                by_execution[key] = {"arn": record}
                order.append(key)
            slot = "started" if record.action == AuditAction.DEPLOYMENT_STARTED else "finished"
            by_execution[key].setdefault(slot, record)
        for key in order:
            slots = by_execution[key]
            first = slots["arn"]
            found.append(
                Deployment(
                    endpoint=_endpoint_of(stream),
                    package_arn=str(first.evidence.get("model_package_arn") or first.subject),
                    execution=str(first.evidence["execution"]) if first.evidence.get("execution") else None,
                    started=slots.get("started"),
                    finished=slots.get("finished"),
                )
            )
    return sorted(found, key=lambda d: parse_time((d.started or d.finished or _never()).at))


def _never() -> AuditRecord:  # pragma: no cover - a Deployment always has one of its records
    raise AssertionError("deployment without records")


def _promoted_configs(snapshot: Snapshot) -> dict[tuple[str, str], str]:
    """(endpoint, config) -> the package promoted with it."""
    configs: dict[tuple[str, str], str] = {}
    for deployment in deployments(snapshot):
        if deployment.outcome == "promoted" and deployment.target_config:
            configs[(deployment.endpoint, deployment.target_config)] = deployment.package_arn
    return configs


def manual_rollbacks(snapshot: Snapshot) -> list[ManualRollback]:
    """Every manual rollback, oldest first, with the packages it went from and to."""
    return snapshot.manual_rollbacks


def _manual_rollbacks(snapshot: Snapshot) -> list[ManualRollback]:
    configs = _promoted_configs(snapshot)
    found: list[ManualRollback] = []
    for stream in snapshot.streams_with("endpoint#"):
        endpoint = _endpoint_of(stream)
        for record in snapshot.records[stream]:
            if record.action != AuditAction.DEPLOYMENT_ROLLED_BACK or not record.evidence.get("manual"):
                continue
            to_config = str(record.evidence.get("to_config") or "")
            from_config = record.evidence.get("from_config")
            found.append(
                ManualRollback(
                    endpoint=endpoint,
                    record=record,
                    to_config=to_config,
                    from_config=str(from_config) if from_config else None,
                    to_package_arn=configs.get((endpoint, to_config)),
                    from_package_arn=configs.get((endpoint, str(from_config))) if from_config else None,
                )
            )
    return sorted(found, key=lambda m: m.at)


def serving_package(snapshot: Snapshot, endpoint: str, moment: datetime) -> str | None:
    """The package ``endpoint`` served at ``moment`` as the trail tells it: the last promotion or
    manual rollback before it (an automatic rollback leaves the previous package serving)."""
    changes: list[tuple[datetime, str | None]] = [
        (d.finished_at, d.package_arn)
        for d in deployments(snapshot)
        if d.endpoint == endpoint and d.outcome == "promoted" and d.finished_at is not None
    ]
    changes += [(m.at, m.to_package_arn) for m in manual_rollbacks(snapshot) if m.endpoint == endpoint]
    serving: str | None = None
    for at, arn in sorted(changes, key=lambda change: change[0]):
        if at > moment:
            break
        serving = arn
    return serving


# ---------------------------------------------------------------------------- incidents


@dataclass(frozen=True)
class Incident:
    """One incident: opened, maybe updated, maybe resolved (``incident.*`` records)."""

    incident_id: str
    stream: str
    opened: AuditRecord
    resolved: AuditRecord | None = None
    updates: tuple[AuditRecord, ...] = field(default=())

    @property
    def cause(self) -> str:
        return str(self.opened.evidence.get("cause", "?"))

    @property
    def resource(self) -> str:
        return str(self.opened.evidence.get("resource") or self.opened.subject)

    @property
    def title(self) -> str:
        return str(self.opened.evidence.get("title") or self.cause)

    @property
    def opened_at(self) -> datetime:
        stated = self.opened.evidence.get("opened_at")
        return parse_time(str(stated)) if stated else parse_time(self.opened.at)

    @property
    def resolved_at(self) -> datetime | None:
        if self.resolved is None:
            return None
        stated = self.resolved.evidence.get("resolved_at")
        return parse_time(str(stated)) if stated else parse_time(self.resolved.at)

    @property
    def endpoint(self) -> str | None:
        return _endpoint_of(self.stream) if self.stream.startswith("endpoint#") else None

    @property
    def package_arn(self) -> str | None:
        """The package the incident names (a rolled-back deployment), if any."""
        data = self.opened.evidence.get("operational_data")
        arn = data.get("model_package_arn") if isinstance(data, dict) else None
        return str(arn) if arn else None


def incidents(snapshot: Snapshot) -> list[Incident]:
    """Every incident with an ``incident.opened`` record, oldest first."""
    return snapshot.incidents


def _incidents(snapshot: Snapshot) -> list[Incident]:
    opened: dict[str, AuditRecord] = {}
    streams: dict[str, str] = {}
    resolved: dict[str, AuditRecord] = {}
    updates: dict[str, list[AuditRecord]] = {}
    for record in snapshot.all_records():
        incident_id = record.evidence.get("incident_id")
        if not isinstance(incident_id, str):
            continue
        if record.action == AuditAction.INCIDENT_OPENED:
            opened.setdefault(incident_id, record)
            streams.setdefault(incident_id, record.stream)
        elif record.action == AuditAction.INCIDENT_RESOLVED:
            resolved.setdefault(incident_id, record)
        elif record.action == AuditAction.INCIDENT_UPDATED:
            updates.setdefault(incident_id, []).append(record)
    return [
        Incident(
            incident_id=incident_id,
            stream=streams[incident_id],
            opened=record,
            resolved=resolved.get(incident_id),
            updates=tuple(updates.get(incident_id, [])),
        )
        for incident_id, record in sorted(opened.items(), key=lambda item: parse_time(item[1].at))
    ]


def incident_package(snapshot: Snapshot, incident: Incident) -> str | None:
    """The package an incident is about: the one it names, else the one its endpoint served."""
    if incident.package_arn:
        return incident.package_arn
    if incident.endpoint is None:
        return None
    return serving_package(snapshot, incident.endpoint, incident.opened_at)


# ---------------------------------------------------------------------------- registry, retraining


def registrations(snapshot: Snapshot) -> dict[str, AuditRecord]:
    """package ARN -> the first record the control plane wrote about it in its group's stream
    (``package.registered`` or the registration ``gates.evaluated``): when it entered governance."""
    first: dict[str, AuditRecord] = {}
    for stream in snapshot.streams_with("group#"):
        for record in snapshot.records[stream]:
            if is_package_arn(record.subject):
                first.setdefault(record.subject, record)
    return first


def retrainings(snapshot: Snapshot) -> list[AuditRecord]:
    """Every ``retraining.started`` record, oldest first."""
    return [r for r in snapshot.all_records() if r.action == AuditAction.RETRAINING_STARTED]


def records_about(records: Iterable[AuditRecord], subject: str) -> list[AuditRecord]:
    return [record for record in records if record.subject == subject]


def reason_of(record: AuditRecord) -> str:
    """Why a record's decision went the way it did, in one line ('' when the record carries no why):
    the failing gates of an evaluation, a rejection's or refusal's reasons, a rollback's failure, a
    suppression's or a denial's reason, the error an AWS call answered (``retraining.failed``)."""
    evidence: Mapping[str, Any] = record.evidence or {}
    if record.action == AuditAction.GATES_EVALUATED:
        failed = [
            f"{result.get('gate')}: {result.get('reason')}"
            for result in evidence.get("results") or []
            if isinstance(result, Mapping) and result.get("outcome") == "fail"
        ]
        return "; ".join(failed) or "every gate passed"
    parts: list[str] = []
    for key in ("reason", "why", "failure_reason", "cause", "approval_description", "error"):
        value = evidence.get(key)
        if isinstance(value, str) and value and value not in parts:
            parts.append(value)
    reasons = evidence.get("reasons")
    if isinstance(reasons, list):
        parts.extend(str(reason) for reason in reasons if reason and str(reason) not in parts)
    return "; ".join(parts)
