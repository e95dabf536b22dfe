"""The installation's shared state: the active registry, deliveries, clock and originals of the
patched moto attributes (every fill module reads it; :mod:`.install` writes it)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcp_cli.emulator.gaps.awslambda import FunctionRegistry
    from mlcp_cli.emulator.gaps.deliveries import Deliveries
    from mlcp_cli.emulator.gaps.sagemaker_endpoints import EndpointDeployment


@dataclass
class _State:
    registry: FunctionRegistry
    deliveries: Deliveries
    time_scale: float = 1.0
    deployments: list[EndpointDeployment] = field(default_factory=list)
    clock_origin: tuple[dt.datetime, float] = field(
        default_factory=lambda: (dt.datetime.now(dt.UTC), time.monotonic())
    )
    clock_offset: float = 0.0
    """Simulated seconds added by ``advance_clock`` (time jumps)."""
    programs: dict[str, Any] = field(default_factory=dict)
    """Definition text -> parsed program (fill p)."""
    programs_lock: threading.Lock = field(default_factory=threading.Lock)


_ABSENT = object()
"""Marks a patched attribute moto does not define (the fill adds it; uninstalling removes it)."""


class _Installation:
    """Module-wide installation state: active registry/deliveries, originals, reference count."""

    def __init__(self) -> None:
        self.active: _State | None = None
        self.originals: list[tuple[Any, str, Any]] = []
        self.count = 0
        self.lock = threading.Lock()


_INSTALL = _Installation()


def _state() -> _State:
    if _INSTALL.active is None:  # pragma: no cover - patches exist only while installed
        raise RuntimeError("emulator gap fills are not installed")
    return _INSTALL.active


def _original(owner: Any, name: str) -> Any:
    """The unpatched attribute (as stored in the class ``__dict__``), for fills that wrap it."""
    for patched_owner, patched_name, original in _INSTALL.originals:
        if patched_owner is owner and patched_name == name:
            return original
    return owner.__dict__[name]


def _call_original(owner: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    original = _original(owner, name)
    if isinstance(original, classmethod):
        return original.__func__(owner, *args, **kwargs)
    return original(*args, **kwargs)
