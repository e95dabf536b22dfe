"""Pure verification of one stream's hash chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from enum import StrEnum

from mlcp.models.audit import GENESIS_HASH, AuditEncodingError, AuditRecord, StreamHead
from mlcp.records import record_class


class ProblemKind(StrEnum):
    """What is wrong at a position of the chain."""

    HASH_MISMATCH = "hash_mismatch"
    """The record's content does not hash to its ``hash``: it was edited."""
    BROKEN_LINK = "broken_link"
    """``prev_hash`` is not the hash of the record before it: one was deleted, inserted or moved."""
    SEQ_GAP = "seq_gap"
    """Sequence numbers are missing before this record: records were deleted."""
    DUPLICATE_SEQ = "duplicate_seq"
    """A sequence number appears twice: a record was inserted (or copied)."""
    OUT_OF_ORDER = "out_of_order"
    """A sequence number is lower than one before it: records were reordered."""
    WRONG_STREAM = "wrong_stream"
    """The record names another stream: it was moved or copied here."""
    HEAD_MISMATCH = "head_mismatch"
    """The stream head disagrees with the last record: the tail was truncated or forged."""
    HEAD_MISSING = "head_missing"
    """Records exist but the stream head does not: the head was deleted."""
    UNREADABLE = "unreadable"
    """A stored item is not a valid audit record at all."""
    ANCHOR_CHANGED = "anchor_changed"
    """A record a signed digest anchored now has another hash: the stream was rewritten."""
    ANCHOR_MISSING = "anchor_missing"
    """A record a signed digest anchored is gone: the tail was truncated (or records deleted)."""
    STREAM_MISSING = "stream_missing"
    """A stream a signed digest anchored has no records any more: the stream was deleted."""
    ANCHOR_CONFLICT = "anchor_conflict"
    """Two signed digests anchor the same seq of a stream with different hashes."""
    DIGEST_FORGED = "digest_forged"
    """A digest's signature does not verify with the stack's signing key (or it cannot be read)."""
    DIGEST_MISSING = "digest_missing"
    """A digest number is missing from the chain of digests."""
    DIGEST_CHAIN_BROKEN = "digest_chain_broken"
    """A digest does not chain to the digest before it (previous-digest hash mismatch)."""
    DIGEST_OVERWRITTEN = "digest_overwritten"
    """A digest key holds more than one object version: someone wrote over a digest."""


@record_class(slots=True)
class ChainProblem:
    """One finding: where (``stream``, ``seq``; ``None`` when not about one record) and what."""

    stream: str
    seq: int | None
    kind: ProblemKind
    message: str

    def describe(self) -> str:
        """One line for humans: ``stream=S seq=N kind: message``."""
        where = f"seq={self.seq}" if self.seq is not None else "seq=-"
        return f"stream={self.stream} {where} {self.kind.value}: {self.message}"


@record_class(slots=True)
class ChainVerification:
    """The outcome of ``verify_chain``: ``ok`` when ``problems`` is empty."""

    stream: str
    records: int
    problems: tuple[ChainProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def verify_chain(
    records: Sequence[AuditRecord],
    head: StreamHead | None = None,
    *,
    require_head: bool = False,
) -> ChainVerification:
    """Check one stream's records, in stored order, against the hash-chain rules.

    Detects edited records (hash mismatch), deleted ones (seq gap, broken link), reordered ones
    (out of order, broken link), inserted ones (duplicate seq, broken link) and records from
    another stream. With ``head`` it also checks the head names the last record (so a truncated
    tail is found); with ``require_head`` a missing head is itself a problem. Pure: no I/O.

    The stream verified is the head's stream if given, else the first record's.
    """
    stream = head.stream if head is not None else (records[0].stream if records else "")
    problems: list[ChainProblem] = []
    expected_prev = GENESIS_HASH
    highest = 0
    seen: set[int] = set()
    previous_seq: int | None = None
    for record in records:
        for kind, message in _record_findings(
            record,
            stream=stream,
            expected_prev=expected_prev,
            previous_seq=previous_seq,
            highest=highest,
            seen=seen,
        ):
            problems.append(ChainProblem(stream=stream, seq=record.seq, kind=kind, message=message))
        seen.add(record.seq)
        highest = max(highest, record.seq)
        expected_prev = record.hash
        previous_seq = record.seq
    if head is not None:
        problems.extend(_head_findings(stream, records, head))
    elif require_head and records:
        problems.append(
            ChainProblem(stream, None, ProblemKind.HEAD_MISSING, "stream has records but no head item")
        )
    return ChainVerification(stream=stream, records=len(records), problems=tuple(problems))


def _record_findings(
    record: AuditRecord,
    *,
    stream: str,
    expected_prev: str,
    previous_seq: int | None,
    highest: int,
    seen: set[int],
) -> list[tuple[ProblemKind, str]]:
    """What is wrong with one record given what came before it in the chain (``previous_seq``:
    the seq of the record stored before it, None for the first)."""
    findings: list[tuple[ProblemKind, str]] = []
    if record.stream != stream:
        findings.append((ProblemKind.WRONG_STREAM, f"record belongs to stream {record.stream!r}"))
    try:
        computed = record.computed_hash()
    except AuditEncodingError as exc:
        findings.append((ProblemKind.HASH_MISMATCH, f"content cannot be hashed: {exc}"))
    else:
        if computed != record.hash:
            findings.append(
                (
                    ProblemKind.HASH_MISMATCH,
                    f"content hashes to {computed[:16]}…, record says {record.hash[:16]}… (edited)",
                )
            )
    if record.seq in seen:
        findings.append((ProblemKind.DUPLICATE_SEQ, f"seq {record.seq} appears more than once"))
    elif record.seq < highest:
        findings.append((ProblemKind.OUT_OF_ORDER, f"seq {record.seq} comes after seq {highest}"))
    elif record.seq > highest + 1:
        missing = (
            f"seq {highest + 1}" if record.seq == highest + 2 else f"seqs {highest + 1}..{record.seq - 1}"
        )
        findings.append((ProblemKind.SEQ_GAP, f"{missing} missing before this record"))
    if record.prev_hash != expected_prev:
        before = "genesis" if previous_seq is None else f"the record before it (seq {previous_seq})"
        findings.append(
            (
                ProblemKind.BROKEN_LINK,
                f"prev_hash {record.prev_hash[:16]}… does not match {before} ({expected_prev[:16]}…)",
            )
        )
    return findings


def _head_findings(stream: str, records: Sequence[AuditRecord], head: StreamHead) -> list[ChainProblem]:
    """Whether the head names the last record."""
    if not records:
        return [
            ChainProblem(
                stream, None, ProblemKind.HEAD_MISMATCH, f"head names seq {head.seq} but there are no records"
            )
        ]
    last = records[-1]
    if head.seq == last.seq and head.hash == last.hash:
        return []
    return [
        ChainProblem(
            stream,
            last.seq,
            ProblemKind.HEAD_MISMATCH,
            f"head names seq {head.seq} ({head.hash[:16]}…) but the last record is seq {last.seq} "
            f"({last.hash[:16]}…) (tail truncated or forged)",
        )
    ]
