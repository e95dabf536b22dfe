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
