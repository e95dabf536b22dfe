"""Append-only, hash-chained audit trail.

Every decision the control plane takes is appended to a per-stream chain in DynamoDB (the store is
the adapter ``mlcp.adapters.audit_trail.AuditTrail``); ``verify_chain`` proves a chain was not
edited, reordered, truncated or padded. See ``mlcp.models.audit`` for the record and the canonical
encoding the hashes are computed over. This face hands on the model and the verifier, never the
store (ADR 0028: the domain does not import the adapters).
"""

from typing import TYPE_CHECKING, Any

from mlcp.models.audit import (
    GENESIS_HASH,
    HASHED_FIELDS,
    AuditAction,
    AuditEncodingError,
    AuditRecord,
    StreamHead,
    canonical_json,
    format_timestamp,
    record_hash,
)

if TYPE_CHECKING:
    from mlcp.audit.verify import ChainProblem, ChainVerification, ProblemKind, verify_chain

_VERIFY_NAMES = frozenset({"ChainProblem", "ChainVerification", "ProblemKind", "verify_chain"})

__all__ = [
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "AuditAction",
    "AuditEncodingError",
    "AuditRecord",
    "ChainProblem",
    "ChainVerification",
    "ProblemKind",
    "StreamHead",
    "canonical_json",
    "format_timestamp",
    "record_hash",
    "verify_chain",
]


def __getattr__(name: str) -> Any:
    """The chain verifier's names, loaded when first asked for: functions append to the trail,
    only the digest and the CLI verify it (cold start, docs/adr/0030)."""
    if name not in _VERIFY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from mlcp.audit import verify

    value = getattr(verify, name)
    globals()[name] = value
    return value
