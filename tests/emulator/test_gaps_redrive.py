"""Gap fill o: Step Functions RedriveExecution (moto 5.2.5 has none)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcp_cli.emulator.gaps import GapFills, installed, settle

from .test_gaps import state_machine, wait_execution

#: Counts (a side effect), then writes to a table that does not exist until the test creates it.
MACHINE: dict[str, Any] = {
    "StartAt": "Count",
    "States": {
        "Count": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": "counts",
                "Key": {"pk": {"S": "runs"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
            "ResultPath": None,
            "Next": "Shape",
        },
        "Shape": {"Type": "Pass", "Parameters": {"item.$": "$.item", "shaped": True}, "Next": "Write"},
        "Write": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "late", "Item": {"pk": {"S.$": "$.item"}}},
            "ResultPath": None,
            "End": True,
        },
    },
}


def _table(name: str) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _counted() -> int:
    item = boto3.client("dynamodb").get_item(TableName="counts", Key={"pk": {"S": "runs"}})["Item"]
    return int(item["n"]["N"])


def _failed_run(definition: dict[str, Any]) -> str:
    _table("counts")
    machine = state_machine("redriven", definition)
    started = boto3.client("stepfunctions").start_execution(
        stateMachineArn=machine, name="first", input=json.dumps({"item": "a"})
    )
    failed = wait_execution(started["executionArn"])
    assert failed["status"] == "FAILED", failed
    return str(started["executionArn"])


def _entered(arn: str) -> list[str]:
    events = boto3.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_raw_moto_has_no_redrive_execution(raw_moto: None) -> None:
    arn = _failed_run(MACHINE)
    sfn = boto3.client("stepfunctions")
    with pytest.raises(NotImplementedError, match="redrive_execution"):
        sfn.redrive_execution(executionArn=arn)
    assert "redriveCount" not in sfn.describe_execution(executionArn=arn)


def test_redrive_fill_resumes_at_the_failed_state_with_its_input(fills: GapFills) -> None:
    arn = _failed_run(MACHINE)
    sfn = boto3.client("stepfunctions")
    before = sfn.describe_execution(executionArn=arn)
    assert (before["redriveStatus"], before["redriveCount"]) == ("REDRIVABLE", 0)
    assert "redriveDate" not in before
    _table("late")  # the cause of the failure is fixed

    redriven = sfn.redrive_execution(executionArn=arn)
    done = wait_execution(arn)

    assert done["status"] == "SUCCEEDED", done
    assert (done["executionArn"], done["redriveCount"], done["redriveDate"]) == (
        arn,
        1,
        redriven["redriveDate"],
    )
    assert (done["redriveStatus"], done["redriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        "Execution is SUCCEEDED and cannot be redriven",
    )
    assert _counted() == 1  # Count succeeded the first time: not re-run
    (item,) = boto3.client("dynamodb").scan(TableName="late")["Items"]
    assert item == {"pk": {"S": "a"}}  # Write got the input it had: Shape's output
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    types = [e["type"] for e in events]
    assert (
        types.index("ExecutionFailed") < types.index("ExecutionRedriven") < types.index("ExecutionSucceeded")
    )
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    redrive = events[types.index("ExecutionRedriven")]
    assert redrive["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert _entered(arn) == ["Count", "Shape", "Write", "Write"]
    write_inputs = [
        json.loads(e["stateEnteredEventDetails"]["input"])
        for e in events
        if e.get("stateEnteredEventDetails", {}).get("name") == "Write"
    ]
    assert write_inputs[0] == write_inputs[1] == {"item": "a", "shaped": True}


def test_redrive_fill_refuses_running_and_succeeded_executions(fills: GapFills) -> None:
    arn = _failed_run(MACHINE)
    sfn = boto3.client("stepfunctions")
    _table("late")
    sfn.redrive_execution(executionArn=arn)
    assert wait_execution(arn)["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as refused:
        sfn.redrive_execution(executionArn=arn)
    assert refused.value.response["Error"]["Code"] == "ExecutionNotRedrivable"
    assert "SUCCEEDED" in refused.value.response["Error"]["Message"]
    assert _counted() == 1  # nothing ran again
    assert _entered(arn).count("Write") == 2


def test_redrive_fill_counts_redrives_and_reenters_a_fail_state(fills: GapFills) -> None:
    """A Catch that leads to a Fail state: the Fail state is the unsuccessful state, so a redrive
    fails again at once, without re-running the Task the Catch handled."""
    caught = json.loads(json.dumps(MACHINE))
    caught["States"]["Write"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]
    caught["States"]["Failed"] = {"Type": "Fail", "Error": "WriteFailed"}
    arn = _failed_run(caught)
    sfn = boto3.client("stepfunctions")
    _table("late")
    for count in (1, 2):
        sfn.redrive_execution(executionArn=arn)
        again = wait_execution(arn)
        assert (again["status"], again["error"], again["redriveCount"]) == ("FAILED", "WriteFailed", count)
    assert _entered(arn) == ["Count", "Shape", "Write", "Failed", "Failed", "Failed"]
    assert boto3.client("dynamodb").scan(TableName="late")["Items"] == []
    assert _counted() == 1


def test_redrive_fill_answers_a_repeated_client_token_once(fills: GapFills) -> None:
    arn = _failed_run(MACHINE)
    sfn = boto3.client("stepfunctions")
    _table("late")
    first = sfn.redrive_execution(executionArn=arn, clientToken="t-1")
    wait_execution(arn)
    second = sfn.redrive_execution(executionArn=arn, clientToken="t-1")
    assert second["redriveDate"] == first["redriveDate"]
    assert sfn.describe_execution(executionArn=arn)["redriveCount"] == 1


# -- r. StopExecution ends a task-token wait ---------------------------------------------------

#: Parks its task token in a queue and waits for it (the approval and endpoint waits do the same).
ASK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "QUEUE", "MessageBody": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 7200,
            "End": True,
        }
    },
}


def _asking(name: str) -> tuple[str, str, str]:
    """A started execution parked on its token: (execution ARN, token, queue URL)."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"asks-{name}")["QueueUrl"]
    definition = json.loads(json.dumps(ASK).replace("QUEUE", url))
    started = boto3.client("stepfunctions").start_execution(
        stateMachineArn=state_machine(name, definition), name=name, input="{}"
    )
    return started["executionArn"], _next_token(url), url


