"""Signed digests built in memory for the pure anchor tests: a real ECDSA P-256 key (what KMS's
ECC_NIST_P256 key signs with), held by the test instead of KMS."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mlcp.audit import GENESIS_HASH, AuditRecord
from mlcp.models.digest import AuditDigest, StoredDigest, StreamAnchor, digest_key, object_sha256

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/digest-key"
TABLE = "mlcp-test-audit"
_ALGORITHM = ec.ECDSA(Prehashed(hashes.SHA256()))


class LocalSigner:
    """Signs and verifies like ``DigestSigner``, with a key of its own."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    def sign(self, message_digest: bytes) -> str:
        return base64.b64encode(self._key.sign(message_digest, _ALGORITHM)).decode("ascii")

    def verify(self, message_digest: bytes, signature: str) -> bool:
        try:
            self._key.public_key().verify(base64.b64decode(signature), message_digest, _ALGORITHM)
        except (InvalidSignature, ValueError):
            return False
        return True


def snapshot_anchors(streams: Mapping[str, Sequence[AuditRecord]]) -> tuple[StreamAnchor, ...]:
    """The anchors a digest written now would hold: every stream's last record."""
    return tuple(
        StreamAnchor(stream=name, seq=records[-1].seq, hash=records[-1].hash, at=records[-1].at)
        for name, records in sorted(streams.items())
        if records
    )


def sign_chain(
    snapshots: Sequence[Mapping[str, Sequence[AuditRecord]]], signer: LocalSigner, *, key_arn: str = KEY_ARN
) -> list[StoredDigest]:
    """One signed, chained digest per snapshot of the streams, as the bucket would return them."""
    stored: list[StoredDigest] = []
    previous = GENESIS_HASH
    for number, streams in enumerate(snapshots, start=1):
        unsigned = AuditDigest(
            number=number,
            previous_digest_sha256=previous,
            created_at=f"2025-02-0{min(number, 9)}T00:00:00.000000Z",
            table=TABLE,
            trigger="schedule",
            key_id=key_arn,
            streams=snapshot_anchors(streams),
        )
        digest = unsigned.model_copy(update={"signature": signer.sign(unsigned.message_digest())})
        body = digest.to_bytes()
        stored.append(StoredDigest(digest_key(number), number, body, digest, True))
        previous = object_sha256(body)
    return stored


def checked(stored: StoredDigest, signer: LocalSigner) -> StoredDigest:
    """``stored`` with its signature re-checked (after a test changed its content)."""
    digest = stored.digest
    valid = digest is not None and signer.verify(digest.message_digest(), digest.signature)
    return StoredDigest(stored.key, stored.number, stored.body, digest, valid, stored.versions, stored.error)
