"""mlcp policy dry-run's replay of approvals and retraining records, and its selection (the gate
replay runs on the emulator: tests/operator_cli/test_on_the_emulator.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mlcp.audit import AuditAction, AuditRecord
from mlcp.policy import parse_policy
from mlcp_cli.policy_dry_run import dry_run, parse_since, select

APPROVER = "arn:aws:iam::123456789012:user/risk-officer"
OTHER = "arn:aws:iam::123456789012:user/someone-else"
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detector/2"


def _record(
    stream: str,
    action: AuditAction,
    actor: str = "mlcp",
    at: str = "2026-06-01T12:00:00.000000Z",
    **evidence: Any,
) -> AuditRecord:
    return AuditRecord(
        stream=stream,
        seq=1,
        prev_hash="0" * 64,
        hash="0" * 64,
        actor=actor,
        at=at,
        action=action,
        subject=PACKAGE if stream.startswith("group#") else stream,
        evidence=evidence,
        decision_id="d",
    )


def _policy(approvers: list[str] | None, retraining: dict[str, Any] | None = None) -> Any:
    high: dict[str, Any] = {"human_approval": True, "approvers": approvers}
    if retraining is not None:
        high["monitoring"] = {"retraining": retraining}
    return parse_policy({"tiers": {"high": high}, "groups": [{"match": "fraud-*", "tier": "high"}]}, "test")


def test_an_approval_by_someone_off_the_new_approvers_list_would_be_refused() -> None:
    granted = _record("group#fraud-detector", AuditAction.APPROVAL_GRANTED, actor=OTHER, tier="high")
    run = dry_run([granted], _policy([APPROVER]), lambda uri: None)
    (changed,) = run.changed
    assert (changed.before, changed.after) == ("granted", "refused")
    assert changed.why == [f"{OTHER} is not an approver of tier high"]
    assert dry_run([granted], _policy([OTHER]), lambda uri: None).changed == []


def test_a_retraining_the_new_policy_no_longer_triggers() -> None:
    started = _record(
        "pipeline#fraud-training", AuditAction.RETRAINING_STARTED, trigger="alarm", reason="alarm x"
    )
    keeps = _policy(None, {"pipeline": "fraud-training", "on_alarms": ["x"]})
    drops = _policy(None, {"pipeline": "fraud-training", "on_violations": ["data_quality"]})
    assert dry_run([started], keeps, lambda uri: None).changed == []
    (changed,) = dry_run([started], drops, lambda uri: None).changed
    assert changed.after == "not retrained"
    assert changed.why == ["the new policy does not retrain fraud-training on alarm triggers"]


def test_a_gate_record_without_its_report_is_skipped_with_the_reason() -> None:
    evaluated = _record(
        "group#fraud-detector",
        AuditAction.GATES_EVALUATED,
        decision="approve",
        report_uri="s3://r/1.json",
        report_sha256="0" * 64,
    )
    run = dry_run([evaluated], _policy(None), lambda uri: None)
    assert run.skipped == [
        {
            "stream": "group#fraud-detector",
            "seq": 1,
            "action": "gates.evaluated",
            "reason": "gate report s3://r/1.json is gone",
        }
    ]
    tampered = dry_run([evaluated], _policy(None), lambda uri: b"{}")
    assert "does not match its recorded SHA-256" in tampered.skipped[0]["reason"]


def test_since_and_group_select_the_records() -> None:
    now = datetime(2026, 6, 10, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 6, 3, tzinfo=UTC)
    assert parse_since("2026-06-01", now) == datetime(2026, 6, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_since("last week", now)
    old = _record("group#fraud-detector", AuditAction.APPROVAL_GRANTED, at="2026-05-01T00:00:00.000000Z")
    new = _record("group#fraud-detector", AuditAction.APPROVAL_GRANTED, at="2026-06-05T00:00:00.000000Z")
    other = _record("group#churn-model", AuditAction.APPROVAL_GRANTED, at="2026-06-05T00:00:00.000000Z")
    ignored = _record("group#fraud-detector", AuditAction.PACKAGE_APPROVED, at="2026-06-05T00:00:00.000000Z")
    since = parse_since("7d", now)
    assert list(select([old, new, other, ignored], since=since, group="fraud-detector")) == [new]
