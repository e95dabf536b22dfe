"""AuditTrail against moto DynamoDB: appends, reads, idempotency, concurrency, conflicts."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcp.adapters.audit_trail import AuditTrail, InvalidAuditItem, decision_pk, record_sk
from mlcp.audit import GENESIS_HASH, AuditAction, AuditEncodingError, verify_chain
from mlcp.errors import AuditConflict

from .conftest import REGION, TABLE, StepClock


def _append(trail: AuditTrail, stream: str, n: int, **kw: Any) -> Any:
    return trail.append(
        stream=stream,
        action=kw.pop("action", AuditAction.EVENT_RECEIVED),
        actor=kw.pop("actor", "fn:event-intake"),
        subject=kw.pop("subject", f"subject-{n}"),
        evidence=kw.pop("evidence", {"n": n}),
        decision_id=kw.pop("decision_id", f"{stream}/decision-{n}"),
        **kw,
    )


def test_append_read_verify(trail: AuditTrail, ddb: Any) -> None:
    first = trail.append(
        stream="group#churn",
        action=AuditAction.PACKAGE_REGISTERED,
        actor="fn:event-intake",
        subject="arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/1",
        evidence={"auc": 0.91, "metrics": {"f1": 0.8}, "tags": ["x"], "note": "naïve ✓"},
        decision_id="d-1",
        event_id="evt-1",
    )
    assert first.appended
    assert first.record.seq == 1
    assert first.record.prev_hash == GENESIS_HASH
    assert first.record.at == "2025-01-31T12:00:00.001000Z"
    second = _append(trail, "group#churn", 2, action=AuditAction.GATES_EVALUATED)
    assert second.record.seq == 2
    assert second.record.prev_hash == first.record.hash
    assert second.record.event_id is None

    records = trail.read("group#churn")
    assert records == [first.record, second.record]
    head = trail.head("group#churn")
    assert head is not None
    assert (head.seq, head.hash) == (2, second.record.hash)
    assert verify_chain(records, head, require_head=True).ok

    # Stored as typed attributes at the documented keys.
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "group#churn"}, "sk": {"S": "rec#000000000001"}})[
        "Item"
    ]
    assert item["seq"] == {"N": "1"}
    assert item["action"] == {"S": "package.registered"}
    assert item["evidence"]["S"] == '{"auc":0.91,"metrics":{"f1":0.8},"note":"naïve ✓","tags":["x"]}'
    marker = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "decision#d-1"}, "sk": {"S": "decision"}})["Item"]
    assert marker["stream"] == {"S": "group#churn"}
    assert marker["seq"] == {"N": "1"}
    assert record_sk(12) == "rec#000000000012"
    assert decision_pk("x") == "decision#x"


def test_streams_are_independent_chains(trail: AuditTrail) -> None:
    for n in range(3):
        _append(trail, "group#a", n)
        _append(trail, "endpoint#b", n)
    _append(trail, "control-plane", 0)
    assert trail.streams() == ["control-plane", "endpoint#b", "group#a"]
    for stream in trail.streams():
        records = trail.read(stream)
        assert [r.seq for r in records] == list(range(1, len(records) + 1))
        assert verify_chain(records, trail.head(stream), require_head=True).ok
    assert trail.read("nope") == []
    assert trail.head("nope") is None


def test_same_decision_twice_appends_once(trail: AuditTrail) -> None:
    first = _append(trail, "group#churn", 1, decision_id="evt-42/approve")
    _append(trail, "group#churn", 2)
    again = _append(trail, "group#churn", 99, decision_id="evt-42/approve", evidence={"other": True})
    assert not again.appended
    assert again.record == first.record
    assert [r.seq for r in trail.read("group#churn")] == [1, 2]
    head = trail.head("group#churn")
    assert head is not None
    assert head.seq == 2
    # A duplicate naming another stream still appends nothing, anywhere.
    elsewhere = _append(trail, "control-plane", 1, decision_id="evt-42/approve")
    assert not elsewhere.appended
    assert elsewhere.record == first.record
    assert trail.read("control-plane") == []


def test_duplicate_decision_without_returned_item_falls_back_to_marker_read(
    ddb: Any, clock: StepClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    trail = AuditTrail(TABLE, client=ddb, clock=clock)
    first = _append(trail, "s", 1, decision_id="dup")
    original = ddb.transact_write_items

    def without_item(**kwargs: Any) -> Any:
        try:
            return original(**kwargs)
        except ClientError as exc:
            for reason in exc.response.get("CancellationReasons", []):
                reason.pop("Item", None)
            raise

    monkeypatch.setattr(ddb, "transact_write_items", without_item)
    again = _append(trail, "s", 2, decision_id="dup")
    assert (again.appended, again.record) == (False, first.record)


def test_concurrent_writers_never_fork_or_gap(ddb: Any, clock: StepClock) -> None:
    # 6 writers back to back is harsher than production (DataArrivalConcurrency caps the one stream
    # that fans out at 5). Measured with 8 writers: mean 3 attempts per append, max 22 in 2,600
    # appends; one CI run needed more than 25, the old default, so the default retry budget is 50.
    # 60 appends show a fork or a gap as surely as 200 (any lost race shows), at a third of the CPU.
    threads_n, per_thread = 6, 10
    # One client (and trail) per thread, as separate Lambda invocations would have.
    trails = [
        AuditTrail(TABLE, client=boto3.client("dynamodb", region_name=REGION), clock=clock)
        for _ in range(threads_n)
    ]
    errors: list[BaseException] = []
    results: list[Any] = []
    start = threading.Barrier(threads_n)

    def worker(index: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                results.append(_append(trails[index], "group#hot", n, decision_id=f"w{index}-{n}"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors
    total = threads_n * per_thread
    assert len(results) == total
    assert all(r.appended for r in results)
    assert sorted(r.record.seq for r in results) == list(range(1, total + 1))
    records = AuditTrail(TABLE, client=ddb).read("group#hot")
    assert [r.seq for r in records] == list(range(1, total + 1))
    assert {r.decision_id for r in records} == {
        f"w{i}-{n}" for i in range(threads_n) for n in range(per_thread)
    }
    verification = verify_chain(records, AuditTrail(TABLE, client=ddb).head("group#hot"), require_head=True)
    assert verification.ok, verification.problems


def _interfere(client: Any, times: int | None) -> list[int]:
    """Make another writer win the head before each of our next ``times`` transactions."""
    rival = AuditTrail(TABLE, client=boto3.client("dynamodb", region_name=REGION))
    fired: list[int] = []

    def before_call(**_: Any) -> None:
        if times is None or len(fired) < times:
            fired.append(1)
            rival.append(
                stream="group#race",
                action=AuditAction.EVENT_RECEIVED,
                actor="rival",
                subject="x",
                evidence={},
                decision_id=f"rival-{len(fired)}",
            )

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", before_call)
    return fired


def test_lost_race_is_retried_on_the_new_head(ddb: Any, clock: StepClock) -> None:
    trail = AuditTrail(TABLE, client=ddb, clock=clock, base_delay=0.0)
    _append(trail, "group#race", 0)
    fired = _interfere(ddb, times=2)
    result = _append(trail, "group#race", 1)
    assert len(fired) == 2
    assert result.appended
    assert result.record.seq == 4  # two rival records landed first
    records = trail.read("group#race")
    assert [r.actor for r in records] == ["fn:event-intake", "rival", "rival", "fn:event-intake"]
    assert verify_chain(records, trail.head("group#race"), require_head=True).ok


def test_retry_budget_exhausted_raises_audit_conflict(ddb: Any, clock: StepClock) -> None:
    trail = AuditTrail(TABLE, client=ddb, clock=clock, max_attempts=3, base_delay=0.0)
    fired = _interfere(ddb, times=None)
    with pytest.raises(AuditConflict, match=r"group#race.*3 times"):
        _append(trail, "group#race", 1)
    assert len(fired) == 3
    assert all(r.actor == "rival" for r in trail.read("group#race"))
    assert verify_chain(trail.read("group#race"), trail.head("group#race")).ok


def test_other_client_errors_propagate(ddb: Any, clock: StepClock) -> None:
    trail = AuditTrail("no-such-table", client=ddb, clock=clock)
    with pytest.raises(ClientError) as info:
        _append(trail, "s", 1)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_bad_evidence_is_rejected_before_writing(trail: AuditTrail) -> None:
    with pytest.raises(AuditEncodingError):
        _append(trail, "s", 1, evidence={"x": float("nan")})
    assert trail.read("s") == []
    assert trail.head("s") is None


def test_invalid_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        AuditTrail(TABLE, client=object(), max_attempts=0)  # type: ignore[arg-type]


def test_read_reports_a_damaged_item(trail: AuditTrail, ddb: Any) -> None:
    _append(trail, "s", 1)
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "s"}, "sk": {"S": record_sk(1)}},
        UpdateExpression="SET evidence = :e",
        ExpressionAttributeValues={":e": {"S": "{not json"}},
    )
    with pytest.raises(InvalidAuditItem, match=r"sk='rec#000000000001'"):
        trail.read("s")


def test_read_and_streams_paginate(trail: AuditTrail, ddb: Any) -> None:
    # ~120 KB per record: well over DynamoDB's (and moto's) 1 MB page for 12 records.
    big = {"blob": "x" * 120_000}
    for n in range(12):
        _append(trail, "group#big", n, evidence=big | {"n": n})
    records = trail.read("group#big")
    assert [r.seq for r in records] == list(range(1, 13))
    assert verify_chain(records, trail.head("group#big"), require_head=True).ok
    assert trail.streams() == ["group#big"]
    pages = list(
        ddb.get_paginator("query").paginate(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "group#big"}},
        )
    )
    assert len(pages) > 1  # the data really spans pages


def test_concurrent_duplicates_of_one_decision_append_once(ddb: Any, clock: StepClock) -> None:
    n = 6
    trails = [
        AuditTrail(TABLE, client=boto3.client("dynamodb", region_name=REGION), clock=clock) for _ in range(n)
    ]
    _append(trails[0], "group#dup", 0)
    start = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            start.wait()
            results.append(
                _append(trails[index], "group#dup", 1, decision_id="redelivered", actor=f"w{index}")
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors, errors
    assert sum(r.appended for r in results) == 1
    assert all(r.record == results[0].record for r in results)
    records = trails[0].read("group#dup")
    assert [r.seq for r in records] == [1, 2]
    assert verify_chain(records, trails[0].head("group#dup"), require_head=True).ok
