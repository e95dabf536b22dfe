"""Tamper detection: edits, deletions, reorders, insertions and truncation are all found."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mlcp.adapters.audit_trail import AuditTrail, record_sk, record_to_item
from mlcp.audit import AuditAction, AuditRecord, ProblemKind, StreamHead, record_hash, verify_chain

from .chains import build_chain, head_of, make_record
from .conftest import TABLE

STREAM = "group#churn"


def _seed(trail: AuditTrail, n: int = 5) -> list[AuditRecord]:
    for i in range(n):
        trail.append(
            stream=STREAM,
            action=AuditAction.GATES_EVALUATED,
            actor="fn:gates",
            subject=f"pkg/{i}",
            evidence={"auc": 0.8 + i / 100, "i": i},
            decision_id=f"d-{i}",
            event_id=f"e-{i}",
        )
    return trail.read(STREAM)


def _check(trail: AuditTrail) -> tuple[set[ProblemKind], set[int | None]]:
    result = verify_chain(trail.read(STREAM), trail.head(STREAM), require_head=True)
    assert not result.ok
    assert all(p.stream == STREAM for p in result.problems)
    return {p.kind for p in result.problems}, {p.seq for p in result.problems}


def _key(seq: int) -> dict[str, Any]:
    return {"pk": {"S": STREAM}, "sk": {"S": record_sk(seq)}}


def test_untouched_chain_verifies(trail: AuditTrail) -> None:
    _seed(trail)
    result = verify_chain(trail.read(STREAM), trail.head(STREAM), require_head=True)
    assert result.ok
    assert (result.stream, result.records, result.problems) == (STREAM, 5, ())


def test_edited_evidence_is_found(trail: AuditTrail, ddb: Any) -> None:
    _seed(trail)
    ddb.update_item(
        TableName=TABLE,
        Key=_key(3),
        UpdateExpression="SET evidence = :e",
        ExpressionAttributeValues={":e": {"S": '{"auc":0.99,"i":2}'}},
    )
    kinds, seqs = _check(trail)
    assert kinds == {ProblemKind.HASH_MISMATCH}
    assert seqs == {3}


def test_edit_with_recomputed_hash_breaks_the_next_link(trail: AuditTrail, ddb: Any) -> None:
    records = _seed(trail)
    forged_fields = records[2].hashed_fields() | {"actor": "mallory"}
    ddb.update_item(
        TableName=TABLE,
        Key=_key(3),
        UpdateExpression="SET actor = :a, #h = :h",
        ExpressionAttributeNames={"#h": "hash"},
        ExpressionAttributeValues={":a": {"S": "mallory"}, ":h": {"S": record_hash(forged_fields)}},
    )
    kinds, seqs = _check(trail)
    assert kinds == {ProblemKind.BROKEN_LINK}
    assert seqs == {4}


def test_deleted_middle_record_is_found(trail: AuditTrail, ddb: Any) -> None:
    _seed(trail)
    ddb.delete_item(TableName=TABLE, Key=_key(3))
    kinds, seqs = _check(trail)
    assert kinds == {ProblemKind.SEQ_GAP, ProblemKind.BROKEN_LINK}
    assert seqs == {4}


def test_swapped_records_are_found(trail: AuditTrail, ddb: Any) -> None:
    _seed(trail)
    two = ddb.get_item(TableName=TABLE, Key=_key(2))["Item"]
    three = ddb.get_item(TableName=TABLE, Key=_key(3))["Item"]
    # Swap the bodies: each item keeps its sort key, so stored order now reads 1, 3, 2, 4, 5.
    ddb.put_item(TableName=TABLE, Item=three | {"sk": {"S": record_sk(2)}})
    ddb.put_item(TableName=TABLE, Item=two | {"sk": {"S": record_sk(3)}})
    kinds, seqs = _check(trail)
    assert ProblemKind.OUT_OF_ORDER in kinds
    assert ProblemKind.BROKEN_LINK in kinds
    assert {2, 3} <= seqs
    assert ProblemKind.HASH_MISMATCH not in kinds  # the records themselves are intact


def test_inserted_forged_record_is_found(trail: AuditTrail, ddb: Any) -> None:
    records = _seed(trail)
    # A self-consistent forgery claiming to follow seq 3, slipped in before the real seq 4.
    forged = make_record(STREAM, 4, records[2].hash, actor="mallory", decision_id="forged")
    item = record_to_item(forged) | {"sk": {"S": record_sk(3) + "~"}}
    ddb.put_item(TableName=TABLE, Item=item)
    stored = trail.read(STREAM)
    assert [r.seq for r in stored] == [1, 2, 3, 4, 4, 5]
    assert stored[3].computed_hash() == stored[3].hash  # the forgery is internally consistent
    kinds, seqs = _check(trail)
    assert kinds == {ProblemKind.DUPLICATE_SEQ, ProblemKind.BROKEN_LINK}
    assert seqs == {4}


def test_truncated_tail_is_found_against_the_head(trail: AuditTrail, ddb: Any) -> None:
    _seed(trail)
    ddb.delete_item(TableName=TABLE, Key=_key(5))
    ddb.delete_item(TableName=TABLE, Key=_key(4))
    # The remaining records are a valid chain on their own...
    assert verify_chain(trail.read(STREAM)).ok
    # ...but the head still names seq 5.
    kinds, seqs = _check(trail)
    assert kinds == {ProblemKind.HEAD_MISMATCH}
    assert seqs == {3}


def test_truncated_beginning_is_found(trail: AuditTrail, ddb: Any) -> None:
    _seed(trail)
    ddb.delete_item(TableName=TABLE, Key=_key(1))
    ddb.delete_item(TableName=TABLE, Key=_key(2))
    kinds, seqs = _check(trail)
    assert kinds == {ProblemKind.SEQ_GAP, ProblemKind.BROKEN_LINK}
    assert seqs == {3}


def test_deleted_head_or_everything_is_found(trail: AuditTrail, ddb: Any) -> None:
    _seed(trail)
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": STREAM}, "sk": {"S": "head"}})
    assert STREAM in trail.streams()  # still listed: records remain
    assert _check(trail)[0] == {ProblemKind.HEAD_MISSING}
    head = StreamHead(stream=STREAM, seq=5, hash="f" * 64)
    result = verify_chain([], head)
    assert [p.kind for p in result.problems] == [ProblemKind.HEAD_MISMATCH]


def test_record_moved_from_another_stream_is_found() -> None:
    ours = build_chain(STREAM, 3)
    theirs = build_chain("group#other", 3)
    result = verify_chain([*ours[:2], theirs[2]], head_of(ours))
    kinds = {p.kind for p in result.problems}
    assert ProblemKind.WRONG_STREAM in kinds
    assert ProblemKind.BROKEN_LINK in kinds
    assert all(p.stream == STREAM for p in result.problems)


def test_problem_description_names_stream_and_seq() -> None:
    records = build_chain(STREAM, 3)
    result = verify_chain([records[0], records[2]])
    assert not result.ok
    lines = [p.describe() for p in result.problems]
    assert lines[0].startswith(f"stream={STREAM} seq=3 seq_gap: seq 2 missing")


# ------------------------------------------------------------------ property test

TAMPERS = ("edit", "delete", "swap", "insert", "truncate", "move", "duplicate")
EDITABLE = ("actor", "at", "action", "subject", "evidence", "event_id", "decision_id", "seq", "prev_hash")


def _edited(record: AuditRecord, field: str) -> AuditRecord:
    data = record.model_dump()
    changes: dict[str, Any] = {
        "actor": record.actor + "!",
        "at": "1999-12-31T23:59:59.000000Z",
        "action": next(a for a in AuditAction if a != record.action),
        "subject": record.subject + "/x",
        "evidence": record.evidence | {"tampered": True},
        "event_id": None if record.event_id else "evt-forged",
        "decision_id": record.decision_id + "-forged",
        "seq": record.seq + 100,
        "prev_hash": ("1" if record.prev_hash[0] != "1" else "2") + record.prev_hash[1:],
    }
    return AuditRecord(**(data | {field: changes[field]}))


@settings(max_examples=150, deadline=None)
@given(
    length=st.integers(min_value=1, max_value=12),
    ops=st.lists(
        st.tuples(st.sampled_from(TAMPERS), st.integers(0, 10_000), st.integers(0, 10_000)),
        min_size=1,
        max_size=3,
    ),
    field=st.sampled_from(EDITABLE),
    forge_hash=st.booleans(),
)
def test_any_tampering_is_detected(
    length: int, ops: list[tuple[str, int, int]], field: str, forge_hash: bool
) -> None:
    original = build_chain(STREAM, length)
    head = head_of(original)
    records = list(original)
    for op, a, b in ops:
        if not records and op != "insert":
            continue
        i = a % len(records) if records else 0
        if op == "edit":
            edited = _edited(records[i], field)
            if forge_hash:  # a smarter attacker recomputes the edited record's own hash
                edited = AuditRecord(**(edited.model_dump() | {"hash": record_hash(edited.hashed_fields())}))
            records[i] = edited
        elif op == "delete":
            del records[i]
        elif op == "swap":
            j = b % len(records)
            if i == j:
                j = (i + 1) % len(records)
            if i != j:
                records[i], records[j] = records[j], records[i]
            else:  # a one-record chain cannot be reordered; drop it instead
                del records[i]
        elif op == "insert":
            position = a % (len(records) + 1)
            prev = records[position - 1].hash if position else "0" * 64
            seq = records[position - 1].seq + 1 if position else 1
            records.insert(position, make_record(STREAM, seq, prev, actor="mallory", decision_id=f"f{b}"))
        elif op == "truncate":
            del records[i:]
        elif op == "move":
            stranger = build_chain("group#other", records[i].seq)[-1]
            records[i] = stranger
        elif op == "duplicate":
            records.insert(i + 1, records[i])
    if records == original:  # the ops cancelled out (e.g. swapped back): nothing to detect
        return
    result = verify_chain(records, head)
    assert not result.ok, (ops, [r.seq for r in records])
