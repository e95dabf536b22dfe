"""The control plane's one clock.

Every "now" in the runtime package comes from :func:`now`, so that local mode can run the whole
control plane on a simulated clock (the emulator swaps this function for one that runs at the
scenario's time scale, in step with Step Functions waits and timeouts). On AWS it is wall-clock UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
