"""The digest use case with fakes: numbering, chaining, signing, the lock's retention, the race."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from audit.anchoring import KEY_ARN, LocalSigner
from mlcp.adapters.digests import DigestExists
from mlcp.audit import GENESIS_HASH, StreamHead
from mlcp.errors import AuditConflict
from mlcp.models.digest import digest_key, object_sha256, parse_digest
from mlcp.usecases.audit_digest import DigestDeps, retain_until, write_digest

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)


class FakeTrail:
    table_name = "audit"

    def __init__(self) -> None:
        self.streams = {"group#a": (3, "a" * 64), "endpoint#b": (7, "b" * 64)}

    def heads(self) -> list[tuple[StreamHead, str | None]]:
        return [
            (StreamHead(stream=name, seq=seq, hash=value), "2026-12-07T11:00:00.000000Z")
            for name, (seq, value) in sorted(self.streams.items())
        ]


class FakeBucket:
    """Keys written once; ``taken`` simulates concurrent runs that take the next numbers first."""

    def __init__(self, taken: int = 0) -> None:
        self.objects: dict[str, tuple[bytes, dt.datetime]] = {}
        self.taken = taken

    def latest_digest(self) -> tuple[int, bytes] | None:
        if not self.objects:
            return None
        key = max(self.objects)
        return int(key.removeprefix("digests/").removesuffix(".json")), self.objects[key][0]

    def put_locked(self, key: str, body: bytes, *, retain_until: dt.datetime, content_type: str) -> str:
        if self.taken:
            self.taken -= 1
            self.objects[key] = (b'{"someone":"else"}', retain_until)
            raise DigestExists(key)
        if key in self.objects:
            raise DigestExists(key)
        self.objects[key] = (body, retain_until)
        return "v1"


def _deps(
    bucket: FakeBucket, signer: LocalSigner, days: int = 200, trail: FakeTrail | None = None
) -> DigestDeps:
    return DigestDeps(
        audit=trail or FakeTrail(),  # type: ignore[arg-type]
        bucket=bucket,  # type: ignore[arg-type]
        signer=signer,  # type: ignore[arg-type]
        key_arn=KEY_ARN,
        retention_days=lambda: days,
        clock=lambda: NOW,
    )


def test_digests_are_numbered_chained_signed_and_locked() -> None:
    bucket, signer = FakeBucket(), LocalSigner()
    first = write_digest(_deps(bucket, signer), "schedule")
    second = write_digest(_deps(bucket, signer), "schedule")  # the hourly digest always writes
    assert first is not None
    assert second is not None
    assert (first.number, first.previous_digest_sha256) == (1, GENESIS_HASH)
    assert second.previous_digest_sha256 == object_sha256(bucket.objects[digest_key(1)][0])
    assert [(a.stream, a.seq) for a in second.streams] == [("endpoint#b", 7), ("group#a", 3)]
    stored = parse_digest(bucket.objects[digest_key(2)][0])
    assert signer.verify(stored.message_digest(), stored.signature)
    assert bucket.objects[digest_key(2)][1] == NOW + dt.timedelta(days=200)


def test_a_deployment_trigger_writes_only_when_a_head_moved() -> None:
    bucket, signer, trail = FakeBucket(), LocalSigner(), FakeTrail()
    assert write_digest(_deps(bucket, signer, trail=trail), "schedule") is not None
    assert write_digest(_deps(bucket, signer, trail=trail), "deployment") is None  # e.g. a redelivery
    assert digest_key(2) not in bucket.objects
    trail.streams["group#a"] = (4, "c" * 64)
    moved = write_digest(_deps(bucket, signer, trail=trail), "deployment")
    assert moved is not None
    assert moved.number == 2


def test_the_lock_is_never_under_six_months() -> None:
    assert retain_until(NOW, 30) == NOW + dt.timedelta(days=183)


def test_a_run_that_loses_the_number_rereads_and_takes_the_next() -> None:
    bucket = FakeBucket(taken=2)
    digest = write_digest(_deps(bucket, LocalSigner()), "schedule")
    assert digest is not None
    assert digest.number == 3


def test_a_run_that_keeps_losing_raises_audit_conflict() -> None:
    deps: Any = _deps(FakeBucket(taken=10), LocalSigner())
    with pytest.raises(AuditConflict):
        write_digest(deps, "schedule", attempts=3)
