"""Streams checked against signed digests: each attack the hash chain alone cannot see is named."""

from __future__ import annotations

import pytest

from audit.anchoring import KEY_ARN, TABLE, LocalSigner, checked, sign_chain
from audit.chains import build_chain, make_record
from mlcp.audit import AuditRecord, ProblemKind, verify_chain
from mlcp.audit.anchors import DIGESTS, verify_anchors
from mlcp.models.digest import StoredDigest, digest_key


def rewrite(records: list[AuditRecord], subject: str) -> list[AuditRecord]:
    """The whole stream rewritten consistently: every hash recomputed, the chain verifies."""
    out: list[AuditRecord] = []
    prev = "0" * 64
    for record in records:
        forged = make_record(record.stream, record.seq, prev, subject=subject)
        out.append(forged)
        prev = forged.hash
    return out


@pytest.fixture
def signer() -> LocalSigner:
    return LocalSigner()


@pytest.fixture
def streams() -> dict[str, list[AuditRecord]]:
    return {
        "group#churn": build_chain("group#churn", 8),
        "endpoint#churn-prod": build_chain("endpoint#churn-prod", 5),
    }


def digests_over_time(streams: dict[str, list[AuditRecord]], signer: LocalSigner) -> list[StoredDigest]:
    """Three digests: after 3, after 6 and after every record of each stream."""
    return sign_chain([{n: r[:k] for n, r in streams.items()} for k in (3, 6, 99)], signer)


def kinds(result: object) -> set[tuple[str, ProblemKind]]:
    return {(p.stream, p.kind) for p in result.problems}  # type: ignore[attr-defined]


def test_untouched_streams_verify_and_are_fully_anchored(streams, signer) -> None:
    result = verify_anchors(streams, digests_over_time(streams, signer), table=TABLE, key_id=KEY_ARN)
    assert result.ok, result.problems
    assert result.latest_digest == digest_key(3)
    assert {(s.stream, s.anchored_seq, s.unanchored_since) for s in result.streams} == {
        ("group#churn", 8, None),
        ("endpoint#churn-prod", 5, None),
    }


def test_records_after_the_last_digest_are_reported_unanchored_since_the_first(streams, signer) -> None:
    digests = sign_chain([{n: r[:3] for n, r in streams.items()}], signer)
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert result.ok
    state = next(s for s in result.streams if s.stream == "group#churn")
    assert (state.anchored_seq, state.head_seq, state.unanchored_since) == (
        3,
        8,
        streams["group#churn"][3].at,
    )


def test_a_consistent_rewrite_of_a_whole_stream_is_detected(streams, signer) -> None:
    digests = digests_over_time(streams, signer)
    streams["group#churn"] = rewrite(streams["group#churn"], "forged")
    assert verify_chain(streams["group#churn"]).ok  # the hash chain alone cannot see it
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert kinds(result) == {("group#churn", ProblemKind.ANCHOR_CHANGED)}
    assert "stream rewritten" in result.problems[0].message


def test_a_truncated_tail_is_detected(streams, signer) -> None:
    digests = digests_over_time(streams, signer)
    streams["endpoint#churn-prod"] = streams["endpoint#churn-prod"][:2]
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert kinds(result) == {("endpoint#churn-prod", ProblemKind.ANCHOR_MISSING)}
    assert "tail truncated" in result.problems[0].message


def test_a_deleted_stream_is_detected(streams, signer) -> None:
    digests = digests_over_time(streams, signer)
    del streams["group#churn"]
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert kinds(result) == {("group#churn", ProblemKind.STREAM_MISSING)}


def test_a_forged_digest_is_detected_and_its_anchors_ignored(streams, signer) -> None:
    digests = digests_over_time(streams, signer)
    forged_records = rewrite(streams["group#churn"], "forged")
    last = digests[-1]
    assert last.digest is not None
    anchors = tuple(
        a.model_copy(update={"hash": forged_records[-1].hash}) if a.stream == "group#churn" else a
        for a in last.digest.streams
    )
    forged = last.digest.model_copy(update={"streams": anchors})
    digests[-1] = checked(StoredDigest(last.key, last.number, forged.to_bytes(), forged, True), signer)
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert ("group#churn", ProblemKind.DIGEST_FORGED) in kinds(result)
    assert all(p.kind == ProblemKind.DIGEST_FORGED for p in result.problems)


def test_a_digest_signed_with_another_key_is_forged(streams, signer) -> None:
    digests = sign_chain([streams], LocalSigner(), key_arn="arn:aws:kms:eu-west-1:123456789012:key/mallory")
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert {kind for _, kind in kinds(result)} == {ProblemKind.DIGEST_FORGED}
    assert "mallory" in result.problems[0].message


def test_a_missing_digest_in_the_chain_is_detected(streams, signer) -> None:
    digests = digests_over_time(streams, signer)
    del digests[1]
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert kinds(result) == {(DIGESTS, ProblemKind.DIGEST_MISSING)}
    assert "digest 2 is missing" in result.problems[0].message


def test_a_digest_replaced_by_a_validly_signed_one_breaks_the_chain(streams, signer) -> None:
    digests = digests_over_time(streams, signer)
    other = sign_chain([{n: r[:4] for n, r in streams.items()}] * 2, signer)
    digests[1] = other[1]  # number 2, signed, but chained to another digest 1
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert (DIGESTS, ProblemKind.DIGEST_CHAIN_BROKEN) in kinds(result)


def test_an_overwritten_digest_key_is_reported(streams, signer) -> None:
    digests = digests_over_time(streams, signer)
    first = digests[0]
    digests[0] = StoredDigest(first.key, first.number, first.body, first.digest, True, versions=2)
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert kinds(result) == {(DIGESTS, ProblemKind.DIGEST_OVERWRITTEN)}


def test_a_digest_about_another_table_is_refused(streams, signer) -> None:
    result = verify_anchors(streams, digests_over_time(streams, signer), table="other", key_id=KEY_ARN)
    assert {kind for _, kind in kinds(result)} == {ProblemKind.DIGEST_FORGED}


def test_an_unreadable_digest_is_forged(streams, signer) -> None:
    digests = [StoredDigest(digest_key(1), 1, b"{", None, False, error="not JSON")]
    result = verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN)
    assert kinds(result) == {(DIGESTS, ProblemKind.DIGEST_FORGED)}
