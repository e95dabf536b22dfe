"""``mlcp audit verify`` with the signed digests, and ``mlcp audit export``.

Verification reads every stream (from the table, and with ``from_export`` also from the locked
exports), verifies each hash chain and its head as before, then every stream against the chain of
signed digests (:func:`mlcp.audit.anchors.verify_anchors`): a consistent rewrite, a truncated tail,
a deleted stream, a forged digest and a missing digest each fail with the stream and what is wrong.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.digests import DigestBucket, DigestExists
from mlcp.audit import AuditRecord, ChainProblem, ProblemKind, verify_chain
from mlcp.audit.anchors import AnchorVerification, verify_anchors
from mlcp.audit.export import EXPORT_PREFIX, days_of, export_key, from_jsonl, stream_of_key, to_jsonl
from mlcp.usecases.audit_digest import retain_until
from mlcp_cli.audit_view import read_verified
from mlcp_cli.tables import WIDTH, wrap


class PublicKeyVerifier:
    """Verifies digests offline with the signing key's public key (one kms:GetPublicKey call), as an
    auditor outside the account would: no kms:Verify call per digest."""

    def __init__(self, key_id: str, kms: Any) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        response = kms.get_public_key(KeyId=key_id)
        public = serialization.load_der_public_key(bytes(response["PublicKey"]))
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
            raise ValueError(f"{key_id}: not an ECC_NIST_P256 signing key")
        # Digests name the key by ARN (the stack's output); a bare key id or alias is resolved to it.
        self.key_id = (
            key_id
            if key_id.startswith("arn:") and ":key/" in key_id
            else str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
        )
        self._public = public

    def verify(self, message_digest: bytes, signature: str) -> bool:
        """Whether ``signature`` (base64 DER ECDSA) signs the SHA-256 ``message_digest``."""
        import base64

        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

        try:
            self._public.verify(
                base64.b64decode(signature, validate=True),
                message_digest,
                ec.ECDSA(Prehashed(hashes.SHA256())),
            )
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class AnchoredReport:
    """Chains, heads and anchors of every stream verified."""

    records: int
    streams: int
    problems: tuple[ChainProblem, ...]
    anchors: AnchorVerification | None

    @property
    def ok(self) -> bool:
        return not self.problems


def _exported(bucket: DigestBucket) -> dict[str, list[AuditRecord]]:
    """Every exported record per stream (every version of every export file), seq order."""
    found: dict[str, dict[int, AuditRecord]] = {}
    for key, version_ids in bucket.versions(EXPORT_PREFIX).items():
        stream = stream_of_key(key)
        if stream is None:
            continue
        for version_id in version_ids:
            for record in from_jsonl(bucket.get(key, version_id)):
                found.setdefault(stream, {}).setdefault(record.seq, record)
    return {stream: [by_seq[s] for s in sorted(by_seq)] for stream, by_seq in found.items()}


def verify_anchored(
    trail: AuditTrail,
    *,
    bucket: DigestBucket | None,
    signer: PublicKeyVerifier | None,
    stream: str | None = None,
    from_export: bool = False,
) -> AnchoredReport:
    """Verify ``stream`` (or every stream): chain, head and, with a bucket, the signed digests."""
    names = [stream] if stream else trail.streams()
    exported = _exported(bucket) if bucket is not None and from_export else {}
    if from_export and not stream:
        names = sorted(set(names) | set(exported))
    problems: list[ChainProblem] = []
    streams: dict[str, list[AuditRecord]] = {}
    for name in names:
        records, chain = read_verified(trail, name)
        if from_export and name in exported:
            merged = {r.seq: r for r in exported[name]}
            for record in records:
                earlier = merged.get(record.seq)
                if earlier is not None and earlier != record:
                    changed = "hash" if earlier.hash != record.hash else "content (same hash)"
                    problems.append(
                        ChainProblem(
                            name,
                            record.seq,
                            ProblemKind.HASH_MISMATCH,
                            f"the table's record and the locked export differ in {changed} "
                            f"(export {earlier.hash[:16]}…): the table copy was changed after the export",
                        )
                    )
                merged.setdefault(record.seq, record)
            records = [merged[s] for s in sorted(merged)]
            head = trail.head(name)
            chain = verify_chain(records, head if head and head.seq >= records[-1].seq else None)
        streams[name] = records
        problems.extend(chain.problems)
    anchors = None
    if bucket is not None and signer is not None:
        digests = list(bucket.stored_digests(signer))
        anchors = verify_anchors(streams, digests, table=trail.table_name, key_id=signer.key_id)
        wanted = [p for p in anchors.problems if stream is None or p.stream in {stream, "(digests)"}]
        problems.extend(wanted)
    total = sum(len(records) for records in streams.values())
    return AnchoredReport(records=total, streams=len(streams), problems=tuple(problems), anchors=anchors)


def write_report(report: AnchoredReport, out: TextIO, *, stream: str | None = None) -> int:
    """Text: every problem, every unanchored stream, a summary line. Returns the exit code."""
    for problem in report.problems:
        out.write(wrap(f"BROKEN {problem.describe()}", WIDTH, hang=7) + "\n")
    anchors = report.anchors
    if anchors is not None:
        for state in anchors.streams:
            if state.unanchored_since and (stream is None or state.stream == stream):
                after = (
                    f"after seq {state.anchored_seq} ({state.anchored_by})" if state.anchored_seq else "never"
                )
                line = (
                    f"UNANCHORED stream={state.stream} since {state.unanchored_since}: seqs up to "
                    f"{state.head_seq} not in a signed digest yet (anchored {after})"
                )
                out.write(wrap(line, WIDTH, hang=11) + "\n")
        where = (
            f"{anchors.digests} signed digests (latest {anchors.latest_digest} at {anchors.latest_digest_at})"
            if anchors.digests
            else "no digests yet"
        )
    else:
        where = "digests not checked (no digest bucket)"
    if report.ok:
        out.write(
            wrap(f"OK: {report.records} records in {report.streams} streams verified; {where}", WIDTH) + "\n"
        )
        return 0
    broken = len({p.stream for p in report.problems})
    out.write(
        f"FAILED: {len(report.problems)} problems in {broken} of {report.streams} streams "
        f"({report.records} records read); {where}\n"
    )
    return 1


def report_json(report: AnchoredReport) -> dict[str, Any]:
    """The report as one JSON object (``mlcp audit verify --json``)."""
    body: dict[str, Any] = {
        "ok": report.ok,
        "records": report.records,
        "streams": report.streams,
        "problems": [
            {"stream": p.stream, "seq": p.seq, "kind": p.kind.value, "message": p.message}
            for p in report.problems
        ],
    }
    anchors = report.anchors
    body["digests"] = (
        {
            "checked": True,
            "count": anchors.digests,
            "latest": anchors.latest_digest,
            "latest_at": anchors.latest_digest_at,
        }
        if anchors is not None
        else {"checked": False}
    )
    body["anchors"] = [
        {
            "stream": s.stream,
            "anchored_seq": s.anchored_seq,
            "anchored_by": s.anchored_by,
            "head_seq": s.head_seq,
            "unanchored_since": s.unanchored_since,
        }
        for s in (anchors.streams if anchors is not None else ())
    ]
    return body


def write_json(report: AnchoredReport, out: TextIO) -> int:
    out.write(json.dumps(report_json(report)) + "\n")
    return 0 if report.ok else 1


def export_days(
    trail: AuditTrail,
    bucket: DigestBucket,
    *,
    before: dt.date,
    retention_days: int,
    now: dt.datetime,
    streams: Sequence[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Write each stream's complete days before ``before`` as locked JSON Lines; (written, kept).

    A day already exported is left as it is (written once: ``kept``).
    """
    written: list[str] = []
    kept: list[str] = []
    for name in streams or trail.streams():
        for day, records in sorted(days_of(trail.read(name)).items()):
            if dt.date.fromisoformat(day) >= before:
                continue
            key = export_key(name, day)
            try:
                bucket.put_locked(
                    key,
                    to_jsonl(records),
                    retain_until=retain_until(now, retention_days),
                    content_type="application/x-ndjson",
                )
            except DigestExists:
                kept.append(key)
                continue
            written.append(key)
    return written, kept
