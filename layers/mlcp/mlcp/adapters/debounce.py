"""The retraining debounce state machine: one execution per new-data window (``DebounceScheduler``)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from mlcp.adapters import clients
from mlcp.adapters.dynamo import error_code

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class StepFunctionsDebounce:
    """Starts the debounce state machine (``MLCP_DEBOUNCE_STATE_MACHINE_ARN``) for a window; the
    execution's name dedups redeliveries (ExecutionAlreadyExists is the window already waiting)."""

    def __init__(self, state_machine_arn: str | None, client: SFNClient | None = None) -> None:
        self._state_machine_arn = state_machine_arn
        self._client = client or clients.stepfunctions()

    def __call__(self, *, pipeline: str, wait_seconds: int, window_id: str) -> None:
        """One debounce execution per data window (none without a state machine: the function has
        no debounce, a window is rechecked by the next object's event)."""
        if not self._state_machine_arn:
            return
        name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{pipeline}-{window_id}")[:80]
        try:
            self._client.start_execution(
                stateMachineArn=self._state_machine_arn,
                name=name,
                input=json.dumps(
                    {"pipeline": pipeline, "window_id": window_id, "wait_seconds": wait_seconds}
                ),
            )
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
