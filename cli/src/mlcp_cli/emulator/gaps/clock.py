"""Fill n: one simulated clock for the control plane's code (``mlcp.clock.now``)."""

from __future__ import annotations

import datetime as dt
import sys
import time

from mlcp_cli.emulator.gaps.state import _INSTALL


def _time_scale() -> float:
    state = _INSTALL.active
    return state.time_scale if state is not None else 1.0


def simulated_now() -> dt.datetime:
    """The emulator's clock: it starts at the wall-clock time of installation and runs at
    ``time_scale`` simulated seconds per real second, in step with the scaled Step Functions waits."""
    state = _INSTALL.active
    if state is None:
        return dt.datetime.now(dt.UTC)
    origin, started = state.clock_origin
    elapsed = (time.monotonic() - started) * state.time_scale + state.clock_offset
    return origin + dt.timedelta(seconds=elapsed)


def advance_clock(seconds: float) -> None:
    """Jump the simulated clock forward (what the code sees as "now"); waits already running in
    Step Functions or in a simulated deployment keep their own pace."""
    if seconds < 0:
        raise ValueError("time only moves forward")
    state = _INSTALL.active
    if state is None:
        raise RuntimeError("the gap fills are not installed")
    state.clock_offset += seconds


def restore_clock() -> None:
    """Give the operator's copy of ``mlcp.clock`` its wall clock back (the fills are uninstalled)."""
    module = sys.modules.get("mlcp.clock")
    if module is not None and getattr(module, "now", None) is simulated_now:
        import importlib

        importlib.reload(module)  # re-executes the module: ``now`` is the wall clock again


def use_simulated_clock() -> None:
    """Point the loaded copy of ``mlcp.clock`` (the function's own, or the operator's) at the
    simulated clock.

    AWS: a function's notion of "now" is wall-clock time, the same clock that Step Functions waits
    and task timeouts run on. moto 5.2.5 has no notion of simulated time; the time-scale fill (h)
    speeds up the waits, so the code's clock must speed up with them or cooldowns, quiet periods
    and leases would never elapse in a scenario. Fill: swap ``mlcp.clock.now``.
    """
    module = sys.modules.get("mlcp.clock")
    if module is not None and getattr(module, "now", None) is not simulated_now:
        module.now = simulated_now  # type: ignore[attr-defined]
