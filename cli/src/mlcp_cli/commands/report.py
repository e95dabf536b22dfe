"""`mlcp report [--since 30d] [--html FILE] [--json]`: operational KPIs from the audit trail, per model
package group and overall, and a self-contained HTML report with a timeline. Exit 1 when a chain
is broken (the KPIs are still printed, computed from what was read)."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction
from mlcp.s3uri import parse_s3_uri
from mlcp_cli.audit_view import Snapshot, load_snapshot, parse_time
from mlcp_cli.commands.lineage import audit_table
from mlcp_cli.commands.stack import add_table_options, client
from mlcp_cli.html_report import render_html
from mlcp_cli.kpis import OVERALL, KpiReport, Kpis, compute_report, format_duration, format_rate
from mlcp_cli.tables import Column, render, wrap

_SPAN = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime) -> datetime:
    """``30d``, ``12h``, ``90m``, ``2w`` before ``now``, or an ISO-8601 date/time (UTC if naive)."""
    match = _SPAN.fullmatch(value.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--since {value!r}: use 30d, 12h, 90m, 2w or an ISO date") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _row(name: str, k: Kpis) -> tuple[str, ...]:
    return (
        name,
        str(k.deployments),
        f"{k.promoted}/{k.rolled_back + k.manual_rollbacks}/{k.failed}",
        f"{k.deployment_frequency_per_week:.2f}",
        format_duration(k.lead_time_median_seconds),
        format_rate(k.change_failure_rate),
        f"{k.incidents_resolved}/{k.incidents_opened}",
        format_duration(k.time_to_restore_median_seconds),
        "-" if k.retraining_frequency_per_week is None else f"{k.retraining_frequency_per_week:.2f}",
        str(k.manual_rollbacks),
        format_duration(k.lead_time_mean_seconds),
        str(k.lead_time_samples),
        format_duration(k.time_to_restore_mean_seconds),
        "-" if k.retrainings is None else str(k.retrainings),
    )


COLUMNS = (
    Column("group", min_width=12),
    Column("deploys", keep=True),
    Column("ok/rb/fail", keep=True),
    Column("per week", keep=True),
    Column("lead time", keep=True),
    Column("change-fail", keep=True),
    Column("restored", keep=True),
    Column("time to restore", keep=True),
    Column("retrain/wk", keep=True),
    Column("manual rb", wide_only=True),
    Column("lead mean", wide_only=True),
    Column("lead n", wide_only=True),
    Column("restore mean", wide_only=True),
    Column("retrainings", wide_only=True),
)


def render_text(report: KpiReport, *, wide: bool = False) -> str:
    """The KPI table (header row, overall first, then each group) and the chain verdict; every line
    fits ``WIDTH`` columns unless ``wide`` (then also the means, sample counts, manual rollbacks)."""
    rows = [_row(OVERALL, report.overall), *(_row(n, k) for n, k in sorted(report.groups.items()))]
    lines = [f"KPIs {report.start:%Y-%m-%d %H:%M} → {report.end:%Y-%m-%d %H:%M} UTC"]
    lines += render(COLUMNS, rows, wide=wide)
    for name, count in sorted(report.retrainings_by_pipeline.items()):
        lines.append(f"retraining {name}: {count} started")
    if report.chain_ok:
        lines.append(f"audit chain: OK ({report.records} records in {report.streams} streams)")
    else:
        lines += [
            f"BROKEN {problem}" if wide else wrap(f"BROKEN {problem}") for problem in report.chain_problems
        ]
    return "\n".join(lines) + "\n"


def build_report(audit_table: str, *, client: Callable[[str], Any], since: str, now: datetime) -> KpiReport:
    """Read and verify the trail; KPIs from ``since`` to now (or to the last record, if later: the
    emulator's simulated clock runs ahead)."""
    return _snapshot_and_report(audit_table, client=client, since=since, now=now)[1]


def _snapshot_and_report(
    audit_table: str, *, client: Callable[[str], Any], since: str, now: datetime
) -> tuple[Snapshot, KpiReport]:
    start = parse_since(since, now)  # bad input fails before anything is read
    snapshot = load_snapshot(AuditTrail(audit_table, client=client("dynamodb")))
    latest = max((parse_time(r.at) for records in snapshot.records.values() for r in records), default=now)
    return snapshot, compute_report(snapshot, start=start, end=max(now, latest))


#: The most recent analyses the HTML report draws (each is one S3 read).
MAX_DRAWN_ANALYSES = 20


def analysis_reports(
    snapshot: Snapshot, *, s3: Any, start: datetime, end: datetime, limit: int = MAX_DRAWN_ANALYSES
) -> tuple[list[dict[str, Any]], list[str]]:
    """The analysis reports (``analysis.completed`` records with a report) of the window, newest
    ``limit``, read from the reports bucket and checked against the SHA-256 their audit record
    holds; (documents oldest first, problems: unreadable or altered reports, left out)."""
    found = sorted(
        (
            (parse_time(record.at), record.evidence)
            for records in snapshot.records.values()
            for record in records
            if record.action == AuditAction.ANALYSIS_COMPLETED
            and record.evidence.get("report_uri")
            and start <= parse_time(record.at) <= end
        ),
        key=lambda item: item[0],
    )[-limit:]
    documents: list[dict[str, Any]] = []
    problems: list[str] = []
    for _, evidence in found:
        uri = str(evidence["report_uri"])
        parsed = parse_s3_uri(uri)
        if parsed is None:
            problems.append(f"{uri}: not an S3 URI")
            continue
        bucket, key, version = parsed
        try:
            body = s3.get_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))[
                "Body"
            ].read()
        except ClientError as exc:
            problems.append(f"{uri}: {exc.response.get('Error', {}).get('Code', exc)}")
            continue
        if hashlib.sha256(body).hexdigest() != evidence.get("report_sha256"):
            problems.append(f"{uri}: does not match the SHA-256 of its analysis.completed record")
            continue
        documents.append(json.loads(body))
    return documents, problems


