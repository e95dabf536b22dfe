"""`mlcp incidents list [--all] [--json] [--wide]`, `mlcp incidents show ID`, `mlcp incidents resolve ID --reason ...`.

Incidents are SSM OpsCenter OpsItems the control plane opened, one per (resource, cause), kept in the
control-plane table. Resolving records who resolved it (the STS identity, never a flag) and the MTTR
in the audit trail. Tables default to $MLCP_STATE_TABLE and $MLCP_AUDIT_TABLE.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from mlcp.adapters.identity import caller_identity
from mlcp.adapters.opscenter import OpsCenter
from mlcp.audit import AuditTrail
from mlcp.incidents import Incident, IncidentDeps, get_incident, list_incidents, resolve_by_id
from mlcp_cli.audit_view import split_endpoint
from mlcp_cli.commands.stack import (
    AccountChoice,
    TargetError,
    add_table_options,
    client,
    resolve_account,
    tables,
)
from mlcp_cli.tables import Column, short_time, write_table


def incident_deps(client: Any, *, state_table: str, audit_table: str) -> IncidentDeps:
    """The incident adapters for an operator: ``client(service)`` makes boto3 clients."""
    dynamodb = client("dynamodb")
    return IncidentDeps(
        ops=OpsCenter(client("ssm")),
        table_name=state_table,
        dynamodb=dynamodb,
        audit=AuditTrail(audit_table, client=dynamodb),
    )


def _age(incident: Incident) -> str:
    if incident.mttr_seconds is not None:
        return f"resolved after {_duration(incident.mttr_seconds)}"
    return f"opened {short_time(incident.opened_at)}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


_LIST_COLUMNS = (
    Column("id", keep=True),
    Column("sev"),
    Column("status", keep=True),
    Column("resource", min_width=20),
    Column("cause", min_width=24),
    Column("seen"),
    Column("age", min_width=26),
    Column("title"),
    Column("ops item", wide_only=True),
    Column("runbook", wide_only=True),
)


def write_incidents(incidents: list[Incident], out: TextIO, *, as_json: bool, wide: bool = False) -> None:
    """A table, one incident per row (``wide``: plus its OpsItem and runbook); JSON: one object per line."""
    if as_json:
        for incident in incidents:
            out.write(json.dumps(incident.model_dump(mode="json"), sort_keys=True) + "\n")
        return
    if not incidents:
        out.write("no incidents\n")
        return
    rows = [
        (
            i.incident_id,
            str(i.severity),
            i.status,
            i.resource,
            i.cause,
            f"x{i.occurrences}",
            _age(i),
            i.title,
            i.ops_item_id or "(no OpsItem yet)",
            i.runbook_url or "-",
        )
        for i in incidents
    ]
    write_table(out, _LIST_COLUMNS, rows, wide=wide)


def write_incident(
    incident: Incident, ops_item: dict[str, Any] | None, out: TextIO, *, as_json: bool
) -> None:
    if as_json:
        body = incident.model_dump(mode="json")
        if ops_item is not None:
            body["ops_item"] = json.loads(json.dumps(ops_item, default=str))
        out.write(json.dumps(body, sort_keys=True) + "\n")
        return
    fields = incident.model_dump(exclude={"claim", "claimed_at", "opened_by_event"})
    width = max(len(name) for name in fields)
    for name, value in fields.items():
        if value is not None:
            out.write(f"{name:<{width}}  {value}\n")
    if ops_item is not None:
        out.write(f"{'ops_item':<{width}}  {ops_item.get('Status')} (version {ops_item.get('Version')})\n")
        for key, data in sorted((ops_item.get("OperationalData") or {}).items()):
            if key != "/aws/dedup":
                out.write(f"    {key} = {data.get('Value')}\n")


def _deps(args: argparse.Namespace) -> IncidentDeps | None:
    names = tables(args)
    if names is None:
        return None
    return incident_deps(client, state_table=names[0], audit_table=names[1])


def incident_account(incident: Incident, home: str) -> str:
    """The account an incident is about: a member's resources are ``kind/<account>:<name>`` (ADR 36)."""
    _, _, name = incident.resource.partition("/")
    account, _ = split_endpoint(name)
    return account or home


def in_account(incidents: list[Incident], account: AccountChoice | None) -> list[Incident]:
    """The incidents of ``account`` (None: every account's; incidents are central, ADR 36)."""
    if account is None:
        return incidents
    return [i for i in incidents if incident_account(i, account.home) == account.account]


def _cmd_list(args: argparse.Namespace) -> int:
    deps = _deps(args)
    if deps is None:
        return 2
    try:
        account = resolve_account(args) if args.account else None
    except TargetError as exc:
        sys.stderr.write(f"mlcp incidents: {exc}\n")
        return 2
    found = in_account(list_incidents(deps, None if args.all else "open"), account)
    write_incidents(found, sys.stdout, as_json=args.json, wide=args.wide)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    deps = _deps(args)
    if deps is None:
        return 2
    incident = get_incident(args.incident_id, deps)
    if incident is None:
        sys.stderr.write(f"no incident {args.incident_id!r}\n")
        return 1
    ops_item = deps.ops.get(incident.ops_item_id) if incident.ops_item_id else None
    write_incident(incident, ops_item, sys.stdout, as_json=args.json)
    return 0


def _cmd_resolve(args: argparse.Namespace) -> int:
    deps = _deps(args)
    if deps is None:
        return 2
    identity = caller_identity(client("sts"))
    resolved = resolve_by_id(args.incident_id, reason=args.reason, resolved_by=identity, deps=deps)
    if resolved is None:
        known = get_incident(args.incident_id, deps)
        state = known.status if known else "unknown"
        sys.stderr.write(f"refused: incident {args.incident_id!r} is {state}, not open\n")
        return 1
    if args.json:
        write_incident(resolved, None, sys.stdout, as_json=True)
        return 0
    sys.stdout.write(
        f"{resolved.incident_id}: resolved by {resolved.resolved_by} after "
        f"{_duration(resolved.mttr_seconds or 0.0)} ({resolved.occurrences} occurrences)\n"
    )
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    incidents = subparsers.add_parser(
        "incidents", help="incidents (OpsCenter OpsItems) the control plane opened"
    )
    sub = incidents.add_subparsers(dest="incidents_command", required=True)

    listing = sub.add_parser("list", help="open incidents, newest first")
    listing.add_argument("--all", action="store_true", help="also resolved ones")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--wide", action="store_true", help="every field in full, wider than 120 columns")
    listing.add_argument(
        "--account",
        metavar="ID",
        help="only the incidents of this governed account (a member's resources are <account>:<name>); "
        "default: every account's (incidents are central)",
    )
    add_table_options(listing)
    listing.set_defaults(func=_cmd_list)

    show = sub.add_parser("show", help="one incident and its OpsItem")
    show.add_argument("incident_id")
    show.add_argument("--json", action="store_true")
    add_table_options(show)
    show.set_defaults(func=_cmd_show)

    resolve = sub.add_parser("resolve", help="resolve an open incident as the caller (STS identity)")
    resolve.add_argument("incident_id")
    resolve.add_argument("--reason", required=True, help="why; recorded in the audit trail")
    resolve.add_argument("--json", action="store_true", help="the resolved incident as JSON")
    add_table_options(resolve)
    resolve.set_defaults(func=_cmd_resolve)
