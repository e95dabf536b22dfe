"""Fill n and the virtual clock local mode runs on: simulated time that only moves when nothing is runnable.

AWS: Step Functions Wait states, task timeouts and heartbeats, Retry intervals, SageMaker
deployment stages and bake windows, the control plane's cooldowns and leases all run on wall-clock
time. Local mode runs them on one :class:`VirtualClock` instead (ADR 8), as Temporal's
time-skipping test server and SimPy's event loop do:

- A thread that waits for simulated time registers a **sleeper** (a deadline, optionally an
  external ``threading.Event`` that ends the wait early, and a tag naming what it belongs to, such
  as an execution ARN) and blocks on the clock. Handler run time is not simulated time: the clock
  never moves on its own.
- :meth:`VirtualClock.advance` moves time forward to a target, one timer at a time: it settles the
  system (the caller's ``settle`` runs pending work until every participant is blocked on the clock
  or idle), jumps to the earliest sleeper's deadline, wakes the sleepers that fall due, and settles
  again. A 48 h approval timeout costs milliseconds, and the order in which timers fire is the
  order of their deadlines, so a run is deterministic given its start time.
- :meth:`VirtualClock.poke` wakes every sleeper to re-check its condition (an alarm changed, a
  task token was answered); a woken sleeper counts as runnable until it blocks again.

With ``skipping=False`` the clock does not jump: :meth:`advance` lets real time pass, ``rate``
simulated seconds per real second, before each timer falls due (what ``time_scale`` used to do;
``make bench`` compares the two).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from mlcp_cli.emulator.gaps.state import _INSTALL, wake_settle

POLL_SECONDS = 0.2
"""Real seconds between a sleeper's re-checks of its external event (a backstop: whoever sets the
event normally pokes the clock)."""


@dataclass(eq=False)
class Sleeper:
    """One thread blocked on the clock until ``deadline`` (simulated seconds since the origin) or
    until ``ready()`` holds (an external event: a callback answered, the execution stopped)."""

    deadline: float
    ready: Callable[[], bool] | None
    tag: Any
    wake: threading.Event = field(default_factory=threading.Event)
    seq: int = 0

    def runnable(self) -> bool:
        """Whether this sleeper is about to run (its condition holds), though still registered."""
        return self.ready is not None and self.ready()


class VirtualClock:
    """Simulated time for local mode: ``now()`` only moves in :meth:`advance` (see the module doc)."""

    def __init__(
        self, start: dt.datetime | None = None, *, skipping: bool = True, rate: float = 3600.0
    ) -> None:
        origin = start if start is not None else dt.datetime.now(dt.UTC).replace(microsecond=0)
        if origin.tzinfo is None:
            raise ValueError("the clock's start must be timezone-aware")
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.origin = origin.astimezone(dt.UTC)
        self.skipping = skipping
        self.rate = rate
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self._sleepers: list[Sleeper] = []
        self._seq = itertools.count()
        self._closed = False

    # -- reading -----------------------------------------------------------------------------

    def elapsed(self) -> float:
        """Simulated seconds since the origin."""
        return self._elapsed

    def now(self) -> dt.datetime:
        """The simulated UTC time."""
        return self.origin + dt.timedelta(seconds=self._elapsed)

    def next_deadline(self) -> float | None:
        """The earliest registered deadline (simulated seconds since the origin), if any."""
        with self._lock:
            return min((s.deadline for s in self._sleepers), default=None)

    def blocked(self, tag: Any) -> bool:
        """Whether some thread tagged ``tag`` is blocked on the clock (not about to run)."""
        with self._lock:
            return any(s.tag == tag and not s.runnable() for s in self._sleepers)

    def blocked_tags(self) -> set[Any]:
        """The tags of the threads blocked on the clock and not about to run."""
        with self._lock:
            return {s.tag for s in self._sleepers if not s.runnable()}

    # -- waiting -----------------------------------------------------------------------------

    def sleep(
        self,
        seconds: float,
        *,
        event: threading.Event | None = None,
        ready: Callable[[], bool] | None = None,
        tag: Any = None,
    ) -> bool:
        """Block until ``seconds`` of simulated time have passed (False) or ``event`` is set /
        ``ready()`` holds (True)."""
        return self.sleep_until(self._elapsed + max(0.0, seconds), event=event, ready=ready, tag=tag)

    def sleep_until(
        self,
        deadline: float,
        *,
        event: threading.Event | None = None,
        ready: Callable[[], bool] | None = None,
        tag: Any = None,
    ) -> bool:
        """Block until the clock reaches ``deadline`` (False) or ``event`` is set / ``ready()``
        holds (True). Whoever makes the condition true should :meth:`poke` the clock; the sleeper
        also re-checks it every ``POLL_SECONDS``."""
        if event is not None:
            ready = event.is_set
        while True:
            if self._closed:
                park_for_good()
            if ready is not None and ready():
                return True
            with self._lock:
                if self._elapsed >= deadline:
                    return False
                sleeper = Sleeper(deadline, ready, tag, seq=next(self._seq))
                self._sleepers.append(sleeper)
            wake_settle()
            try:
                while not sleeper.wake.wait(POLL_SECONDS if ready is not None else None):
                    if self._closed or (ready is not None and ready()):
                        break
            finally:
                with self._lock:
                    if sleeper in self._sleepers:
                        self._sleepers.remove(sleeper)

    def close(self) -> None:
        """Stop this clock for good (its control plane closed): a thread blocked on it, or that
        blocks on it later, stays parked and never runs again. A thread left over from a closed
        control plane (an execution parked on a Wait or a token) must not act on the emulator of
        the next one, whose backends it would write into."""
        self._closed = True
        self.poke()

    def poke(self) -> None:
        """Wake every sleeper to re-check its condition; each counts as runnable until it blocks again."""
        with self._lock:
            woken, self._sleepers = self._sleepers, []
        for sleeper in woken:
            sleeper.wake.set()

    # -- moving time -------------------------------------------------------------------------

    def _jump(self, to: float) -> None:
        with self._lock:
            self._elapsed = max(self._elapsed, to)
            due = [s for s in self._sleepers if s.deadline <= self._elapsed]
            self._sleepers = [s for s in self._sleepers if s.deadline > self._elapsed]
        for sleeper in sorted(due, key=lambda s: (s.deadline, s.seq)):
            sleeper.wake.set()

    def _pass_real_time(self, to: float) -> None:
        """Skipping disabled: let real time pass until the clock reaches ``to``, at ``rate``."""
        step = to - self._elapsed
        if step > 0:
            time.sleep(step / self.rate)

    def advance(self, seconds: float, settle: Callable[[], object] = lambda: None) -> None:
        """Move time forward by ``seconds``, running every timer that falls due on the way, in
        deadline order; ``settle`` runs before each jump and at the end (it returns when every
        participant is blocked on the clock or idle)."""
        if seconds < 0 or math.isnan(seconds):
            raise ValueError("time only moves forward")
        self.advance_to(self._elapsed + seconds, settle)

    def advance_to(self, target: float, settle: Callable[[], object] = lambda: None) -> None:
        """:meth:`advance` to ``target`` simulated seconds since the origin."""
        while True:
            settle()
            upcoming = self.next_deadline()
            if upcoming is None or upcoming > target:
                break
            if not self.skipping:
                self._pass_real_time(upcoming)
            self._jump(upcoming)
        if not self.skipping:
            self._pass_real_time(target)
        self._jump(target)
        settle()

    def run_until(
        self, done: Callable[[], bool], settle: Callable[[], object] = lambda: None, *, limit: float
    ) -> bool:
        """Advance timer by timer until ``done()`` holds (True) or ``limit`` simulated seconds from
        now have passed or no timer is left (False)."""
        target = self._elapsed + limit
        while True:
            settle()
            if done():
                return True
            upcoming = self.next_deadline()
            if upcoming is None or upcoming > target:
                return False
            if not self.skipping:
                self._pass_real_time(upcoming)
            self._jump(upcoming)


def park_for_good() -> NoReturn:
    """Block the calling (daemon) thread forever: what a closed control plane's leftover threads
    do instead of acting. The main thread is never parked: it gets an error instead."""
    if threading.current_thread() is threading.main_thread():
        raise RuntimeError("the local control plane is closed")
    threading.Event().wait()
    raise AssertionError("unreachable")


# -- fill n: the control plane's code reads the virtual clock ---------------------------------


def active_clock() -> VirtualClock | None:
    """The installed emulator's clock (None when the fills are not installed)."""
    state = _INSTALL.active
    return state.clock if state is not None else None


