"""`mlcp audit verify` against the signed digests on the emulator: after three deployments (each
one digested when its execution ended), every attack the hash chain alone misses fails verify with
the stream and what is wrong; the untouched trail verifies OK. Each test undoes its attack."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from mlcp.adapters.audit_trail import HEAD_SK, AuditTrail, record_sk, record_to_item
from mlcp.audit import GENESIS_HASH, AuditRecord, record_hash
from mlcp.audit.export import export_key
from mlcp.models.digest import AuditDigest, digest_key, parse_digest
from mlcp_cli.emulator.runtime import LocalControlPlane


@pytest.fixture
def trail(cp: LocalControlPlane) -> AuditTrail:
    return AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))


def _endpoint_stream(trail: AuditTrail) -> str:
    return next(name for name in trail.streams() if name.startswith("endpoint#"))


@pytest.fixture
def restore(cp: LocalControlPlane, trail: AuditTrail) -> Iterator[None]:
    """Put the audit table back as it was after the test (the attacks write it directly): items the
    test added are deleted, items it changed or deleted are put back as they were."""
    ddb = cp.client("dynamodb")
    table = trail.table_name

    def scan() -> dict[tuple[str, str], dict[str, Any]]:
        pages = ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        return {(i["pk"]["S"], i["sk"]["S"]): i for page in pages for i in page["Items"]}

    before = scan()
    yield
    after = scan()
    for key, item in after.items():
        if key not in before:
            ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    for key, item in before.items():
        if after.get(key) != item:
            ddb.put_item(TableName=table, Item=item)
    assert scan() == before


def _verify(cli: Any, *extra: str) -> tuple[int, str]:
    code, out, err = cli("audit", "verify", "--local", *extra)
    return code, out + err


def _put_head(cp: LocalControlPlane, trail: AuditTrail, record: AuditRecord) -> None:
    cp.client("dynamodb").put_item(
        TableName=trail.table_name,
        Item={
            "pk": {"S": record.stream},
            "sk": {"S": HEAD_SK},
            "stream": {"S": record.stream},
            "seq": {"N": str(record.seq)},
            "hash": {"S": record.hash},
            "updated_at": {"S": record.at},
        },
    )


def test_the_untouched_trail_verifies_against_the_digests(cp: LocalControlPlane, cli: Any) -> None:
    code, out = _verify(cli)
    assert code == 0, out
    assert "signed digests (latest digests/" in out
    code, out = _verify(cli, "--json")
    report = json.loads(out)
    assert report["ok"]
    assert report["digests"]["checked"]
    assert report["digests"]["count"] >= 3
    assert all(a["anchored_seq"] for a in report["anchors"] if a["stream"].startswith("endpoint#"))


def test_a_consistent_rewrite_of_a_whole_stream_fails(
    cp: LocalControlPlane, trail: AuditTrail, cli: Any, restore: None
) -> None:
    stream = _endpoint_stream(trail)
    ddb = cp.client("dynamodb")
    prev = GENESIS_HASH
    record = None
    for original in trail.read(stream):
        fields = original.hashed_fields() | {"prev_hash": prev, "actor": "mallory"}
        record = AuditRecord(**fields, hash=record_hash(fields))
        ddb.put_item(TableName=trail.table_name, Item=record_to_item(record))
        prev = record.hash
    assert record is not None
    _put_head(cp, trail, record)
    assert _verify(cli, "--no-digests")[0] == 0  # the chain alone cannot tell
    code, out = _verify(cli)
    assert code == 1
    assert f"BROKEN stream={stream}" in out
    assert "anchor_changed" in out
    assert "stream rewritten" in out


def test_a_truncated_tail_fails(cp: LocalControlPlane, trail: AuditTrail, cli: Any, restore: None) -> None:
    stream = _endpoint_stream(trail)
    records = trail.read(stream)
    ddb = cp.client("dynamodb")
    for record in records[-2:]:
        ddb.delete_item(
            TableName=trail.table_name, Key={"pk": {"S": stream}, "sk": {"S": record_sk(record.seq)}}
        )
    _put_head(cp, trail, records[-3])
    assert _verify(cli, "--no-digests")[0] == 0
    code, out = _verify(cli)
    assert code == 1
    assert f"BROKEN stream={stream} seq={records[-1].seq} anchor_missing" in out
    assert "tail truncated" in out


def test_a_deleted_stream_fails(cp: LocalControlPlane, trail: AuditTrail, cli: Any, restore: None) -> None:
    stream = _endpoint_stream(trail)
    ddb = cp.client("dynamodb")
    for record in trail.read(stream):
        ddb.delete_item(
            TableName=trail.table_name, Key={"pk": {"S": stream}, "sk": {"S": record_sk(record.seq)}}
        )
    ddb.delete_item(TableName=trail.table_name, Key={"pk": {"S": stream}, "sk": {"S": HEAD_SK}})
    assert _verify(cli, "--no-digests")[0] == 0
    code, out = _verify(cli, "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert {(p["stream"], p["kind"]) for p in problems} == {(stream, "stream_missing")}


def _latest(cp: LocalControlPlane) -> tuple[int, AuditDigest]:
    s3 = cp.client("s3")
    bucket = cp.stack.physical_id("AuditDigestBucket")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="digests/")["Contents"]]
    number = len(keys)
    return number, parse_digest(s3.get_object(Bucket=bucket, Key=digest_key(number))["Body"].read())


def test_a_forged_digest_fails_and_cannot_be_deleted_afterwards(
    cp: LocalControlPlane, trail: AuditTrail, cli: Any
) -> None:
    number, latest = _latest(cp)
    stream = _endpoint_stream(trail)
    forged = latest.model_copy(
        update={"number": number + 1, "signature": base64.b64encode(b"\x30" * 70).decode("ascii")}
    )
    s3 = cp.client("s3")
    bucket = cp.stack.physical_id("AuditDigestBucket")
    version = s3.put_object(Bucket=bucket, Key=digest_key(number + 1), Body=forged.to_bytes())["VersionId"]
    code, out = _verify(cli)
    assert code == 1
    assert f"BROKEN stream={stream}" in out
    assert "digest_forged" in out
    # the forger cannot take it back: the bucket's default retention locked it (compliance mode)
    with pytest.raises(Exception, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=digest_key(number + 1), VersionId=version)
    # what the locked bucket now holds is evidence of the attempt; later tests see a fresh bucket
    from moto.s3.models import s3_backends

    dict.pop(s3_backends["123456789012"]["aws"].buckets[bucket].keys, digest_key(number + 1))


def test_a_missing_digest_in_the_chain_fails(cp: LocalControlPlane, cli: Any) -> None:
    """Object Lock refuses to delete a digest before its retention ends; once it has ended (or with
    the bucket's storage itself), a digest can go: the chain still names the gap."""
    from moto.s3.models import s3_backends

    bucket = cp.stack.physical_id("AuditDigestBucket")
    keys = s3_backends["123456789012"]["aws"].buckets[bucket].keys
    removed = dict.pop(keys, digest_key(2))  # the store's own pop would close the versions' files
    try:
        code, out = _verify(cli)
    finally:
        dict.__setitem__(keys, digest_key(2), removed)
    assert code == 1
    assert "digest_missing" in out
    assert "digest 2 is missing" in out


def test_exported_days_outlive_the_table_and_verify_from_the_locked_bucket(
    cp: LocalControlPlane, trail: AuditTrail, cli: Any, restore: None
) -> None:
    import datetime as dt

    stream = _endpoint_stream(trail)
    records = trail.read(stream)
    day_after = (dt.date.fromisoformat(records[-1].at[:10]) + dt.timedelta(days=1)).isoformat()
    assert cli("audit", "export", "--local", "--before", "2999-01-01")[0] == 2  # only complete days
    cp.advance_time(2 * 86_400)
    code, out, _ = cli("audit", "export", "--local", "--before", day_after)
    assert code == 0
    assert f"exported exports/{stream.replace('#', '%23')}/{records[0].at[:10]}.jsonl" in out
    again = json.loads(cli("audit", "export", "--local", "--before", day_after, "--json")[1])
    assert again["written"] == []
    assert export_key(stream, records[0].at[:10]) in again["already_exported"]
    ddb = cp.client("dynamodb")
    for record in records[:2]:  # the table loses its oldest records
        ddb.delete_item(
            TableName=trail.table_name, Key={"pk": {"S": stream}, "sk": {"S": record_sk(record.seq)}}
        )
    assert _verify(cli)[0] == 1
    code, out = _verify(cli, "--from-export")
    assert code == 0, out
    edited = records[3].hashed_fields() | {"actor": "mallory"}  # and the table disagrees with the export
    ddb.put_item(TableName=trail.table_name, Item=record_to_item(AuditRecord(**edited, hash=records[3].hash)))
    code, out = _verify(cli, "--from-export")
    assert code == 1
    assert f"BROKEN stream={stream} seq={records[3].seq}" in out
