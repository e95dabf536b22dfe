"""Gap fill t (CloudTrail delivers StartExecution calls to EventBridge, with the signer): moto's raw
behaviour first, then the fill's. Fill s (SendTaskFailure keeps its cause) is in test_gaps_task_failure.py."""

from __future__ import annotations

import json
from typing import Any

import boto3

from mlcp_cli.emulator.gaps import GapFills, process_pending

from .test_gaps import state_machine, wait_execution

PASS: dict[str, Any] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def _watch_start_executions_of(machine: str) -> str:
    """A sink state machine that a rule starts with CloudTrail's StartExecution records of ``machine``."""
    sink = state_machine("sink", PASS)
    events = boto3.client("events")
    pattern = {
        "source": ["aws.states"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventName": ["StartExecution"], "requestParameters": {"stateMachineArn": [machine]}},
    }
    events.put_rule(Name="cloudtrail", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="cloudtrail", Targets=[{"Id": "sink", "Arn": sink}])
    return sink


def _signed_as(user: str) -> Any:
    iam = boto3.client("iam")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return boto3.client(
        "stepfunctions", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


def test_raw_moto_puts_no_cloudtrail_event_for_start_execution(raw_moto: None) -> None:
    machine = state_machine("decision", PASS)
    sink = _watch_start_executions_of(machine)
    _signed_as("approver").start_execution(stateMachineArn=machine, name="a", input='{"x": 1}')
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=sink)["executions"] == []


def test_cloudtrail_fill_delivers_the_call_with_its_signer_and_the_input_hidden(fills: GapFills) -> None:
    machine = state_machine("decision", PASS)
    sink = _watch_start_executions_of(machine)
    started = _signed_as("approver").start_execution(stateMachineArn=machine, name="a", input='{"x": 1}')
    process_pending(fills.deliveries, fills.registry)

    (delivered,) = boto3.client("stepfunctions").list_executions(stateMachineArn=sink)["executions"]
    event = json.loads(wait_execution(delivered["executionArn"])["output"])
    assert (event["source"], event["detail-type"]) == ("aws.states", "AWS API Call via CloudTrail")
    detail = event["detail"]
    assert detail["userIdentity"]["type"] == "IAMUser"
    assert detail["userIdentity"]["arn"] == "arn:aws:iam::123456789012:user/approver"
    assert detail["requestParameters"] == {
        "stateMachineArn": machine,
        "name": "a",
        "input": "HIDDEN_DUE_TO_SECURITY_REASONS",
    }
    assert detail["responseElements"]["executionArn"] == started["executionArn"]
    assert (detail["eventSource"], detail["eventName"]) == ("states.amazonaws.com", "StartExecution")
