"""Fixtures shared by every test package."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from moto.dynamodb.responses import DynamoHandler


@pytest.fixture
def serialized_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serialize moto's DynamoDB request handling, as the real service is serializable.

    moto's TransactWriteItems snapshots and restores whole tables without a lock, so truly
    concurrent requests can clobber each other inside the emulator. DynamoDB itself does not
    behave that way; with one request at a time the emulator is a faithful stand-in and the
    concurrency tests exercise *our* conditional writes, not moto's races.
    """
    lock = threading.RLock()
    original: Callable[..., Any] = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)
