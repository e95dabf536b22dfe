"""Step Functions task tokens (``TaskCallbacks``) and executions (``Executions``): the one place
that answers a parked ``.waitForTaskToken`` and classifies a token that is gone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlcp.adapters import clients
from mlcp.adapters.dynamo import error_code
from mlcp.errors import TASK_TOKEN_GONE
from mlcp.ports import TaskAnswer

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_stepfunctions import SFNClient

#: SendTaskFailure's longest cause.
MAX_CAUSE = 32768
_DELIVERED = TaskAnswer()


class StepFunctionsTasks:
    """Answers task tokens with SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat. A token that
    is gone (the wait timed out, the execution ended, or someone answered first: TaskTimedOut,
    TaskDoesNotExist, InvalidToken) is a :class:`TaskAnswer` with its code, never an exception;
    any other error is raised."""

    def __init__(self, client: SFNClient | None = None) -> None:
        self._client = client or clients.stepfunctions()

    def succeed(self, token: str, output: str) -> TaskAnswer:
        """Resume the task with ``output`` (a JSON document)."""
        return _answer(lambda: self._client.send_task_success(taskToken=token, output=output))

    def fail(self, token: str, error: str, cause: str) -> TaskAnswer:
        """Fail the task with ``error`` (an ASL ``ErrorEquals`` name) and ``cause`` (cut to fit)."""
        return _answer(
            lambda: self._client.send_task_failure(taskToken=token, error=error, cause=cause[:MAX_CAUSE])
        )

    def heartbeat(self, token: str) -> TaskAnswer:
        """Tell the task it is still being worked on."""
        return _answer(lambda: self._client.send_task_heartbeat(taskToken=token))

    def describe(self, execution_arn: str) -> dict[str, Any]:
        """DescribeExecution's response (``stateMachineArn``, ``input``, ``status``, ...)."""
        return dict(self._client.describe_execution(executionArn=execution_arn))


def _answer(send: Callable[[], object]) -> TaskAnswer:
    try:
        send()
    except ClientError as exc:
        code = error_code(exc)
        if code not in TASK_TOKEN_GONE:
            raise
        return TaskAnswer(gone=code)
    return _DELIVERED
