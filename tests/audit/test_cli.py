"""`mlcp audit show|verify` against moto: the plain functions and the argparse entry point."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest

from mlcp.audit import AuditAction, AuditTrail, record_sk
from mlcp_cli.commands.audit import show_audit, verify_audit
from mlcp_cli.main import main

from .conftest import TABLE


def _fill(trail: AuditTrail, endpoint_stream: str = "endpoint#churn-prod") -> None:
    for i in range(3):
        trail.append(
            stream="group#churn",
            action=AuditAction.PACKAGE_REGISTERED,
            actor="fn:intake",
            subject=f"pkg/{i}",
            evidence={"i": i, "name": "modèle"},
            decision_id=f"g-{i}",
            event_id=f"e-{i}",
        )
    trail.append(
        stream=endpoint_stream,
        action=AuditAction.DEPLOYMENT_PROMOTED,
        actor="sfn:deploy",
        subject="endpoint/churn-prod",
        evidence={"canary": 10},
        decision_id="dep-1",
    )


def test_show_table(trail: AuditTrail) -> None:
    _fill(trail)
    out = io.StringIO()
    assert show_audit(trail, None, False, out) == 0
    text = out.getvalue()
    assert "== endpoint#churn-prod (1 records) ==" in text
    assert "== group#churn (3 records) ==" in text
    assert text.index("endpoint#churn-prod") < text.index("group#churn")
    header = next(line for line in text.splitlines() if line.startswith("seq"))
    assert header.split() == ["seq", "at", "(UTC)", "action", "actor", "subject", "reason"]
    assert all(len(line) <= 120 for line in text.splitlines())
    wide = io.StringIO()
    assert show_audit(trail, None, False, wide, wide=True) == 0
    wide_header = next(line for line in wide.getvalue().splitlines() if line.startswith("seq"))
    assert wide_header.split()[-3:] == ["decision_id", "event_id", "hash"]
    assert "deployment.promoted" in text
    assert "package.registered" in text


def test_show_json_one_record_per_line(trail: AuditTrail) -> None:
    _fill(trail)
    out = io.StringIO()
    assert show_audit(trail, "group#churn", True, out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    parsed = [json.loads(line) for line in lines]
    assert [p["seq"] for p in parsed] == [1, 2, 3]
    assert parsed[0]["evidence"] == {"i": 0, "name": "modèle"}
    assert parsed[1]["prev_hash"] == parsed[0]["hash"]
    assert set(parsed[0]) == {
        "stream", "seq", "prev_hash", "hash", "actor", "at", "action",
        "subject", "evidence", "event_id", "decision_id",
    }  # fmt: skip


def test_show_unknown_stream(trail: AuditTrail) -> None:
    out = io.StringIO()
    assert show_audit(trail, "group#none", False, out) == 1
    assert "no audit records for stream group#none" in out.getvalue()
    empty = io.StringIO()
    assert show_audit(trail, None, False, empty) == 0
    assert empty.getvalue() == "no audit streams\n"


def test_verify_ok(trail: AuditTrail) -> None:
    _fill(trail)
    out = io.StringIO()
    assert verify_audit(trail, None, out) == 0
    assert out.getvalue() == "OK: 4 records in 2 streams verified\n"
    one = io.StringIO()
    assert verify_audit(trail, "group#churn", one) == 0
    assert one.getvalue() == "OK: 3 records in 1 streams verified\n"


def test_verify_reports_each_problem_and_fails(trail: AuditTrail, ddb: Any) -> None:
    _fill(trail)
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "group#churn"}, "sk": {"S": record_sk(2)}},
        UpdateExpression="SET subject = :s",
        ExpressionAttributeValues={":s": {"S": "pkg/forged"}},
    )
    out = io.StringIO()
    assert verify_audit(trail, None, out) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("BROKEN stream=group#churn seq=2 hash_mismatch:")
    assert lines[-1] == "FAILED: 1 problems in 1 of 2 streams (4 records read)"
    assert not any("endpoint#churn-prod" in line for line in lines)


def test_verify_reports_unreadable_items(trail: AuditTrail, ddb: Any) -> None:
    _fill(trail)
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "group#churn"}, "sk": {"S": record_sk(1)}},
        UpdateExpression="SET #a = :a",
        ExpressionAttributeNames={"#a": "action"},
        ExpressionAttributeValues={":a": {"S": "package.deleted"}},
    )
    out = io.StringIO()
    assert verify_audit(trail, "group#churn", out) == 1
    assert "BROKEN stream=group#churn seq=- unreadable:" in out.getvalue()


def test_verify_unknown_stream(trail: AuditTrail) -> None:
    out = io.StringIO()
    assert verify_audit(trail, "group#none", out) == 1
    assert out.getvalue() == "no audit records for stream group#none\n"


def test_main_entry_point_uses_env_table(
    trail: AuditTrail, ddb: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(trail)
    monkeypatch.setenv("MLCP_AUDIT_TABLE", TABLE)
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out == "OK: 4 records in 2 streams verified\n"
    assert main(["audit", "show", "--stream", "endpoint#churn-prod", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["action"] == "deployment.promoted"

    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "group#churn"}, "sk": {"S": record_sk(3)}})
    assert main(["audit", "verify", "--table", TABLE]) == 1
    out = capsys.readouterr().out
    assert "BROKEN stream=group#churn seq=2 head_mismatch:" in out


def test_main_without_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("MLCP_AUDIT_TABLE", raising=False)
    assert main(["audit", "verify"]) == 2
    assert "MLCP_AUDIT_TABLE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["audit"])


def test_account_names_a_member_accounts_stream(
    trail: AuditTrail, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(trail, endpoint_stream="endpoint#222222222222:churn-prod")
    monkeypatch.setenv("MLCP_AUDIT_TABLE", TABLE)
    monkeypatch.setenv("MLCP_MEMBER_ACCOUNTS", "222222222222,333333333333")
    assert (
        main(["audit", "show", "--stream", "endpoint#churn-prod", "--account", "222222222222", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["stream"] == "endpoint#222222222222:churn-prod"
    own = boto3.client("sts").get_caller_identity()["Account"]
    assert main(["audit", "show", "--stream", "endpoint#churn-prod", "--account", own]) == 1
    assert capsys.readouterr().out == "no audit records for stream endpoint#churn-prod\n"
    assert main(["audit", "verify", "--account", "222222222222"]) == 2
    assert "give --stream" in capsys.readouterr().err
    # An account the control plane does not govern is refused, not read as an empty stream.
    assert main(["audit", "show", "--stream", "endpoint#churn-prod", "--account", "444444444444"]) == 2
    assert "--account 444444444444: not governed by this control plane" in capsys.readouterr().err
