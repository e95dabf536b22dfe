"""In-memory fakes of the ports (``mlcp.ports``) and of the stores the use cases write to.

Each keeps what it was given and answers from it; none talks to AWS or moto. They are what the
use-case tests run the decision logic against (ADR 0028): fast, and every answer is the test's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from mlcp.adapters.audit_trail import AppendResult
from mlcp.adapters.state import PendingApproval
from mlcp.audit import AuditAction
from mlcp.errors import ApprovalNotPending, ModelPackageNotFound
from mlcp.models.audit import AuditRecord
from mlcp.models.gates import Candidate
from mlcp.policy import Policy
from mlcp.ports import StoredReport, TaskAnswer


@dataclass
class FakeRegistry:
    """``ModelRegistry``: packages by ARN, with the statuses the use cases set."""

    packages: dict[str, tuple[Candidate, str]] = field(default_factory=dict)
    statuses: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, candidate: Candidate, modified: str = "2026-06-01T11:00:00+00:00") -> None:
        self.packages[candidate.arn] = (candidate, modified)

    def candidate(self, model_package_arn: str) -> tuple[Candidate, str]:
        if model_package_arn not in self.packages:
            raise ModelPackageNotFound(model_package_arn)
        return self.packages[model_package_arn]

    def set_status(self, model_package_arn: str, status: str, description: str) -> None:
        self.statuses.append((model_package_arn, status, description))
        candidate, modified = self.packages[model_package_arn]
        self.packages[model_package_arn] = (
            candidate.model_copy(update={"approval_status": status}),
            modified,
        )


@dataclass
class FakeEvidence:
    """``EvidenceSource``: JSON reports and artifact hashes by URI, champions by endpoint."""

    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    champions: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)

    def json_report(self, uri: str | None) -> dict[str, Any] | None:
        if uri is None:
            return None
        self.read.append(uri)
        return self.reports.get(uri)

    def sha256(self, uri: str) -> str | None:
        self.read.append(uri)
        return self.hashes.get(uri)

    def champion(self, endpoint: str) -> tuple[str | None, str | None]:
        self.read.append(f"champion:{endpoint}")
        return self.champions.get(endpoint, (None, None))


@dataclass
class FakePolicies:
    """``PolicySource``: one policy, counting fresh reads."""

    policy: Policy
    fresh_reads: int = 0

    def get(self, *, force_fetch: bool = False) -> Policy:
        self.fresh_reads += int(force_fetch)
        return self.policy


@dataclass
class FakeReports:
    """``ReportStore``: documents by key."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def write(self, key: str, document: dict[str, Any]) -> StoredReport:
        self.documents[key] = document
        body = json.dumps(document, sort_keys=True, default=str).encode()
        return StoredReport(f"s3://reports/{key}?versionId=1", hashlib.sha256(body).hexdigest())


@dataclass
class FakeAudit:
    """The audit trail's ``append``, once per decision id (as the real trail guarantees)."""

    records: list[dict[str, Any]] = field(default_factory=list)

    def append(
        self,
        *,
        stream: str,
        action: AuditAction,
        actor: str,
        subject: str,
        evidence: dict[str, Any],
        decision_id: str,
        event_id: str | None = None,
    ) -> AppendResult:
        for seq, earlier in enumerate(self.records, start=1):
            if earlier["decision_id"] == decision_id:
                return AppendResult(record=_record(earlier, seq), appended=False)
        fields = {
            "stream": stream,
            "action": AuditAction(action).value,
            "actor": actor,
            "subject": subject,
            "evidence": dict(evidence),
            "decision_id": decision_id,
            "event_id": event_id,
        }
        self.records.append(fields)
        return AppendResult(record=_record(fields, len(self.records)), appended=True)

    def actions(self) -> list[str]:
        return [record["action"] for record in self.records]


def _record(fields: dict[str, Any], seq: int) -> AuditRecord:
    return AuditRecord.model_construct(**fields, seq=seq, prev_hash="0" * 64, hash="0" * 64, at="")


@dataclass
class FakeState:
    """The control-plane state the approval flow uses: statuses, claimed transitions, pending approvals."""

    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)
    claims: dict[tuple[str, str], str] = field(default_factory=dict)
    pending: dict[str, tuple[PendingApproval, str]] = field(default_factory=dict)

    def record_status(self, model_package_arn: str, status: str, last_modified_time: str) -> bool:
        known = self.statuses.get(model_package_arn)
        if known is not None and known[1] > last_modified_time:
            return False
        self.statuses[model_package_arn] = (status, last_modified_time)
        return True

    def claim_approval_transition(
        self, model_package_arn: str, last_modified_time: str, execution: str
    ) -> bool:
        owner = self.claims.setdefault((model_package_arn, last_modified_time), execution)
        return owner == execution

    def put_pending_approval(self, approval: PendingApproval, task_token: str) -> bool:
        self.pending[approval.approval_id] = (approval, task_token)
        return True

    def get_approval(self, approval_id: str) -> tuple[PendingApproval, str] | None:
        return self.pending.get(approval_id)

    def decide(self, approval_id: str, status: str, decided_by: str, reason: str) -> PendingApproval:
        return self._move(approval_id, "pending", status=status, decided_by=decided_by, reason=reason)

    def reopen(self, approval_id: str, decided: str) -> PendingApproval:
        return self._move(approval_id, decided, status="pending", decided_by=None, reason=None)

    def abandon(self, approval_id: str, decided: str, why: str) -> PendingApproval:
        return self._move(approval_id, decided, status="abandoned", reason=why)

    def _move(self, approval_id: str, expected: str, **update: Any) -> PendingApproval:
        """A conditional move, as the table's: ``ApprovalNotPending`` unless the status is ``expected``."""
        if approval_id not in self.pending or self.pending[approval_id][0].status != expected:
            raise ApprovalNotPending(f"approval {approval_id!r} is not {expected}")
        approval, token = self.pending[approval_id]
        moved = approval.model_copy(update=update)
        self.pending[approval_id] = (moved, token)
        return moved


@dataclass
class FakeNotifier:
    """``Notifier``: the messages sent."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def notify(self, subject: str, message: dict[str, Any]) -> str:
        self.sent.append((subject, message))
        return f"message-{len(self.sent)}"


@dataclass
class FakeTaskCallbacks:
    """``TaskCallbacks``: the answers sent, by token; a token in ``gone`` answers with that code
    (the wait timed out or was answered first), as ``adapters/task_callbacks.py`` classifies it."""

    sent: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    gone: dict[str, str] = field(default_factory=dict)

    def _answer(self, kind: str, token: str, **fields: str) -> TaskAnswer:
        if token in self.gone:
            return TaskAnswer(gone=self.gone[token])
        self.sent.append((kind, token, fields))
        return TaskAnswer()

    def succeed(self, token: str, output: str) -> TaskAnswer:
        return self._answer("success", token, output=output)

    def fail(self, token: str, error: str, cause: str) -> TaskAnswer:
        return self._answer("failure", token, error=error, cause=cause)

    def heartbeat(self, token: str) -> TaskAnswer:
        return self._answer("heartbeat", token)
