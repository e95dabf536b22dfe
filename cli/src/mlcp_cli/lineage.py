"""Lineage of a model package, each link cited to the audit record it comes from.

training data → pipeline execution → model package → gate reports → approvals → endpoint config →
deployment outcome (and the incidents it caused or met). ``build_lineage`` is pure over a verified
``Snapshot``, the package as DescribeModelPackage describes it, and two readers (the gate report
documents in S3, an endpoint's current config), so it is tested on synthetic trails too.

A link's status: ``verified`` (cited records, every cited stream's chain verifies), ``unverified``
(a cited stream is broken, or the stored gate report disagrees with the audited results) or
``unrecorded`` (the package names it but the control plane never recorded it: e.g. data that
arrived before the stack, or a pipeline run started by hand).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlcp.adapters.reports import report_sha256
from mlcp.audit import AuditAction, AuditRecord
from mlcp.gates.evaluate import training_data
from mlcp.gates.model import Candidate
from mlcp.s3uri import parse_s3_uri
from mlcp_cli.audit_view import (
    Citation,
    Snapshot,
    deployments,
    endpoint_where,
    incident_package,
    incidents,
    manual_rollbacks,
    package_group,
    package_version,
    parse_time,
    records_about,
    registrations,
    serving_package,
    split_endpoint,
)
from mlcp_cli.tables import MIN_COLUMN, WIDTH, elide

VERIFIED, UNVERIFIED, UNRECORDED = "verified", "unverified", "unrecorded"

_APPROVAL_ACTIONS = {
    AuditAction.APPROVAL_REQUESTED,
    AuditAction.APPROVAL_GRANTED,
    AuditAction.APPROVAL_DENIED,
    AuditAction.APPROVAL_BLOCKED,
    AuditAction.PACKAGE_APPROVED,
    AuditAction.PACKAGE_REJECTED,
}
_GATE_FIELDS = ("gate", "outcome", "hard", "reason")

ReportReader = Callable[[str], dict[str, Any] | None]
ConfigReader = Callable[[str], str | None]
"""The config an endpoint (its key: ``<account>:<name>`` in a member) serves now; None: no such
endpoint; raises ``LookupError`` when it cannot be read (no credentials in that member account)."""


@dataclass
class Link:
    """One link of the lineage: what it is, the facts, and the audit records it rests on."""

    kind: str
    title: str
    facts: dict[str, Any]
    citations: list[Citation] = field(default_factory=list)
    problem: str | None = None
    """Why the link is unverified although its chains verify (e.g. a report that differs)."""
    note: str | None = None

    @property
    def status(self) -> str:
        if self.problem or any(not citation.verified for citation in self.citations):
            return UNVERIFIED
        return VERIFIED if self.citations else UNRECORDED

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "status": self.status,
            "facts": self.facts,
            "citations": [citation.to_json() for citation in self.citations],
            "problem": self.problem,
            "note": self.note,
        }


@dataclass
class Lineage:
    target: str
    package_arn: str
    links: list[Link]
    broken_streams: list[str]

    @property
    def ok(self) -> bool:
        """No link is unverified (unrecorded links are reported, not failures)."""
        return all(link.status != UNVERIFIED for link in self.links)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "package_arn": self.package_arn,
            "ok": self.ok,
            "broken_streams": self.broken_streams,
            "links": [link.to_json() for link in self.links],
        }


def endpoint_package(snapshot: Snapshot, endpoint: str, current_config: str | None) -> str | None:
    """The package ``endpoint`` serves: the one promoted with its current config (DescribeEndpoint),
    else the one the trail says it serves now."""
    if current_config:
        for deployment in reversed(deployments(snapshot)):
            if (
                deployment.endpoint == endpoint
                and deployment.target_config == current_config
                and deployment.outcome == "promoted"
            ):
                return deployment.package_arn
    return serving_package(snapshot, endpoint, datetime.max.replace(tzinfo=UTC))


def build_lineage(
    snapshot: Snapshot,
    package_arn: str,
    *,
    candidate: Candidate | None,
    read_report: ReportReader,
    endpoint_config: ConfigReader,
    target: str | None = None,
) -> Lineage:
    """The lineage of ``package_arn`` (see the module docstring)."""
    group_stream = f"group#{package_group(package_arn)}"
    about = records_about(snapshot.records.get(group_stream, []), package_arn)
    links: list[Link] = []
    if candidate is not None:
        links += [_data_link(snapshot, uri) for uri in training_data(candidate)]
        if candidate.generated_by:
            links.append(_pipeline_link(snapshot, candidate.generated_by))
    links.append(_package_link(snapshot, package_arn, candidate))
    links += [
        _gate_link(snapshot, record, read_report)
        for record in about
        if record.action == AuditAction.GATES_EVALUATED
    ]
    approvals = [record for record in about if record.action in _APPROVAL_ACTIONS]
    if approvals:
        links.append(_approval_link(snapshot, approvals))
    links += _promotion_links(snapshot, about)
    links += _deployment_links(snapshot, package_arn, endpoint_config)
    cited = {citation.stream for link in links for citation in link.citations}
    broken = sorted(name for name in cited if not snapshot.verified(name))
    return Lineage(target=target or package_arn, package_arn=package_arn, links=links, broken_streams=broken)


def _data_link(snapshot: Snapshot, uri: str) -> Link:
    location = parse_s3_uri(uri)
    if location is None:
        return Link("training_data", uri, {"uri": uri}, problem="not an S3 URI")
    bucket, key, version = location
    prefix = key.endswith("/") or not key
    matches = [
        record
        for record in snapshot.records.get(f"data#{bucket}", [])
        if record.action == AuditAction.DATA_ARRIVED
        and (
            str(record.evidence.get("key", "")).startswith(key)
            if prefix
            else record.evidence.get("key") == key
            and (version is None or record.evidence.get("version_id") == version)
        )
    ]
    facts: dict[str, Any] = {"uri": uri, "bucket": bucket, "key": key, "version_id": version}
    if matches:
        last = matches[-1]
        facts |= {
            "objects": len(matches),
            "size": last.evidence.get("size") if not prefix else None,
            "etag": last.evidence.get("etag") if not prefix else None,
            "arrived_at": last.at,
            "uploaded_by": last.actor,
        }
    return Link(
        "training_data",
        uri,
        facts,
        [snapshot.cite(record) for record in matches],
        note=None if matches else "no data.arrived record for this object version",
    )


def _pipeline_link(snapshot: Snapshot, execution_arn: str) -> Link:
    runs = [
        record
        for stream in snapshot.streams_with("pipeline#")
        for record in snapshot.records[stream]
        if record.subject == execution_arn
    ]
    facts: dict[str, Any] = {"execution_arn": execution_arn}
    for record in runs:
        if record.action == AuditAction.RETRAINING_STARTED:
            facts |= {
                "pipeline": record.stream.removeprefix("pipeline#"),
                "trigger": record.evidence.get("trigger"),
                "reason": record.evidence.get("reason"),
                "started_at": record.at,
            }
        elif record.action in {AuditAction.RETRAINING_SUCCEEDED, AuditAction.RETRAINING_FAILED}:
            facts |= {"status": record.evidence.get("status"), "finished_at": record.at}
    return Link(
        "pipeline_execution",
        execution_arn,
        facts,
        [snapshot.cite(record) for record in runs],
        note=None if runs else "not started by the control plane (no retraining.started record)",
    )


def _package_link(snapshot: Snapshot, arn: str, candidate: Candidate | None) -> Link:
    registered = registrations(snapshot).get(arn)
    facts: dict[str, Any] = {
        "arn": arn,
        "group": package_group(arn),
        "version": package_version(arn),
        "registered_at": registered.at if registered else None,
    }
    note = None
    if candidate is not None:
        facts |= {
            "status": candidate.approval_status,
            "created_by": candidate.created_by,
            "creation_time": candidate.creation_time.isoformat(),
            "artifact_sha256": candidate.customer_metadata.get("artifact_sha256"),
            "model_data": [c.model_data_url for c in candidate.containers if c.model_data_url],
            "images": [c.image for c in candidate.containers],
            "metadata": dict(sorted(candidate.customer_metadata.items())),
        }
    else:
        note = "the Model Registry no longer describes this package; facts from the audit trail only"
    title = f"{package_group(arn)} v{package_version(arn)}"
    return Link("model_package", title, facts, [snapshot.cite(registered)] if registered else [], note=note)


def _gate_link(snapshot: Snapshot, record: AuditRecord, read_report: ReportReader) -> Link:
    evidence = record.evidence
    # Records name their phase (registration, approval, or deployment: the re-check before deploying);
    # older ones do not, and an approver then means the approval phase.
    stage = evidence.get("phase") or ("approval" if evidence.get("approver") else "registration")
    audited = [dict(result) for result in evidence.get("results", []) if isinstance(result, dict)]
    uri = evidence.get("report_uri")
    document = read_report(str(uri)) if uri else None
    problem = None
    note = None
    gates = audited
    if document is None:
        note = "gate report not readable in S3: thresholds and observed values unknown" if uri else None
    else:
        stored = [r for r in document.get("results", []) if isinstance(r, dict)]
        anchored = evidence.get("report_sha256")
        if anchored and report_sha256(document) != anchored:
            # Records written before the digest existed carry none; their results are still compared.
            problem = "the gate report in S3 is not the one the audit record anchors (SHA-256 differs)"
        elif [{k: r.get(k) for k in _GATE_FIELDS} for r in stored] != [
            {k: r.get(k) for k in _GATE_FIELDS} for r in audited
        ]:
            problem = "the gate report in S3 differs from the results in the audit record"
        gates = [{k: r.get(k) for k in (*_GATE_FIELDS, "threshold", "observed")} for r in stored or audited]
    facts = {
        "stage": stage,
        "decision": evidence.get("decision"),
        "tier": evidence.get("tier"),
        "approver": evidence.get("approver"),
        "report_uri": uri,
        "gates": gates,
    }
    title = f"{stage}: {evidence.get('decision')}"
    return Link("gate_report", title, facts, [snapshot.cite(record)], problem=problem, note=note)


def _approval_link(snapshot: Snapshot, records: list[AuditRecord]) -> Link:
    facts: dict[str, Any] = {"decision": "pending", "approved_by": None, "created_by": None, "steps": []}
    for record in records:
        evidence = record.evidence
        facts["steps"].append({"action": record.action.value, "by": record.actor, "at": record.at})
        if record.action == AuditAction.PACKAGE_APPROVED:
            facts |= {"decision": "approved", "approved_by": evidence.get("approved_by") or record.actor}
            facts["created_by"] = evidence.get("created_by")
        elif record.action == AuditAction.PACKAGE_REJECTED:
            facts |= {"decision": "rejected", "rejected_by": record.actor}
            facts["reason"] = evidence.get("approval_description")
        elif record.action in {AuditAction.APPROVAL_GRANTED, AuditAction.APPROVAL_DENIED}:
            facts["named_approver"] = record.actor
            facts["named_approval_reason"] = evidence.get("reason")
    by = facts.get("approved_by") or facts.get("rejected_by") or "nobody yet"
    return Link("approval", f"{facts['decision']} by {by}", facts, [snapshot.cite(r) for r in records])


_PROMOTION_REFUSED = "promotion refused: "


def _promotion_links(snapshot: Snapshot, about: list[AuditRecord]) -> list[Link]:
    """The promotion decisions about the package (ADR 27): each stage it was gated for after the
    first (``gates.evaluated`` of phase ``promotion``), and each promotion refused (``promotion.refused``,
    before ADR 35 ``event.ignored`` with the refusal: not soaked, rolled back or an open incident in
    the previous stage, the stage's gates)."""
    links: list[Link] = []
    for record in about:
        evidence = record.evidence
        if record.action == AuditAction.GATES_EVALUATED and evidence.get("phase") == "promotion":
            stage = evidence.get("stage")
            facts = {
                "stage": stage,
                "outcome": "allowed",
                "gates": evidence.get("decision"),
                "tier": evidence.get("tier"),
                "at": record.at,
            }
            title = f"to {stage}: allowed, gated {evidence.get('decision')}"
            links.append(Link("promotion", title, facts, [snapshot.cite(record)]))
        elif record.action == AuditAction.PROMOTION_REFUSED:  # ADR 35: the decision's own record
            reason = "; ".join(str(r) for r in evidence.get("reasons") or [])
            facts = {"stage": evidence.get("stage"), "outcome": "refused", "reason": reason, "at": record.at}
            links.append(
                Link("promotion", f"to {facts['stage']}: refused: {reason}", facts, [snapshot.cite(record)])
            )
        elif record.action == AuditAction.EVENT_IGNORED:  # trails written before ADR 35
            refusals = [
                str(reason).removeprefix(_PROMOTION_REFUSED)
                for reason in evidence.get("reasons") or []
                if str(reason).startswith(_PROMOTION_REFUSED)
            ]
            if refusals:
                facts = {"stage": None, "outcome": "refused", "reason": "; ".join(refusals), "at": record.at}
                links.append(Link("promotion", f"refused: {facts['reason']}", facts, [snapshot.cite(record)]))
    return links


def _serving(endpoint_config: ConfigReader, key: str) -> str | LookupError | None:
    try:
        return endpoint_config(key)
    except LookupError as exc:
        return exc


def _deployment_links(snapshot: Snapshot, arn: str, endpoint_config: ConfigReader) -> list[Link]:
    links: list[Link] = []
    current: dict[str, str | LookupError | None] = {}
    for deployment in deployments(snapshot):
        if deployment.package_arn != arn:
            continue
        if deployment.endpoint not in current:
            current[deployment.endpoint] = _serving(endpoint_config, deployment.endpoint)
        serving = current[deployment.endpoint]
        account, name = split_endpoint(deployment.endpoint)
        where = endpoint_where(deployment.endpoint)
        started = deployment.started.evidence if deployment.started else {}
        finished = deployment.finished.evidence if deployment.finished else {}
        config = deployment.target_config
        records = [r for r in (deployment.started, deployment.finished) if r is not None]
        links.append(
            Link(
                "endpoint_config",
                f"{where}: {config or '?'}",
                {
                    "endpoint": name,
                    "account": account,
                    "config": config,
                    "previous_config": finished.get("previous_config"),
                    "strategy": (started.get("deployment") or {}).get("strategy"),
                    # None: unknown (the member account's SageMaker could not be read).
                    "serving_now": None
                    if isinstance(serving, LookupError)
                    else config is not None and serving == config,
                },
                [snapshot.cite(r) for r in records],
            )
        )
        links.append(
            Link(
                "deployment",
                f"{where}: {deployment.outcome}",
                {
                    "endpoint": name,
                    "account": account,
                    "outcome": deployment.outcome,
                    "execution": deployment.execution,
                    "started_at": deployment.started.at if deployment.started else None,
                    "finished_at": deployment.finished.at if deployment.finished else None,
                    "failure_reason": finished.get("failure_reason"),
                },
                [snapshot.cite(r) for r in records],
            )
        )
    for stream, records in snapshot.records.items():
        if not stream.startswith("endpoint#"):
            continue
        for record in records:
            if record.action != AuditAction.ANALYSIS_COMPLETED or record.subject != arn:
                continue
            evidence = record.evidence
            links.append(
                Link(
                    "analysis",
                    f"{evidence.get('endpoint')}: {evidence.get('phase')} analysis, step "
                    f"{evidence.get('step')}: {evidence.get('verdict')}",
                    {
                        "endpoint": evidence.get("endpoint"),
                        "phase": evidence.get("phase"),
                        "step": evidence.get("step"),
                        "verdict": evidence.get("verdict"),
                        "score": evidence.get("score"),
                        "roll_back": evidence.get("roll_back"),
                        "reasons": evidence.get("reasons") or [evidence.get("reason")],
                        "metrics": evidence.get("metrics", []),
                        "report_uri": evidence.get("report_uri"),
                        "at": record.at,
                    },
                    [snapshot.cite(record)],
                )
            )
    for rollback in manual_rollbacks(snapshot):
        if arn not in {rollback.to_package_arn, rollback.from_package_arn}:
            continue
        direction = "to" if rollback.to_package_arn == arn else "away from"
        account, name = split_endpoint(rollback.endpoint)
        links.append(
            Link(
                "deployment",
                f"{endpoint_where(rollback.endpoint)}: manual rollback {direction} this version",
                {
                    "endpoint": name,
                    "account": account,
                    "outcome": "manual_rollback",
                    "by": rollback.record.actor,
                    "reason": rollback.record.evidence.get("reason"),
                    "from_config": rollback.from_config,
                    "to_config": rollback.to_config,
                    "at": rollback.record.at,
                },
                [snapshot.cite(rollback.record)],
            )
        )
    for incident in incidents(snapshot):
        if incident_package(snapshot, incident) != arn:
            continue
        records = [incident.opened, *incident.updates] + ([incident.resolved] if incident.resolved else [])
        restore = (
            (incident.resolved_at - incident.opened_at).total_seconds() if incident.resolved_at else None
        )
        links.append(
            Link(
                "incident",
                f"{incident.incident_id}: {incident.title}",
                {
                    "incident_id": incident.incident_id,
                    "cause": incident.cause,
                    "resource": incident.resource,
                    "severity": incident.opened.evidence.get("severity"),
                    "opened_at": incident.opened_at.isoformat(),
                    "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
                    "resolved_by": incident.resolved.actor if incident.resolved else None,
                    "time_to_restore_seconds": restore,
                    "updates": len(incident.updates),
                },
                [snapshot.cite(r) for r in records],
            )
        )
    return sorted(links, key=_link_time)


def _link_time(link: Link) -> datetime:
    return (
        min(parse_time(c.at) for c in link.citations) if link.citations else datetime.max.replace(tzinfo=UTC)
    )


# ---------------------------------------------------------------------------- rendering

_MARK = {VERIFIED: "verified", UNVERIFIED: "UNVERIFIED", UNRECORDED: "unrecorded"}
_LABEL = {
    "training_data": "training data",
    "pipeline_execution": "pipeline execution",
    "model_package": "model package",
    "gate_report": "gate report",
    "approval": "approval",
    "endpoint_config": "endpoint config",
    "deployment": "deployment",
    "incident": "incident",
    "analysis": "canary analysis",
    "promotion": "promotion",
}


def render_tree(lineage: Lineage, *, wide: bool = False) -> str:
    """The lineage as an indented tree, one link per branch with its citations; every line fits
    ``WIDTH`` columns (long values cut in the middle) unless ``wide`` (every value in full)."""

    def line(prefix: str, text: str, suffix: str = "") -> str:
        room = WIDTH - len(prefix) - len(suffix)
        return prefix + (text if wide else elide(text, max(room, MIN_COLUMN))) + suffix

    def prose(prefix: str, rest: str, text: str) -> list[str]:
        """A reason is read in full: folded at spaces under ``prefix`` (``rest`` on later lines)."""
        if wide:
            return [prefix + text]
        import textwrap

        folded = textwrap.wrap(text, max(WIDTH - len(prefix), MIN_COLUMN), break_on_hyphens=False) or [""]
        return [prefix + folded[0], *(rest + part for part in folded[1:])]

    lines = [line("lineage of ", lineage.package_arn)]
    if lineage.target != lineage.package_arn:
        lines[0] = line("lineage of ", lineage.package_arn, f" (serving {lineage.target})")
    for index, link in enumerate(lineage.links):
        last = index == len(lineage.links) - 1
        branch, stem = ("└─ ", "   ") if last else ("├─ ", "│  ")
        label = f"{branch}{_LABEL.get(link.kind, link.kind)}: "
        lines.append(line(label, link.title, f"  [{_MARK[link.status]}]"))
        for detail in _details(link, wide=wide):
            if link.kind == "deployment":  # the failure reason
                lines += prose(f"{stem}   ", f"{stem}     ", detail)
            else:
                lines.append(line(f"{stem}   ", detail))
        for citation in link.citations[:3]:
            lines.append(line(f"{stem}   ", f"↳ {citation.action} @ {citation.short()}"))
        if len(link.citations) > 3:
            lines.append(f"{stem}   ↳ … {len(link.citations) - 3} more records")
        for text in (link.problem, link.note):
            if text:
                lines += prose(f"{stem}   ! ", f"{stem}     ", text)
    if lineage.broken_streams:
        lines.append(f"BROKEN chains: {', '.join(lineage.broken_streams)} (links citing them are unverified)")
    else:
        cited = sum(len(link.citations) for link in lineage.links)
        lines.append(f"OK: {cited} cited records, every cited chain verifies")
    return "\n".join(lines) + "\n"


def _details(link: Link, *, wide: bool = False) -> list[str]:
    facts = link.facts
    limit = None if wide else 140
    if link.kind == "gate_report":
        # A gate a line, its threshold and what was observed each on their own (cut to fit unless wide).
        found: list[str] = []
        for g in facts.get("gates", []):
            if g.get("outcome") == "skip":
                continue
            found.append(f"{g.get('gate')}: {g.get('outcome')}")
            for key in ("threshold", "observed"):
                if g.get(key) not in (None, []):
                    found.append(f"  {key}={_compact(g.get(key), limit)}")
        return found
    if link.kind == "model_package":
        return [f"{k}: {facts[k]}" for k in ("status", "created_by", "artifact_sha256") if facts.get(k)]
    if link.kind == "training_data" and facts.get("objects"):
        return [f"arrived {facts.get('arrived_at')} ({facts.get('objects')} object(s))"]
    if link.kind == "deployment":
        span = " → ".join(str(facts[k]) for k in ("started_at", "finished_at") if facts.get(k))
        when = [span] if span else []
        return when + ([str(facts["failure_reason"])] if facts.get("failure_reason") else [])
    if link.kind == "endpoint_config":
        serving = facts.get("serving_now")
        now = "unknown (no credentials in that account)" if serving is None else serving
        return [f"strategy: {facts.get('strategy')}, serving now: {now}"]
    if link.kind == "promotion" and facts.get("tier"):
        return [f"tier {facts['tier']} at {facts.get('at')}"]
    return []


def _compact(value: Any, limit: int | None = 140) -> str:
    """Compact JSON for a tree line, cut at ``limit`` characters (None: whole; ``--json`` has it all)."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
