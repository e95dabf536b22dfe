"""In-memory fakes of the ports (``mlcp.ports``) and of the stores the use cases write to.

Each keeps what it was given and answers from it; none talks to AWS or moto. They are what the
use-case tests run the decision logic against (ADR 0028): fast, and every answer is the test's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mlcp.adapters.state import PendingApproval
from mlcp.audit import AuditAction
from mlcp.errors import ApprovalNotPending, ModelPackageNotFound, PipelineStartFailed
from mlcp.models.audit import AppendResult, AuditRecord, StreamHead
from mlcp.models.gates import Candidate
from mlcp.policy import Policy
from mlcp.ports import Admission, DataWindow, StoredReport, TaskAnswer


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
    """``AuditLog``: one record per decision id (as the real trail guarantees), read back by stream."""

    table_name = "audit"
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

    def read(self, stream: str) -> list[AuditRecord]:
        return [_record(r, seq) for seq, r in enumerate(self.records, start=1) if r["stream"] == stream]

    def heads(self) -> list[tuple[StreamHead, str | None]]:
        last: dict[str, int] = {r["stream"]: seq for seq, r in enumerate(self.records, start=1)}
        return [(StreamHead(stream=s, seq=seq, hash="0" * 64), None) for s, seq in last.items()]


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


@dataclass
class FakeRetrainingGuards:
    """``RetrainingGuards``: streaks per (endpoint, check) counted once per run, a data window per
    pipeline, and per pipeline one lease (an execution token), a cooldown after the last start and
    a maximum of starts per day, as ``adapters/retraining_state.py`` keeps them."""

    streaks: dict[tuple[str, str], tuple[int, set[str]]] = field(default_factory=dict)
    windows: dict[str, DataWindow] = field(default_factory=dict)
    leases: dict[str, str] = field(default_factory=dict)
    starts: dict[str, list[datetime]] = field(default_factory=dict)
    executions: dict[str, str] = field(default_factory=dict)
    abandoned: list[str] = field(default_factory=list)
    clock: Callable[[], datetime] | None = None
    """When an object arrives unless ``accumulate_data`` is told (the table's: now)."""

    def streak(self, endpoint: str, check_kind: str, bad: bool, *, run_id: str | None = None) -> int:
        count, runs = self.streaks.get((endpoint, check_kind), (0, set()))
        if run_id is not None and run_id in runs:
            return count
        count = count + 1 if bad else 0
        self.streaks[(endpoint, check_kind)] = (count, runs | ({run_id} if run_id else set()))
        return count

    def accumulate_data(
        self, pipeline: str, size: int, object_key: str, event_id: str, *, at: datetime | None = None
    ) -> DataWindow:
        window = self.windows.get(pipeline, DataWindow())
        at = at if at is not None or self.clock is None else self.clock()
        self.windows[pipeline] = DataWindow(
            window.objects + 1, window.bytes + size, window.first_at or at, at or window.last_at
        )
        return self.windows[pipeline]

    def data_window(self, pipeline: str) -> DataWindow:
        return self.windows.get(pipeline, DataWindow())

    def reset_data(self, pipeline: str, *, window: DataWindow | None = None) -> bool:
        return self.windows.pop(pipeline, None) is not None

    def try_acquire(
        self,
        pipeline: str,
        execution_token: str,
        now: datetime,
        cooldown: timedelta,
        max_per_day: int,
        *,
        lease: timedelta = timedelta(hours=12),
    ) -> Admission:
        if pipeline in self.leases:
            return Admission(self.leases[pipeline] == execution_token, "a retraining is running")
        starts = self.starts.setdefault(pipeline, [])
        if starts and now - starts[-1] < cooldown:
            return Admission(False, f"cooling down since {starts[-1].isoformat()}")
        if len([s for s in starts if now - s < timedelta(days=1)]) >= max_per_day:
            return Admission(False, f"daily maximum of {max_per_day} reached")
        starts.append(now)
        self.leases[pipeline] = execution_token
        return Admission(True, "admitted")

    def attach_execution(self, pipeline: str, execution_token: str, execution_arn: str) -> bool:
        self.executions[execution_token] = execution_arn
        return self.leases.get(pipeline) == execution_token

    def release(
        self, pipeline: str, finished_at: datetime, succeeded: bool, *, execution_arn: str | None = None
    ) -> bool:
        return self.leases.pop(pipeline, None) is not None

    def abandon(self, pipeline: str, execution_token: str, now: datetime) -> bool:
        if self.leases.get(pipeline) != execution_token:
            return False
        del self.leases[pipeline]
        self.starts[pipeline].pop()  # the admission is given back: no cooldown, no count
        self.abandoned.append(execution_token)
        return True


@dataclass
class FakePipelines:
    """``PipelineStarter``: the starts, once per client request token; ``refuse`` makes SageMaker
    refuse every start with that error code."""

    started: dict[str, tuple[str, dict[str, str], str]] = field(default_factory=dict)
    refuse: str | None = None

    def start(
        self, pipeline: str, parameters: Mapping[str, str], description: str, client_request_token: str
    ) -> str:
        if self.refuse is not None:
            raise PipelineStartFailed(self.refuse, f"{pipeline}: {self.refuse}")
        self.started.setdefault(client_request_token, (pipeline, dict(parameters), description))
        return f"arn:aws:sagemaker:us-east-1:111111111111:pipeline/{pipeline}/execution/{client_request_token[:12]}"
