"""When retraining starts (``mlcp.retraining.retrain``), against fakes of its ports (no moto): the
policy's triggers, the streak of bad monitoring runs, the data window and its quiet period, and the
guards (lease, cooldown, daily maximum); a refused start gives the admission back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlcp.errors import PipelineStartFailed
from mlcp.policy.model import DataTrigger, RetrainingPolicy
from mlcp.retraining import RetrainingTrigger, retrain
from mlcp.violations import Violation

from .fakes import FakePipelines, FakeRetrainingGuards

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PIPELINE = "churn-training"


def drift(run: str, *features: str) -> RetrainingTrigger:
    violations = tuple(Violation(feature, "data_type_check", "data_quality") for feature in features)
    return RetrainingTrigger(
        "violations",
        f"monitoring run {run}",
        run,
        endpoint="churn",
        violations=violations,
        checked_kinds=("data_quality",),
    )


def policy(**settings: object) -> RetrainingPolicy:
    return RetrainingPolicy.model_validate(
        {"pipeline": PIPELINE, "on_violations": ["data_quality"], **settings}
    )


def test_violations_start_after_the_streak_of_bad_runs_not_before() -> None:
    guards, pipelines = FakeRetrainingGuards(), FakePipelines()
    rules = policy(consecutive_runs=2, min_violating_features=2)

    first = retrain(drift("run-1", "age", "tenure"), rules, guards, pipelines, NOW)
    assert not first.decision.start
    assert "1 bad run(s) in a row < 2" in first.decision.reason
    again = retrain(drift("run-1", "age", "tenure"), rules, guards, pipelines, NOW)  # redelivered
    assert not again.decision.start, "a run counts once in the streak"

    second = retrain(drift("run-2", "age", "tenure"), rules, guards, pipelines, NOW)
    assert second.decision.start
    assert second.execution_arn is not None
    assert list(pipelines.started) == [second.decision.client_request_token]
    assert guards.executions == {second.decision.client_request_token: second.execution_arn}


def test_too_few_violating_features_reset_the_streak() -> None:
    guards, pipelines = FakeRetrainingGuards(), FakePipelines()
    rules = policy(consecutive_runs=2, min_violating_features=2)
    retrain(drift("run-1", "age", "tenure"), rules, guards, pipelines, NOW)
    outcome = retrain(drift("run-2", "age"), rules, guards, pipelines, NOW)
    assert not outcome.decision.start
    assert "1 violating feature(s) < 2" in outcome.decision.reason
    third = retrain(drift("run-3", "age", "tenure"), rules, guards, pipelines, NOW)
    assert not third.decision.start, "the clean run broke the streak"
    assert pipelines.started == {}


def test_the_guards_refuse_a_second_start_in_the_cooldown() -> None:
    guards, pipelines = FakeRetrainingGuards(), FakePipelines()
    rules = policy(cooldown_hours=6, max_per_day=3)
    assert retrain(drift("run-1", "age"), rules, guards, pipelines, NOW).decision.start
    guards.release(PIPELINE, NOW + timedelta(hours=1), True)

    refused = retrain(drift("run-2", "age"), rules, guards, pipelines, NOW + timedelta(hours=2))
    assert not refused.decision.start
    assert "cooling down" in refused.decision.reason
    assert len(pipelines.started) == 1


def test_a_refused_start_gives_the_admission_back_and_raises() -> None:
    guards, pipelines = FakeRetrainingGuards(), FakePipelines(refuse="ResourceLimitExceeded")
    rules = policy()
    with pytest.raises(PipelineStartFailed) as refused:
        retrain(drift("run-1", "age"), rules, guards, pipelines, NOW)
    assert refused.value.code == "ResourceLimitExceeded"
    assert len(guards.abandoned) == 1
    assert guards.leases == {}, "no lease is left behind"

    pipelines.refuse = None
    assert retrain(drift("run-2", "age"), rules, guards, pipelines, NOW).decision.start, (
        "the given-back admission neither cools down nor counts"
    )


def test_alarms_trigger_only_when_they_match_the_policy() -> None:
    guards, pipelines = FakeRetrainingGuards(), FakePipelines()
    rules = policy(on_alarms=["churn-*-latency"])
    other = RetrainingTrigger("alarm", "alarm", "event-1", alarm_name="billing-errors")
    assert not retrain(other, rules, guards, pipelines, NOW).decision.start
    ours = RetrainingTrigger("alarm", "alarm", "event-2", alarm_name="churn-prod-latency")
    outcome = retrain(ours, rules, guards, pipelines, NOW)
    assert outcome.decision.start
    assert "alarm churn-prod-latency in ALARM" in outcome.decision.reason


def test_new_data_waits_for_enough_objects_and_the_quiet_period_then_resets_the_window() -> None:
    guards, pipelines = FakeRetrainingGuards(), FakePipelines()
    data = DataTrigger(prefixes=["s3://data/churn/"], min_objects=2, quiet_period_seconds=600)
    rules = policy(data=data.model_dump())
    trigger = RetrainingTrigger("data", "new data", "event-1", data_uris=("s3://data/churn/a.csv",))

    guards.accumulate_data(PIPELINE, 10, "churn/a.csv", "event-1", at=NOW)
    waiting = retrain(trigger, rules, guards, pipelines, NOW)
    assert not waiting.decision.start
    assert "1 of 2 object(s)" in waiting.decision.reason

    guards.accumulate_data(PIPELINE, 10, "churn/b.csv", "event-2", at=NOW + timedelta(minutes=1))
    quiet = retrain(trigger, rules, guards, pipelines, NOW + timedelta(minutes=5))
    assert not quiet.decision.start
    assert "quiet period" in quiet.decision.reason

    started = retrain(trigger, rules, guards, pipelines, NOW + timedelta(minutes=12))
    assert started.decision.start
    assert guards.data_window(PIPELINE).objects == 0, "the window is reset once the run started"
