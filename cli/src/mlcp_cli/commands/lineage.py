"""`mlcp lineage ENDPOINT_OR_PACKAGE_ARN [--json]` and `mlcp evidence PACKAGE_ARN [--out DIR] [--json]`.

Both read the whole audit trail (verifying every chain), DescribeModelPackage (training data,
pipeline execution, creator), the gate reports in S3 and DescribeEndpoint (the config serving now).
Exit status: 0 when every link is verified or unrecorded, 1 when a link is unverified (a broken
chain, or a gate report that differs from its audit record), 2 when the target is unknown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from mlcp.adapters.evidence import read_json_report
from mlcp.adapters.registry import candidate_from_describe
from mlcp.audit import AuditTrail
from mlcp.gates.model import Candidate
from mlcp_cli.audit_view import Snapshot, is_package_arn, load_snapshot, package_group, split_endpoint
from mlcp_cli.commands.stack import (
    AccountChoice,
    TargetError,
    account_client,
    add_account_option,
    add_table_options,
    client,
    resolve_account,
)
from mlcp_cli.evidence import build_evidence, fit_markdown, render_markdown
from mlcp_cli.lineage import Lineage, build_lineage, endpoint_package, render_tree

ClientFactory = Callable[[str], Any]


class UnknownTarget(LookupError):
    """Neither the registry nor the audit trail knows the endpoint or package asked about."""


def audit_table(args: argparse.Namespace) -> str | None:
    """--audit-table or $MLCP_AUDIT_TABLE, or None after saying it is missing."""
    name: str | None = args.audit_table or os.environ.get("MLCP_AUDIT_TABLE")
    if not name:
        sys.stderr.write("the audit table is unknown: --audit-table or MLCP_AUDIT_TABLE\n")
    return name


def _endpoint_config(sagemaker: Any, endpoint: str) -> str | None:
    try:
        return str(sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"])
    except ClientError:
        return None  # deleted (or never created): the trail still tells its history


def _candidate(sagemaker: Any, arn: str) -> Candidate | None:
    try:
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        tags = sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
    except ClientError:
        return None
    return candidate_from_describe(described, {t["Key"]: t["Value"] for t in tags})


def config_reader(sagemaker: Any, account: AccountChoice | None) -> Callable[[str], str | None]:
    """The config an endpoint key serves now: the control plane's own endpoints with ``sagemaker``;
    a member's (``<account>:<name>``) with credentials in that account (``account_client``: the
    ``--account-profile`` of ``--account``, or local mode's), else ``LookupError`` (unknown)."""

    def read(key: str) -> str | None:
        member, name = split_endpoint(key)
        if member is None or account is None or member == account.home:
            return _endpoint_config(sagemaker, name)
        profile = account.profile if member == account.account else None
        choice = AccountChoice(member, account.home, account.members, profile)
        if member not in account.members:
            raise LookupError(f"account {member} is not a member of this control plane any more")
        try:
            return _endpoint_config(account_client("sagemaker", choice), name)
        except TargetError as exc:
            raise LookupError(str(exc)) from exc

    return read


def lineage_of(
    target: str, *, audit_table: str, client: ClientFactory, account: AccountChoice | None = None
) -> tuple[Lineage, Snapshot]:
    """The lineage of a package ARN, or of the package an endpoint serves (in ``account``: a member's
    endpoint is ``<account>:<name>`` in the trail); raises ``UnknownTarget``."""
    snapshot = load_snapshot(AuditTrail(audit_table, client=client("dynamodb")))
    sagemaker, s3 = client("sagemaker"), client("s3")
    endpoint_config = config_reader(sagemaker, account)
    key = account.key(target) if account is not None and not is_package_arn(target) else target
    if is_package_arn(target):
        arn: str | None = target
    else:
        try:
            serving = endpoint_config(key)
        except LookupError:
            serving = None
        arn = endpoint_package(snapshot, key, serving)
    if arn is None:
        where = f" in account {account.account}" if account is not None and account.is_member else ""
        raise UnknownTarget(f"no deployment to endpoint {target!r}{where} in the audit trail")
    candidate = _candidate(sagemaker, arn)
    group_stream = f"group#{package_group(arn)}"
    if candidate is None and not any(r.subject == arn for r in snapshot.records.get(group_stream, [])):
        raise UnknownTarget(f"{arn}: not in the Model Registry and not in the audit trail")
    lineage = build_lineage(
        snapshot,
        arn,
        candidate=candidate,
        read_report=lambda uri: read_json_report(s3, uri),
        endpoint_config=endpoint_config,
        target=key,
    )
    return lineage, snapshot


