"""A human's answer reaches the workflow through ``TaskCallbacks`` (fakes, no moto): delivered, the
token gone (the deployment no longer waits: abandoned, audited, refused), or the answer lost."""

from __future__ import annotations

import json

import pytest

from gates import factories as f
from mlcp.adapters.state import PendingApproval
from mlcp.errors import ApprovalNotPending
from mlcp.usecases.approval import ApprovalDeps
from mlcp.usecases.approval_records import decide_approval
from mlcp.usecases.gating import GatingDeps

from .fakes import (
    FakeAudit,
    FakeEvidence,
    FakePolicies,
    FakeRegistry,
    FakeReports,
    FakeState,
    FakeTaskCallbacks,
)

TOKEN = "token-approval-1"
APPROVAL_ID = "approval-1"


class World:
    """One pending approval of the package the factories build, and the ports around it."""

    def __init__(self) -> None:
        candidate = f.candidate()
        self.registry = FakeRegistry()
        self.registry.add(candidate)
        self.audit = FakeAudit()
        self.state = FakeState()
        self.callbacks = FakeTaskCallbacks()
        self.state.put_pending_approval(
            PendingApproval(
                approval_id=APPROVAL_ID,
                model_package_arn=candidate.arn,
                group="fraud-detector",
                version=7,
                created_by=f.CREATOR,
                tier="high",
                status="pending",
                requested_at="2026-06-01T11:00:00+00:00",
                expires_at="2026-06-02T11:00:00+00:00",
                approvers=[f.APPROVER],
                execution="arn:aws:states:us-east-1:123456789012:execution:deployment:run-1",
            ),
            TOKEN,
        )
        gating = GatingDeps(
            registry=self.registry,
            policies=FakePolicies(f.policy()),
            reports=FakeReports(),
            audit=self.audit,  # type: ignore[arg-type]
            evidence=FakeEvidence(),
            clock=lambda: f.NOW,
        )
        self.deps = ApprovalDeps(gating=gating, state=self.state, callbacks=self.callbacks)  # type: ignore[arg-type]

    def decide(self, *, grant: bool) -> PendingApproval:
        return decide_approval(
            APPROVAL_ID, grant=grant, reason="reviewed", identity=f.APPROVER, deps=self.deps
        )

    def status(self) -> str:
        return self.state.pending[APPROVAL_ID][0].status


def test_a_grant_resumes_the_workflow_with_the_decision() -> None:
    world = World()
    decided = world.decide(grant=True)
    assert decided.status == world.status() == "granted"
    [(kind, token, fields)] = world.callbacks.sent
    assert (kind, token) == ("success", TOKEN)
    assert json.loads(fields["output"])["decided_by"] == f.APPROVER
    assert [r["action"] for r in world.audit.records] == ["approval.granted"]


def test_a_denial_fails_the_task_with_the_error_the_workflow_catches() -> None:
    world = World()
    world.decide(grant=False)
    [(kind, token, fields)] = world.callbacks.sent
    assert (kind, token, fields["error"]) == ("failure", TOKEN, "ApprovalDenied")
    assert fields["cause"] == f"denied by {f.APPROVER}: reviewed"
    assert [r["action"] for r in world.audit.records] == ["approval.denied"]


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_an_answer_to_a_gone_token_is_abandoned_and_refused(code: str) -> None:
    world = World()
    world.callbacks.gone[TOKEN] = code
    with pytest.raises(ApprovalNotPending, match=f"Step Functions: {code}"):
        world.decide(grant=True)
    assert world.status() == "abandoned"
    assert world.callbacks.sent == []
    assert [r["action"] for r in world.audit.records] == ["approval.abandoned"]


class Unreachable(Exception):
    pass


def test_an_answer_that_did_not_land_leaves_the_approval_to_answer_again() -> None:
    world = World()

    def lost(token: str, output: str) -> object:
        raise Unreachable(token)

    world.callbacks.succeed = lost  # type: ignore[method-assign]
    with pytest.raises(Unreachable):
        world.decide(grant=True)
    assert world.status() == "pending"
    assert world.audit.records == []
