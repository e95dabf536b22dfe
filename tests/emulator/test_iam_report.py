"""`mlcp iam report`: actions used, grants never used (justified or not), denials, over runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcp_cli.emulator.iam.enforce import Caller, DecisionRecord, IamEnforcer
from mlcp_cli.emulator.iam.policy import Policy
from mlcp_cli.emulator.iam.report import finish, merge, render, run_report
from mlcp_cli.main import main

ROLE = "arn:aws:iam::123456789012:role/fn-role"
POLICY = Policy(
    "StatePolicy",
    {
        "Statement": [
            {
                "Sid": "State",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                "Resource": "*",
            },
            {"Sid": "Never", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
        ]
    },
)


class _FixedPolicies(IamEnforcer):
    def policies_of(self, caller: Caller) -> list[Policy]:
        return [POLICY]


def _record(action: str, effect: str, allowed_by: tuple[str, ...] = ()) -> DecisionRecord:
    return DecisionRecord(
        "function",
        "mlcp-local-StateFunction-ABC",
        ROLE,
        action,
        action,
        "arn:r",
        effect,
        allowed_by,
        (),
        (),
        "",
        "t",
    )


def _report(*records: DecisionRecord, scenario: str = "s1") -> dict[str, object]:
    enforcer = _FixedPolicies()
    enforcer.decisions.extend(records)
    return run_report(enforcer, lambda physical: "StateFunction", scenario)


def test_used_actions_unused_grants_and_denials_per_caller() -> None:
    report = finish(
        merge(
            [
                _report(
                    _record("dynamodb:GetItem", "Allow", ("StatePolicy/State",)),
                    _record("s3:GetObject", "ImplicitDeny"),
                )
            ]
        ),
        {"StatePolicy/Never": "parks rejected events; no scenario sends one"},
    )
    entry = report["callers"]["StateFunction"]  # type: ignore[index]
    assert entry["used"] == {"dynamodb:GetItem": 1}
    assert entry["unused"] == [
        {"grant": "StatePolicy/State", "action": "dynamodb:Query", "justification": None},
        {
            "grant": "StatePolicy/Never",
            "action": "sqs:SendMessage",
            "justification": "parks rejected events; no scenario sends one",
        },
    ]
    assert [d["action"] for d in entry["denials"]] == ["s3:GetObject"]
    assert (report["denials"], report["unjustified_unused_grants"]) == (1, 1)
    assert "DENIED: s3:GetObject on arn:r" in render(report)


def test_a_grant_used_in_any_run_is_used() -> None:
    first = _report(_record("dynamodb:GetItem", "Allow", ("StatePolicy/State",)), scenario="a")
    second = _report(_record("dynamodb:Query", "Allow", ("StatePolicy/State",)), scenario="b")
    report = finish(merge([first, second]), {"StatePolicy/Never sqs:*": "why"})
    assert report["scenarios"] == ["a", "b"]
    assert report["callers"]["StateFunction"]["unused"] == [  # type: ignore[index]
        {"grant": "StatePolicy/Never", "action": "sqs:SendMessage", "justification": "why"}
    ]
    assert report["unjustified_unused_grants"] == 0


def test_the_command_reads_run_files_and_fails_on_denials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run.json"
    run.write_text(json.dumps(_report(_record("s3:GetObject", "ImplicitDeny"))), encoding="utf-8")
    assert main(["iam", "report", "--from", str(run), "--root", str(tmp_path), "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["denials"] == 1
    assert printed["callers"]["StateFunction"]["denials"][0]["scenario"] == "s1"


def test_the_shipped_justifications_load_and_say_why() -> None:
    from mlcp_cli.emulator.iam.report import load_justifications

    justified = load_justifications(Path(__file__).resolve().parents[2])
    assert "AWSLambdaBasicExecutionRole/#0" in justified
    assert all(len(reason) > 20 for reason in justified.values())
