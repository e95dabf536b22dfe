"""decide_retraining / retrain / start_pipeline: triggers, debounce, parameters, ClientRequestToken."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlcp.adapters.pipelines import SageMakerPipelines, start_pipeline
from mlcp.adapters.retraining_state import RetrainingState
from mlcp.errors import PipelineStartFailed
from mlcp.policy import DataTrigger, RetrainingPolicy
from mlcp.retraining import (
    RetrainingDecision,
    RetrainingTrigger,
    client_request_token,
    decide_retraining,
    retrain,
    streak_check,
)
from mlcp.violations import Violation

T0 = datetime(2025, 1, 31, 9, 0, tzinfo=UTC)
TOKEN_RE = re.compile(r"^[A-Za-z0-9-]{32,128}$")
PREFIX = "s3://mlcp-training-data/training-data/churn/"

CHURN = RetrainingPolicy(
    pipeline="churn-train",
    on_violations=["data_quality"],
    min_violating_features=3,
    consecutive_runs=2,
    on_alarms=["churn-prod-model-*"],
    data=DataTrigger(prefixes=[PREFIX], min_objects=20, min_bytes=1000, quiet_period_seconds=900),
    cooldown_hours=0,
    max_per_day=5,
    parameters={"InstanceType": "ml.m5.xlarge"},
)


def _drift(*features: str, kind: str = "data_quality") -> tuple[Violation, ...]:
    return tuple(
        Violation(feature=f, check_type="baseline_drift_check", kind=kind, metric="distance")  # type: ignore[arg-type]
        for f in features
    )


def _run(event_id: str, *features: str, kind: str = "data_quality") -> RetrainingTrigger:
    return RetrainingTrigger(
        kind="violations",
        reason=f"monitoring run {event_id}",
        event_id=event_id,
        endpoint="churn-prod",
        violations=_drift(*features, kind=kind),
        checked_kinds=(kind,),  # type: ignore[arg-type]
    )


def _alarm(event_id: str, name: str = "churn-prod-model-drift") -> RetrainingTrigger:
    return RetrainingTrigger(kind="alarm", reason=f"{name} in ALARM", event_id=event_id, alarm_name=name)


def _data(event_id: str) -> RetrainingTrigger:
    return RetrainingTrigger(kind="data", reason="new training data", event_id=event_id)


# ------------------------------------------------------------------------------ violations


def test_violations_need_enough_features_in_enough_runs(state: RetrainingState) -> None:
    first = decide_retraining(_run("run-1", "a", "b", "c"), CHURN, state, T0)
    assert not first.start
    assert first.reason == "no qualifying violations (data_quality: 1 bad run(s) in a row < 2)"
    # The same run redelivered: still one bad run.
    assert not decide_retraining(_run("run-1", "a", "b", "c"), CHURN, state, T0).start
    few = decide_retraining(_run("run-2", "a", "b"), CHURN, state, T0 + timedelta(hours=1))
    assert not few.start
    assert few.reason == "no qualifying violations (data_quality: 2 violating feature(s) < 3)"
    # run-2 broke the streak; two bad runs in a row from here.
    assert not decide_retraining(_run("run-3", "a", "b", "c"), CHURN, state, T0 + timedelta(hours=2)).start
    started = decide_retraining(_run("run-4", "a", "b", "c", "c"), CHURN, state, T0 + timedelta(hours=3))
    assert started.start, started.reason
    assert started.reason.startswith("data_quality: 3 violating feature(s), 2 bad run(s) in a row; admitted")
    assert started.parameters["TriggerEventId"] == "run-4"
    assert started.parameters["TriggerReason"] == "monitoring run run-4"


def test_violations_of_other_kinds_do_not_retrain(state: RetrainingState) -> None:
    policy = CHURN.model_copy(update={"consecutive_runs": 1, "min_violating_features": 1})
    decision = decide_retraining(_run("r1", "auc", kind="model_quality"), policy, state, T0)
    assert not decision.start
    assert decision.reason == "no qualifying violations (model_quality: not a retraining kind)"
    empty = RetrainingTrigger(kind="violations", reason="r", event_id="r2", endpoint="churn-prod")
    assert decide_retraining(empty, policy, state, T0).reason == "the monitoring run checked nothing"


def test_a_clean_run_resets_the_streak(state: RetrainingState) -> None:
    assert not decide_retraining(_run("r1", "a", "b", "c"), CHURN, state, T0).start
    clean = decide_retraining(_run("r2"), CHURN, state, T0)
    assert clean.reason == "no qualifying violations (data_quality: 0 violating feature(s) < 3)"
    assert not decide_retraining(_run("r3", "a", "b", "c"), CHURN, state, T0).start
    assert decide_retraining(_run("r4", "a", "b", "c"), CHURN, state, T0).start


def test_streaks_shared_only_by_the_same_definition(state: RetrainingState) -> None:
    assert streak_check("data_quality", 1) == "data_quality"
    assert streak_check("data_quality", 3) == "data_quality#min3"
    # An incident rule counting the same runs (threshold 1) does not double count ours.
    state.streak("churn-prod", streak_check("data_quality", 1), True, run_id="r1")
    assert not decide_retraining(_run("r1", "a", "b", "c"), CHURN, state, T0).start
    assert state.streak("churn-prod", streak_check("data_quality", 1), True, run_id="r1") == 1


# ------------------------------------------------------------------------------ alarms, schedule


def test_alarm_trigger(state: RetrainingState) -> None:
    assert decide_retraining(_alarm("a1"), CHURN, state, T0).start
    other = decide_retraining(_alarm("a2", "churn-prod-5xx"), CHURN, state, T0)
    assert (other.start, other.reason) == (False, "alarm churn-prod-5xx matches none of on_alarms")


def test_schedule_trigger_is_guarded(state: RetrainingState) -> None:
    policy = CHURN.model_copy(update={"max_per_day": 1})
    trigger = RetrainingTrigger(kind="schedule", reason="nightly", event_id="sched-2025-01-31")
    assert decide_retraining(trigger, policy, state, T0).start
    second = decide_retraining(replace(trigger, event_id="other"), policy, state, T0 + timedelta(minutes=1))
    assert not second.start
    assert second.reason.startswith("scheduled retraining; another run is in flight")


def test_trigger_validation() -> None:
    with pytest.raises(ValueError, match="needs the endpoint"):
        RetrainingTrigger(kind="violations", reason="r", event_id="e")
    with pytest.raises(ValueError, match="needs the alarm name"):
        RetrainingTrigger(kind="alarm", reason="r", event_id="e")
    with pytest.raises(ValueError, match="event id"):
        RetrainingTrigger(kind="schedule", reason="r", event_id="")
    with pytest.raises(ValueError, match="unknown monitoring kind"):
        RetrainingTrigger(kind="violations", reason="r", event_id="e", endpoint="x", checked_kinds=("drift",))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ data debounce


def test_no_data_trigger_in_the_policy(state: RetrainingState) -> None:
    policy = CHURN.model_copy(update={"data": None})
    assert decide_retraining(_data("e"), policy, state, T0).reason == "the policy has no data trigger"


def test_fifty_objects_one_start_after_the_quiet_period(state: RetrainingState, sagemaker: Any) -> None:
    outcomes = []
    for i in range(50):
        at = T0 + timedelta(seconds=10 * i)
        state.accumulate_data("churn-train", 100, f"training-data/churn/part-{i}.csv", f"s3-{i}", at=at)
        # Each arrival checks (as the data-arrival function does): never within the quiet period.
        outcomes.append(retrain(_data(f"s3-{i}"), CHURN, state, SageMakerPipelines(sagemaker), at))
    assert not any(o.decision.start for o in outcomes)
    assert outcomes[5].decision.reason == "waiting for data: 6 of 20 object(s), 600 of 1000 bytes"
    last = T0 + timedelta(seconds=490)
    assert outcomes[-1].decision.reason.startswith("waiting for the quiet period: last object at")

    almost = retrain(
        _data("check-1"), CHURN, state, SageMakerPipelines(sagemaker), last + timedelta(seconds=899)
    )
    assert not almost.decision.start

    # The delayed checks after the quiet period, several at once (redelivered / duplicated checks).
    barrier = threading.Barrier(8)

    def check(i: int) -> RetrainingDecision:
        barrier.wait()
        return decide_retraining(_data(f"check-{i}"), CHURN, state, last + timedelta(seconds=900))

    with ThreadPoolExecutor(max_workers=8) as pool:
        decisions = list(pool.map(check, range(2, 10)))
    # Every check of this window is the same retraining: one token, one admission (the repeats are
    # the holder again, which StartPipelineExecution deduplicates by the token).
    assert {d.client_request_token for d in decisions} == {decisions[0].client_request_token}
    assert all(d.start for d in decisions)
    window = decisions[0].data_window
    assert window is not None
    assert (window.objects, window.bytes) == (50, 5000)

    done = retrain(
        _data("check-10"), CHURN, state, SageMakerPipelines(sagemaker), last + timedelta(seconds=901)
    )
    assert done.decision.start
    assert done.decision.client_request_token == decisions[0].client_request_token
    assert done.execution_arn is not None
    assert done.decision.parameters["TrainingDataUris"] == PREFIX
    assert state.data_window("churn-train").objects == 0  # reset: the run took the data

    # Later checks find an empty window: nothing more starts.
    after = retrain(
        _data("check-11"), CHURN, state, SageMakerPipelines(sagemaker), last + timedelta(seconds=2000)
    )
    assert not after.decision.start
    executions = sagemaker.list_pipeline_executions(PipelineName="churn-train")["PipelineExecutionSummaries"]
    assert len(executions) == 1


def test_a_new_window_is_a_new_retraining(state: RetrainingState) -> None:
    policy = CHURN.model_copy(update={"data": DataTrigger(prefixes=[PREFIX], quiet_period_seconds=0)})
    state.accumulate_data("churn-train", 5, "k1", "e1", at=T0)
    first = decide_retraining(_data("e1"), policy, state, T0)
    assert first.start
    assert first.data_window is not None
    state.reset_data("churn-train", window=first.data_window)
    state.release("churn-train", T0 + timedelta(minutes=1), succeeded=True)
    state.accumulate_data("churn-train", 5, "k2", "e2", at=T0 + timedelta(minutes=2))
    second = decide_retraining(_data("e2"), policy, state, T0 + timedelta(minutes=2))
    assert second.start, second.reason
    assert second.client_request_token != first.client_request_token


# ------------------------------------------------------------------------------ tokens and parameters


def test_client_request_token_is_stable_and_valid() -> None:
    alarm = _alarm("evt-1")
    token = client_request_token("churn-train", alarm)
    assert token == client_request_token("churn-train", _alarm("evt-1"))
    assert token == client_request_token("churn-train", replace(alarm, reason="another wording"))
    assert token != client_request_token("churn-train", _alarm("evt-2"))
    assert token != client_request_token("fraud-train", alarm)
    assert token != client_request_token(
        "churn-train", RetrainingTrigger(kind="schedule", reason="r", event_id="evt-1")
    )
    assert TOKEN_RE.match(token)
    assert len(token) == 69
    long_id = client_request_token("p" * 256, _alarm("x" * 2000))
    assert TOKEN_RE.match(long_id)


def test_parameters(state: RetrainingState) -> None:
    uris = tuple(
        f"s3://mlcp-training-data/training-data/churn/2025/01/part-{i:04d}.csv?versionId=v{i}"
        for i in range(3)
    )
    trigger = replace(_alarm("a1"), data_uris=uris, reason="x" * 2000)
    decision = decide_retraining(trigger, CHURN, state, T0)
    assert decision.parameters == {
        "InstanceType": "ml.m5.xlarge",
        "TrainingDataUris": ",".join(uris),
        "TriggerReason": "x" * 1024,
        "TriggerEventId": "a1",
    }


def test_too_many_uris_collapse_to_prefixes(state: RetrainingState) -> None:
    many = tuple(f"s3://mlcp-training-data/training-data/churn/2025/01/part-{i:04d}.csv" for i in range(100))
    decision = decide_retraining(replace(_alarm("a1"), data_uris=many), CHURN, state, T0)
    assert decision.parameters["TrainingDataUris"] == "s3://mlcp-training-data/training-data/churn/2025/01/"
    spread = tuple(f"s3://mlcp-training-data/training-data/churn/day-{i:03d}/part.csv" for i in range(100))
    decision = decide_retraining(
        replace(_alarm("a2"), data_uris=spread), CHURN, state, T0 + timedelta(days=1)
    )
    assert decision.parameters["TrainingDataUris"] == "s3://mlcp-training-data/training-data/churn/day-0"


# ------------------------------------------------------------------------------ SageMaker


def test_start_pipeline_passes_everything(sagemaker: Any) -> None:
    token = client_request_token("churn-train", _alarm("a1"))
    arn = start_pipeline(
        sagemaker,
        "churn-train",
        {"InstanceType": "ml.m5.xlarge", "TriggerEventId": "a1"},
        "mlcp retraining: " + "d" * 5000,
        token,
    )
    assert ":pipeline/churn-train/execution/" in arn
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert len(described["PipelineExecutionDescription"]) == 3072
    assert described["PipelineExecutionDisplayName"] == f"mlcp-{token[5:45]}"
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)[
        "PipelineParameters"
    ]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "InstanceType": "ml.m5.xlarge",
        "TriggerEventId": "a1",
    }


def test_start_pipeline_validates(sagemaker: Any) -> None:
    with pytest.raises(ValueError, match="ClientRequestToken"):
        start_pipeline(sagemaker, "churn-train", {}, "d", "short")
    with pytest.raises(ValueError, match="ClientRequestToken"):
        start_pipeline(sagemaker, "churn-train", {}, "d", "x" * 31 + "_")
    with pytest.raises(ValueError, match="longer than 1024"):
        start_pipeline(sagemaker, "churn-train", {"A": "v" * 1025}, "d", "mlcp-" + "0" * 64)


def test_a_failed_start_gives_the_admission_back(state: RetrainingState, sagemaker: Any) -> None:
    missing = CHURN.model_copy(update={"pipeline": "no-such-pipeline", "max_per_day": 1})
    with pytest.raises(PipelineStartFailed):
        retrain(_alarm("a1"), missing, state, SageMakerPipelines(sagemaker), T0)
    # Nothing in flight, nothing counted: once the pipeline exists the same trigger can start it.
    fixed = missing.model_copy(update={"pipeline": "churn-train"})
    decision = decide_retraining(_alarm("a1"), missing, state, T0 + timedelta(minutes=1))
    assert decision.start, decision.reason
    assert state.abandon("no-such-pipeline", decision.client_request_token, T0) is True
    outcome = retrain(_alarm("a1"), fixed, state, SageMakerPipelines(sagemaker), T0 + timedelta(minutes=2))
    assert outcome.decision.start
    assert outcome.execution_arn is not None
    # The lease knows its execution: release by that ARN frees it.
    assert state.release("churn-train", T0 + timedelta(minutes=30), True, execution_arn=outcome.execution_arn)


def test_a_redelivered_alarm_starts_nothing_twice(state: RetrainingState, sagemaker: Any) -> None:
    first = retrain(_alarm("a1"), CHURN, state, SageMakerPipelines(sagemaker), T0)
    assert first.execution_arn is not None
    state.release("churn-train", T0 + timedelta(minutes=20), True, execution_arn=first.execution_arn)
    again = retrain(_alarm("a1"), CHURN, state, SageMakerPipelines(sagemaker), T0 + timedelta(minutes=30))
    assert not again.decision.start
    assert again.decision.reason.endswith("this trigger already started a run today (a redelivery)")
    assert (
        len(sagemaker.list_pipeline_executions(PipelineName="churn-train")["PipelineExecutionSummaries"]) == 1
    )
