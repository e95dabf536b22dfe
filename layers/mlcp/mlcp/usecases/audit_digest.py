"""Write one signed digest of every audit stream's head to the Object Lock bucket.

Run hourly and after every deployment execution ends (docs/adr: signed digests). Each run reads
the newest digest, every stream head, signs the new digest with the KMS key and writes it once
(``If-None-Match``): two concurrent runs cannot both take a number, the loser re-reads and retries.
A deployment trigger whose heads the newest digest already anchors writes nothing (a redelivered
event, or an execution that ended without a decision, e.g. an ignored duplicate): the hourly one
always writes, so a stopped schedule shows as staleness. No idempotency store is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from mlcp.adapters.digests import DigestBucket, DigestExists, DigestSigner
from mlcp.audit import format_timestamp
from mlcp.errors import AuditConflict
from mlcp.models.audit import GENESIS_HASH
from mlcp.models.digest import (
    AuditDigest,
    DigestTrigger,
    StreamAnchor,
    digest_key,
    object_sha256,
    parse_digest,
)
from mlcp.ports import AuditLog
from mlcp.records import record_class

logger = logging.getLogger(__name__)

MIN_RETENTION_DAYS = 183
"""Six months: the floor of every lock (EU AI Act Art. 19 keeps logs at least six months)."""


@record_class
class DigestDeps:
    """What a digest run reads and writes."""

    audit: AuditLog
    bucket: DigestBucket
    signer: DigestSigner
    key_arn: str
    retention_days: Callable[[], int]
    clock: Callable[[], datetime]


def retain_until(now: datetime, days: int) -> datetime:
    """The retention date of an object written ``now``: ``days`` later, never under six months."""
    return now + timedelta(days=max(days, MIN_RETENTION_DAYS))


def write_digest(deps: DigestDeps, trigger: DigestTrigger, *, attempts: int = 5) -> AuditDigest | None:
    """Write the next digest; returns it, or None when a deployment trigger finds every head already
    anchored by the newest digest. Raises ``AuditConflict`` after ``attempts`` lost races."""
    for attempt in range(1, attempts + 1):
        latest = deps.bucket.latest_digest()
        number, previous = (1, GENESIS_HASH) if latest is None else (latest[0] + 1, object_sha256(latest[1]))
        now = deps.clock()
        anchors = tuple(
            StreamAnchor(stream=head.stream, seq=head.seq, hash=head.hash, at=updated)
            for head, updated in deps.audit.heads()
        )
        if trigger == "deployment" and latest is not None and _anchored(parse_digest(latest[1]), anchors):
            logger.info("every head already anchored; no digest", extra={"latest": latest[0]})
            return None
        unsigned = AuditDigest(
            number=number,
            previous_digest_sha256=previous,
            created_at=format_timestamp(now),
            table=deps.audit.table_name,
            trigger=trigger,
            key_id=deps.key_arn,
            streams=anchors,
        )
        signed = unsigned.model_copy(update={"signature": deps.signer.sign(unsigned.message_digest())})
        try:
            deps.bucket.put_locked(
                digest_key(number),
                signed.to_bytes(),
                retain_until=retain_until(now, deps.retention_days()),
                content_type="application/json",
            )
        except DigestExists:
            logger.info("digest number taken; retrying", extra={"number": number, "attempt": attempt})
            continue
        logger.info(
            "audit digest written",
            extra={"number": number, "streams": len(anchors), "trigger": trigger, "key": digest_key(number)},
        )
        return signed
    raise AuditConflict(f"audit digest lost the race for the next number {attempts} times")


def _anchored(latest: AuditDigest, anchors: tuple[StreamAnchor, ...]) -> bool:
    """Whether ``latest`` anchors exactly these heads (same streams, seqs and hashes)."""
    return {(a.stream, a.seq, a.hash) for a in latest.streams} == {(a.stream, a.seq, a.hash) for a in anchors}