def run_report(
    audit_table: str,
    *,
    client: Callable[[str], Any],
    since: str,
    html: Path | None,
    as_json: bool,
    out: Any,
    now: datetime | None = None,
    wide: bool = False,
) -> int:
    moment = now or datetime.now(UTC)
    snapshot, report = _snapshot_and_report(audit_table, client=client, since=since, now=moment)
    out.write(
        json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
        if as_json
        else render_text(report, wide=wide)
    )
    if html is not None:
        analyses, problems = analysis_reports(snapshot, s3=client("s3"), start=report.start, end=report.end)
        for problem in problems:
            sys.stderr.write(f"mlcp report: analysis report left out: {problem}\n")
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(report, generated_at=moment, analyses=analyses), encoding="utf-8")
        (sys.stderr if as_json else out).write(f"wrote {html}\n")
    return 0 if report.chain_ok else 1


def _cmd(args: argparse.Namespace) -> int:
    table = audit_table(args)
    if table is None:
        return 2
    try:
        return run_report(
            table,
            client=client,
            since=args.since,
            html=Path(args.html) if args.html else None,
            as_json=args.json,
            out=sys.stdout,
            wide=args.wide,
        )
    except argparse.ArgumentTypeError as exc:
        sys.stderr.write(f"mlcp report: {exc}\n")
        return 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("report", help="KPIs from the audit trail; --html writes the HTML report")
    parser.add_argument(
        "--since", default="30d", help="window start: 30d, 12h, 2w or an ISO date (default 30d)"
    )
    parser.add_argument("--html", help="also write a self-contained HTML report (timeline chart) here")
    parser.add_argument("--json", action="store_true", help="print the KPIs as one JSON document")
    parser.add_argument(
        "--wide",
        action="store_true",
        help="also the means, sample counts and manual rollbacks (wider than 120)",
    )
    add_table_options(parser)
    parser.set_defaults(func=_cmd)
