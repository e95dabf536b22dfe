"""Managed deployments (``mlcp.usecases.traffic_shift``) on the emulator's SageMaker and CloudWatch:
the weight shift of multi-variant endpoints and the all-at-once bake of serverless endpoints. The
tasks the deployment workflow calls are driven here one by one, including retries and redrives of
each (no change is applied twice) and the rollback paths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from mlcp.adapters.alarms import CloudWatchAlarms
from mlcp.adapters.endpoints import MANAGED_TAG, OWNER_TAG, SageMakerHosting
from mlcp.errors import DeploymentNotSupported
from mlcp.usecases.traffic_shift import (
    ShiftDeps,
    bake_seconds,
    check_alarms,
    plan_managed_bake,
    plan_managed_shift,
    promote,
    roll_back,
    shift_step,
    shift_steps,
    weights_at,
)
from mlcp_cli.emulator.gaps import FunctionRegistry, GapFills, install_gap_fills

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
PACKAGE = {
    "group": "scoring-model",
    "version": 2,
    "arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/scoring-model/2",
}
SETTINGS = {
    "strategy": "canary",
    "canary_percent": 10,
    "wait_interval_seconds": 600,
    "termination_wait_seconds": 300,
    "maximum_execution_timeout_seconds": 3600,
    "alarms": ["scoring-5xx"],
}
SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
OWNER = "mlcp-test-AuditTable"


@pytest.fixture
def fills(raw_moto: None) -> Iterator[GapFills]:
    with install_gap_fills(FunctionRegistry()) as installed:
        yield installed


@pytest.fixture
def deps(fills: GapFills) -> ShiftDeps:
    return ShiftDeps(
        hosting=SageMakerHosting(boto3.client("sagemaker"), owner=OWNER),
        alarms=CloudWatchAlarms(boto3.client("cloudwatch")),
    )


def _alarm(state: str = "OK") -> None:
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="scoring-5xx",
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="scoring-5xx", StateValue=state, StateReason="test")


def _endpoint(*, serverless: bool, variants: int = 1) -> None:
    """scoring-prod on config ``scoring-v1`` (``variants`` variants, weight 1 each)."""
    sagemaker = boto3.client("sagemaker")
    for model in ("scoring-model-v1", "scoring-model-v2"):
        sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"})
    capacity: dict[str, Any] = (
        {"ServerlessConfig": SERVERLESS}
        if serverless
        else {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2}
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="scoring-v1",
        ProductionVariants=[
            {
                "VariantName": f"v1-{i}",
                "ModelName": "scoring-model-v1",
                "InitialVariantWeight": 1.0,
                **capacity,
            }
            for i in range(variants)
        ],
    )
    sagemaker.create_endpoint(EndpointName="scoring-prod", EndpointConfigName="scoring-v1")


def _plan(deps: ShiftDeps) -> dict[str, Any]:
    current = deps.hosting.endpoint("scoring-prod")
    assert current is not None
    return plan_managed_shift(
        PACKAGE,
        "scoring-prod",
        SETTINGS,
        current,
        model_name="scoring-model-v2",
        final_config="scoring-prod-scoring-model-v2",
        hosting=deps.hosting,
    )


def _updates(fills: GapFills) -> list[str]:
    return [d.strategy for d in fills.endpoint_deployments()]


def _run_step(fills: GapFills, deps: ShiftDeps, shift: dict[str, Any], index: int) -> dict[str, Any]:
    """What the workflow's ShiftTraffic loop does: call, wait while updating, call again."""
    for _ in range(5):
        result = shift_step("scoring-prod", shift, index, deps=deps)
        if result["status"] != "updating":
            return result
        assert fills.wait_endpoint_deployments()
    raise AssertionError("the step never settled")


