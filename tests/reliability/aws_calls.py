"""Every AWS API call made while a test runs, seen through a botocore event hook.

The hook is one of botocore's built-in handlers while recording, so every client created meanwhile
carries it: the handlers' cached clients, Powertools' own (idempotency, parameters) and the test's.
The hook listens to ``before-parameter-build`` (once per API call, like ``before-call``, but
with the caller's own parameters rather than the serialized request). Each call is tagged with the Lambda function whose handler made it (the emulator runs handlers
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


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


@dataclass(frozen=True)
class AwsCall:
    function: str | None
    service: str
    operation: str
    params: dict[str, Any]

    @property
    def mutating(self) -> bool:
        return is_mutating(self.operation)


@dataclass
class CallLog:
    calls: list[AwsCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        spec = running_function()
        call = AwsCall(spec.name if spec else None, model.service_model.service_name, model.name, params)
        with self._lock:
            self.calls.append(call)

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
    handler = ("before-parameter-build", log._record)
    saved_default = boto3.DEFAULT_SESSION
    botocore.handlers.BUILTIN_HANDLERS.append(handler)
    boto3.DEFAULT_SESSION = None  # the next boto3.client() builds a session with the hook
    try:
        yield log
    finally:
        botocore.handlers.BUILTIN_HANDLERS.remove(handler)
        boto3.DEFAULT_SESSION = saved_default
