"""Append-only, hash-chained audit trail.

Every decision the control plane takes is appended to a per-stream chain in DynamoDB
(``AuditTrail``); ``verify_chain`` proves a chain was not edited, reordered, truncated or padded.
See ``mlcp.audit.model`` for the canonical encoding the hashes are computed over.
"""

from mlcp.adapters.audit_trail import AppendResult, AuditTrail, InvalidAuditItem, decision_pk, record_sk
from mlcp.audit.model import (
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
from mlcp.audit.verify import ChainProblem, ChainVerification, ProblemKind, verify_chain

__all__ = [
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "AppendResult",
    "AuditAction",
    "AuditEncodingError",
    "AuditRecord",
    "AuditTrail",
    "ChainProblem",
    "ChainVerification",
    "InvalidAuditItem",
    "ProblemKind",
    "StreamHead",
    "canonical_json",
    "decision_pk",
    "format_timestamp",
    "record_hash",
    "record_sk",
    "verify_chain",
]
