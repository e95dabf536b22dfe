"""IAM on EventBridge deliveries and scenario principals: a rule invokes a function only if the function's resource policy
lets events.amazonaws.com do it, starts a state machine only as a role that may, and parks an
undeliverable event only in a DLQ whose queue policy lets it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcp_cli.emulator.runtime import LocalControlPlane

from .helpers import FIXTURE_TEMPLATE

ITEM = {"Source": "fixture.app", "DetailType": "Item Requested", "Detail": {"item": "good-iam"}}


def _outcomes(cp: LocalControlPlane, since: int) -> dict[str, tuple[str, str]]:
    names = {physical.rsplit(":", 1)[-1]: logical for logical, physical in cp.stack.physical_ids.items()}
    return {
        names.get(record.target.rsplit(":", 1)[-1], record.target.rsplit(":", 1)[-1]): (
            record.outcome,
            record.detail,
        )
        for record in cp.delivery_log[since:]
    }


def test_rule_deliveries_are_authorized_like_eventbridge_does() -> None:
    with LocalControlPlane(FIXTURE_TEMPLATE, parameters={"Stage": "iam"}) as cp:
        assert cp.iam is not None
        cp.put_events([ITEM])
        cp.pump()
        outcomes = _outcomes(cp, 0)
        assert outcomes["WriterFunction"][0] == "invoked"
        assert outcomes["ItemFlow"][0] == "execution-started"
        checked = {(d.caller_kind, d.action, d.effect) for d in cp.iam.decisions if d.caller_kind == "rule"}
        assert ("rule", "lambda:InvokeFunction", "Allow") in checked  # the function's resource policy
        assert ("rule", "states:StartExecution", "Allow") in checked  # the rule target's role

        # Without the AWS::Lambda::Permission, EventBridge may not invoke: the event is dead-lettered.
        awslambda = cp.client("lambda")
        writer = cp.stack.function_names["WriterFunction"]
        for statement in json.loads(awslambda.get_policy(FunctionName=writer)["Policy"])["Statement"]:
            awslambda.remove_permission(FunctionName=writer, StatementId=statement["Sid"])
        seen = len(cp.delivery_log)
        cp.put_events([ITEM])
        cp.pump()
        outcome, detail = _outcomes(cp, seen)["WriterFunction"]
        assert outcome == "dead-lettered"
        assert "events.amazonaws.com is not authorized to perform: lambda:InvokeFunction" in detail

        # Without the queue policy, the DLQ refuses it too: the event is dropped, saying why.
        cp.client("sqs").set_queue_attributes(
            QueueUrl=cp.stack.queue_urls["RuleDeadLetterQueue"], Attributes={"Policy": ""}
        )
        seen = len(cp.delivery_log)
        cp.put_events([ITEM])
        cp.pump()
        outcome, detail = _outcomes(cp, seen)["WriterFunction"]
        assert outcome == "dropped"
        assert "DLQ refused: events.amazonaws.com is not authorized to perform: sqs:SendMessage" in detail


def test_a_scenario_principal_with_a_policy_is_checked_against_it(tmp_path: Path) -> None:
    from mlcp_cli.scenario import ScenarioError, ScenarioRunner, load_scenario

    with LocalControlPlane(FIXTURE_TEMPLATE, parameters={"Stage": "principal"}) as cp:
        table = cp.stack.table_names["ItemsTable"]
        item = {"pk": {"S": "a"}, "sk": {"S": "b"}}
        scenario = {
            "name": "principal policy",
            "principals": {
                "auditor": {
                    "policy": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "dynamodb:GetItem",
                                "Resource": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}",
                            }
                        ]
                    }
                }
            },
            "steps": [
                {
                    "as": "auditor",
                    "call": {
                        "service": "dynamodb",
                        "operation": "get_item",
                        "params": {"TableName": table, "Key": item},
                    },
                },
                {
                    "as": "auditor",
                    "call": {
                        "service": "dynamodb",
                        "operation": "put_item",
                        "params": {"TableName": table, "Item": item},
                    },
                },
            ],
        }
        path = tmp_path / "scenario.yaml"
        path.write_text(json.dumps(scenario), encoding="utf-8")
        runner = ScenarioRunner(cp, root=tmp_path, timeline=None)
        with pytest.raises(ScenarioError) as error:
            runner.run(load_scenario(path))
        assert "step 2 (call): ClientError: An error occurred (AccessDeniedException)" in str(error.value)
        assert "user/auditor is not authorized to perform: dynamodb:PutItem" in str(error.value)
        assert [
            (d.caller_kind, d.action, d.effect) for d in cp.iam.decisions if d.caller_kind == "principal"
        ] == [
            ("principal", "dynamodb:GetItem", "Allow"),
            ("principal", "dynamodb:PutItem", "ImplicitDeny"),
        ]
