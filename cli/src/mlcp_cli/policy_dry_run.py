"""``mlcp policy dry-run NEW_POLICY``: the decisions recorded in the audit trail, replayed under a new
policy, and which would have come out differently, and why.

What is replayed, with the control plane's own code:

- ``gates.evaluated``: the gate report the record names (its SHA-256 checked) keeps what the gates
  saw (candidate, evidence, the moment; ``mlcp.gates.evidence.replay_inputs``). The new policy's
  rule and tier for the group are looked up and ``mlcp.gates.evaluate.evaluate_gates`` runs again
  on the same inputs. A gate the old tier left off had no evidence read (a report, the champion, an
  artifact hash): if the new tier turns it on, its result is *unknown*, never a made-up failure.
- ``approval.granted``: whether the approver is still on the new tier's ``approvers``
  (``mlcp.usecases.approval_records.is_approver``).
- ``retraining.started`` / ``retraining.suppressed``: whether the new policy still retrains that
  pipeline on that kind of trigger. Cooldowns and daily limits depend on the state at the time,
  which the trail does not hold: they are not replayed.

Pure functions over records and a report loader, so the CLI, the tests and ``make bench`` share them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mlcp.audit import AuditRecord
from mlcp.gates.evaluate import evaluate_gates
from mlcp.models.gates import Candidate, Evidence, GateOutcome
from mlcp.policy import Policy

ReportLoader = Callable[[str], bytes | None]
"""Report URI -> its bytes (None: gone)."""

REPLAYED_ACTIONS = ("gates.evaluated", "approval.granted", "retraining.started", "retraining.suppressed")


@dataclass
class Replayed:
    """One recorded decision and what the new policy makes of it."""

    stream: str
    seq: int
    at: str
    action: str
    subject: str
    group: str | None
    before: str
    after: str
    why: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "seq": self.seq,
            "at": self.at,
            "action": self.action,
            "subject": self.subject,
            "group": self.group,
            "before": self.before,
            "after": self.after,
            "changed": self.changed,
            "why": self.why,
            "unknown": self.unknown,
        }


@dataclass
class DryRun:
    """Every replayed decision, and the ones skipped with the reason."""

    replayed: list[Replayed] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> list[Replayed]:
        return [r for r in self.replayed if r.changed]

    def to_json(self) -> dict[str, Any]:
        return {
            "replayed": len(self.replayed),
            "changed": [r.to_json() for r in self.changed],
            "unchanged": len(self.replayed) - len(self.changed),
            "skipped": self.skipped,
        }


# ------------------------------------------------------------------------------------ selection


_AGO = re.compile(r"^(\d+)([dhm])$")


def parse_since(value: str, now: datetime) -> datetime:
    """``2026-11-01``, ``2026-11-01T12:00:00Z`` or ``7d`` / ``12h`` / ``30m`` ago (ValueError otherwise)."""
    match = _AGO.match(value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        unit_name = {"d": "days", "h": "hours", "m": "minutes"}[unit]
        return now - timedelta(**{unit_name: amount})
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _at(record: AuditRecord) -> datetime:
    return datetime.fromisoformat(record.at.replace("Z", "+00:00"))


def _group_of(record: AuditRecord) -> str | None:
    if record.stream.startswith("group#"):
        return record.stream.removeprefix("group#")
    group = record.evidence.get("group")
    return str(group) if isinstance(group, str) else None


def select(
    records: Iterable[AuditRecord], *, since: datetime | None = None, group: str | None = None
) -> Iterable[AuditRecord]:
    """The records a dry run replays (replayable actions, in the window, of the group)."""
    for record in records:
        if record.action.value not in REPLAYED_ACTIONS:
            continue
        if since is not None and _at(record) < since:
            continue
        if group is not None and _group_of(record) != group and not record.stream.endswith(f"#{group}"):
            continue
        yield record


# ------------------------------------------------------------------------------------ replay


def _outcomes(results: Iterable[Any]) -> dict[str, tuple[str, bool, str]]:
    out: dict[str, tuple[str, bool, str]] = {}
    for result in results:
        if isinstance(result, Mapping):
            out[str(result["gate"])] = (
                str(result["outcome"]),
                bool(result.get("hard")),
                str(result.get("reason", "")),
            )
        else:
            out[result.gate] = (result.outcome.value, result.hard, result.reason)
    return out


def replay_gates(record: AuditRecord, document: Mapping[str, Any], policy: Policy) -> Replayed:
    """A ``gates.evaluated`` record under ``policy``, from its gate report ``document``."""
    inputs = document["inputs"]
    candidate = Candidate.model_validate(inputs["candidate"])
    evidence = Evidence.model_validate(inputs["evidence"])
    read_for = set(inputs.get("evidence_read_for", []))
    before = str(record.evidence.get("decision", document.get("decision", "?")))
    replayed = Replayed(
        record.stream,
        record.seq,
        record.at,
        record.action.value,
        record.subject,
        candidate.group,
        before,
        before,
    )
    matched = policy.tier_for(candidate.group)
    if matched is None:
        replayed.after = "needs_human"
        replayed.why.append("no group rule of the new policy matches the group")
        return replayed
    rule, tier = matched
    report = evaluate_gates(policy, rule, rule.tier, tier, candidate, evidence)
    from mlcp.gates.evidence import EVIDENCE_GATES

    unknown = [
        result.gate
        for result in report.results
        if result.gate in EVIDENCE_GATES
        and result.gate not in read_for
        and result.outcome != GateOutcome.SKIP
    ]
    replayed.unknown = unknown
    replayed.after = report.decision
    old = _outcomes(document.get("results") or record.evidence.get("results") or [])
    old_tier = str(record.evidence.get("tier", document.get("tier", "")))
    if old_tier and old_tier != rule.tier:
        replayed.why.append(f"tier {old_tier} -> {rule.tier} (rule {rule.match!r})")
    for result in report.results:
        was = old.get(result.gate)
        now = (result.outcome.value, result.hard, result.reason)
        if result.gate in unknown:
            replayed.why.append(f"{result.gate}: unknown (its evidence was not read under the old tier)")
            continue
        if was is None or (was[0], was[1]) != (now[0], now[1]):
            before_text = f"{was[0]}{'' if was[1] else ' (soft)'}" if was else "not run"
            after_text = f"{now[0]}{'' if now[1] else ' (soft)'}"
            replayed.why.append(f"{result.gate}: {before_text} -> {after_text}: {result.reason}")
    return replayed


def replay_approval(record: AuditRecord, policy: Policy) -> Replayed | None:
    """An ``approval.granted`` record: is the approver still one of the new tier's approvers?"""
    from mlcp.usecases.approval_records import is_approver

    group = (
        record.subject.split(":model-package/", 1)[-1].rsplit("/", 1)[0]
        if ":model-package/" in record.subject
        else None
    )
    group = group or _group_of(record)
    if group is None:
        return None
    replayed = Replayed(
        record.stream, record.seq, record.at, record.action.value, record.subject, group, "granted", "granted"
    )
    matched = policy.tier_for(group)
    if matched is None:
        replayed.after = "needs_human"
        replayed.why.append("no group rule of the new policy matches the group")
        return replayed
    rule, tier = matched
    if not tier.human_approval:
        replayed.after = "no approval asked"
        replayed.why.append(f"tier {rule.tier} asks no named approver")
    elif not is_approver(record.actor, tier.approvers):
        replayed.after = "refused"
        replayed.why.append(f"{record.actor} is not an approver of tier {rule.tier}")
    return replayed


