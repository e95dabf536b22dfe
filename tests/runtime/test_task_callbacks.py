"""The Step Functions task-token adapter classifies a gone token once (botocore's Stubber: the real
client, its real request validation, Step Functions' error codes)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from mlcp.adapters.task_callbacks import MAX_CAUSE, StepFunctionsTasks


def _tasks() -> tuple[StepFunctionsTasks, Stubber]:
    client = boto3.client(
        "stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return StepFunctionsTasks(client), Stubber(client)


def test_a_delivered_answer_is_delivered() -> None:
    tasks, stub = _tasks()
    stub.add_response("send_task_success", {}, {"taskToken": "t", "output": "{}"})
    stub.add_response("send_task_failure", {}, {"taskToken": "t", "error": "E", "cause": "c" * MAX_CAUSE})
    stub.add_response("send_task_heartbeat", {}, {"taskToken": "t"})
    with stub:
        assert tasks.succeed("t", "{}").delivered
        assert tasks.fail("t", "E", "c" * (MAX_CAUSE + 10)).delivered  # the cause is cut to fit
        assert tasks.heartbeat("t").delivered
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
@pytest.mark.parametrize("method", ["send_task_success", "send_task_failure", "send_task_heartbeat"])
def test_a_gone_token_is_an_answer_not_an_error(code: str, method: str) -> None:
    tasks, stub = _tasks()
    stub.add_client_error(method, service_error_code=code)
    with stub:
        answer = {
            "send_task_success": lambda: tasks.succeed("t", "{}"),
            "send_task_failure": lambda: tasks.fail("t", "E", "c"),
            "send_task_heartbeat": lambda: tasks.heartbeat("t"),
        }[method]()
    assert (answer.delivered, answer.gone) == (False, code)


def test_any_other_error_is_raised() -> None:
    tasks, stub = _tasks()
    stub.add_client_error("send_task_success", service_error_code="ThrottlingException")
    with stub, pytest.raises(ClientError, match="ThrottlingException"):
        tasks.succeed("t", "{}")