def simulated_now() -> dt.datetime:
    """The emulator's "now": the installed :class:`VirtualClock` (wall-clock UTC when not installed)."""
    clock = active_clock()
    return clock.now() if clock is not None else dt.datetime.now(dt.UTC)


def advance_clock(seconds: float, settle: Callable[[], object] = lambda: None) -> None:
    """Advance the installed clock by ``seconds``, running the timers that fall due (see
    :meth:`VirtualClock.advance`)."""
    clock = active_clock()
    if clock is None:
        raise RuntimeError("the gap fills are not installed")
    clock.advance(seconds, settle)


class _VirtualDatetime(dt.datetime):
    """``datetime.datetime`` whose ``now()`` reads the virtual clock (naive local time without a tz,
    as ``datetime.now()`` gives)."""

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        current = simulated_now()
        return current.astimezone(tz) if tz is not None else current.astimezone().replace(tzinfo=None)


VIRTUAL_DATETIME_MODULE = types.ModuleType("datetime")
"""A stand-in for the ``datetime`` module whose ``datetime.now()`` is the virtual clock."""
VIRTUAL_DATETIME_MODULE.__dict__.update({k: v for k, v in vars(dt).items() if not k.startswith("__")})
VIRTUAL_DATETIME_MODULE.datetime = _VirtualDatetime  # type: ignore[attr-defined]

