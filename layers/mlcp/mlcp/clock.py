"""The control plane's one clock.

Every "now" in the runtime package comes from :func:`now`, so that local mode can run the whole
control plane on a simulated clock (the emulator swaps this function for its virtual clock, the one
Step Functions waits and timeouts run on). On AWS it is wall-clock UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def current() -> datetime:
    """:func:`now`, looked up at each call: the default ``clock`` of every ``*Deps`` (a default of
    ``now`` itself would keep the wall clock after local mode swaps this module's ``now``)."""
    return now()


def utc_text(moment: datetime) -> str:
    """Fixed-width UTC text (sorts like the moments it names)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def aware(moment: datetime) -> datetime:
    """``moment``, refused (ValueError) when it has no timezone."""
    if moment.tzinfo is None:
        raise ValueError("times need a timezone (UTC)")
    return moment
