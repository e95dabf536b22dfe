"""Readable output: the shared table helper fits 120 columns with a header row (--wide shows every
field), the audit table says why, the timeline wraps and names the reason for a refusal, `mlcp
--version` works and a closed pipe ends a command quietly."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from mlcp.adapters.state import ControlPlaneState, PendingApproval
from mlcp.audit import AuditAction, AuditRecord
from mlcp_cli.audit_view import reason_of
from mlcp_cli.commands.audit import _write_table
from mlcp_cli.main import main
from mlcp_cli.scenario.runner import execution_reason
from mlcp_cli.tables import WIDTH, Column, elide, render, short_arn, short_time, wrap

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-model/12"


def test_a_table_has_a_header_and_fits_120_columns() -> None:
    columns = (Column("id"), Column("subject"), Column("reason"), Column("hash", wide_only=True))
    rows = [("1", PACKAGE * 2, "metrics: auc 0.7 below 0.8 " * 6, "abc")]
    lines = render(columns, rows)
    assert lines[0].split() == ["id", "subject", "reason"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert all(len(line) <= WIDTH for line in lines)
    assert "..." in lines[2]
    wide = render(columns, rows, wide=True)
    assert wide[0].split() == ["id", "subject", "reason", "hash"]
    assert PACKAGE * 2 in wide[2]
    assert max(len(line) for line in wide) > WIDTH


def test_elide_keeps_head_and_tail() -> None:
    assert elide("abcdefghijkl", 7) == "ab...kl"
    assert elide("short", 10) == "short"
    assert short_arn(PACKAGE) == "churn-model/12"
    assert short_arn("arn:aws:iam::123456789012:user/reviewer") == "user/reviewer"
    assert short_arn("mlcp") == "mlcp"
    assert short_time("2026-12-07T19:36:32.000000Z") == "2026-12-07 19:36:32"


def _record(seq: int, action: AuditAction, evidence: dict[str, object]) -> AuditRecord:
    return AuditRecord(
        stream="group#churn-model",
        seq=seq,
        at="2026-12-07T19:36:32.000000Z",
        action=action,
        actor="arn:aws:iam::123456789012:user/reviewer",
        subject=PACKAGE,
        decision_id=f"{action.value}:{PACKAGE}:2026-12-07T19:36:32.000000Z:" + "x" * 40,
        event_id="3c7f5c0b-56b0-415d-b8c7-f0f468f99a5e",
        evidence=evidence,
        prev_hash="0" * 64,
        hash="f" * 64,
    )


def test_every_rejection_rollback_and_suppression_shows_its_reason() -> None:
    gates = {
        "results": [
            {"gate": "metrics", "outcome": "fail", "reason": "auc 0.71 < 0.8"},
            {"gate": "lineage", "outcome": "pass", "reason": "lineage recorded"},
        ]
    }
    assert reason_of(_record(1, AuditAction.GATES_EVALUATED, gates)) == "metrics: auc 0.71 < 0.8"
    rejected = _record(2, AuditAction.PACKAGE_REJECTED, {"reasons": ["metrics: auc 0.71 < 0.8"]})
    assert reason_of(rejected) == "metrics: auc 0.71 < 0.8"
    rolled = _record(
        3, AuditAction.DEPLOYMENT_ROLLED_BACK, {"failure_reason": "alarm churn-prod-5xx in ALARM"}
    )
    assert reason_of(rolled) == "alarm churn-prod-5xx in ALARM"
    suppressed = _record(4, AuditAction.RETRAINING_SUPPRESSED, {"reason": "cooldown: 3 h left"})
    assert reason_of(suppressed) == "cooldown: 3 h left"
    out = io.StringIO()
    _write_table([rejected, rolled, suppressed], out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:4] == ["seq", "at", "(UTC)", "action"]
    assert "reason" in lines[0]
    assert all(len(line) <= WIDTH for line in lines)
    assert "alarm churn-prod-5xx in ALARM" in out.getvalue()
    assert "  churn-model/12  " in out.getvalue()
    wide = io.StringIO()
    _write_table([rejected], wide, wide=True)
    assert rejected.decision_id in wide.getvalue()


def test_the_timeline_wraps_and_says_why_an_execution_said_no() -> None:
    line = "           -> DeploymentStateMachine SUCCEEDED: " + " > ".join(["VerifyApproval"] * 20)
    wrapped = wrap(line).splitlines()
    assert all(len(part) <= WIDTH for part in wrapped)
    assert wrapped[1].startswith(" " * 13)
    output = {"verdict": {"reasons": ["metrics: auc 0.71 < 0.8", "bias: |DPL| 0.3 > 0.2"]}, "id": "e"}
    events = [{"executionSucceededEventDetails": {"output": json.dumps(output)}}]
    assert execution_reason(events, "Rejected") == "metrics: auc 0.71 < 0.8; bias: |DPL| 0.3 > 0.2"
    assert execution_reason(events, "Deployed") == ""
    error = {"errorMessage": "the workflow was started by an event it does not take", "errorType": "InvalidEvent",
             "stackTrace": ["  File app.py, line 29"]}  # fmt: skip
    caught = [
        {"executionSucceededEventDetails": {"output": json.dumps({"error": {"Cause": json.dumps(error)}})}}
    ]
    assert (
        execution_reason(caught, "EventRejected")
        == "InvalidEvent: the workflow was started by an event it does not take"
    )
    failed = [{"executionFailedEventDetails": {"error": "States.Timeout", "cause": "no answer"}}]
    assert execution_reason(failed, "AwaitApproval") == "States.Timeout: no answer"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("mlcp 0.")


def test_a_closed_pipe_ends_quietly() -> None:
    command = [
        sys.executable,
        "-m",
        "mlcp_cli.main",
        "policy",
        "explain",
        "fraud-x",
        "--file",
        "policy/example.yaml",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before anything is written: `| head -0`
    _, err = process.communicate()
    assert b"Traceback" not in err
    assert b"BrokenPipe" not in err
    assert process.returncode == 141  # the write did fail: the check above saw a real closed pipe


@pytest.fixture
def approvals_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ...]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for name in ("state", "audit"):
            dynamodb.create_table(
                TableName=name,
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
        approval = PendingApproval(
            approval_id="apr-7f3c",
            model_package_arn=PACKAGE,
            group="churn-model",
            version=12,
            created_by="arn:aws:iam::123456789012:user/ml-engineer",
            tier="high",
            status="pending",
            requested_at="2026-12-07T10:00:00+00:00",
            expires_at="2099-12-09T10:00:00+00:00",
            reasons=["bias: |DPL| 0.31 above 0.2 (soft gate: a person decides)", "x" * 200],
            approvers=["arn:aws:iam::123456789012:role/risk-officer"],
        )
        ControlPlaneState("state", dynamodb).put_pending_approval(approval, "token")
        yield ("--state-table", "state", "--audit-table", "audit")


def test_approvals_list_is_a_table_and_show_tells_everything(
    approvals_table: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["approvals", "list", *approvals_table]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["id", "package", "tier", "status"]
    assert lines[2].startswith("apr-7f3c  churn-model v12  high")
    assert "bias: |DPL| 0.31" in lines[2]
    assert all(len(line) <= WIDTH for line in lines)

    assert main(["approvals", "show", "apr-7f3c", *approvals_table]) == 0
    out = capsys.readouterr().out
    assert "who may answer:  arn:aws:iam::123456789012:role/risk-officer" in out
    assert "  - bias: |DPL| 0.31 above 0.2 (soft gate: a person decides)" in out
    assert "  - " + "x" * 200 in out  # in full: show is where the whole reason is read

    assert main(["approvals", "show", "apr-7f3c", "--json", *approvals_table]) == 0
    assert json.loads(capsys.readouterr().out)["reasons"][0].startswith("bias:")
    assert main(["approvals", "show", "apr-nope", *approvals_table]) == 1
    assert "no approval apr-nope" in capsys.readouterr().err


def test_help_fits_120_columns(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "COMMAND" in out
    assert all(len(line) <= WIDTH for line in out.splitlines())