POWERTOOLS_IDEMPOTENCY_MODULES = (
    "aws_lambda_powertools.utilities.idempotency.persistence.base",
    "aws_lambda_powertools.utilities.idempotency.persistence.datarecord",
    "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb",
)
"""The Powertools modules that read ``dt.datetime.now()`` for idempotency records' expiry."""


def restore_clock() -> None:
    """Give the operator's copy of ``mlcp.clock`` its wall clock back (the fills are uninstalled)."""
    module = sys.modules.get("mlcp.clock")
    if module is not None and getattr(module, "now", None) is simulated_now:
        import importlib

        importlib.reload(module)  # re-executes the module: ``now`` is the wall clock again
    for name in POWERTOOLS_IDEMPOTENCY_MODULES:
        powertools = sys.modules.get(name)
        if powertools is not None and getattr(powertools, "dt", None) is VIRTUAL_DATETIME_MODULE:
            powertools.dt = dt  # type: ignore[attr-defined]


def use_simulated_clock() -> None:
    """Point the loaded copy of ``mlcp.clock`` (the function's own, or the operator's) at the
    simulated clock.

    AWS: a function's notion of "now" is wall-clock time, the same clock that Step Functions waits
    and task timeouts run on. moto 5.2.5 has no notion of simulated time; the clock fill (h) runs
    the waits on the virtual clock, so the code's clock must read it too or cooldowns, quiet
    periods and leases would never elapse in a scenario. Fill: swap ``mlcp.clock.now``.
    """
    module = sys.modules.get("mlcp.clock")
    if module is not None and getattr(module, "now", None) is not simulated_now:
        module.now = simulated_now  # type: ignore[attr-defined]
    # Powertools idempotency expiry (records keep 1 h by default) runs on the same clock: a replay
    # after a ``wait`` past the expiry is processed again, as on AWS.
    for name in POWERTOOLS_IDEMPOTENCY_MODULES:
        powertools = sys.modules.get(name)
        if powertools is not None and getattr(powertools, "dt", None) is dt:
            powertools.dt = VIRTUAL_DATETIME_MODULE  # type: ignore[attr-defined]
