"""The installation's shared state: the active registry, deliveries, clock and originals of the
patched moto attributes (every fill module reads it; :mod:`.install` writes it)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcp_cli.emulator.gaps.awslambda import FunctionRegistry
    from mlcp_cli.emulator.gaps.clock import VirtualClock
    from mlcp_cli.emulator.gaps.deliveries import Deliveries
    from mlcp_cli.emulator.gaps.sagemaker_endpoints import EndpointDeployment


@dataclass
class _State:
    registry: FunctionRegistry
    deliveries: Deliveries
    clock: VirtualClock
    deployments: list[EndpointDeployment] = field(default_factory=list)


HANG_TIMEOUT = 600.0
"""Real seconds after which a settle still not idle is reported as a hang (naming what still runs).
Only a bound on a hang: correctness never depends on it, and a loaded host may be many times slower
than a quiet one, so it is far above any settle's real duration."""

SETTLE_WAKE = threading.Event()
"""Set when a participant of a settle may have stopped being runnable or queued work (a thread
blocked on the clock, an execution ended, a delivery queued, an endpoint deployment ended): the
settling thread re-checks at once instead of at the end of its pause (ADR 40). Only a wake-up: the
settle still re-checks after each pause, so a change nobody announces is seen as before."""


def wake_settle() -> None:
    """Tell a settling thread that what is runnable may have changed (see :data:`SETTLE_WAKE`)."""
    SETTLE_WAKE.set()


_ABSENT = object()
"""Marks a patched attribute moto does not define (the fill adds it; uninstalling removes it)."""


class _Installation:
    """Module-wide installation state: active registry/deliveries, originals, reference count."""

    def __init__(self) -> None:
        self.active: _State | None = None
        self.originals: dict[tuple[int, str], tuple[Any, Any]] = {}
        """(owner, what it had) by (id of the owner, name), in patching order: fills look their
        original up on every request; uninstalling restores them last patched first."""
        self.count = 0
        self.lock = threading.Lock()


_INSTALL = _Installation()


def _state() -> _State:
    if _INSTALL.active is None:  # pragma: no cover - patches exist only while installed
        raise RuntimeError("emulator gap fills are not installed")
    return _INSTALL.active


def _original(owner: Any, name: str) -> Any:
    """The unpatched attribute (as stored in the class ``__dict__``), for fills that wrap it."""
    try:
        return _INSTALL.originals[(id(owner), name)][1]
    except KeyError:
        return owner.__dict__[name]


def _call_original(owner: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    original = _original(owner, name)
    if isinstance(original, classmethod):
        return original.__func__(owner, *args, **kwargs)
    return original(*args, **kwargs)