def _next_token(url: str) -> str:
    """The token the task sent to the queue: with the fills, once everything has settled; on raw
    moto polled (its threads run on their own), a bound only on a hang."""
    if installed():
        settle()
    for _ in range(300):
        messages = boto3.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
        if messages:
            return str(json.loads(messages[0]["Body"])["token"])
        time.sleep(0.01)
    raise AssertionError("the task never sent its token")


def test_raw_moto_keeps_a_stopped_execution_waiting_and_takes_its_token(raw_moto: None) -> None:
    arn, token, _ = _asking("raw")
    sfn = boto3.client("stepfunctions")
    sfn.stop_execution(executionArn=arn, error="Operator", cause="by hand")
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"  # AWS: ABORTED at once
    sfn.send_task_success(taskToken=token, output="{}")  # AWS: TaskTimedOut
    ended = wait_execution(arn)
    assert ended["status"] == "ABORTED"
    types = [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]
    assert "TaskSucceeded" in types  # the answer landed in a stopped execution


def test_stop_fill_aborts_the_wait_refuses_its_token_and_a_redrive_asks_again(fills: GapFills) -> None:
    arn, token, url = _asking("filled")
    sfn = boto3.client("stepfunctions")
    sfn.stop_execution(executionArn=arn, error="Operator", cause="by hand")
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"  # at once, as on AWS
    types = [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]
    assert types[-1] == "ExecutionAborted"
    assert "TaskSucceeded" not in types
    with pytest.raises(ClientError) as refused:
        sfn.send_task_success(taskToken=token, output="{}")
    assert refused.value.response["Error"]["Code"] in {"TaskTimedOut", "InvalidToken"}

    sfn.redrive_execution(executionArn=arn)
    again = _next_token(url)
    assert again != token
    sfn.send_task_success(taskToken=again, output=json.dumps({"answer": "yes"}))
    done = wait_execution(arn)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"answer": "yes"})
