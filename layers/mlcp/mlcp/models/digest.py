"""Signed digests of every stream's head: the audit trail anchored outside its table.

A digest (one S3 object under ``digests/``, in a bucket with Object Lock in compliance mode) says
which (seq, hash) every stream's head had when it was written, and chains to the digest before it:

* ``number`` counts digests from 1; the key is ``digests/<number, 12 digits>.json``, so a missing
  number is a missing digest;
* ``previous_digest_sha256`` is the SHA-256 of the previous digest object's bytes (signature
  included); the first digest carries ``GENESIS_HASH``;
* ``signature`` is the base64 ECDSA_SHA_256 signature (an asymmetric KMS key, the private key never
  leaves KMS) over the SHA-256 of ``signed_bytes``: the canonical JSON (``mlcp.models.audit``) of
  every other field. KMS signs that 32-byte digest (``MessageType=DIGEST``), so a digest of any
  size (1,000 streams are ~150 KB) is signable.
"""

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlcp.models.audit import GENESIS_HASH, canonical_json
from mlcp.records import record_class

DIGEST_PREFIX = "digests/"
SIGNING_ALGORITHM: Literal["ECDSA_SHA_256"] = "ECDSA_SHA_256"
DigestTrigger = Literal["schedule", "deployment"]


def digest_key(number: int) -> str:
    """The object key of digest ``number``."""
    return f"{DIGEST_PREFIX}{number:012d}.json"


def digest_number(key: str) -> int | None:
    """The digest number a key names, or None when it is not a digest key."""
    name = key.removeprefix(DIGEST_PREFIX)
    if not key.startswith(DIGEST_PREFIX) or not name.endswith(".json"):
        return None
    stem = name.removesuffix(".json")
    return int(stem) if stem.isdigit() and len(stem) == 12 else None


class StreamAnchor(BaseModel):
    """One stream's head as a digest saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    stream: str = Field(min_length=1)
    seq: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    at: str | None = None
    """When the head last moved (the head item's ``updated_at``)."""


class AuditDigest(BaseModel):
    """One signed digest (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    version: Literal[1] = 1
    number: int = Field(ge=1)
    previous_digest_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: str
    table: str = Field(min_length=1)
    trigger: DigestTrigger
    key_id: str = Field(min_length=1)
    signing_algorithm: Literal["ECDSA_SHA_256"] = SIGNING_ALGORITHM
    streams: tuple[StreamAnchor, ...]
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """The canonical JSON of every field but ``signature``: what the signature covers."""
        return canonical_json(self.model_dump(mode="json", exclude={"signature"}))

    def message_digest(self) -> bytes:
        """SHA-256 of ``signed_bytes`` (what KMS signs and verifies, ``MessageType=DIGEST``)."""
        return hashlib.sha256(self.signed_bytes()).digest()

    def to_bytes(self) -> bytes:
        """The object body: canonical JSON of every field, signature included."""
        return canonical_json(self.model_dump(mode="json"))

    @property
    def is_first(self) -> bool:
        return self.number == 1 and self.previous_digest_sha256 == GENESIS_HASH


def object_sha256(body: bytes) -> str:
    """The hash the next digest chains to: SHA-256 (hex) of a digest object's bytes."""
    return hashlib.sha256(body).hexdigest()


def parse_digest(body: bytes) -> AuditDigest:
    """Parse a stored digest; raises ``ValueError`` (pydantic's ``ValidationError`` included)."""
    data: Any = json.loads(body)
    return AuditDigest.model_validate(data)


@record_class(slots=True)
class StoredDigest:
    """One stored digest object version as read from the bucket.

    ``digest`` is None when the body does not parse (``error`` says why); ``signature_valid`` is
    whether the signature verifies with the expected key; ``versions`` counts the object versions
    under the key (more than one: it was written over).
    """

    key: str
    number: int
    body: bytes
    digest: AuditDigest | None
    signature_valid: bool
    versions: int = 1
    error: str = ""