def replay_retraining(record: AuditRecord, policy: Policy) -> Replayed:
    """A retraining record: does the new policy still retrain the pipeline on this kind of trigger?"""
    pipeline = record.stream.removeprefix("pipeline#")
    kind = str(record.evidence.get("trigger", ""))
    before = "started" if record.action.value == "retraining.started" else "suppressed"
    replayed = Replayed(
        record.stream, record.seq, record.at, record.action.value, record.subject, None, before, before
    )
    rules = policy.rules_for_pipeline(pipeline)
    if not rules:
        replayed.after = "not retrained"
        replayed.why.append(f"no tier of the new policy retrains with pipeline {pipeline}")
        return replayed
    retraining = policy.tiers[rules[0].tier].monitoring.retraining
    assert retraining is not None
    configured = {
        "violation": bool(retraining.on_violations),
        "alarm": bool(retraining.on_alarms),
        "data": retraining.data is not None,
        "schedule": retraining.every_hours is not None,
    }.get(kind, True)
    if not configured:
        replayed.after = "not retrained"
        replayed.why.append(f"the new policy does not retrain {pipeline} on {kind} triggers")
    elif before == "suppressed":
        replayed.unknown.append("cooldown and daily limits (the state at the time is not recorded)")
    return replayed


def dry_run(records: Iterable[AuditRecord], policy: Policy, load_report: ReportLoader) -> DryRun:
    """Replay ``records`` (already selected) under ``policy``."""
    result = DryRun()
    for record in records:
        where = {"stream": record.stream, "seq": record.seq, "action": record.action.value}
        action = record.action.value
        if action == "gates.evaluated":
            uri = record.evidence.get("report_uri")
            if not isinstance(uri, str):
                result.skipped.append({**where, "reason": "no gate report (no policy group matched then)"})
                continue
            raw = load_report(uri)
            if raw is None:
                result.skipped.append({**where, "reason": f"gate report {uri} is gone"})
                continue
            expected = record.evidence.get("report_sha256")
            if expected and hashlib.sha256(raw).hexdigest() != expected:
                result.skipped.append(
                    {**where, "reason": f"gate report {uri} does not match its recorded SHA-256"}
                )
                continue
            document = json.loads(raw)
            if "inputs" not in document:
                result.skipped.append(
                    {**where, "reason": "gate report predates replay inputs (no candidate/evidence kept)"}
                )
                continue
            result.replayed.append(replay_gates(record, document, policy))
        elif action == "approval.granted":
            replayed = replay_approval(record, policy)
            if replayed is None:
                result.skipped.append({**where, "reason": "approval of no model package group"})
            else:
                result.replayed.append(replayed)
        else:
            result.replayed.append(replay_retraining(record, policy))
    return result


def write_dry_run(run: DryRun, out: Any) -> None:
    """The human-readable form."""
    changed = run.changed
    out.write(
        f"{len(run.replayed)} decisions replayed: {len(changed)} would come out differently, "
        f"{len(run.replayed) - len(changed)} the same; {len(run.skipped)} skipped\n"
    )
    for item in changed:
        out.write(f"{item.at}  {item.stream} #{item.seq}  {item.action}  {item.before} -> {item.after}\n")
        for reason in item.why:
            out.write(f"    {reason}\n")
    unknown = [r for r in run.replayed if r.unknown and not r.changed]
    for item in unknown:
        out.write(
            f"{item.at}  {item.stream} #{item.seq}  {item.action}  unknown: {', '.join(item.unknown)}\n"
        )
    for skipped in run.skipped:
        out.write(f"skipped {skipped['stream']} #{skipped['seq']} {skipped['action']}: {skipped['reason']}\n")
