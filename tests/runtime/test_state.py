"""The control-plane state table on moto: transition claims, out-of-order statuses, approvals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


def _pending(**fields: Any) -> PendingApproval:
    """A pending approval of fraud-detector v1 (high tier), with ``fields`` overridden."""
    defaults: dict[str, Any] = {
        "approval_id": "a",
        "model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/fraud-detector/1",
        "group": "fraud-detector",
        "version": 1,
        "created_by": "arn:aws:iam::123456789012:user/ml-engineer",
        "tier": "high",
        "status": "pending",
        "requested_at": "2026-12-07T00:00:00+00:00",
        "expires_at": "2026-12-09T00:00:00+00:00",
    }
    return PendingApproval(**(defaults | fields))


def test_the_approval_notification_links_the_report_the_waiting_execution_and_the_answer() -> None:
    from mlcp.usecases.approval_records import console_links

    approval = _pending(
        approval_id="0123456789abcdef",
        report_uri="s3://mlcp-reports/gate-reports/fraud-detector/1/r.json?versionId=abc",
        execution="arn:aws:states:eu-west-1:123456789012:execution:mlcp-prod-deployment:e1",
    )
    machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:mlcp-prod-approval-decision"
    links = console_links(approval, machine)
    console = "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/"
    assert links["report_console_url"] == (
        "https://s3.console.aws.amazon.com/s3/object/mlcp-reports?prefix=gate-reports/fraud-detector/1/r.json"
    )
    assert links["waiting_execution_url"] == f"{console}executions/details/{approval.execution}"
    assert links["answer_url"] == f"{console}statemachines/view/{machine}"
    assert links["answer_input"]["approval_id"] == "0123456789abcdef"
    # Without the decision state machine (an older stack), only the report and the execution.
    assert set(console_links(approval, None)) == {"report_console_url", "waiting_execution_url"}


@pytest.mark.parametrize(
    ("identity", "grant", "approvers", "why"),
    [
        ("arn:aws:iam::123456789012:user/risk", True, [], None),
        ("arn:aws:iam::123456789012:user/creator", True, [], "the approver created the package"),
        ("arn:aws:iam::123456789012:user/creator", False, [], None),  # a creator may withdraw
        ("unknown", True, [], "the approver's identity is unknown"),
        ("arn:aws:iam::123456789012:user/risk", True, ["arn:aws:iam::123456789012:user/risk"], None),
        (
            "arn:aws:iam::123456789012:user/reviewer",
            False,
            ["arn:aws:iam::123456789012:user/risk"],
            "arn:aws:iam::123456789012:user/reviewer is not an approver of tier high",
        ),
        # A role on the list covers every session of it.
        (
            "arn:aws:sts::123456789012:assumed-role/risk-officers/alice",
            True,
            ["arn:aws:iam::123456789012:role/risk-officers"],
            None,
        ),
    ],
)
def test_who_may_answer_a_named_approval(
    identity: str, grant: bool, approvers: list[str], why: str | None
) -> None:
    from mlcp.usecases.approval_records import refusal_of

    approval = _pending(created_by="arn:aws:iam::123456789012:user/creator", approvers=approvers)
    assert refusal_of(approval, identity, approval.created_by, grant=grant) == why
