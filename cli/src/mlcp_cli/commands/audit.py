"""`mlcp audit`: read and verify the hash-chained audit trail.

``mlcp audit show [--stream S] [--json] [--wide] [--table T]`` prints every stream as a table with
each decision's reason, 120 columns wide (``--wide``: every field in full), or one JSON object per
record; ``mlcp audit verify [--stream S] [--table T]`` checks each chain and its head, and every
stream against the signed digests of the stack's digest bucket (``--no-digests``: chains only;
``--from-export``: also the records exported there), and exits 1 when any is broken.
``mlcp audit export --before DATE`` writes complete days as locked JSON Lines to that bucket. The
table defaults to ``$MLCP_AUDIT_TABLE``; region and endpoint
come from the standard AWS environment/config (``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``...).

``show_audit`` and ``verify_audit`` are the same commands as plain functions over an
``AuditTrail`` and a text stream, for in-process callers (the local emulator).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any, TextIO

from mlcp import clock as mlcp_clock
from mlcp.adapters.digests import DigestBucket
from mlcp.audit import (
    AuditRecord,
    AuditTrail,
    ChainVerification,
    InvalidAuditItem,
)
from mlcp_cli.audit_anchor import PublicKeyVerifier, export_days, verify_anchored, write_json, write_report
from mlcp_cli.audit_view import read_verified, reason_of
from mlcp_cli.commands.stack import TargetError, active_target, add_stack_options, client, resolve_account
from mlcp_cli.tables import Column, short_arn, short_time, write_table

TABLE_ENV = "MLCP_AUDIT_TABLE"

_COLUMNS = (
    Column("seq", keep=True),
    Column("at (UTC)", keep=True),
    Column("action", keep=True),
    Column("actor", min_width=12),
    Column("subject", min_width=20),
    Column("reason", min_width=30),
    Column("decision_id", wide_only=True),
    Column("event_id", wide_only=True),
    Column("hash", wide_only=True),
)


def _row(record: AuditRecord, wide: bool) -> tuple[str, ...]:
    short = (lambda text: text) if wide else short_arn
    return (
        str(record.seq),
        record.at if wide else short_time(record.at),
        record.action.value,
        short(record.actor),
        short(record.subject),
        reason_of(record) or "-",
        record.decision_id,
        record.event_id or "-",
        record.hash[:12],
    )


def _write_table(records: list[AuditRecord], out: TextIO, wide: bool = False) -> None:
    write_table(out, _COLUMNS, [_row(r, wide) for r in records], wide=wide)


def _selected_streams(trail: AuditTrail, stream: str | None) -> list[str]:
    return [stream] if stream else trail.streams()


def show_audit(
    trail: AuditTrail, stream: str | None, as_json: bool, out: TextIO, *, wide: bool = False
) -> int:
    """Print the records of ``stream`` (or of every stream) to ``out``.

    As a table per stream (120 columns, with each decision's reason; ``wide``: every field in full), or with ``as_json`` one compact JSON object per record per line.
    Returns the exit code: 0, or 1 when a requested stream has no records or an item is unreadable.
    """
    code = 0
    names = _selected_streams(trail, stream)
    if not names and not as_json:
        out.write("no audit streams\n")
    for name in names:
        try:
            records = trail.read(name)
        except InvalidAuditItem as exc:
            out.write(f"error: {exc}\n")
            code = 1
            continue
        if not records:
            if not as_json:
                out.write(f"no audit records for stream {name}\n")
            code = 1 if stream else code
            continue
        if as_json:
            for record in records:
                out.write(json.dumps(record.to_json_dict(), sort_keys=True, ensure_ascii=False) + "\n")
        else:
            out.write(f"== {name} ({len(records)} records) ==\n")
            _write_table(records, out, wide)
            out.write("\n")
    return code


def _verify_stream(trail: AuditTrail, name: str) -> ChainVerification:
    return read_verified(trail, name)[1]


def verify_audit(trail: AuditTrail, stream: str | None, out: TextIO) -> int:
    """Verify the chain of ``stream`` (or of every stream) and its head; report to ``out``.

    Prints ``OK: N records in M streams verified`` and returns 0, or prints every problem with
    its stream and seq and returns 1. A requested stream with no records at all returns 1.
    """
    names = _selected_streams(trail, stream)
    results = [_verify_stream(trail, name) for name in names]
    if stream and results and results[0].ok and results[0].records == 0:
        out.write(f"no audit records for stream {stream}\n")
        return 1
    broken = [result for result in results if not result.ok]
    total = sum(result.records for result in results)
    if not broken:
        out.write(f"OK: {total} records in {len(results)} streams verified\n")
        return 0
    for result in broken:
        for problem in result.problems:
            out.write(f"BROKEN {problem.describe()}\n")
    problems = sum(len(result.problems) for result in broken)
    out.write(
        f"FAILED: {problems} problems in {len(broken)} of {len(results)} streams ({total} records read)\n"
    )
    return 1


def verify_audit_json(trail: AuditTrail, stream: str | None, out: TextIO) -> int:
    """``verify_audit`` as one JSON object: ok, records, streams and every problem."""
    names = _selected_streams(trail, stream)
    results = [_verify_stream(trail, name) for name in names]
    problems = [
        {"stream": p.stream, "seq": p.seq, "kind": p.kind.value, "message": p.message}
        for result in results
        for p in result.problems
    ]
    total = sum(result.records for result in results)
    ok = not problems and not (stream and total == 0)
    out.write(json.dumps({"ok": ok, "records": total, "streams": len(results), "problems": problems}) + "\n")
    return 0 if ok else 1


def _trail(args: argparse.Namespace) -> AuditTrail | None:
    table = args.table or args.audit_table or os.environ.get(TABLE_ENV)
    if not table:
        sys.stderr.write(
            f"mlcp audit: no table; pass --table, --stack-name, --config-env, --local or set {TABLE_ENV}\n"
        )
        return None
    if args.account:
        if not args.stream:
            sys.stderr.write(
                "mlcp audit: --account names the account of --stream's resource; give --stream\n"
            )
            return None
        from mlcp.accounts import account_stream

        try:
            account = resolve_account(args)  # a governed account, or refused (ADR 36)
        except TargetError as exc:
            sys.stderr.write(f"mlcp audit: {exc}\n")
            return None
        args.stream = account_stream(args.stream, account.account, account.home)
    return AuditTrail(table, client=client("dynamodb"))


def _show(args: argparse.Namespace) -> int:
    trail = _trail(args)
    if trail is None:
        return 2
    return show_audit(trail, args.stream, args.json, sys.stdout, wide=args.wide)


DIGEST_BUCKET_ENV = "MLCP_DIGEST_BUCKET"
DIGEST_KEY_ENV = "MLCP_DIGEST_KEY_ARN"


def _digest_bucket(args: argparse.Namespace) -> DigestBucket | None:
    """The digest bucket: the flag, else the stack's output, else the environment."""
    outputs = active_target().outputs or {}
    bucket = args.digest_bucket or outputs.get("AuditDigestBucketName") or os.environ.get(DIGEST_BUCKET_ENV)
    return DigestBucket(bucket, client("s3")) if bucket else None


def _digests(args: argparse.Namespace) -> tuple[DigestBucket | None, PublicKeyVerifier | None]:
    """The digest bucket and a verifier of the signing key (flags, else the stack's outputs, else env)."""
    outputs = active_target().outputs or {}
    key = args.digest_key or outputs.get("AuditDigestKeyArn") or os.environ.get(DIGEST_KEY_ENV)
    bucket = _digest_bucket(args)
    if bucket is None or not key or args.no_digests:
        return None, None
    # Verified offline with the key's public key (one kms:GetPublicKey), not one kms:Verify per digest.
    return bucket, PublicKeyVerifier(key, client("kms"))


def _verify(args: argparse.Namespace) -> int:
    trail = _trail(args)
    if trail is None:
        return 2
    bucket, signer = _digests(args)
    if bucket is None and not args.from_export:
        if args.json:
            return verify_audit_json(trail, args.stream, sys.stdout)
        return verify_audit(trail, args.stream, sys.stdout)
    if bucket is None:
        sys.stderr.write(
            f"mlcp audit verify --from-export: no digest bucket; pass --digest-bucket or set {DIGEST_BUCKET_ENV}\n"
        )
        return 2
    report = verify_anchored(
        trail, bucket=bucket, signer=signer, stream=args.stream, from_export=args.from_export
    )
    if args.stream and report.records == 0 and not report.problems:
        sys.stdout.write(f"no audit records for stream {args.stream}\n")
        return 1
    return (
        write_json(report, sys.stdout) if args.json else write_report(report, sys.stdout, stream=args.stream)
    )


def _export(args: argparse.Namespace) -> int:
    trail = _trail(args)
    if trail is None:
        return 2
    bucket = _digest_bucket(args)
    if bucket is None:
        sys.stderr.write(
            f"mlcp audit export: no digest bucket; pass --digest-bucket or set {DIGEST_BUCKET_ENV}\n"
        )
        return 2
    before = dt.date.fromisoformat(args.before)
    today = mlcp_clock.now().astimezone(dt.UTC).date()
    if before > today:
        sys.stderr.write(
            f"mlcp audit export: --before {before} is after today ({today}): only complete days are exported\n"
        )
        return 2
    if args.retention_days < 183:
        sys.stderr.write("mlcp audit export: --retention-days must be at least 183 (six months)\n")
        return 2
    written, kept = export_days(
        trail,
        bucket,
        before=before,
        retention_days=args.retention_days,
        now=mlcp_clock.now(),
        streams=[args.stream] if args.stream else None,
    )
    if args.json:
        sys.stdout.write(json.dumps({"written": written, "already_exported": kept}) + "\n")
        return 0
    for key in written:
        sys.stdout.write(f"exported {key}\n")
    sys.stdout.write(
        f"{len(written)} day files written, {len(kept)} already exported (locked until retention ends)\n"
    )
    return 0


def _digest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--digest-bucket",
        help=f"the Object Lock digest bucket (default: the stack's AuditDigestBucketName, ${DIGEST_BUCKET_ENV})",
    )
    parser.add_argument(
        "--digest-key",
        help=f"ARN of the digest signing key (default: the stack's AuditDigestKeyArn, ${DIGEST_KEY_ENV})",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream", help="only this stream, e.g. group#churn or control-plane")
    parser.add_argument(
        "--account",
        help="the account --stream's resource is in: a member account's streams are "
        "kind#<account>:name (docs/multi-account.md); default: the control plane's own",
    )
    parser.add_argument("--table", help=f"audit table name (default: the stack's, ${TABLE_ENV})")
    add_stack_options(parser)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``audit`` command group (``show``, ``verify``, ``export``)."""
    group = subparsers.add_parser("audit", help="show and verify the hash-chained audit trail")
    commands = group.add_subparsers(dest="audit_command", required=True)

    show = commands.add_parser("show", help="print audit records per stream")
    _common(show)
    show.add_argument("--json", action="store_true", help="one JSON object per record per line")
    show.add_argument("--wide", action="store_true", help="every field in full (ids, hash), wider than 120")
    show.set_defaults(func=_show)

    verify = commands.add_parser("verify", help="verify every hash chain; exit 1 if one is broken")
    _common(verify)
    verify.add_argument("--json", action="store_true", help="one JSON object: ok, records, streams, problems")
    _digest_options(verify)
    verify.add_argument(
        "--no-digests", action="store_true", help="check the hash chains only, not the signed digests"
    )
    verify.add_argument(
        "--from-export",
        action="store_true",
        help="also read the records exported to the locked bucket (mlcp audit export)",
    )
    verify.set_defaults(func=_verify)

    export = commands.add_parser(
        "export", help="write each stream's days before --before as locked JSON Lines to the digest bucket"
    )
    _common(export)
    _digest_options(export)
    export.add_argument(
        "--before", required=True, help="export complete UTC days before this date (YYYY-MM-DD)"
    )
    export.add_argument(
        "--retention-days",
        type=int,
        default=186,
        help="Object Lock retention of each file (at least 183; default %(default)s)",
    )
    export.add_argument("--json", action="store_true", help="one JSON object: written, already_exported")
    export.set_defaults(func=_export, no_digests=False)
