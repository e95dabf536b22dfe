"""Pure verification of audit streams against the chain of signed digests (no I/O).

The caller reads the digest objects (every version of every ``digests/`` key), checks each
signature with the stack's signing key (``signature_valid``) and hands them here with the streams'
records. ``verify_anchors`` then checks:

* the digest chain: numbers 1..N without a gap, each digest chaining to the bytes of the one
  before it, one object version per key, every signature valid, every digest about this table;
* every (stream, seq, hash) a valid digest anchored: the record is still there (else the tail was
  truncated, or the whole stream deleted) with the same hash (else the stream was rewritten, even
  consistently: recomputing every hash cannot reproduce a signed one);
* since when each stream is unanchored (records newer than its last anchor; not a failure).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field

from mlcp.audit.verify import ChainProblem, ProblemKind
from mlcp.models.audit import GENESIS_HASH, AuditRecord
from mlcp.models.digest import StoredDigest, object_sha256
from mlcp.records import record_class

DIGESTS = "(digests)"
"""The ``stream`` of a problem about the digest chain itself rather than one stream."""


@record_class(slots=True)
class StreamAnchorState:
    """How far one stream is anchored."""

    stream: str
    anchored_seq: int | None
    """The highest seq a valid digest anchored (None: never anchored)."""
    anchored_by: str | None
    """The key of the digest that anchored it."""
    head_seq: int | None
    """The last record's seq (None: no records)."""
    unanchored_since: str | None
    """``at`` of the first record newer than the anchor (None: fully anchored)."""