def show_lineage(
    target: str,
    *,
    audit_table: str,
    client: ClientFactory,
    as_json: bool,
    out: Any,
    wide: bool = False,
    account: AccountChoice | None = None,
) -> int:
    """Print the lineage (tree, or one JSON document); the exit status (see the module docstring)."""
    try:
        lineage, _ = lineage_of(target, audit_table=audit_table, client=client, account=account)
    except UnknownTarget as exc:
        sys.stderr.write(f"mlcp lineage: {exc}\n")
        return 2
    out.write(
        json.dumps(lineage.to_json(), indent=2, sort_keys=True) + "\n"
        if as_json
        else render_tree(lineage, wide=wide)
    )
    return 0 if lineage.ok else 1


def write_evidence(
    package_arn: str,
    *,
    audit_table: str,
    client: ClientFactory,
    out_dir: Path | None,
    as_json: bool,
    out: Any,
    now: datetime | None = None,
    wide: bool = False,
    account: AccountChoice | None = None,
) -> int:
    """Build the evidence record; write ``<group>-v<version>.evidence.{md,json}`` into ``out_dir``
    (every field in full), or print it: Markdown fitting 120 columns (``wide``: in full), or JSON
    with ``as_json``. Exit status as for lineage."""
    if not is_package_arn(package_arn):
        sys.stderr.write(f"mlcp evidence: {package_arn!r} is not a versioned model package ARN\n")
        return 2
    try:
        lineage, snapshot = lineage_of(package_arn, audit_table=audit_table, client=client, account=account)
    except UnknownTarget as exc:
        sys.stderr.write(f"mlcp evidence: {exc}\n")
        return 2
    document = build_evidence(lineage, snapshot, generated_at=now or datetime.now(UTC))
    text_json = json.dumps(document, indent=2, sort_keys=True) + "\n"
    markdown = render_markdown(document)
    if out_dir is None:
        out.write(text_json if as_json else markdown if wide else fit_markdown(markdown))
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        identity = document["identity"]
        stem = f"{identity['group']}-v{identity['version']}.evidence"
        (out_dir / f"{stem}.json").write_text(text_json, encoding="utf-8")
        (out_dir / f"{stem}.md").write_text(markdown, encoding="utf-8")
        out.write(f"wrote {out_dir / stem}.md and .json\n")
    if not document["chain_verification"]["ok"]:
        sys.stderr.write("mlcp evidence: chain verification FAILED (see the record)\n")
        return 1
    return 0


def _lineage_cmd(args: argparse.Namespace) -> int:
    table = audit_table(args)
    if table is None:
        return 2
    try:
        account = resolve_account(args)
    except TargetError as exc:
        sys.stderr.write(f"mlcp lineage: {exc}\n")
        return 2
    return show_lineage(
        args.target,
        audit_table=table,
        client=client,
        as_json=args.json,
        out=sys.stdout,
        wide=args.wide,
        account=account,
    )


def _evidence_cmd(args: argparse.Namespace) -> int:
    table = audit_table(args)
    if table is None:
        return 2
    out_dir = Path(args.out) if args.out else None
    try:
        account = resolve_account(args)
    except TargetError as exc:
        sys.stderr.write(f"mlcp evidence: {exc}\n")
        return 2
    return write_evidence(
        args.package_arn,
        audit_table=table,
        client=client,
        out_dir=out_dir,
        as_json=args.json,
        out=sys.stdout,
        wide=args.wide,
        account=account,
    )


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    lineage = subparsers.add_parser(
        "lineage", help="data → pipeline → package → gates → approval → endpoint, cited and verified"
    )
    lineage.add_argument("target", help="an endpoint name or a versioned model package ARN")
    lineage.add_argument("--json", action="store_true", help="one JSON document instead of the tree")
    lineage.add_argument("--wide", action="store_true", help="every value in full, wider than 120 columns")
    add_account_option(lineage, member_credentials=True)
    add_table_options(lineage)
    lineage.set_defaults(func=_lineage_cmd)

    evidence = subparsers.add_parser("evidence", help="a model-card-like evidence record for auditors")
    evidence.add_argument("package_arn", help="a versioned model package ARN")
    evidence.add_argument("--out", help="write <group>-v<version>.evidence.md and .json into this directory")
    evidence.add_argument(
        "--json", action="store_true", help="print JSON instead of Markdown (without --out)"
    )
    evidence.add_argument(
        "--wide", action="store_true", help="print every cell in full (the --out files always are)"
    )
    add_table_options(evidence)
    evidence.set_defaults(func=_evidence_cmd)
