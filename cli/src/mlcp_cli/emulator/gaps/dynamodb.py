"""DynamoDB: fill q (one request at a time) and :func:`serialized_dynamodb` for plain moto."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from mlcp_cli.emulator.gaps.state import _call_original

_DYNAMODB_LOCK = threading.RLock()
"""One DynamoDB request at a time: fill q and ``serialized_dynamodb`` share it (re-entrant)."""


@contextlib.contextmanager
def serialized_dynamodb() -> Iterator[None]:
    """Serialize moto's DynamoDB request handling while the context is open, for plain moto (no
    gap fills: the audit and incident tests, ``make bench``); the gap fills do the same (fill q).

    moto's TransactWriteItems snapshots and restores whole tables without a lock, so truly
    concurrent requests can clobber each other inside the emulator. DynamoDB itself does not
    behave that way; with one request at a time the emulator is a faithful stand-in, and
    concurrent writers exercise *our* conditional writes, not moto's races.
    """
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.__dict__["call_action"]  # its own, so restoring it undoes exactly this

    def call_action(self: DynamoHandler) -> Any:
        with _DYNAMODB_LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


def fill_dynamodb_one_request_at_a_time(self: Any) -> Any:
    """Every DynamoDB request is handled alone, as the real service's requests are serializable.

    AWS: concurrent requests on a table never corrupt each other; a TransactWriteItems is atomic
    and isolated. moto 5.2.5: TransactWriteItems deep-copies the tables to roll back on failure,
    without a lock, while other threads (Lambda handlers, Step Functions tasks) write: the copy
    fails with ``RuntimeError: dictionary changed size during iteration``, which the control plane
    sees as a failed call (a deployment failed beyond its retries in an e2e test, 1 run in 4).
    Fill: a re-entrant lock around the DynamoDB request handler.
    """
    from moto.dynamodb.responses import DynamoHandler

    with _DYNAMODB_LOCK:
        return _call_original(DynamoHandler, "call_action", self)
