"""S3 and KMS adapters of the audit digests: the Object Lock bucket and the asymmetric signing key.

``DigestBucket`` writes digests and exports once (``If-None-Match: *``), each version locked in
COMPLIANCE mode until a retention date, and reads back every version of every digest key.
``DigestSigner`` signs and verifies a SHA-256 message digest with an ECC_NIST_P256 KMS key
(``ECDSA_SHA_256``): the private key never leaves KMS.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from mlcp.models.digest import (
    DIGEST_PREFIX,
    SIGNING_ALGORITHM,
    AuditDigest,
    StoredDigest,
    digest_number,
    parse_digest,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)


class DigestExists(Exception):
    """The key was written by someone else first (a concurrent digest run): re-read and retry."""


class SignatureVerifier(Protocol):
    """Checks a digest's signature (``DigestSigner`` through KMS, or a public key offline)."""

    def verify(self, message_digest: bytes, signature: str) -> bool: ...


class DigestSigner:
    """Sign and verify with the stack's asymmetric KMS key."""

    def __init__(self, key_id: str, client: Any) -> None:
        self.key_id = key_id
        self._client = client

    def sign(self, message_digest: bytes) -> str:
        """The base64 signature of a 32-byte SHA-256 digest."""
        response = self._client.sign(
            KeyId=self.key_id,
            Message=message_digest,
            MessageType="DIGEST",
            SigningAlgorithm=SIGNING_ALGORITHM,
        )
        return base64.b64encode(bytes(response["Signature"])).decode("ascii")

    def verify(self, message_digest: bytes, signature: str) -> bool:
        """Whether ``signature`` (base64) is this key's signature of ``message_digest``."""
        try:
            raw = base64.b64decode(signature, validate=True)
        except ValueError:
            return False
        if not raw:
            return False
        try:
            response = self._client.verify(
                KeyId=self.key_id,
                Message=message_digest,
                MessageType="DIGEST",
                Signature=raw,
                SigningAlgorithm=SIGNING_ALGORITHM,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "KMSInvalidSignatureException":
                return False
            raise
        return bool(response.get("SignatureValid"))


class DigestBucket:
    """The Object Lock bucket holding digests (``digests/``) and exports (``exports/``)."""

    def __init__(self, bucket: str, client: S3Client) -> None:
        self.bucket = bucket
        self._client = client

    def put_locked(self, key: str, body: bytes, *, retain_until: datetime, content_type: str) -> str:
        """Write ``key`` once, locked in COMPLIANCE mode until ``retain_until``; its version id.

        Raises ``DigestExists`` when the key already exists.
        """
        try:
            response = self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                IfNoneMatch="*",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=retain_until,
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {
                "PreconditionFailed",
                "ConditionalRequestConflict",
            }:
                raise DigestExists(key) from exc
            raise
        return str(response.get("VersionId", ""))

    def keys(self, prefix: str) -> list[str]:
        """Every current key under ``prefix``, in key order."""
        found: list[str] = []
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(found)

    def latest_digest(self) -> tuple[int, bytes] | None:
        """The highest-numbered digest (number, body), or None before the first."""
        numbers = [n for key in self.keys(DIGEST_PREFIX) if (n := digest_number(key)) is not None]
        if not numbers:
            return None
        top = max(numbers)
        return top, self.get(f"{DIGEST_PREFIX}{top:012d}.json")

    def get(self, key: str, version_id: str | None = None) -> bytes:
        """The body of ``key`` (one version of it)."""
        extra: dict[str, Any] = {"VersionId": version_id} if version_id else {}
        return self._client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()

    def versions(self, prefix: str) -> dict[str, list[str]]:
        """key -> its version ids, oldest first (delete markers are left out)."""
        found: dict[str, list[tuple[datetime, str]]] = {}
        paginator = self._client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                found.setdefault(version["Key"], []).append((version["LastModified"], version["VersionId"]))
        return {key: [vid for _, vid in sorted(items)] for key, items in found.items()}

    def stored_digests(self, signer: SignatureVerifier) -> Iterator[StoredDigest]:
        """Every digest key's first (locked) version, parsed and its signature checked."""
        for key, version_ids in sorted(self.versions(DIGEST_PREFIX).items()):
            number = digest_number(key)
            if number is None:
                continue
            body = self.get(key, version_ids[0])
            try:
                digest: AuditDigest | None = parse_digest(body)
            except ValueError as exc:
                yield StoredDigest(key, number, body, None, False, len(version_ids), str(exc)[:200])
                continue
            assert digest is not None
            valid = bool(digest.signature) and signer.verify(digest.message_digest(), digest.signature)
            yield StoredDigest(key, number, body, digest, valid, len(version_ids))
