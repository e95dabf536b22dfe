"""A model-card-like evidence record of one model package for auditors: one document, rendered as
JSON and as Markdown with the same content. Pure over a ``Lineage`` and its ``Snapshot``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mlcp_cli.audit_view import Snapshot
from mlcp_cli.kpis import format_duration
from mlcp_cli.lineage import Lineage, Link
from mlcp_cli.tables import MIN_COLUMN, WIDTH, elide, wrap

SCHEMA = "mlcp.evidence/1"


def _cites(link: Link) -> list[dict[str, Any]]:
    return [citation.to_json() for citation in link.citations]


def _of(lineage: Lineage, *kinds: str) -> list[Link]:
    return [link for link in lineage.links if link.kind in kinds]


def build_evidence(lineage: Lineage, snapshot: Snapshot, *, generated_at: datetime) -> dict[str, Any]:
    """The evidence document (JSON-able): identity, lineage, gates, approvals, deployments and
    rollbacks, incidents and the verification of every chain it cites."""
    package = next(link for link in lineage.links if link.kind == "model_package")
    facts = package.facts
    metadata = facts.get("metadata") or {}
    cited = sorted({c.stream for link in lineage.links for c in link.citations})
    approvals = _of(lineage, "approval")
    return {
        "schema": SCHEMA,
        "generated_at": generated_at.isoformat(),
        "identity": {
            "model_package_arn": lineage.package_arn,
            "group": facts.get("group"),
            "version": facts.get("version"),
            "status": facts.get("status"),
            "created_by": facts.get("created_by"),
            "creation_time": facts.get("creation_time"),
            "registered_at": facts.get("registered_at"),
            "risk_tier": metadata.get("risk_tier"),
            "owner": metadata.get("owner"),
            "cost_center": metadata.get("cost_center"),
            "artifact_sha256": facts.get("artifact_sha256"),
            "model_data": facts.get("model_data", []),
            "images": facts.get("images", []),
        },
        "lineage": [
            {"kind": link.kind, "title": link.title, "status": link.status, "citations": _cites(link)}
            for link in lineage.links
        ],
        "gates": [
            link.facts | {"status": link.status, "citations": _cites(link)}
            for link in _of(lineage, "gate_report")
        ],
        "approval": (approvals[0].facts | {"citations": _cites(approvals[0])}) if approvals else None,
        "deployments": [
            link.facts | {"status": link.status, "citations": _cites(link)}
            for link in _of(lineage, "deployment")
        ],
        "promotions": [
            link.facts | {"status": link.status, "citations": _cites(link)}
            for link in _of(lineage, "promotion")
        ],
        "endpoint_configs": [
            link.facts | {"status": link.status, "citations": _cites(link)}
            for link in _of(lineage, "endpoint_config")
        ],
        "analyses": [
            link.facts | {"status": link.status, "citations": _cites(link)}
            for link in _of(lineage, "analysis")
        ],
        "incidents": [
            link.facts | {"status": link.status, "citations": _cites(link)}
            for link in _of(lineage, "incident")
        ],
        "chain_verification": {
            "ok": lineage.ok and not lineage.broken_streams,
            "streams": {
                name: {
                    "records": snapshot.verification[name].records,
                    "ok": snapshot.verification[name].ok,
                    "problems": [p.describe() for p in snapshot.verification[name].problems],
                }
                for name in cited
            },
        },
    }


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ")


def _where(row: dict[str, Any]) -> str:
    """A row's endpoint, with its account when it is a member's (ADR 36)."""
    account = row.get("account")
    return f"{row['endpoint']} ({account})" if account else str(row["endpoint"])


def _cite_text(citations: list[dict[str, Any]]) -> str:
    return "<br>".join(f"`{c['stream']}` #{c['seq']} `{c['hash'][:16]}`" for c in citations) or "-"


def render_markdown(document: dict[str, Any]) -> str:
    """The evidence document as Markdown (what ``mlcp evidence`` writes next to the JSON)."""
    identity = document["identity"]
    out = [
        f"# Model evidence: {identity['group']} v{identity['version']}",
        "",
        f"Generated {document['generated_at']} by `mlcp evidence` (schema `{document['schema']}`). "
        "Every fact cites the audit record (stream, seq, hash) it comes from.",
        "",
        "## Identity",
        "",
        "| field | value |",
        "| --- | --- |",
    ]
    out += [f"| {name} | {_cell(value)} |" for name, value in identity.items()]
    out += ["", "## Lineage", "", "| link | what | status | audit records |", "| --- | --- | --- | --- |"]
    out += [
        f"| {link['kind']} | {_cell(link['title'])} | {link['status']} | {_cite_text(link['citations'])} |"
        for link in document["lineage"]
    ]
    out += ["", "## Gates"]
    for gates in document["gates"]:
        out += [
            "",
            f"### {gates['stage']}: {gates['decision']} (tier {gates['tier']}, {gates['status']})",
            "",
            f"Report: `{gates['report_uri']}`; approver: {_cell(gates['approver'])}; "
            f"record: {_cite_text(gates['citations'])}",
            "",
            "| gate | outcome | hard | threshold | observed | reason |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| {g.get('gate')} | {g.get('outcome')} | {g.get('hard')} | {_cell(g.get('threshold'))} | "
            f"{_cell(g.get('observed'))} | {_cell(g.get('reason'))} |"
            for g in gates["gates"]
        ]
    out += ["", "## Approval", ""]
    approval = document["approval"]
    if approval is None:
        out.append("No approval recorded.")
    else:
        out += [
            f"Decision: **{approval['decision']}**; approved by: {_cell(approval.get('approved_by'))}; "
            f"created by: {_cell(approval.get('created_by'))}; named approver: "
            f"{_cell(approval.get('named_approver'))}.",
            "",
            "| step | by | at |",
            "| --- | --- | --- |",
        ]
        out += [f"| {s['action']} | {_cell(s['by'])} | {s['at']} |" for s in approval["steps"]]
        out += ["", f"Records: {_cite_text(approval['citations'])}"]
    if document.get("promotions"):
        out += [
            "",
            "## Promotions between accounts",
            "",
            "| stage | outcome | tier | gates | reason | at | audit records |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| {_cell(p.get('stage'))} | {p['outcome']} | {_cell(p.get('tier'))} | {_cell(p.get('gates'))} | "
            f"{_cell(p.get('reason'))} | {p['at']} | {_cite_text(p['citations'])} |"
            for p in document["promotions"]
        ]
    out += ["", "## Deployments and rollbacks", ""]
    if document["endpoint_configs"]:
        out += [
            "| endpoint | config | previous config | strategy | serving now | status |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| {_where(c)} | {_cell(c['config'])} | {_cell(c['previous_config'])} | "
            f"{_cell(c['strategy'])} | {c['serving_now']} | {c['status']} |"
            for c in document["endpoint_configs"]
        ]
        out.append("")
    if document["deployments"]:
        out += ["| endpoint | outcome | when | detail | audit records |", "| --- | --- | --- | --- | --- |"]
        for d in document["deployments"]:
            when = d.get("finished_at") or d.get("at") or d.get("started_at")
            detail = d.get("failure_reason") or d.get("reason") or d.get("execution")
            out.append(
                f"| {_where(d)} | {d['outcome']} | {_cell(when)} | {_cell(detail)} | "
                f"{_cite_text(d['citations'])} |"
            )
    else:
        out.append("Never deployed.")
    if document.get("analyses"):
        out += [
            "",
            "### Canary analyses",
            "",
            "| endpoint | phase | step | verdict | score | rolls back | metrics | report | audit records |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for a in document["analyses"]:
            per_metric = ", ".join(
                f"{m.get('name')} {m.get('classification')}"
                + (f" (p={m['p_value']:.3g})" if m.get("p_value") is not None else "")
                for m in a.get("metrics") or []
            )
            out.append(
                f"| {a['endpoint']} | {a['phase']} | {a['step']} | {a['verdict']} | {_cell(a['score'])} | "
                f"{a['roll_back']} | {_cell(per_metric)} | {_cell(a['report_uri'])} | {_cite_text(a['citations'])} |"
            )
    out += ["", "## Incidents", ""]
    if document["incidents"]:
        out += [
            "| incident | cause | opened | resolved | time to restore | audit records |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| {i['incident_id']} | {i['cause']} | {i['opened_at']} | {_cell(i['resolved_at'])} | "
            f"{format_duration(i['time_to_restore_seconds'])} | {_cite_text(i['citations'])} |"
            for i in document["incidents"]
        ]
    else:
        out.append("None.")
    chain = document["chain_verification"]
    out += [
        "",
        "## Chain verification",
        "",
        f"Result: **{'OK' if chain['ok'] else 'FAILED'}**",
        "",
        "| stream | records | ok | problems |",
        "| --- | --- | --- | --- |",
    ]
    out += [
        f"| {name} | {s['records']} | {s['ok']} | {_cell('; '.join(s['problems']) or None)} |"
        for name, s in chain["streams"].items()
    ]
    return "\n".join(out) + "\n"


def fit_markdown(markdown: str, width: int = WIDTH) -> str:
    """``markdown`` with every line at most ``width`` columns, still Markdown: a table row's widest
    cells cut in the middle (``tables.elide``), prose folded at spaces, anything else cut. The
    ``--out`` files and ``--wide`` keep every cell in full."""
    fitted: list[str] = []
    for line in markdown.splitlines():
        if len(line) <= width:
            fitted.append(line)
        elif line.startswith("| ") and line.endswith(" |"):
            cells = [cell.strip() for cell in line[2:-2].split(" | ")]
            widths = [len(cell) for cell in cells]
            budget = width - 4 - 3 * (len(cells) - 1)
            while sum(widths) > budget and max(widths) > MIN_COLUMN:
                widths[widths.index(max(widths))] -= 1
            fitted.append("| " + " | ".join(elide(c, w) for c, w in zip(cells, widths, strict=True)) + " |")
        elif line.startswith("#"):
            fitted.append(elide(line, width))
        else:
            fitted.append(wrap(line, width, hang=0))
    return "\n".join(fitted) + "\n"
