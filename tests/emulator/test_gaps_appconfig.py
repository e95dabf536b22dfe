"""Gap fills w (AppConfig environments, strategies, deployments, validators, alarm rollback) and x
(AppConfig Data sessions): moto's raw behaviour first, then the fill's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcp.adapters.policy_appconfig import AppConfigPolicyStore
from mlcp.policy import canonical_json, parse_policy
from mlcp_cli.emulator.gaps import FunctionSpec, GapFills

ROOT = Path(__file__).resolve().parents[2]
POLICY: dict[str, Any] = {
    "tiers": {"low": {"auto_approve": True, "human_approval": False}},
    "groups": [{"match": "*", "tier": "low"}],
}


def _validator(fills: GapFills) -> str:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:validate-policy"
    fills.registry.register(
        FunctionSpec(
            name="validate-policy",
            code_dir=ROOT / "functions" / "validate_policy",
            handler="app.handler",
            environment={"POWERTOOLS_SERVICE_NAME": "validate-policy"},
            arn=arn,
        )
    )
    return arn


def _setup(monitors: list[dict[str, str]] | None = None, validator: str | None = None) -> dict[str, str]:
    ac = boto3.client("appconfig")
    app = ac.create_application(Name="mlcp-policy")["Id"]
    env = ac.create_environment(ApplicationId=app, Name="dev", Monitors=monitors or [])["Id"]
    validators = [{"Type": "LAMBDA", "Content": validator}] if validator else []
    profile = ac.create_configuration_profile(
        ApplicationId=app, Name="policy", LocationUri="hosted", Type="AWS.Freeform", Validators=validators
    )["Id"]
    immediate = ac.create_deployment_strategy(
        Name="immediate",
        DeploymentDurationInMinutes=0,
        FinalBakeTimeInMinutes=0,
        GrowthFactor=100,
        ReplicateTo="NONE",
    )["Id"]
    gradual = ac.create_deployment_strategy(
        Name="gradual",
        DeploymentDurationInMinutes=4,
        FinalBakeTimeInMinutes=10,
        GrowthFactor=25,
        ReplicateTo="NONE",
    )["Id"]
    return {"app": app, "env": env, "profile": profile, "immediate": immediate, "gradual": gradual}


def _version(ids: dict[str, str], content: bytes) -> str:
    response = boto3.client("appconfig").create_hosted_configuration_version(
        ApplicationId=ids["app"],
        ConfigurationProfileId=ids["profile"],
        Content=content,
        ContentType="application/json",
    )
    return str(response["VersionNumber"])


def _deploy(ids: dict[str, str], version: str, strategy: str) -> dict[str, Any]:
    return boto3.client("appconfig").start_deployment(
        ApplicationId=ids["app"],
        EnvironmentId=ids["env"],
        ConfigurationProfileId=ids["profile"],
        ConfigurationVersion=version,
        DeploymentStrategyId=ids[strategy],
    )


def _policy(**changes: Any) -> bytes:
    return canonical_json(parse_policy({**POLICY, **changes}, "test")).encode()


def test_raw_moto_has_no_environments_deployments_or_sessions(raw_moto: None) -> None:
    ac = boto3.client("appconfig")
    app = ac.create_application(Name="x")["Id"]
    with pytest.raises(ClientError, match="Not yet implemented"):
        ac.create_environment(ApplicationId=app, Name="dev")
    with pytest.raises(ClientError, match="Not yet implemented"):
        boto3.client("appconfigdata").start_configuration_session(
            ApplicationIdentifier=app, EnvironmentIdentifier="e", ConfigurationProfileIdentifier="p"
        )


def test_raw_moto_never_runs_a_validator(raw_moto: None) -> None:
    ac = boto3.client("appconfig")
    app = ac.create_application(Name="x")["Id"]
    profile = ac.create_configuration_profile(
        ApplicationId=app,
        Name="p",
        LocationUri="hosted",
        Validators=[{"Type": "LAMBDA", "Content": "arn:aws:lambda:us-east-1:123456789012:function:nope"}],
    )["Id"]
    created = ac.create_hosted_configuration_version(
        ApplicationId=app, ConfigurationProfileId=profile, Content=b"not json", ContentType="text/plain"
    )
    assert created["VersionNumber"] == 1


def test_immediate_deployment_is_served_to_the_next_poll_and_unchanged_is_empty(fills: GapFills) -> None:
    ids = _setup()
    store = AppConfigPolicyStore(ids["app"], ids["env"], ids["profile"], client=boto3.client("appconfigdata"))
    _deploy(ids, _version(ids, _policy()), "immediate")
    assert store.get().groups[0].match == "*"
    data = boto3.client("appconfigdata")
    token = data.start_configuration_session(
        ApplicationIdentifier=ids["app"],
        EnvironmentIdentifier=ids["env"],
        ConfigurationProfileIdentifier=ids["profile"],
    )["InitialConfigurationToken"]
    first = data.get_latest_configuration(ConfigurationToken=token)
    assert json.loads(first["Configuration"].read())["groups"][0]["match"] == "*"
    second = data.get_latest_configuration(ConfigurationToken=first["NextPollConfigurationToken"])
    assert second["Configuration"].read() == b""
    with pytest.raises(ClientError, match="already used"):
        data.get_latest_configuration(ConfigurationToken=token)
    deployment = boto3.client("appconfig").get_deployment(
        ApplicationId=ids["app"], EnvironmentId=ids["env"], DeploymentNumber=1
    )
    assert deployment["State"] == "COMPLETE"


def test_gradual_deployment_grows_and_bakes_on_the_virtual_clock(fills: GapFills) -> None:
    ids = _setup()
    _deploy(ids, _version(ids, _policy()), "gradual")
    ac = boto3.client("appconfig")
    states = []
    for _ in range(4):
        got = ac.get_deployment(ApplicationId=ids["app"], EnvironmentId=ids["env"], DeploymentNumber=1)
        states.append((got["State"], got["PercentageComplete"]))
        fills.advance(120)
    got = ac.get_deployment(ApplicationId=ids["app"], EnvironmentId=ids["env"], DeploymentNumber=1)
    fills.advance(600)
    done = ac.get_deployment(ApplicationId=ids["app"], EnvironmentId=ids["env"], DeploymentNumber=1)
    assert states == [("DEPLOYING", 25.0), ("DEPLOYING", 75.0), ("BAKING", 100.0), ("BAKING", 100.0)]
    assert got["State"] == "BAKING"
    assert done["State"] == "COMPLETE"


def test_one_deployment_at_a_time_and_stop_rolls_back(fills: GapFills) -> None:
    ids = _setup()
    first = _version(ids, _policy())
    _deploy(ids, first, "immediate")
    _deploy(ids, _version(ids, _policy(change_freezes=[])), "gradual")
    with pytest.raises(ClientError) as raised:
        _deploy(ids, first, "immediate")
    assert raised.value.response["Error"]["Code"] == "ConflictException"
    stopped = boto3.client("appconfig").stop_deployment(
        ApplicationId=ids["app"], EnvironmentId=ids["env"], DeploymentNumber=2
    )
    assert stopped["State"] == "ROLLED_BACK"


def test_validator_refuses_a_policy_the_model_refuses_and_the_previous_stays(fills: GapFills) -> None:
    ids = _setup(validator=_validator(fills))
    store = AppConfigPolicyStore(ids["app"], ids["env"], ids["profile"], client=boto3.client("appconfigdata"))
    _deploy(ids, _version(ids, _policy()), "immediate")
    assert store.get().tiers["low"].auto_approve is True
    bad = dict(POLICY, tiers={"low": {"auto_approve": True, "human_approval": True}})
    with pytest.raises(ClientError) as raised:
        _version(ids, json.dumps(bad).encode())
    error = raised.value.response
    assert error["Error"]["Code"] == "BadRequestException"
    assert "auto_approve and human_approval cannot both be true" in error["Error"]["Message"]
    assert store.get().tiers["low"].auto_approve is True  # still the deployed version


def test_alarm_rolls_a_baking_deployment_back_and_the_previous_version_stays(fills: GapFills) -> None:
    cw = boto3.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="failures",
        Namespace="x",
        MetricName="y",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    alarm = cw.describe_alarms(AlarmNames=["failures"])["MetricAlarms"][0]["AlarmArn"]
    ids = _setup(monitors=[{"AlarmArn": alarm, "AlarmRoleArn": "arn:aws:iam::123456789012:role/monitor"}])
    store = AppConfigPolicyStore(ids["app"], ids["env"], ids["profile"], client=boto3.client("appconfigdata"))
    _deploy(ids, _version(ids, _policy()), "immediate")
    assert store.get().change_freezes == []
    freeze = [{"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z", "reason": "x"}]
    _deploy(ids, _version(ids, _policy(change_freezes=freeze)), "gradual")
    fills.advance(300)  # baking: every session has it
    assert len(store.get().change_freezes) == 1
    cw.set_alarm_state(AlarmName="failures", StateValue="ALARM", StateReason="test")
    got = boto3.client("appconfig").get_deployment(
        ApplicationId=ids["app"], EnvironmentId=ids["env"], DeploymentNumber=2
    )
    assert got["State"] == "ROLLED_BACK"
    assert alarm in got["EventLog"][-1]["Description"] or any(
        alarm in e["Description"] for e in got["EventLog"]
    )
    fresh = AppConfigPolicyStore(ids["app"], ids["env"], ids["profile"], client=boto3.client("appconfigdata"))
    assert fresh.get().change_freezes == []


APPCONFIG_STACK = {
    "Resources": {
        "App": {"Type": "AWS::AppConfig::Application", "Properties": {"Name": "mlcp-policy"}},
        "Env": {
            "Type": "AWS::AppConfig::Environment",
            "Properties": {"ApplicationId": {"Ref": "App"}, "Name": "dev"},
        },
        "Profile": {
            "Type": "AWS::AppConfig::ConfigurationProfile",
            "Properties": {"ApplicationId": {"Ref": "App"}, "Name": "policy", "LocationUri": "hosted"},
        },
        "Now": {
            "Type": "AWS::AppConfig::DeploymentStrategy",
            "Properties": {
                "Name": "now",
                "DeploymentDurationInMinutes": 0,
                "FinalBakeTimeInMinutes": 0,
                "GrowthFactor": 100,
                "ReplicateTo": "NONE",
            },
        },
    },
    "Outputs": {"Target": {"Value": {"Fn::Sub": "${App}/${Env}/${Profile}"}}},
}


def _appconfig_stack() -> dict[str, str]:
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="ac", TemplateBody=json.dumps(APPCONFIG_STACK))
    resources = cfn.describe_stack_resources(StackName="ac")["StackResources"]
    # moto lists the resources it skipped without ids
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r.get("PhysicalResourceId")}


def test_raw_moto_cloudformation_creates_no_appconfig_resource(raw_moto: None) -> None:
    assert _appconfig_stack() == {}  # every AppConfig resource skipped: no physical ids


def test_cloudformation_fill_creates_the_appconfig_resources(fills: GapFills) -> None:
    ids = _appconfig_stack()
    ac = boto3.client("appconfig")
    assert ac.get_application(ApplicationId=ids["App"])["Name"] == "mlcp-policy"
    assert ac.get_environment(ApplicationId=ids["App"], EnvironmentId=ids["Env"])["Name"] == "dev"
    assert (
        ac.get_configuration_profile(ApplicationId=ids["App"], ConfigurationProfileId=ids["Profile"])["Name"]
        == "policy"
    )
    assert ac.get_deployment_strategy(DeploymentStrategyId=ids["Now"])["GrowthFactor"] == 100
    target = boto3.client("cloudformation").describe_stacks(StackName="ac")["Stacks"][0]["Outputs"][0][
        "OutputValue"
    ]
    assert target == f"{ids['App']}/{ids['Env']}/{ids['Profile']}"


def test_a_hosted_version_above_2_mb_is_refused(fills: GapFills) -> None:
    ids = _setup()
    with pytest.raises(ClientError) as raised:
        _version(ids, b"x" * (2 * 1024 * 1024 + 1))
    assert raised.value.response["Error"]["Code"] == "PayloadTooLargeException"
    assert _version(ids, _policy()) == "1"