def _run(fills: GapFills, action: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    for _ in range(5):
        result: dict[str, Any] = action(*args, **kwargs)
        if result["outcome"] != "in_progress":
            return result
        assert fills.wait_endpoint_deployments()
    raise AssertionError("never finished")


def _variants() -> dict[str, float]:
    described = boto3.client("sagemaker").describe_endpoint(EndpointName="scoring-prod")
    return {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}


def test_steps_follow_the_tiers_canary_and_linear_settings() -> None:
    assert shift_steps(SETTINGS) == [
        {"percent": 10, "bake_seconds": 600},
        {"percent": 100, "bake_seconds": 300},
    ]
    linear = {
        "strategy": "linear",
        "linear_step_percent": 25,
        "wait_interval_seconds": 60,
        "termination_wait_seconds": 0,
    }
    assert [s["percent"] for s in shift_steps(linear)] == [25, 50, 75, 100]
    assert shift_steps({"strategy": "all_at_once", "termination_wait_seconds": 120}) == [
        {"percent": 100, "bake_seconds": 120}
    ]


def test_weights_keep_the_old_variants_proportions() -> None:
    assert weights_at(10, {"a": 3.0, "b": 1.0}, "new") == {"a": 0.675, "b": 0.225, "new": 0.1}
    assert weights_at(0, {"a": 1.0}, "new") == {"a": 1.0, "new": 0.0}
    assert weights_at(100, {"a": 1.0}, "new") == {"a": 0.0, "new": 1.0}


def test_multi_variant_canary_is_promoted_and_every_task_is_safe_to_repeat(
    fills: GapFills, deps: ShiftDeps
) -> None:
    _alarm()
    _endpoint(serverless=False, variants=2)
    shift = _plan(deps)
    assert (shift["strategy"], shift["previous_config"]) == ("shift", "scoring-v1")
    assert fills.wait_endpoint_deployments()
    assert _variants() == {"v1-0": 1.0, "v1-1": 1.0, "scoring-model-v2": 0.0}  # candidate at weight 0
    assert _plan(deps)["previous_config"] is None  # a redrive once on the shift config: nothing to do

    assert _run_step(fills, deps, shift, 0)["status"] == "shifted"
    assert _variants() == {"v1-0": 0.45, "v1-1": 0.45, "scoring-model-v2": 0.1}
    assert shift_step("scoring-prod", shift, 0, deps=deps)["status"] == "shifted"  # redrive: no new update
    assert check_alarms("scoring-prod", shift, 0, deps=deps)["status"] == "ok"
    last = _run_step(fills, deps, shift, 1)
    assert (last["status"], last["last"], last["bake_seconds"]) == ("shifted", True, 300)
    assert _variants() == {"v1-0": 0.0, "v1-1": 0.0, "scoring-model-v2": 1.0}

    assert _run(fills, promote, "scoring-prod", shift, deps=deps)["outcome"] == "promoted"
    assert promote("scoring-prod", shift, deps=deps)["outcome"] == "promoted"  # repeated: nothing to do
    described = boto3.client("sagemaker").describe_endpoint(EndpointName="scoring-prod")
    assert described["EndpointConfigName"] == "scoring-prod-scoring-model-v2"
    (variant,) = described["ProductionVariants"]
    assert (variant["VariantName"], variant["CurrentInstanceCount"]) == ("scoring-model-v2", 2)
    # shift config, two weight steps, final config: one API call each, however often the tasks ran
    assert _updates(fills) == ["NONE", "WEIGHTS", "WEIGHTS", "NONE"]
    # Both configs the shift created carry the package and owner tags: this stack's retirement (and
    # no other's) finds them once unused.
    sagemaker = boto3.client("sagemaker")
    for config in ("scoring-prod-scoring-model-v2-shift", "scoring-prod-scoring-model-v2"):
        arn = sagemaker.describe_endpoint_config(EndpointConfigName=config)["EndpointConfigArn"]
        tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
        assert tags == {MANAGED_TAG: shift["package_arn"], OWNER_TAG: OWNER}


def test_an_alarm_rolls_a_multi_variant_endpoint_back_to_its_previous_config(
    fills: GapFills, deps: ShiftDeps
) -> None:
    _alarm()
    _endpoint(serverless=False, variants=2)
    shift = _plan(deps)
    assert fills.wait_endpoint_deployments()
    assert _run_step(fills, deps, shift, 0)["status"] == "shifted"
    assert _variants() == {"v1-0": 0.45, "v1-1": 0.45, "scoring-model-v2": 0.1}

    boto3.client("cloudwatch").set_alarm_state(AlarmName="scoring-5xx", StateValue="ALARM", StateReason="5xx")
    checked = check_alarms("scoring-prod", shift, 0, deps=deps)
    assert checked["status"] == "alarm"
    assert "scoring-5xx" in checked["reason"]
    assert shift_step("scoring-prod", shift, 1, deps=deps)["status"] == "alarm"  # no more traffic shifts

    done = _run(fills, roll_back, "scoring-prod", shift, checked["reason"], deps=deps)
    assert (done["outcome"], done["failure_reason"]) == ("rolled_back", checked["reason"])
    assert roll_back("scoring-prod", shift, checked["reason"], deps=deps)["outcome"] == "rolled_back"
    described = boto3.client("sagemaker").describe_endpoint(EndpointName="scoring-prod")
    assert described["EndpointConfigName"] == "scoring-v1"
    assert _variants() == {"v1-0": 1.0, "v1-1": 1.0}
    assert _updates(fills) == ["NONE", "WEIGHTS", "WEIGHTS", "NONE"]  # shift, 10%, weights back, old config


def test_a_retry_while_the_endpoint_updates_to_the_shift_config_resumes_it(raw_moto: None) -> None:
    with install_gap_fills(FunctionRegistry()) as slow:  # the update stays in flight: no time passes
        deps = ShiftDeps(
            hosting=SageMakerHosting(boto3.client("sagemaker")),
            alarms=CloudWatchAlarms(boto3.client("cloudwatch")),
        )
        _endpoint(serverless=False, variants=2)
        shift = _plan(deps)
        again = _plan(deps)  # DeployModel retried after its UpdateEndpoint went out
        assert (
            boto3.client("sagemaker").describe_endpoint(EndpointName="scoring-prod")["EndpointStatus"]
            == "Updating"
        )
        assert again["config"] == shift["config"]
        assert again["previous_config"] == "scoring-v1"  # the endpoint still reports the old config
        assert _updates(slow) == ["NONE"]


def test_rollback_without_a_known_previous_config_removes_the_candidate(
    fills: GapFills, deps: ShiftDeps
) -> None:
    _alarm()
    _endpoint(serverless=False, variants=2)
    shift = {**_plan(deps), "previous_config": None}  # as planned by a redriven DeployModel
    assert fills.wait_endpoint_deployments()
    assert _run_step(fills, deps, shift, 0)["status"] == "shifted"
    assert _run(fills, roll_back, "scoring-prod", shift, "test", deps=deps)["outcome"] == "rolled_back"
    described = boto3.client("sagemaker").describe_endpoint(EndpointName="scoring-prod")
    assert described["EndpointConfigName"].endswith("-rollback")
    assert _variants() == {"v1-0": 1.0, "v1-1": 1.0}


def test_a_missing_alarm_fails_closed_and_nothing_shifts(fills: GapFills, deps: ShiftDeps) -> None:
    _endpoint(serverless=False, variants=2)
    shift = _plan(deps)
    assert fills.wait_endpoint_deployments()
    step = shift_step("scoring-prod", shift, 0, deps=deps)
    assert step["status"] == "alarm"
    assert "do not exist" in step["reason"]
    assert _variants() == {"v1-0": 1.0, "v1-1": 1.0, "scoring-model-v2": 0.0}


def test_a_variant_name_clash_is_refused_before_anything_changes(fills: GapFills, deps: ShiftDeps) -> None:
    _endpoint(serverless=False, variants=2)
    current = deps.hosting.endpoint("scoring-prod")
    assert current is not None
    with pytest.raises(DeploymentNotSupported, match="already has a variant v1-0"):
        plan_managed_shift(
            PACKAGE,
            "scoring-prod",
            SETTINGS,
            current,
            model_name="v1-0",
            final_config="x",
            hosting=deps.hosting,
        )
    assert fills.endpoint_deployments() == []
    with pytest.raises(DeploymentNotSupported, match="out of range"):
        shift_step("scoring-prod", {**_plan(deps)}, 5, deps=deps)


# -- serverless: all at once with a bake ----------------------------------------------------------

FINAL = "scoring-prod-scoring-model-v2"


def _plan_bake(deps: ShiftDeps) -> dict[str, Any]:
    current = deps.hosting.endpoint("scoring-prod")
    assert current is not None
    return plan_managed_bake(
        PACKAGE,
        "scoring-prod",
        SETTINGS,
        current,
        model_name="scoring-model-v2",
        final_config=FINAL,
        hosting=deps.hosting,
    )


def _serving() -> tuple[str, list[tuple[str, str]]]:
    described = boto3.client("sagemaker").describe_endpoint(EndpointName="scoring-prod")
    config = boto3.client("sagemaker").describe_endpoint_config(
        EndpointConfigName=described["EndpointConfigName"]
    )
    return described["EndpointConfigName"], [
        (v["VariantName"], v["ModelName"]) for v in config["ProductionVariants"]
    ]


def test_the_bake_lasts_as_long_as_the_tiers_steps_would_have_watched() -> None:
    assert bake_seconds(SETTINGS) == 900  # canary bake 600 + termination wait 300
    assert bake_seconds({"strategy": "all_at_once", "termination_wait_seconds": 120}) == 120


def test_serverless_bake_is_promoted_and_every_task_is_safe_to_repeat(
    fills: GapFills, deps: ShiftDeps
) -> None:
    _alarm()
    _endpoint(serverless=True)
    bake = _plan_bake(deps)
    assert (bake["strategy"], bake["previous_config"], bake["config"]) == ("bake", "scoring-v1", FINAL)
    assert "one production variant" in bake["strategy_reason"]
    assert bake["steps"] == [{"percent": 100, "bake_seconds": 900}]
    assert fills.wait_endpoint_deployments()
    # the candidate alone, under the endpoint's variant name, still serverless
    assert _serving() == (FINAL, [("v1-0", "scoring-model-v2")])
    described = boto3.client("sagemaker").describe_endpoint(EndpointName="scoring-prod")
    assert described["ProductionVariants"][0]["CurrentServerlessConfig"] == SERVERLESS

    step = _run_step(fills, deps, bake, 0)
    assert (step["status"], step["last"], step["bake_seconds"]) == ("shifted", True, 900)
    assert shift_step("scoring-prod", bake, 0, deps=deps)["status"] == "shifted"  # repeated: no update
    assert check_alarms("scoring-prod", bake, 0, deps=deps)["status"] == "ok"
    assert promote("scoring-prod", bake, deps=deps)["outcome"] == "promoted"
    assert promote("scoring-prod", bake, deps=deps)["outcome"] == "promoted"
    assert _plan_bake(deps)["previous_config"] is None  # a redrive on the candidate config: no update
    assert _updates(fills) == ["NONE"]  # one UpdateEndpoint, no weights, however often tasks ran


def test_an_alarm_during_the_bake_puts_the_previous_config_back(fills: GapFills, deps: ShiftDeps) -> None:
    _alarm()
    _endpoint(serverless=True)
    bake = _plan_bake(deps)
    assert _run_step(fills, deps, bake, 0)["status"] == "shifted"
    boto3.client("cloudwatch").set_alarm_state(AlarmName="scoring-5xx", StateValue="ALARM", StateReason="5xx")
    checked = check_alarms("scoring-prod", bake, 0, deps=deps)
    assert checked["status"] == "alarm"

    done = _run(fills, roll_back, "scoring-prod", bake, checked["reason"], deps=deps)
    assert (done["outcome"], done["failure_reason"]) == ("rolled_back", checked["reason"])
    assert roll_back("scoring-prod", bake, checked["reason"], deps=deps)["outcome"] == "rolled_back"
    assert _serving() == ("scoring-v1", [("v1-0", "scoring-model-v1")])
    assert _updates(fills) == ["NONE", "NONE"]  # to the candidate, back to the previous config


def test_a_missing_alarm_fails_the_bake_closed(fills: GapFills, deps: ShiftDeps) -> None:
    _endpoint(serverless=True)
    bake = _plan_bake(deps)
    step = _run_step(fills, deps, bake, 0)
    assert step["status"] == "alarm"
    assert "do not exist" in step["reason"]
    assert _run(fills, roll_back, "scoring-prod", bake, step["reason"], deps=deps)["outcome"] == "rolled_back"
    assert _serving()[0] == "scoring-v1"


def test_a_bake_without_a_known_previous_config_fails_rather_than_guessing(
    fills: GapFills, deps: ShiftDeps
) -> None:
    _alarm()
    _endpoint(serverless=True)
    bake = {**_plan_bake(deps), "previous_config": None}  # as planned by a redriven DeployModel
    assert fills.wait_endpoint_deployments()
    result = roll_back("scoring-prod", bake, "alarm", deps=deps)
    assert result["outcome"] == "failed"
    assert "mlcp rollback" in result["failure_reason"]
    assert _serving()[0] == FINAL
    assert _updates(fills) == ["NONE"]


def test_a_retry_while_the_serverless_endpoint_updates_resumes_it(raw_moto: None) -> None:
    with install_gap_fills(FunctionRegistry()) as slow:  # the update stays in flight: no time passes
        deps = ShiftDeps(
            hosting=SageMakerHosting(boto3.client("sagemaker")),
            alarms=CloudWatchAlarms(boto3.client("cloudwatch")),
        )
        _endpoint(serverless=True)
        bake = _plan_bake(deps)
        again = _plan_bake(deps)  # DeployModel retried after its UpdateEndpoint went out
        assert (
            boto3.client("sagemaker").describe_endpoint(EndpointName="scoring-prod")["EndpointStatus"]
            == "Updating"
        )
        assert (again["config"], again["previous_config"]) == (bake["config"], "scoring-v1")
        assert _updates(slow) == ["NONE"]


def test_a_bake_is_refused_while_the_endpoint_is_busy_with_another_update(raw_moto: None) -> None:
    with install_gap_fills(FunctionRegistry()) as slow:  # the update stays in flight: no time passes
        deps = ShiftDeps(
            hosting=SageMakerHosting(boto3.client("sagemaker")),
            alarms=CloudWatchAlarms(boto3.client("cloudwatch")),
        )
        _endpoint(serverless=True)
        sagemaker = boto3.client("sagemaker")
        sagemaker.create_endpoint_config(
            EndpointConfigName="scoring-other",
            ProductionVariants=[
                {"VariantName": "v1-0", "ModelName": "scoring-model-v1", "ServerlessConfig": SERVERLESS}
            ],
        )
        sagemaker.update_endpoint(EndpointName="scoring-prod", EndpointConfigName="scoring-other")
        with pytest.raises(DeploymentNotSupported, match="must be InService"):
            _plan_bake(deps)
        assert _updates(slow) == ["NONE"]  # only the other update
        assert FINAL not in {
            c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
        }
