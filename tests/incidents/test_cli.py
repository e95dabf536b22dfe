"""`mlcp incidents list|show|resolve` against moto (the caller's identity from STS)."""

from __future__ import annotations

import json

import boto3
import pytest

from mlcp.audit import AuditAction
from mlcp.usecases.incidents import open_incident, resolve_incident
from mlcp_cli.main import main

from .conftest import AUDIT_TABLE, STATE_TABLE, Env, request

TABLES = ["--state-table", STATE_TABLE, "--audit-table", AUDIT_TABLE]


def test_list_shows_open_incidents_and_all_with_resolved_ones(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["incidents", "list", *TABLES]) == 0
    assert capsys.readouterr().out == "no incidents\n"
    a = open_incident(request(), env.deps)
    b = open_incident(request(cause="violation:data_quality", severity=3, event_id="evt-b"), env.deps)
    resolve_incident(
        "endpoint/churn-prod", "violation:data_quality", reason="ok", resolved_by="me", deps=env.deps
    )

    assert main(["incidents", "list", *TABLES]) == 0
    out = capsys.readouterr().out
    assert a.incident_id in out
    header, _rule, row = out.splitlines()[:3]
    assert header.split()[:3] == ["id", "sev", "status"]
    assert row.split()[:3] == [a.incident_id, "2", "open"]
    assert all(len(line) <= 120 for line in out.splitlines())
    assert "alarm:churn-prod-5xx" in out
    assert b.incident_id not in out

    assert main(["incidents", "list", "--all", "--json", *TABLES]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["incident_id"], r["status"]) for r in rows} == {
        (a.incident_id, "open"),
        (b.incident_id, "resolved"),
    }


def test_show_prints_the_incident_and_its_ops_item(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    opened = open_incident(request(), env.deps)
    open_incident(request(event_id="evt-2"), env.deps)

    assert main(["incidents", "show", opened.incident_id, *TABLES]) == 0
    out = capsys.readouterr().out
    assert "ops_item_id  " in out
    assert str(opened.ops_item_id) in out
    assert "occurrences" in out
    assert "mlcp:occurrences = 2" in out
    assert "Open" in out

    assert main(["incidents", "show", opened.incident_id, "--json", *TABLES]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["occurrences"] == 2
    assert shown["ops_item"]["Status"] == "Open"

    assert main(["incidents", "show", "inc-000000000000", *TABLES]) == 1
    assert "no incident" in capsys.readouterr().err


def test_resolve_uses_the_sts_identity_and_refuses_twice(
    env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = open_incident(request(), env.deps)
    env.clock.advance(minutes=30)
    monkeypatch.setenv("MLCP_STATE_TABLE", STATE_TABLE)
    monkeypatch.setenv("MLCP_AUDIT_TABLE", AUDIT_TABLE)
    identity = boto3.client("sts").get_caller_identity()["Arn"]

    assert main(["incidents", "resolve", opened.incident_id, "--reason", "rolled back"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{opened.incident_id}: resolved by {identity}")
    assert len(captured.out.splitlines()) == 1  # the use case's JSON log lines go to stderr, never stdout

    (record,) = [
        r for r in env.audit.read("endpoint#churn-prod") if r.action == AuditAction.INCIDENT_RESOLVED
    ]
    assert record.actor == identity
    assert record.evidence["reason"] == "rolled back"
    assert record.evidence["mttr_seconds"] > 0
    assert env.ssm.get_ops_item(OpsItemId=opened.ops_item_id)["OpsItem"]["Status"] == "Resolved"

    assert main(["incidents", "resolve", opened.incident_id, "--reason", "again"]) == 1
    assert "is resolved, not open" in capsys.readouterr().err


def test_tables_are_required(
    env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLCP_STATE_TABLE", raising=False)
    monkeypatch.delenv("MLCP_AUDIT_TABLE", raising=False)
    assert main(["incidents", "list"]) == 2
    assert "--state-table" in capsys.readouterr().err
