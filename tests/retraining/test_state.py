"""RetrainingState on a (serialized) moto control-plane table: streaks, data windows, the lease,
cooldown and daily maximum — including 16 concurrent attempts."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlcp.adapters.retraining_state import RetrainingState
from mlcp.ports import Admission, DataWindow

from .conftest import TABLE

T0 = datetime(2025, 1, 31, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TOKEN_A = "mlcp-" + "a" * 64
TOKEN_B = "mlcp-" + "b" * 64


def _item(ddb: Any, pk: str, sk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = ddb.get_item(
        TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    ).get("Item")
    return item


# ------------------------------------------------------------------------------ streaks


def test_streak_counts_bad_runs_and_a_good_run_resets(state: RetrainingState, ddb: Any) -> None:
    assert state.streak("churn-prod", "data_quality", True) == 1
    assert state.streak("churn-prod", "data_quality", True) == 2
    assert state.streak("churn-prod", "model_quality", True) == 1  # another check, its own streak
    assert state.streak("fraud-prod", "data_quality", True) == 1  # another endpoint
    assert state.streak("churn-prod", "data_quality", True) == 3
    assert state.streak("churn-prod", "data_quality", False) == 0
    assert state.streak("churn-prod", "data_quality", True) == 1
    item = _item(ddb, "monitor#churn-prod#data_quality", "streak")
    assert item is not None
    assert item["count"]["N"] == "1"


def test_streak_counts_a_run_once(state: RetrainingState) -> None:
    assert state.streak("e", "data_quality", True, run_id="run-1") == 1
    assert state.streak("e", "data_quality", True, run_id="run-1") == 1  # redelivered
    assert state.streak("e", "data_quality", True, run_id="run-2") == 2
    assert state.streak("e", "data_quality", False, run_id="run-3") == 0
    assert state.streak("e", "data_quality", False, run_id="run-3") == 0
    assert state.streak("e", "data_quality", True, run_id="run-4") == 1


# ------------------------------------------------------------------------------ data windows


def test_accumulate_counts_each_event_once(state: RetrainingState) -> None:
    assert state.data_window("churn-train") == DataWindow()
    first = state.accumulate_data("churn-train", 100, "a.csv", "ev-1", at=T0)
    assert first == DataWindow(objects=1, bytes=100, first_at=T0, last_at=T0)
    second = state.accumulate_data("churn-train", 250, "b.csv", "ev-2", at=T0 + timedelta(seconds=5))
    assert (second.objects, second.bytes, second.first_at) == (2, 350, T0)
    assert second.last_at == T0 + timedelta(seconds=5)
    again = state.accumulate_data("churn-train", 250, "b.csv", "ev-2", at=T0 + timedelta(seconds=9))
    assert again == second
    assert state.data_window("fraud-train") == DataWindow()


def test_reset_data(state: RetrainingState) -> None:
    assert state.reset_data("churn-train") is False  # nothing to reset
    window = state.accumulate_data("churn-train", 1, "a", "ev-1", at=T0)
    stale = DataWindow(objects=1, bytes=1, first_at=T0 - HOUR, last_at=T0 - HOUR)
    assert state.reset_data("churn-train", window=stale) is False
    assert state.data_window("churn-train").objects == 1
    assert state.reset_data("churn-train", window=window) is True
    assert state.data_window("churn-train") == DataWindow()
    # A late redelivery of a counted event does not refill the window.
    assert state.accumulate_data("churn-train", 1, "a", "ev-1", at=T0 + HOUR) == DataWindow()
    assert state.accumulate_data("churn-train", 7, "c", "ev-3", at=T0 + HOUR).objects == 1


def test_accumulate_is_idempotent_under_concurrency(state: RetrainingState) -> None:
    events = [f"ev-{i % 25}" for i in range(100)]  # 25 distinct events, each delivered 4 times

    def deliver(event_id: str) -> None:
        state.accumulate_data("churn-train", 10, f"{event_id}.csv", event_id, at=T0)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(deliver, events))
    window = state.data_window("churn-train")
    assert (window.objects, window.bytes) == (25, 250)


def test_accumulate_rejects_bad_input(state: RetrainingState) -> None:
    with pytest.raises(ValueError, match="size must be >= 0"):
        state.accumulate_data("p", -1, "k", "e")
    with pytest.raises(ValueError, match="timezone"):
        state.accumulate_data("p", 1, "k", "e", at=datetime(2025, 1, 1))


# ------------------------------------------------------------------------------ lease, cooldown, maximum


def _acquire(state: RetrainingState, token: str, now: datetime, **kwargs: Any) -> Admission:
    settings: dict[str, Any] = {"cooldown": timedelta(0), "max_per_day": 10, "lease": HOUR} | kwargs
    return state.try_acquire(
        "churn-train",
        token,
        now,
        settings["cooldown"],
        settings["max_per_day"],
        lease=settings["lease"],
    )


def test_one_in_flight_until_released(state: RetrainingState) -> None:
    first = _acquire(state, TOKEN_A, T0)
    assert first.admitted, first.reason
    refused = _acquire(state, TOKEN_B, T0 + timedelta(minutes=1))
    assert not refused.admitted
    assert refused.reason.startswith("another run is in flight")
    # The holder again (a redelivery before the run finished): admitted, same token.
    assert _acquire(state, TOKEN_A, T0 + timedelta(minutes=2)).reason.startswith("already admitted")
    assert state.release("churn-train", T0 + timedelta(minutes=30), succeeded=True) is True
    assert _acquire(state, TOKEN_B, T0 + timedelta(minutes=31)).admitted


def test_an_expired_lease_is_taken_over(state: RetrainingState) -> None:
    assert _acquire(state, TOKEN_A, T0).admitted
    assert not _acquire(state, TOKEN_B, T0 + HOUR - timedelta(seconds=1)).admitted
    assert _acquire(state, TOKEN_B, T0 + HOUR).admitted


def test_cooldown_after_the_last_finished_run(state: RetrainingState) -> None:
    cooldown = timedelta(hours=6)
    assert _acquire(state, TOKEN_A, T0, cooldown=cooldown).admitted
    finished = T0 + timedelta(minutes=40)
    state.release("churn-train", finished, succeeded=False)
    early = _acquire(state, TOKEN_B, finished + cooldown - timedelta(seconds=1), cooldown=cooldown)
    assert not early.admitted
    assert early.reason == (
        "cooldown: the last run finished at 2025-01-31T09:40:00.000000Z; next start from 2025-01-31T15:40:00.000000Z"
    )
    # An older finish (out-of-order event) never moves the cooldown back.
    state.release("churn-train", T0, succeeded=True)
    assert not _acquire(
        state, TOKEN_B, finished + cooldown - timedelta(seconds=1), cooldown=cooldown
    ).admitted
    assert _acquire(state, TOKEN_B, finished + cooldown, cooldown=cooldown).admitted


def test_daily_maximum(state: RetrainingState, ddb: Any) -> None:
    tokens = [f"mlcp-{i:064d}" for i in range(4)]
    for i in range(2):
        now = T0 + i * HOUR
        assert _acquire(state, tokens[i], now, max_per_day=2).admitted
        state.release("churn-train", now + timedelta(minutes=10), succeeded=True)
    third = _acquire(state, tokens[2], T0 + 3 * HOUR, max_per_day=2)
    assert (third.admitted, third.reason) == (False, "daily maximum reached (2 of 2 starts today)")
    day = _item(ddb, "retraining#churn-train", "day#2025-01-31")
    assert day is not None
    assert day["count"]["N"] == "2"
    assert set(day["tokens"]["SS"]) == set(tokens[:2])
    # Tomorrow (UTC) counts afresh.
    assert _acquire(state, tokens[2], datetime(2025, 2, 1, 0, 0, tzinfo=UTC), max_per_day=2).admitted


def test_a_redelivered_trigger_is_not_admitted_twice(state: RetrainingState) -> None:
    assert _acquire(state, TOKEN_A, T0).admitted
    state.release("churn-train", T0 + timedelta(minutes=5), succeeded=True)
    again = _acquire(state, TOKEN_A, T0 + timedelta(minutes=6))
    assert (again.admitted, again.reason) == (
        False,
        "this trigger already started a run today (a redelivery)",
    )


def test_release_leaves_another_executions_lease(state: RetrainingState, ddb: Any) -> None:
    assert _acquire(state, TOKEN_A, T0).admitted
    assert state.attach_execution("churn-train", TOKEN_A, "arn:exec/ours") is True
    assert state.attach_execution("churn-train", TOKEN_B, "arn:exec/theirs") is False
    # A run started by hand finishes: cooldown recorded, our lease stays.
    assert (
        state.release("churn-train", T0 + timedelta(minutes=1), True, execution_arn="arn:exec/manual")
        is False
    )
    assert not _acquire(state, TOKEN_B, T0 + timedelta(minutes=2)).admitted
    last = _item(ddb, "retraining#churn-train", "last")
    assert last is not None
    assert last["execution_arn"]["S"] == "arn:exec/manual"
    assert (
        state.release("churn-train", T0 + timedelta(minutes=3), True, execution_arn="arn:exec/ours") is True
    )
    assert state.release("churn-train", T0 + timedelta(minutes=3), True) is False  # nothing held
    assert _acquire(state, TOKEN_B, T0 + timedelta(minutes=4)).admitted


def test_abandon_gives_the_admission_back(state: RetrainingState, ddb: Any) -> None:
    assert _acquire(state, TOKEN_A, T0, max_per_day=1).admitted
    assert state.abandon("churn-train", TOKEN_B, T0) is False
    assert state.abandon("churn-train", TOKEN_A, T0) is True
    day = _item(ddb, "retraining#churn-train", "day#2025-01-31")
    assert day is not None
    assert day["count"]["N"] == "0"
    assert "tokens" not in day
    # No cooldown, the daily slot is free again, and the same trigger may try again.
    assert _acquire(state, TOKEN_A, T0 + timedelta(minutes=1), max_per_day=1, cooldown=HOUR).admitted


def test_sixteen_concurrent_attempts_admit_one(state: RetrainingState, ddb: Any) -> None:
    tokens = [f"mlcp-{i:064x}" for i in range(16)]
    barrier = threading.Barrier(16)

    def attempt(token: str) -> Admission:
        barrier.wait()
        return _acquire(state, token, T0, max_per_day=5, cooldown=HOUR)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, tokens))
    admitted = [token for token, result in zip(tokens, results, strict=True) if result.admitted]
    assert len(admitted) == 1
    refusals = {result.reason.split(" (")[0] for result in results if not result.admitted}
    assert refusals == {"another run is in flight"}
    lease = _item(ddb, "retraining#churn-train", "lease")
    assert lease is not None
    assert lease["holder"]["S"] == admitted[0]
    day = _item(ddb, "retraining#churn-train", "day#2025-01-31")
    assert day is not None
    assert day["count"]["N"] == "1"


def test_sixteen_concurrent_attempts_after_release_respect_the_daily_maximum(state: RetrainingState) -> None:
    """Each round: 16 threads race, one wins, it finishes; with max_per_day=3 only 3 rounds start."""
    wins = 0
    for round_ in range(5):
        now = T0 + round_ * HOUR
        barrier = threading.Barrier(16)

        def attempt(
            i: int, now: datetime = now, round_: int = round_, barrier: threading.Barrier = barrier
        ) -> Admission:
            barrier.wait()
            return _acquire(state, f"mlcp-{round_:032d}{i:032d}", now, max_per_day=3)

        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(attempt, range(16)))
        admitted = [r for r in results if r.admitted]
        assert len(admitted) <= 1
        if admitted:
            wins += 1
            state.release("churn-train", now + timedelta(minutes=5), succeeded=True)
        else:
            assert {r.reason for r in results} == {"daily maximum reached (3 of 3 starts today)"}
    assert wins == 3


def test_try_acquire_validates(state: RetrainingState) -> None:
    with pytest.raises(ValueError, match="max_per_day"):
        _acquire(state, TOKEN_A, T0, max_per_day=0)
    with pytest.raises(ValueError, match="timezone"):
        _acquire(state, TOKEN_A, datetime(2025, 1, 1))
