"""The virtual clock on its own (the fills that block on it are tested in test_gaps.py)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from mlcp_cli.emulator.gaps import VirtualClock

START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def test_the_clock_starts_where_asked_and_only_moves_when_advanced() -> None:
    clock = VirtualClock(START)
    assert clock.now() == START
    assert clock.elapsed() == 0
    clock.advance(48 * 3600)
    assert clock.now() == START + dt.timedelta(hours=48)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_a_start_without_a_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        VirtualClock(dt.datetime(2026, 1, 5, 9))


def test_a_sleep_that_is_already_over_or_answered_returns_at_once() -> None:
    clock = VirtualClock(START)
    assert clock.sleep(0) is False  # no time to wait
    answered = threading.Event()
    answered.set()
    assert clock.sleep(3600, event=answered) is True  # its event, not time
    assert clock.next_deadline() is None  # nothing stayed registered


def test_advance_settles_before_each_jump_and_at_the_end() -> None:
    clock = VirtualClock(START)
    seen: list[float] = []
    clock.advance(90, settle=lambda: seen.append(clock.elapsed()))
    assert seen == [0, 90]  # nothing was due on the way: one settle before, one after


def test_timers_fire_in_deadline_order_each_after_a_settle() -> None:
    clock = VirtualClock(START)
    woke: list[tuple[str, float]] = []
    ready = threading.Barrier(3)

    def sleeper(name: str, seconds: float) -> None:
        ready.wait()
        clock.sleep(seconds, tag=name)
        woke.append((name, clock.elapsed()))

    threads = [threading.Thread(target=sleeper, args=args) for args in (("late", 7200), ("early", 60))]
    for thread in threads:
        thread.start()
    ready.wait()

    def settle() -> None:
        # The participants are the two sleepers: each is blocked on the clock or has finished.
        for name, thread in zip(("late", "early"), threads, strict=True):
            while thread.is_alive() and not clock.blocked(name):
                thread.join(0.001)

    clock.advance(3 * 3600, settle)
    for thread in threads:
        thread.join(10)
    assert woke == [("early", 60), ("late", 7200)]
    assert clock.elapsed() == 3 * 3600


def test_without_skipping_real_time_passes_at_the_rate() -> None:
    clock = VirtualClock(START, skipping=False, rate=1e9)
    clock.advance(3600)  # 3.6 microseconds of real time at this rate
    assert clock.now() == START + dt.timedelta(hours=1)


class _Parked(Exception):
    """Stands in for parking a thread for good, so the test can see it happen and join."""


def _sleep_in_thread(clock: VirtualClock, **kwargs: object) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(clock.sleep(100, **kwargs))  # type: ignore[arg-type]
        except _Parked:
            outcome.append("parked")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_closed_clock_parks_its_sleepers_instead_of_letting_them_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlcp_cli.emulator.gaps import clock as clock_module

    def park() -> None:
        raise _Parked

    monkeypatch.setattr(clock_module, "park_for_good", park)
    clock = VirtualClock(START)
    answered = threading.Event()
    blocked, blocked_outcome = _sleep_in_thread(clock, event=answered, tag="before")
    while blocked.is_alive() and not clock.blocked("before"):  # until it is registered
        blocked.join(0.001)
    assert clock.blocked("before")
    clock.close()
    answered.set()  # what a reset backend can make true: it must not release the thread
    blocked.join()
    assert blocked_outcome == ["parked"]
    # A thread that blocks on it later is parked too, even with its answer already there.
    late, late_outcome = _sleep_in_thread(clock, ready=lambda: True)
    late.join()
    assert late_outcome == ["parked"]


def test_the_main_thread_is_never_parked_by_a_closed_clock() -> None:
    clock = VirtualClock(START)
    clock.close()
    with pytest.raises(RuntimeError, match="closed"):
        clock.sleep(1)


def test_a_thread_blocking_on_the_clock_or_a_queued_delivery_wakes_a_settling_thread() -> None:
    """ADR 40: a settle waiting out its pause re-checks as soon as a participant blocks or queues."""
    from mlcp_cli.emulator.gaps import Deliveries
    from mlcp_cli.emulator.gaps.state import HANG_TIMEOUT, SETTLE_WAKE

    clock = VirtualClock(START)
    SETTLE_WAKE.clear()
    sleeper = threading.Thread(target=clock.sleep, args=(60,), daemon=True)
    sleeper.start()
    assert SETTLE_WAKE.wait(HANG_TIMEOUT)  # only a bound on a hang: set when the sleeper blocks
    assert clock.next_deadline() == 60
    clock.advance(60)
    sleeper.join(HANG_TIMEOUT)
    assert not sleeper.is_alive()

    SETTLE_WAKE.clear()
    Deliveries().enqueue(object())  # type: ignore[arg-type]
    assert SETTLE_WAKE.is_set()
