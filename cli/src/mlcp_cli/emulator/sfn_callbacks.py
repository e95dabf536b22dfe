"""Gap fill: SendTaskFailure keeps its ``cause``.

AWS: ``SendTaskFailure(taskToken, error, cause)`` fails the waiting task with that error and cause;
a Catch with ``ResultPath`` gets ``{"Error": error, "Cause": cause}`` (the deployment workflow
rejects a denied package with the approver's reason, ``$.denial.Cause``). moto 5.2.5: the API
drops ``cause`` (its backend takes it), so the Catch sees ``"Cause": null`` and the registry said
``mlcp: rejected: None``, which a scenario's ``model_package: {reason: ...}`` expectation found.
Fill: pass ``cause`` on. Installed by :class:`~mlcp_cli.emulator.runtime.LocalControlPlane` (to be
moved beside the other Step Functions fills of :mod:`mlcp_cli.emulator.gaps`).
"""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.Lock()
_INSTALLED: list[Any] = []  # [original] while installed
_COUNT = [0]


def fill_sfn_send_task_failure_cause(self: Any) -> Any:
    """StepFunctionResponse.send_task_failure with the ``cause`` the caller gave."""
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def install() -> None:
    """Install the fill (reference counted: nested control planes share it)."""
    from moto.stepfunctions.responses import StepFunctionResponse

    with _LOCK:
        _COUNT[0] += 1
        if _COUNT[0] == 1:
            _INSTALLED.append(StepFunctionResponse.send_task_failure)
            setattr(StepFunctionResponse, "send_task_failure", fill_sfn_send_task_failure_cause)  # noqa: B010


def uninstall() -> None:
    """Remove the fill when the last user is done."""
    from moto.stepfunctions.responses import StepFunctionResponse

    with _LOCK:
        if _COUNT[0] == 0:
            return
        _COUNT[0] -= 1
        if _COUNT[0] == 0:
            setattr(StepFunctionResponse, "send_task_failure", _INSTALLED.pop())  # noqa: B010
