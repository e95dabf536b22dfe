"""The retraining reactions (``mlcp.usecases.retraining_reactions``, ``mlcp.usecases.reactions``) against fakes of their ports (no moto): new
data is counted and waits for enough of it, then for the quiet period (a re-check is scheduled);
the hourly tick starts one run per period; a SageMaker refusal is audited, a throttle retried; a
finished run closes the loop only if it was ours. None of these opens an incident: the incident
dependencies refuse to be touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gates import factories as f
from mlcp.errors import PipelineStartFailed
from mlcp.events import PipelineExecutionStatusChangeEvent
from mlcp.policy import Policy
from mlcp.usecases.reactions import react_to_pipeline
from mlcp.usecases.retraining_reactions import ReactionDeps, react_to_data, recheck_data, scheduled_retraining

from .fakes import FakeAudit, FakePipelines, FakePolicies, FakeRetrainingGuards

PIPELINE = "fraud-training"
DATA = "s3://training-data/fraud/"
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class NoIncidents:
    """The incident dependencies of a reaction that must open none."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a retraining reaction touched the incidents ({name})")


@dataclass
class World:
    retraining: dict[str, Any]
    now: datetime = START
    guards: FakeRetrainingGuards = field(default_factory=FakeRetrainingGuards)
    pipelines: FakePipelines = field(default_factory=FakePipelines)
    audit: FakeAudit = field(default_factory=FakeAudit)
    rechecks: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.guards.clock = lambda: self.now

    def deps(self) -> ReactionDeps:
        tier = f.tier(monitoring={"retraining": {"pipeline": PIPELINE, **self.retraining}})
        policy: Policy = f.policy(tier)
        return ReactionDeps(
            policies=FakePolicies(policy),
            incidents=NoIncidents(),  # type: ignore[arg-type]
            retraining=self.guards,
            audit=self.audit,  # type: ignore[arg-type]
            pipelines=self.pipelines,
            monitoring_runs=None,  # type: ignore[arg-type]
            schedule_recheck=lambda **request: self.rechecks.append(request),
            clock=lambda: self.now,
        )


def arrive(world: World, key: str, event_id: str, size: int = 100) -> dict[str, Any]:
    [result] = react_to_data(f"{DATA}{key}", size, event_id=event_id, deps=world.deps())
    return result


def test_new_data_waits_for_enough_then_for_quiet_then_starts_once() -> None:
    world = World({"data": {"prefixes": [DATA], "min_objects": 2, "quiet_period_seconds": 600}})

    first = arrive(world, "a.csv", "event-1")
    assert first["started"] is False
    assert first["reason"].startswith("waiting for data")
    assert world.audit.records == [], "waiting for data is silent"
    assert world.rechecks == []

    second = arrive(world, "b.csv", "event-2")
    assert second["started"] is False
    assert second["wait_seconds"] == 600
    assert [r["pipeline"] for r in world.rechecks] == [PIPELINE], "a re-check after the quiet period"
    assert world.pipelines.started == {}

    world.now = START + timedelta(minutes=11)
    third = arrive(world, "c.csv", "event-3")
    assert third["wait_seconds"] == 600, "a new object restarts the quiet period"

    world.now = START + timedelta(minutes=30)
    started = recheck_data(PIPELINE, deps=world.deps(), window_id="w")
    assert started["started"] is True
    assert world.audit.actions() == ["retraining.started"]
    assert len(world.pipelines.started) == 1
    assert world.guards.data_window(PIPELINE).objects == 0


def test_the_hourly_tick_starts_one_run_per_period() -> None:
    world = World({"every_hours": 6, "cooldown_hours": 0, "max_per_day": 4})
    [first] = scheduled_retraining(deps=world.deps(), event_id="tick-1")
    assert first["started"] is True
    world.guards.release(PIPELINE, START, True)

    world.now = START + timedelta(hours=1)  # same 6-hour period: the same run
    [again] = scheduled_retraining(deps=world.deps(), event_id="tick-2")
    assert again["started"] is True, "the period's run, once per ClientRequestToken"
    assert len(world.pipelines.started) == 1
    assert world.audit.actions() == ["retraining.started"], "audited once per run"


def test_a_pipeline_sagemaker_does_not_know_is_audited_a_throttle_is_retried() -> None:
    world = World({"every_hours": 6})
    world.pipelines.refuse = "ResourceNotFound"
    [refused] = scheduled_retraining(deps=world.deps(), event_id="tick-1")
    assert refused["started"] is False
    assert "ResourceNotFound" in refused["error"]
    assert world.audit.actions() == ["retraining.failed"]

    world.pipelines.refuse = "ThrottlingException"
    with pytest.raises(PipelineStartFailed):
        scheduled_retraining(deps=world.deps(), event_id="tick-2")
    assert world.audit.actions() == ["retraining.failed"], "a throttle is the delivery's to retry"


def finished(status: str, execution: str) -> PipelineExecutionStatusChangeEvent:
    return PipelineExecutionStatusChangeEvent.model_validate(
        {
            "version": "0",
            "id": f"event-{execution}",
            "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
            "source": "aws.sagemaker",
            "account": "111111111111",
            "time": "2026-06-01T13:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "pipelineArn": f"arn:aws:sagemaker:us-east-1:111111111111:pipeline/{PIPELINE}",
                "pipelineExecutionArn": (
                    f"arn:aws:sagemaker:us-east-1:111111111111:pipeline/{PIPELINE}/execution/{execution}"
                ),
                "pipelineExecutionDisplayName": execution,
                "currentPipelineExecutionStatus": status,
                "previousPipelineExecutionStatus": "Executing",
                "executionStartTime": "2026-06-01T12:00:00Z",
                "executionEndTime": "2026-06-01T13:00:00Z",
            },
        }
    )


def test_a_finished_run_closes_the_loop_only_if_it_was_ours() -> None:
    world = World({"every_hours": 6})
    assert react_to_pipeline(finished("Succeeded", "someone-elses"), world.deps()) == {
        "reaction": "pipeline",
        "ours": False,
    }
    assert world.audit.records == []

    scheduled_retraining(deps=world.deps(), event_id="tick-1")
    outcome = react_to_pipeline(finished("Succeeded", "ours"), world.deps())
    assert outcome == {"reaction": "pipeline", "ours": True}
    assert world.audit.actions() == ["retraining.started", "retraining.succeeded"]
    assert world.guards.leases == {}
    assert react_to_pipeline(finished("Executing", "ours"), world.deps())["reaction"] == "none"
