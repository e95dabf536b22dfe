"""Gap fill s: SendTaskFailure keeps its cause (moto's API drops it), so a Catch sees the cause as on AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlcp_cli.emulator.gaps import FunctionRegistry, install_gap_fills
from mlcp_cli.emulator.runtime import MOTO_CONFIG

DEFINITION = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": {"token.$": "$$.Task.Token"}},
            "Catch": [{"ErrorEquals": ["ApprovalDenied"], "ResultPath": "$.denial", "Next": "Denied"}],
            "End": True,
        },
        "Denied": {"Type": "Pass", "End": True},
    },
}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        yield


def denial_seen_by_the_catch() -> Any:
    """Run the machine, fail its task with a cause, return what the Catch put at ``$.denial``."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="approvals")["QueueUrl"]
    machine = sfn.create_state_machine(
        name="ask", definition=json.dumps(DEFINITION), roleArn="arn:aws:iam::123456789012:role/ask"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"queue": queue}))[
        "executionArn"
    ]
    messages: list[dict[str, Any]] = []
    while not messages:  # the task sends its token as soon as the execution's thread reaches it
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    token = json.loads(messages[0]["Body"])["token"]
    sfn.send_task_failure(taskToken=token, error="ApprovalDenied", cause="denied by risk-officer: DPL")
    described = sfn.describe_execution(executionArn=execution)
    while described["status"] == "RUNNING":
        described = sfn.describe_execution(executionArn=execution)
    return json.loads(described["output"])["denial"]


def test_moto_drops_the_cause(aws: None) -> None:
    """Fails when moto keeps the cause itself: then the fill can go."""
    assert denial_seen_by_the_catch() == {"Error": "ApprovalDenied", "Cause": None}


def test_the_fill_keeps_the_cause(aws: None) -> None:
    with install_gap_fills(FunctionRegistry()):
        denial = denial_seen_by_the_catch()
    assert denial == {"Error": "ApprovalDenied", "Cause": "denied by risk-officer: DPL"}
