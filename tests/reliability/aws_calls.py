"""Every AWS API call made while a test runs, seen through a botocore event hook.

The hook is one of botocore's built-in handlers while recording, so every client created meanwhile
carries it: the handlers' cached clients, Powertools' own (idempotency, parameters) and the test's.
The hook listens to ``before-parameter-build`` (once per API call, like ``before-call``, but
with the caller's own parameters rather than the serialized request); ``after-call`` notes whether
it succeeded (a conditional write that lost, or an ExecutionAlreadyExists, is an attempt, not an
effect). Each call is tagged with the Lambda function whose handler made it (the emulator runs handlers
in-process and knows which one runs in the calling thread), ``None`` for the test's own calls.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.handlers

from mlcp_cli.emulator.gaps import running_function

#: Operation name prefixes that only read. Anything else counts as mutating (unknown is unsafe).
READ_PREFIXES = (
    "Get",
    "Describe",
    "List",
    "Query",
    "Scan",
    "BatchGet",
    "TransactGet",
    "Head",
    "Search",
    "Select",
    "Receive",
    "Lookup",
    "Test",
    "Validate",
)


#: Reads whose names start otherwise: an AppConfig Data session only opens a read of the policy.
READ_OPERATIONS = frozenset({"StartConfigurationSession"})

_CALL_KEY = "mlcp_recorded_call"


def is_mutating(operation: str) -> bool:
    return operation not in READ_OPERATIONS and not operation.startswith(READ_PREFIXES)


@dataclass
class AwsCall:
    function: str | None
    service: str
    operation: str
    params: dict[str, Any]
    succeeded: bool | None = None  # None until the response arrives (``after-call``)

    @property
    def mutating(self) -> bool:
        return is_mutating(self.operation)


@dataclass
class CallLog:
    calls: list[AwsCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        spec = running_function()
        call = AwsCall(spec.name if spec else None, model.service_model.service_name, model.name, params)
        context[_CALL_KEY] = call
        with self._lock:
            self.calls.append(call)

    @staticmethod
    def _outcome(http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call = context.get(_CALL_KEY)
        if isinstance(call, AwsCall):
            call.succeeded = http_response.status_code < 300 and "Error" not in parsed

    def mark(self) -> int:
        """A position in the log: ``since(mark)`` returns the calls made after it."""
        with self._lock:
            return len(self.calls)

    def since(self, mark: int) -> list[AwsCall]:
        with self._lock:
            return self.calls[mark:]


@contextlib.contextmanager
def recording_aws_calls() -> Iterator[CallLog]:
    """Record every AWS call of clients created inside the block (start it before the stack)."""
    log = CallLog()
    handlers = [("before-parameter-build", log._record), ("after-call", log._outcome)]
    saved_default = boto3.DEFAULT_SESSION
    botocore.handlers.BUILTIN_HANDLERS.extend(handlers)
    boto3.DEFAULT_SESSION = None  # the next boto3.client() builds a session with the hooks
    try:
        yield log
    finally:
        for handler in handlers:
            botocore.handlers.BUILTIN_HANDLERS.remove(handler)
        boto3.DEFAULT_SESSION = saved_default
