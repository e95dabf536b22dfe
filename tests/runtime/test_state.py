"""The control-plane state table on moto: transition claims, out-of-order statuses, approvals."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from mlcp.adapters.state import ControlPlaneState, PendingApproval
from mlcp.errors import ApprovalNotPending

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlPlaneState]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName="state",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ControlPlaneState("state", ddb)


def test_an_approval_is_claimed_once_by_one_execution(state: ControlPlaneState) -> None:
    assert state.claim_approval_transition(ARN, "2026-11-26T10:00:00", "exec-1")
    assert state.claim_approval_transition(ARN, "2026-11-26T10:00:00", "exec-1")  # retry / redrive
    assert not state.claim_approval_transition(ARN, "2026-11-26T10:00:00", "exec-2")  # redelivered event
    # A metadata update of the approved package changes its time but is no new approval.
    assert not state.claim_approval_transition(ARN, "2026-11-26T11:00:00", "exec-3")


def test_a_new_approval_after_a_rejection_is_a_transition(state: ControlPlaneState) -> None:
    assert state.claim_approval_transition(ARN, "2026-11-26T10:00:00", "exec-1")
    assert state.record_status(ARN, "Rejected", "2026-11-26T11:00:00")
    assert state.claim_approval_transition(ARN, "2026-11-26T12:00:00", "exec-2")


def test_an_older_status_never_overwrites_a_newer_one(state: ControlPlaneState) -> None:
    assert state.record_status(ARN, "Rejected", "2026-11-26T11:00:00")
    assert not state.record_status(ARN, "PendingManualApproval", "2026-11-26T09:00:00")  # late event
    # ... and an approval older than the rejection is not claimed either.
    assert not state.claim_approval_transition(ARN, "2026-11-26T10:00:00", "exec-1")


def _approval(approval_id: str = "a1", requested_at: str = "2026-11-26T10:00:00+00:00") -> PendingApproval:
    return PendingApproval(
        approval_id=approval_id,
        model_package_arn=ARN,
        group="churn",
        version=1,
        created_by="arn:aws:iam::123456789012:user/ml-engineer",
        tier="high",
        status="pending",
        requested_at=requested_at,
        expires_at="2026-11-28T10:00:00+00:00",
        reasons=["tier high requires a named approver"],
    )


def test_pending_approvals_are_listed_and_decided_at_most_once(state: ControlPlaneState) -> None:
    assert state.put_pending_approval(_approval("a2", "2026-11-26T11:00:00+00:00"), "token-2")
    assert state.put_pending_approval(_approval("a1"), "token-1")
    assert [a.approval_id for a in state.list_approvals()] == ["a1", "a2"]
    found = state.get_approval("a1")
    assert found is not None
    assert found[1] == "token-1"

    decided = state.decide("a1", "granted", "arn:aws:iam::123456789012:user/risk", "reviewed")
    assert decided.status == "granted"
    assert decided.decided_by == "arn:aws:iam::123456789012:user/risk"
    with pytest.raises(ApprovalNotPending, match="is granted, not pending"):
        state.decide("a1", "denied", "someone", "too late")
    with pytest.raises(ApprovalNotPending, match="no approval"):
        state.decide("nope", "granted", "someone", "?")
    assert [a.approval_id for a in state.list_approvals()] == ["a2"]
    assert {a.approval_id for a in state.list_approvals(None)} == {"a1", "a2"}
    # A retried request for a decided approval does not reopen it.
    assert not state.put_pending_approval(_approval("a1"), "token-3")


def test_an_undelivered_answer_reopens_and_an_abandoned_approval_can_be_asked_again(
    state: ControlPlaneState,
) -> None:
    assert state.put_pending_approval(_approval("a1"), "token-1")
    state.decide("a1", "granted", "arn:aws:iam::123456789012:user/risk", "reviewed")
    reopened = state.reopen("a1", "granted")  # SendTaskSuccess throttled: answer again
    assert (reopened.status, reopened.decided_by, reopened.reason) == ("pending", None, None)
    assert [a.approval_id for a in state.list_approvals()] == ["a1"]
    with pytest.raises(ApprovalNotPending, match="is pending, not granted"):
        state.reopen("a1", "granted")

    state.decide("a1", "denied", "arn:aws:iam::123456789012:user/risk", "no")
    abandoned = state.abandon("a1", "denied", "the deployment has ended")
    assert (abandoned.status, abandoned.reason) == ("abandoned", "the deployment has ended")
    assert state.list_approvals() == []
    with pytest.raises(ApprovalNotPending, match="is abandoned, not pending"):
        state.decide("a1", "granted", "someone", "late")
    # A redriven execution asks again with a live token: pending once more.
    assert state.put_pending_approval(_approval("a1"), "token-2")
    found = state.get_approval("a1")
    assert found is not None
    assert (found[0].status, found[1]) == ("pending", "token-2")
