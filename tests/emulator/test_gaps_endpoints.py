"""Gap fill j (SageMaker endpoints): moto's raw behaviour (no UpdateEndpoint, no endpoint events) and
the fill's simulated blue/green deployments on the simulated clock, with the events they put."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from mlcp.events import EndpointDeploymentStateChangeEvent, EndpointStateChangeEvent, parse_event
from mlcp_cli.emulator.gaps import (
    FLEET_LAUNCH_SECONDS,
    FunctionRegistry,
    GapFills,
    install_gap_fills,
    process_pending,
)
from mlcp_cli.emulator.runtime import LocalControlPlane

from .helpers import capture_events, create_function, drain, register_fixture_function
from .test_gaps import recorded

"""Simulated seconds per real second for most tests: an hour of baking takes 0.1 s."""

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
STATE = "SageMaker Endpoint State Change"
DEPLOYMENT = "SageMaker Endpoint Deployment State Change"


@pytest.fixture
def fills_at(raw_moto: None) -> Iterator[Callable[[], GapFills]]:
    """Install the fills on a fresh virtual clock (uninstalled, threads stopped, after the test)."""
    installed: list[GapFills] = []

    def install() -> GapFills:
        installed.append(install_gap_fills(FunctionRegistry()))
        return installed[-1]

    yield install
    for handle in reversed(installed):
        handle.uninstall()


@pytest.fixture
def fast(fills_at: Callable[[], GapFills]) -> GapFills:
    return fills_at()


def _model_and_configs(sagemaker: Any, instances: int = 4, *configs: str) -> None:
    sagemaker.create_model(ModelName="churn", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"})
    for name in configs or ("churn-v1", "churn-v2"):
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "churn",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": instances,
                }
            ],
        )


def _endpoint(sagemaker: Any, instances: int = 4) -> None:
    _model_and_configs(sagemaker, instances)
    sagemaker.create_endpoint(EndpointName="churn-prod", EndpointConfigName="churn-v1")


def _alarm(name: str = "churn-latency") -> None:
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=[{"Name": "EndpointName", "Value": "churn-prod"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=800.0,
        ComparisonOperator="GreaterThanThreshold",
    )


def _blue_green(
    routing: dict[str, Any],
    *,
    termination_wait: int = 600,
    max_seconds: int | None = None,
    alarms: tuple[str, ...] = ("churn-latency",),
) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "TrafficRoutingConfiguration": routing,
        "TerminationWaitInSeconds": termination_wait,
    }
    if max_seconds is not None:
        policy["MaximumExecutionTimeoutInSeconds"] = max_seconds
    config: dict[str, Any] = {"BlueGreenUpdatePolicy": policy}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return config


CANARY = {
    "Type": "CANARY",
    "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
    "WaitIntervalInSeconds": 600,
}


def _record_sagemaker_events(fills: GapFills) -> None:
    """A rule sending every aws.sagemaker event to a recorder Lambda (events as AWS delivers them)."""
    arn = create_function("sagemaker-recorder")
    register_fixture_function(fills.registry, "sagemaker-recorder", "recorder", arn)
    events = boto3.client("events")
    events.put_rule(Name="sagemaker", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.put_targets(Rule="sagemaker", Targets=[{"Id": "recorder", "Arn": arn}])


def _delivered(fills: GapFills) -> list[dict[str, Any]]:
    process_pending(fills.deliveries, fills.registry)
    return recorded(fills.registry, "sagemaker-recorder")


def _summary(event: dict[str, Any]) -> tuple[str, str, str, str | None]:
    """(kind, status, config, pending stage) of an endpoint event, after checking that it parses."""
    parsed = parse_event(event)
    detail = event["detail"]
    if event["detail-type"] == DEPLOYMENT:
        assert isinstance(parsed, EndpointDeploymentStateChangeEvent)
        stage = parsed.deployment_stage
        kind = "deployment"
    else:
        assert isinstance(parsed, EndpointStateChangeEvent)
        stage = None
        kind = "state"
    return kind, detail["EndpointStatus"], detail["EndpointConfigName"], stage


def _settle(fills: GapFills) -> None:
    """Run the virtual clock until no deployment is in flight."""
    assert fills.wait_endpoint_deployments(), fills.endpoint_deployments()


def _wait_for_stage(fills: GapFills, stage: str) -> None:
    """Run the virtual clock, timer by timer, until the (only) deployment reaches ``stage``."""
    reached = fills.run_until(lambda: fills.endpoint_deployments()[0].stage == stage, limit=86_400)
    assert reached, f"never reached {stage}: {fills.endpoint_deployments()}"


# -- raw moto -------------------------------------------------------------------------------------


def test_raw_moto_has_no_update_endpoint_and_emits_no_endpoint_events(raw_moto: None) -> None:
    queue = capture_events({"source": ["aws.sagemaker"]})
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    assert drain(queue) == []
    for extra in ({}, {"DeploymentConfig": _blue_green(CANARY, alarms=())}):
        with pytest.raises(NotImplementedError, match="update_endpoint action has not been implemented"):
            sagemaker.update_endpoint(EndpointName="churn-prod", EndpointConfigName="churn-v2", **extra)


def test_uninstalling_removes_the_added_update_endpoint(raw_moto: None) -> None:
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    with install_gap_fills(FunctionRegistry()):
        assert hasattr(SageMakerModelBackend, "update_endpoint")
        assert hasattr(SageMakerResponse, "update_endpoint")
    assert "update_endpoint" not in SageMakerModelBackend.__dict__
    assert "update_endpoint" not in SageMakerResponse.__dict__


# -- the fill -------------------------------------------------------------------------------------


def test_create_endpoint_emits_creating_then_in_service_with_default_weights(fast: GapFills) -> None:
    _record_sagemaker_events(fast)
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker, instances=2)

    described = sagemaker.describe_endpoint(EndpointName="churn-prod")
    assert described["EndpointStatus"] == "InService"  # moto's immediate InService is kept
    assert described["ProductionVariants"][0]["CurrentWeight"] == 1.0
    events = _delivered(fast)
    assert [_summary(e) for e in events] == [
        ("state", "CREATING", "churn-v1", None),
        ("state", "IN_SERVICE", "churn-v1", None),
    ]
    assert events[0]["resources"] == [described["EndpointArn"]]
    assert events[0]["detail"]["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert isinstance(events[0]["detail"]["CreationTime"], int)


def test_canary_deployment_ends_in_service_on_the_new_config(
    fills_at: Callable[[], GapFills],
) -> None:
    fast = fills_at()
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    _alarm()
    _record_sagemaker_events(fast)
    deployment_config = _blue_green(CANARY, termination_wait=600, max_seconds=7200)

    sagemaker.update_endpoint(
        EndpointName="churn-prod", EndpointConfigName="churn-v2", DeploymentConfig=deployment_config
    )
    started = sagemaker.describe_endpoint(EndpointName="churn-prod")
    _settle(fast)
    done = sagemaker.describe_endpoint(EndpointName="churn-prod")

    assert started["EndpointStatus"] == "Updating"
    assert started["EndpointConfigName"] == "churn-v1"
    pending = started["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "churn-v2"
    assert pending["ProductionVariants"][0]["VariantStatus"][0]["Status"] in {
        "Creating",
        "ActivatingTraffic",
        "Baking",
    }
    assert done["EndpointStatus"] == "InService"
    assert done["EndpointConfigName"] == "churn-v2"
    assert "PendingDeploymentSummary" not in done
    assert "FailureReason" not in done
    assert done["LastDeploymentConfig"] == deployment_config
    assert done["ProductionVariants"][0]["CurrentWeight"] == 1.0
    assert done["ProductionVariants"][0]["CurrentInstanceCount"] == 4

    events = _delivered(fast)
    assert [_summary(e) for e in events] == [
        ("state", "UPDATING", "churn-v1", None),
        ("deployment", "UPDATING", "churn-v1", "Creating"),
        ("deployment", "UPDATING", "churn-v1", "ActivatingTraffic"),
        ("deployment", "UPDATING", "churn-v1", "Baking"),
        ("deployment", "UPDATING", "churn-v1", "ActivatingTraffic"),
        ("deployment", "UPDATING", "churn-v1", "Baking"),
        ("deployment", "IN_SERVICE", "churn-v2", None),
        ("state", "IN_SERVICE", "churn-v2", None),
    ]
    canary_bake = events[3]["detail"]
    green = canary_bake["PendingDeploymentSummary"]["ProductionVariants"][0]
    assert green["CurrentInstanceCount"] == 1
    assert green["CurrentWeight"] == 0.25
    assert "WaitIntervalInSeconds" in green["VariantStatus"][0]["StatusMessage"]
    assert canary_bake["ProductionVariants"][0]["CurrentWeight"] == 0.75  # the old fleet serves the rest
    final_bake = events[5]["detail"]["PendingDeploymentSummary"]["ProductionVariants"][0]
    assert final_bake["CurrentWeight"] == 1.0
    assert "TerminationWaitInSeconds" in final_bake["VariantStatus"][0]["StatusMessage"]
    (status,) = fast.endpoint_deployments()
    assert (status.outcome, status.strategy, status.traffic_to_new_percent) == ("Completed", "CANARY", 100.0)


def test_alarm_in_alarm_while_baking_rolls_back_to_the_old_config(
    fills_at: Callable[[], GapFills],
) -> None:
    fills = fills_at()
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    _alarm()
    _record_sagemaker_events(fills)
    routing = {**CANARY, "WaitIntervalInSeconds": 3600}
    deployment_config = _blue_green(routing, termination_wait=3600, max_seconds=28800)
    sagemaker.update_endpoint(
        EndpointName="churn-prod", EndpointConfigName="churn-v2", DeploymentConfig=deployment_config
    )

    _wait_for_stage(fills, "Baking")
    boto3.client("cloudwatch").set_alarm_state(
        AlarmName="churn-latency", StateValue="ALARM", StateReason="p99 above 800 ms"
    )
    _settle(fills)
    done = sagemaker.describe_endpoint(EndpointName="churn-prod")

    assert done["EndpointStatus"] == "InService"
    assert done["EndpointConfigName"] == "churn-v1"
    assert "churn-latency" in done["FailureReason"]
    assert done["LastDeploymentConfig"] == deployment_config
    assert "PendingDeploymentSummary" not in done
    assert done["ProductionVariants"][0]["CurrentWeight"] == 1.0
    (status,) = fills.endpoint_deployments()
    assert status.outcome == "RolledBack"
    assert status.stages == ("Creating", "ActivatingTraffic", "Baking", "Deleting", "RolledBack")
    assert status.reason == done["FailureReason"]

    events = [e for e in _delivered(fills) if e["source"] == "aws.sagemaker"]
    assert [_summary(e) for e in events] == [
        ("state", "UPDATING", "churn-v1", None),
        ("deployment", "UPDATING", "churn-v1", "Creating"),
        ("deployment", "UPDATING", "churn-v1", "ActivatingTraffic"),
        ("deployment", "UPDATING", "churn-v1", "Baking"),
        ("state", "ROLLING_BACK", "churn-v1", None),
        ("deployment", "ROLLING_BACK", "churn-v1", "Deleting"),
        ("deployment", "IN_SERVICE", "churn-v1", None),
        ("state", "IN_SERVICE", "churn-v1", None),
    ]
    rolling_back = events[5]["detail"]
    assert "churn-latency" in rolling_back["FailureReason"]
    assert rolling_back["PendingDeploymentSummary"]["ProductionVariants"][0]["DesiredInstanceCount"] == 0
    assert rolling_back["ProductionVariants"][0]["CurrentWeight"] == 1.0  # traffic back on the old fleet
    assert events[-1]["detail"]["FailureReason"] == done["FailureReason"]


def test_an_alarm_already_in_alarm_rolls_back_before_any_traffic_shifts(fast: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    _alarm()
    boto3.client("cloudwatch").set_alarm_state(AlarmName="churn-latency", StateValue="ALARM", StateReason="x")
    sagemaker.update_endpoint(
        EndpointName="churn-prod", EndpointConfigName="churn-v2", DeploymentConfig=_blue_green(CANARY)
    )
    _settle(fast)
    (status,) = fast.endpoint_deployments()
    assert status.stages == ("Creating", "Deleting", "RolledBack")
    assert sagemaker.describe_endpoint(EndpointName="churn-prod")["EndpointConfigName"] == "churn-v1"


def test_maximum_execution_timeout_rolls_back(fast: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    routing = {**CANARY, "WaitIntervalInSeconds": 3600}
    sagemaker.update_endpoint(
        EndpointName="churn-prod",
        EndpointConfigName="churn-v2",
        DeploymentConfig=_blue_green(routing, termination_wait=3600, max_seconds=600, alarms=()),
    )
    _settle(fast)
    done = sagemaker.describe_endpoint(EndpointName="churn-prod")
    assert done["EndpointConfigName"] == "churn-v1"
    assert "MaximumExecutionTimeoutInSeconds (600 seconds)" in done["FailureReason"]
    assert fast.endpoint_deployments()[0].outcome == "RolledBack"


def test_linear_deployment_shifts_traffic_in_steps(fast: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    _record_sagemaker_events(fast)
    routing = {
        "Type": "LINEAR",
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        "WaitIntervalInSeconds": 300,
    }
    sagemaker.update_endpoint(
        EndpointName="churn-prod",
        EndpointConfigName="churn-v2",
        DeploymentConfig=_blue_green(routing, alarms=()),
    )
    _settle(fast)

    shifts = [
        e["detail"]
        for e in _delivered(fast)
        if e["detail-type"] == DEPLOYMENT and parse_event(e).deployment_stage == "ActivatingTraffic"  # type: ignore[union-attr]
    ]
    green = [d["PendingDeploymentSummary"]["ProductionVariants"][0] for d in shifts]
    assert [(g["CurrentInstanceCount"], g["CurrentWeight"]) for g in green] == [
        (1, 0.25),
        (2, 0.5),
        (3, 0.75),
        (4, 1.0),
    ]
    blue = [d["ProductionVariants"][0] for d in shifts]
    assert [(b["CurrentInstanceCount"], b["CurrentWeight"]) for b in blue] == [
        (3, 0.75),
        (2, 0.5),
        (1, 0.25),
        (0, 0.0),
    ]
    assert sagemaker.describe_endpoint(EndpointName="churn-prod")["EndpointConfigName"] == "churn-v2"


def test_all_at_once_and_retained_deployment_config(fast: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    _model_and_configs(sagemaker, 4, "churn-v3")
    config = _blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}, alarms=())
    sagemaker.update_endpoint(
        EndpointName="churn-prod", EndpointConfigName="churn-v2", DeploymentConfig=config
    )
    _settle(fast)
    sagemaker.update_endpoint(
        EndpointName="churn-prod", EndpointConfigName="churn-v3", RetainDeploymentConfig=True
    )
    _settle(fast)
    first, second = fast.endpoint_deployments()
    assert first.stages == ("Creating", "ActivatingTraffic", "Baking", "Completed")
    assert (second.strategy, second.outcome) == ("ALL_AT_ONCE", "Completed")
    assert sagemaker.describe_endpoint(EndpointName="churn-prod")["EndpointConfigName"] == "churn-v3"


def test_plain_update_is_updating_then_in_service_on_the_new_config(
    fills_at: Callable[[], GapFills],
) -> None:
    fills = fills_at()
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    _record_sagemaker_events(fills)
    sagemaker.update_endpoint(EndpointName="churn-prod", EndpointConfigName="churn-v2")

    during = sagemaker.describe_endpoint(EndpointName="churn-prod")
    assert during["EndpointStatus"] == "Updating"
    assert "PendingDeploymentSummary" not in during
    assert [d.finished for d in fills.endpoint_deployments()] == [None]
    with pytest.raises(sagemaker.exceptions.ClientError, match="Cannot update in-progress endpoint"):
        sagemaker.update_endpoint(EndpointName="churn-prod", EndpointConfigName="churn-v1")
    _settle(fills)
    done = sagemaker.describe_endpoint(EndpointName="churn-prod")
    assert (done["EndpointStatus"], done["EndpointConfigName"]) == ("InService", "churn-v2")
    assert "LastDeploymentConfig" not in done
    assert [_summary(e) for e in _delivered(fills)] == [
        ("state", "UPDATING", "churn-v1", None),
        ("state", "IN_SERVICE", "churn-v2", None),
    ]
    (status,) = fills.endpoint_deployments()
    assert (status.strategy, status.outcome) == ("NONE", "Completed")
    # The interval the endpoint was being updated: what proves updates never overlap.
    assert status.finished is not None
    assert (status.finished - status.started).total_seconds() == FLEET_LAUNCH_SECONDS  # on the virtual clock


def _validation_error(sagemaker: Any, match: str, **kwargs: Any) -> None:
    with pytest.raises(sagemaker.exceptions.ClientError, match=match) as raised:
        sagemaker.update_endpoint(**kwargs)
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_update_endpoint_validates_like_aws(fills_at: Callable[[], GapFills]) -> None:
    fast = fills_at()
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    _validation_error(
        sagemaker, "Could not find endpoint", EndpointName="nope", EndpointConfigName="churn-v2"
    )
    _validation_error(
        sagemaker,
        "Could not find endpoint configuration",
        EndpointName="churn-prod",
        EndpointConfigName="nope",
    )
    too_big = {**CANARY, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 60}}
    _validation_error(
        sagemaker,
        "CanarySize must be less than or equal to 50%",
        EndpointName="churn-prod",
        EndpointConfigName="churn-v2",
        DeploymentConfig=_blue_green(too_big),
    )
    _validation_error(
        sagemaker,
        "terminationWaitInSeconds' failed to satisfy constraint: Member must have value less than or equal to 3600",
        EndpointName="churn-prod",
        EndpointConfigName="churn-v2",
        DeploymentConfig=_blue_green(CANARY, termination_wait=4000),  # botocore checks only minimums
    )
    sagemaker.update_endpoint(
        EndpointName="churn-prod",
        EndpointConfigName="churn-v2",
        DeploymentConfig=_blue_green({**CANARY, "WaitIntervalInSeconds": 3600}, termination_wait=3600),
    )
    _validation_error(
        sagemaker,
        "Cannot update in-progress endpoint",
        EndpointName="churn-prod",
        EndpointConfigName="churn-v1",
    )
    assert fast.endpoint_deployments(in_flight_only=True)
    assert sagemaker.describe_endpoint(EndpointName="churn-prod")["EndpointStatus"] == "Updating"


def test_deployment_config_is_refused_on_serverless_and_multi_variant_endpoints(fast: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    _model_and_configs(sagemaker, 2, "churn-v1")
    variant = {"ModelName": "churn", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}
    sagemaker.create_endpoint_config(
        EndpointConfigName="two-variants",
        ProductionVariants=[{**variant, "VariantName": "A"}, {**variant, "VariantName": "B"}],
    )
    serverless = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    for name in ("serverless-v1", "serverless-v2"):
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {"VariantName": "AllTraffic", "ModelName": "churn", "ServerlessConfig": serverless}
            ],
        )
    sagemaker.create_endpoint(EndpointName="multi", EndpointConfigName="two-variants")
    sagemaker.create_endpoint(EndpointName="serverless", EndpointConfigName="serverless-v1")
    sagemaker.create_endpoint(EndpointName="single", EndpointConfigName="churn-v1")
    guarded = _blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0})

    _validation_error(
        sagemaker,
        "serverless",
        EndpointName="serverless",
        EndpointConfigName="serverless-v2",
        DeploymentConfig=guarded,
    )
    _validation_error(
        sagemaker,
        "multi-variant",
        EndpointName="multi",
        EndpointConfigName="two-variants",
        DeploymentConfig=guarded,
    )
    _validation_error(
        sagemaker,
        "multi-variant",
        EndpointName="single",
        EndpointConfigName="two-variants",
        DeploymentConfig=guarded,
    )
    assert fast.endpoint_deployments() == []
    sagemaker.update_endpoint(EndpointName="serverless", EndpointConfigName="serverless-v2")  # plain: allowed
    _settle(fast)
    done = sagemaker.describe_endpoint(EndpointName="serverless")
    assert done["EndpointConfigName"] == "serverless-v2"
    assert done["ProductionVariants"][0]["CurrentServerlessConfig"]["MemorySizeInMB"] == 2048


# -- serverless: one production variant -----------------------------------------------------------

SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}


def _serverless_variants(count: int) -> list[dict[str, Any]]:
    return [
        {"VariantName": f"v{i}", "ModelName": "churn", "ServerlessConfig": SERVERLESS} for i in range(count)
    ]


def test_raw_moto_accepts_a_serverless_config_with_two_production_variants(raw_moto: None) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model(ModelName="churn", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"})
    sagemaker.create_endpoint_config(EndpointConfigName="two", ProductionVariants=_serverless_variants(2))
    described = sagemaker.describe_endpoint_config(EndpointConfigName="two")
    assert len(described["ProductionVariants"]) == 2


def test_a_serverless_config_takes_one_production_variant(fast: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model(ModelName="churn", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"})
    instance = {
        "VariantName": "i",
        "ModelName": "churn",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    for name, variants in (
        ("two", _serverless_variants(2)),
        ("mixed", [*_serverless_variants(1), instance]),
    ):
        with pytest.raises(
            sagemaker.exceptions.ClientError, match="exactly one production variant"
        ) as raised:
            sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants)
        assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []  # nothing created
    sagemaker.create_endpoint_config(EndpointConfigName="one", ProductionVariants=_serverless_variants(1))
    sagemaker.create_endpoint_config(
        EndpointConfigName="instances", ProductionVariants=[instance, {**instance, "VariantName": "j"}]
    )
    assert {c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]} == {
        "one",
        "instances",
    }


# -- managed traffic shifting: zero weights, weight updates ----------------------------------------

INSTANCES = {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}


def _two_variants(sagemaker: Any) -> None:
    """An instance endpoint serving ``old`` with a candidate variant ``new`` at weight 0."""
    sagemaker.create_model(ModelName="churn", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"})
    sagemaker.create_endpoint_config(
        EndpointConfigName="shift",
        ProductionVariants=[
            {"VariantName": "old", "ModelName": "churn", "InitialVariantWeight": 1.0, **INSTANCES},
            {"VariantName": "new", "ModelName": "churn", "InitialVariantWeight": 0.0, **INSTANCES},
        ],
    )
    sagemaker.create_endpoint(EndpointName="scoring", EndpointConfigName="shift")


def _weights(sagemaker: Any) -> dict[str, tuple[float | None, float | None]]:
    described = sagemaker.describe_endpoint(EndpointName="scoring")
    return {
        v["VariantName"]: (v.get("CurrentWeight"), v.get("DesiredWeight"))
        for v in described["ProductionVariants"]
    }


def test_raw_moto_drops_zero_weights_and_applies_weight_updates_at_once_without_events(
    raw_moto: None,
) -> None:
    queue = capture_events({"source": ["aws.sagemaker"]})
    sagemaker = boto3.client("sagemaker")
    _two_variants(sagemaker)
    assert _weights(sagemaker) == {"old": (1.0, 1.0), "new": (None, None)}  # weight 0 is lost
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName="scoring", DesiredWeightsAndCapacities=[{"VariantName": "new", "DesiredWeight": 0.1}]
    )
    assert (
        sagemaker.describe_endpoint(EndpointName="scoring")["EndpointStatus"] == "InService"
    )  # never Updating
    assert _weights(sagemaker)["new"] == (0.1, 0.1)
    sagemaker.update_endpoint_weights_and_capacities(  # no in-progress check either
        EndpointName="scoring", DesiredWeightsAndCapacities=[{"VariantName": "old", "DesiredWeight": 0.9}]
    )
    assert drain(queue) == []


def test_zero_weight_variants_keep_their_weight(fast: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    _two_variants(sagemaker)
    assert _weights(sagemaker) == {"old": (1.0, 1.0), "new": (0.0, 0.0)}
    described = sagemaker.describe_endpoint(EndpointName="scoring")
    assert described["ProductionVariants"][1]["CurrentInstanceCount"] == 1


def test_weight_update_is_updating_then_in_service_with_events(fills_at: Callable[[], GapFills]) -> None:

    fills = fills_at()
    sagemaker = boto3.client("sagemaker")
    _two_variants(sagemaker)
    _record_sagemaker_events(fills)
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName="scoring",
        DesiredWeightsAndCapacities=[
            {"VariantName": "old", "DesiredWeight": 0.75},
            {"VariantName": "new", "DesiredWeight": 0.25},
        ],
    )
    assert sagemaker.describe_endpoint(EndpointName="scoring")["EndpointStatus"] == "Updating"
    assert _weights(sagemaker) == {"old": (1.0, 0.75), "new": (0.0, 0.25)}  # desired now, current later
    with pytest.raises(sagemaker.exceptions.ClientError, match="Cannot update in-progress endpoint"):
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName="scoring", DesiredWeightsAndCapacities=[{"VariantName": "new", "DesiredWeight": 1}]
        )
    _settle(fills)
    done = sagemaker.describe_endpoint(EndpointName="scoring")
    assert (done["EndpointStatus"], done["EndpointConfigName"]) == ("InService", "shift")
    assert _weights(sagemaker) == {"old": (0.75, 0.75), "new": (0.25, 0.25)}
    assert done["ProductionVariants"][0]["CurrentInstanceCount"] == 1  # the rest is kept
    assert [_summary(e) for e in _delivered(fills)] == [
        ("state", "UPDATING", "shift", None),
        ("state", "IN_SERVICE", "shift", None),
    ]
    (status,) = fills.endpoint_deployments()
    assert (status.strategy, status.outcome) == ("WEIGHTS", "Completed")


def test_weight_update_validates_like_aws(fast: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    _two_variants(sagemaker)

    def refused(match: str, changes: list[dict[str, Any]], endpoint: str = "scoring") -> None:
        with pytest.raises(sagemaker.exceptions.ClientError, match=match) as raised:
            sagemaker.update_endpoint_weights_and_capacities(
                EndpointName=endpoint, DesiredWeightsAndCapacities=changes
            )
        assert raised.value.response["Error"]["Code"] == "ValidationException"

    refused("Could not find endpoint", [{"VariantName": "new", "DesiredWeight": 1}], endpoint="nope")
    refused("not present within endpoint configuration", [{"VariantName": "nope", "DesiredWeight": 1}])
    refused(
        "non-unique", [{"VariantName": "new", "DesiredWeight": 1}, {"VariantName": "new", "DesiredWeight": 0}]
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="serverless", ProductionVariants=_serverless_variants(1)
    )
    sagemaker.create_endpoint(EndpointName="serverless", EndpointConfigName="serverless")
    refused("serverless", [{"VariantName": "v0", "DesiredInstanceCount": 2}], endpoint="serverless")
    refused("specify DesiredWeight", [{"VariantName": "new"}])
    assert fast.endpoint_deployments() == []
    assert _weights(sagemaker) == {"old": (1.0, 1.0), "new": (0.0, 0.0)}  # nothing half-applied


def test_uninstall_stops_deployment_threads(fills_at: Callable[[], GapFills]) -> None:
    fills = fills_at()
    sagemaker = boto3.client("sagemaker")
    _endpoint(sagemaker)
    sagemaker.update_endpoint(EndpointName="churn-prod", EndpointConfigName="churn-v2")
    (status,) = fills.endpoint_deployments(in_flight_only=True)
    assert status.stage == "Creating"
    fills.uninstall()  # the fleet launch's simulated minute never passes: the thread stops at once
    (stopped,) = fills.endpoint_deployments()
    assert stopped.outcome == "Stopped"
    assert not any(d.thread.is_alive() for d in fills._state.deployments)


def test_control_plane_reports_deployments_and_pump_does_not_wait_for_them(
    control_plane: LocalControlPlane,
) -> None:
    sagemaker = control_plane.client("sagemaker")
    _model_and_configs(sagemaker, 2, "cp-v1", "cp-v2")
    sagemaker.create_endpoint(EndpointName="cp-endpoint", EndpointConfigName="cp-v1")
    sagemaker.update_endpoint(EndpointName="cp-endpoint", EndpointConfigName="cp-v2")  # a simulated minute

    before = control_plane.now()
    report = control_plane.pump()
    assert control_plane.now() == before  # pump never moves time: the simulated minute has not passed
    assert [(d.endpoint_name, d.to_config, d.in_flight) for d in report.deployments] == [
        ("cp-endpoint", "cp-v2", True)
    ]
    assert [d.endpoint_name for d in control_plane.endpoint_deployments(in_flight_only=True)] == [
        "cp-endpoint"
    ]
    sagemaker.delete_endpoint(EndpointName="cp-endpoint")  # the deployment thread notices and stops
    assert control_plane.wait_endpoint_deployments()
    (stopped,) = [d for d in control_plane.endpoint_deployments() if d.endpoint_name == "cp-endpoint"]
    assert (stopped.outcome, stopped.reason) == ("Stopped", "the endpoint was deleted during the deployment")
