"""EventBridge deliveries: the queue the events fill (b) fills and the runtime's pump drains."""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from mlcp_cli.emulator.gaps.clock import simulated_now
from mlcp_cli.emulator.gaps.state import wake_settle


@dataclass(frozen=True)
class Delivery:
    """An event that matched a rule and awaits delivery to a Lambda or Step Functions target."""

    rule_arn: str
    target: dict[str, Any]
    event: dict[str, Any]
    payload: Any
    account_id: str
    region: str


@dataclass(frozen=True)
class DeliveryRecord:
    """One line of the delivery log (what the timeline printer shows)."""

    time: dt.datetime
    rule: str
    target: str
    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class AsyncInvocation:
    """A Lambda ``InvocationType=Event`` invocation waiting to run (from EventBridge or the API)."""

    function_name: str
    payload: Any
    account_id: str
    region: str
    source: str


class Deliveries:
    """Pending EventBridge deliveries and async invocations, and the log of what was delivered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: deque[Delivery | AsyncInvocation] = deque()
        self.log: list[DeliveryRecord] = []

    def enqueue(self, item: Delivery | AsyncInvocation) -> None:
        with self._lock:
            self._pending.append(item)
        wake_settle()

    def take(self) -> Delivery | AsyncInvocation | None:
        with self._lock:
            return self._pending.popleft() if self._pending else None

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def record(self, rule: str, target: str, outcome: str, detail: str = "") -> DeliveryRecord:
        entry = DeliveryRecord(simulated_now(), rule, target, outcome, detail)
        with self._lock:
            self.log.append(entry)
        return entry
