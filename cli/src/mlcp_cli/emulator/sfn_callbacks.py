"""Gap fill t: SendTaskFailure keeps its ``cause``.

AWS: SendTaskFailure(taskToken, error, cause) fails the waiting task with that error and cause; the
cause shows in the execution history (``taskFailedEventDetails``, ``executionFailedEventDetails``) and
reaches a Catch's ResultPath as ``Cause``.
moto: its request handler passes only ``error`` on; the cause is lost (null).
Fill: pass the request's ``cause`` on as well.
"""

from __future__ import annotations

from typing import Any


def fill_sfn_send_task_failure_cause(self: Any) -> Any:
    """StepFunctionResponse.send_task_failure with the request's cause (see the module)."""
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def callback_patches() -> list[tuple[Any, str, Any]]:
    """The (owner, attribute, replacement) patches of this fill."""
    from moto.stepfunctions.responses import StepFunctionResponse

    return [(StepFunctionResponse, "send_task_failure", fill_sfn_send_task_failure_cause)]
