"""A record of the AWS API calls made in local mode, by whom: what a scenario's ``calls:`` checks.

Every boto3 client in the process sends its requests through moto's botocore ``before-send`` hook
(the way :mod:`mlcp_cli.emulator.faults` injects faults), so :class:`CallRecorder` sees the calls of
the Lambda handlers, of Step Functions' service integrations and of the operator alike, whenever
their clients were created. Each call is tagged with who made it: the function whose handler runs
in the calling thread, ``scenario`` for the thread that plays the scenario (its steps, its checks,
the pump), else ``workflow`` (a state machine's service integration in Step Functions' threads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcp_cli.emulator.patches import Hook, Patches

#: botocore's service id (in the hook's event name) -> the boto3 client name, where they differ.
_CLIENT_NAMES = {"sfn": "stepfunctions", "eventbridge": "events", "cloudwatch-logs": "logs"}

SCENARIO = "scenario"
WORKFLOW = "workflow"


@dataclass(frozen=True)
class RecordedCall:
    """One request: ``service`` is the boto3 client name (``sagemaker``, ``stepfunctions``, ...)."""

    caller: str
    service: str
    operation: str
    step: int
    status: int | None

    @property
    def name(self) -> str:
        """``service.Operation``, as a scenario names it."""
        return f"{self.service}.{self.operation}"


@dataclass
class CallRecorder(Hook):
    """Install with ``with`` (or ``install()`` / ``uninstall()``, in the reverse order of other
    hooks on moto's stubber); ``step`` is the current scenario step, stamped on each call."""

    calls: list[RecordedCall] = field(default_factory=list)
    step: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: int | None = None
    patches: Patches = field(default_factory=Patches)

    def _patch(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        recorder = self
        moto_call: Callable[..., Any] = BotocoreStubber.__call__
        self._thread = threading.get_ident()

        def before_send(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            response = moto_call(stubber, event_name, request, **kwargs)
            if stubber.enabled:
                recorder._record(event_name, response)
            return response

        self.patches.replace(BotocoreStubber, "__call__", before_send)

    def _record(self, event_name: str, response: Any) -> None:
        from mlcp_cli.emulator.gaps import running_function

        _, service_id, operation = event_name.split(".", 2)
        spec = running_function()
        if spec is not None:
            caller = spec.name
        elif threading.get_ident() == self._thread:
            caller = SCENARIO
        else:
            caller = WORKFLOW
        status = getattr(response, "status_code", None)
        call = RecordedCall(caller, _CLIENT_NAMES.get(service_id, service_id), operation, self.step, status)
        with self._lock:
            self.calls.append(call)

    def made(self, *, since_step: int = 0, include_scenario: bool = False) -> list[RecordedCall]:
        """The calls recorded from step ``since_step`` on; the scenario's own only if asked."""
        with self._lock:
            return [
                c for c in self.calls if c.step >= since_step and (include_scenario or c.caller != SCENARIO)
            ]


def known_operation(name: str) -> str | None:
    """Why ``service.Operation`` names no AWS API operation (None when it does)."""
    import botocore.session

    from mlcp_cli.scenario.format import did_you_mean

    service, _, operation = name.partition(".")
    session = botocore.session.get_session()
    services = session.get_available_services()
    if not operation or service not in services:
        return (
            f"{name!r}: expected service.Operation with a boto3 service name{did_you_mean(service, services)}"
        )
    operations = session.get_service_model(service).operation_names
    if operation not in operations:
        return f"{name!r}: {service} has no operation {operation}{did_you_mean(operation, operations)}"
    return None