@record_class(slots=True)
class AnchorVerification:
    """The outcome of ``verify_anchors``: ``ok`` when ``problems`` is empty."""

    digests: int
    latest_digest: str | None
    latest_digest_at: str | None
    streams: tuple[StreamAnchorState, ...]
    problems: tuple[ChainProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def _short(value: str) -> str:
    return f"{value[:16]}…"


def _chain_problems(
    digests: Sequence[StoredDigest], *, table: str, key_id: str
) -> tuple[list[ChainProblem], list[StoredDigest]]:
    """Problems of the digest chain, and the digests whose anchors can be trusted."""
    problems: list[ChainProblem] = []
    trusted: list[StoredDigest] = []
    by_number = {stored.number: stored for stored in digests}
    for stored in sorted(digests, key=lambda s: s.number):
        claims = ", ".join(a.stream for a in stored.digest.streams) if stored.digest else "?"
        if stored.versions > 1:
            problems.append(
                ChainProblem(
                    DIGESTS,
                    None,
                    ProblemKind.DIGEST_OVERWRITTEN,
                    f"digest {stored.key} has {stored.versions} object versions (written over; streams: {claims})",
                )
            )
        if stored.digest is None:
            problems.append(
                ChainProblem(
                    DIGESTS,
                    None,
                    ProblemKind.DIGEST_FORGED,
                    f"digest {stored.key} cannot be read: {stored.error}",
                )
            )
            continue
        digest = stored.digest
        if not stored.signature_valid or digest.key_id != key_id or digest.number != stored.number:
            why = (
                f"signed with key {digest.key_id}, not {key_id}"
                if digest.key_id != key_id
                else f"says number {digest.number}"
                if digest.number != stored.number
                else f"signature does not verify with {key_id}"
            )
            for anchor in digest.streams or ():
                problems.append(
                    ChainProblem(
                        anchor.stream,
                        anchor.seq,
                        ProblemKind.DIGEST_FORGED,
                        f"digest {stored.key} anchoring this stream is forged ({why})",
                    )
                )
            if not digest.streams:
                problems.append(
                    ChainProblem(
                        DIGESTS, None, ProblemKind.DIGEST_FORGED, f"digest {stored.key} is forged ({why})"
                    )
                )
            continue
        if digest.table != table:
            problems.append(
                ChainProblem(
                    DIGESTS,
                    None,
                    ProblemKind.DIGEST_FORGED,
                    f"digest {stored.key} is about table {digest.table!r}, not {table!r}",
                )
            )
            continue
        previous = by_number.get(stored.number - 1)
        expected = (
            GENESIS_HASH if stored.number == 1 else (object_sha256(previous.body) if previous else None)
        )
        if expected is not None and digest.previous_digest_sha256 != expected:
            problems.append(
                ChainProblem(
                    DIGESTS,
                    None,
                    ProblemKind.DIGEST_CHAIN_BROKEN,
                    f"digest {stored.key} chains to {_short(digest.previous_digest_sha256)} but the digest "
                    f"before it hashes to {_short(expected)}",
                )
            )
        trusted.append(stored)
    present = sorted(by_number)
    if present:
        missing = sorted(set(range(1, present[-1] + 1)) - set(present))
        for number in missing:
            after = next((by_number[n] for n in present if n > number), None)
            streams = ", ".join(a.stream for a in after.digest.streams) if after and after.digest else "?"
            problems.append(
                ChainProblem(
                    DIGESTS,
                    None,
                    ProblemKind.DIGEST_MISSING,
                    f"digest {number} is missing from the chain (1..{present[-1]}); "
                    f"the streams anchored after the gap: {streams}",
                )
            )
    return problems, trusted


def verify_anchors(
    streams: Mapping[str, Sequence[AuditRecord]],
    digests: Sequence[StoredDigest],
    *,
    table: str,
    key_id: str,
) -> AnchorVerification:
    """Check ``streams`` (name -> records in stored order) against ``digests`` (see the module).

    ``table`` is the audit table the digests must be about; ``key_id`` the ARN of the stack's
    signing key (a digest naming another key is forged, whatever it verifies with).
    """
    problems, trusted = _chain_problems(digests, table=table, key_id=key_id)
    anchored: dict[str, dict[int, tuple[str, str]]] = {}
    for stored in trusted:
        assert stored.digest is not None
        for anchor in stored.digest.streams:
            seqs = anchored.setdefault(anchor.stream, {})
            earlier = seqs.get(anchor.seq)
            if earlier is not None and earlier[0] != anchor.hash:
                problems.append(
                    ChainProblem(
                        anchor.stream,
                        anchor.seq,
                        ProblemKind.ANCHOR_CONFLICT,
                        f"digest {earlier[1]} anchors hash {_short(earlier[0])}, digest {stored.key} "
                        f"anchors {_short(anchor.hash)}",
                    )
                )
                continue
            seqs.setdefault(anchor.seq, (anchor.hash, stored.key))
    states: list[StreamAnchorState] = []
    for name in sorted(set(streams) | set(anchored)):
        records = streams.get(name, ())
        by_seq: dict[int, AuditRecord] = {}
        for record in records:
            by_seq.setdefault(record.seq, record)
        seqs = anchored.get(name, {})
        if seqs and not records:
            top = max(seqs)
            problems.append(
                ChainProblem(
                    name,
                    None,
                    ProblemKind.STREAM_MISSING,
                    f"stream anchored up to seq {top} by digest {seqs[top][1]} has no records (deleted)",
                )
            )
        else:
            for seq in sorted(seqs):
                anchored_hash, key = seqs[seq]
                found = by_seq.get(seq)
                if found is None:
                    last = max(by_seq) if by_seq else 0
                    problems.append(
                        ChainProblem(
                            name,
                            seq,
                            ProblemKind.ANCHOR_MISSING,
                            f"seq {seq} anchored by digest {key} is missing; the stream now ends at seq "
                            f"{last} (tail truncated or records deleted)",
                        )
                    )
                elif found.hash != anchored_hash:
                    problems.append(
                        ChainProblem(
                            name,
                            seq,
                            ProblemKind.ANCHOR_CHANGED,
                            f"seq {seq} was anchored by digest {key} with hash {_short(anchored_hash)}, "
                            f"now {_short(found.hash)} (stream rewritten)",
                        )
                    )
        top_seq = max(seqs) if seqs else None
        head_seq = max(by_seq) if by_seq else None
        since = None
        if head_seq is not None and (top_seq is None or head_seq > top_seq):
            newer = [r for r in records if top_seq is None or r.seq > top_seq]
            since = min(r.at for r in newer) if newer else None
        states.append(
            StreamAnchorState(
                stream=name,
                anchored_seq=top_seq,
                anchored_by=seqs[top_seq][1] if top_seq is not None else None,
                head_seq=head_seq,
                unanchored_since=since,
            )
        )
    latest = max(trusted, key=lambda s: s.number) if trusted else None
    return AnchorVerification(
        digests=len(digests),
        latest_digest=latest.key if latest else None,
        latest_digest_at=latest.digest.created_at if latest and latest.digest else None,
        streams=tuple(states),
        problems=tuple(problems),
    )
