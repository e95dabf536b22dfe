"""deploy_local_stack: package, translate, create in moto, register functions."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import boto3
import pytest

from mlcp_cli.emulator.gaps import FunctionRegistry, GapFills, installed
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.emulator.stack import StackDeployError, deploy_local_stack

from .helpers import FIXTURE_DIR, FIXTURE_TEMPLATE


def test_deploys_the_fixture_template_and_registers_its_functions(fills: GapFills) -> None:
    registry = FunctionRegistry()
    stack = deploy_local_stack(FIXTURE_TEMPLATE, {"Stage": "dev"}, boto3.Session(), registry)

    assert set(stack.function_names) == {"WriterFunction", "CheckerFunction", "FlakyFunction"}
    assert set(stack.state_machine_arns) == {"ItemFlow"}
    assert stack.outputs["ItemsTableName"] == stack.table_names["ItemsTable"]
    assert stack.outputs["ItemFlowArn"] == stack.state_machine_arns["ItemFlow"]
    assert stack.physical_id("FailureQueue") == stack.queue_urls["FailureQueue"]
    assert "AWS::SQS::QueuePolicy" in stack.skipped_types  # moto creates no queue policies
    with pytest.raises(KeyError, match="NoSuchThing"):
        stack.physical_id("NoSuchThing")

    writer = registry.get(stack.function_names["WriterFunction"])
    assert writer is not None
    assert writer.code_dir == FIXTURE_DIR / "functions" / "writer"
    assert writer.handler == "app.handler"
    assert writer.environment == {
        "STAGE": "dev",
        "TABLE_NAME": stack.table_names["ItemsTable"],
        "GREETING": "hello-dev",
    }
    assert (writer.memory_mb, writer.timeout_s) == (256, 30)
    assert registry.names() == sorted(stack.function_names.values())

    # sam package equivalent: code and layer zips in the artifacts bucket
    s3 = boto3.client("s3")
    (bucket,) = [
        b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("mlcp-local-artifacts")
    ]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert [k.rsplit(".", 1)[1] for k in keys].count("zip") == 4  # 3 functions + 1 layer
    # sam deploy's template upload: CreateStack's TemplateBody takes at most 51,200 bytes
    (template_key,) = [k for k in keys if k.endswith(".template")]
    uploaded = json.loads(s3.get_object(Bucket=bucket, Key=template_key)["Body"].read())
    assert uploaded == stack.template
    assert boto3.client("cloudformation").get_template(StackName=stack.name)["TemplateBody"] == stack.template
    definition = boto3.client("stepfunctions").describe_state_machine(
        stateMachineArn=stack.state_machine_arns["ItemFlow"]
    )["definition"]
    assert stack.function_names["CheckerFunction"] in definition
    assert "${" not in definition


def test_unknown_parameter_is_refused(fills: GapFills) -> None:
    with pytest.raises(StackDeployError, match="NotAParameter"):
        deploy_local_stack(FIXTURE_TEMPLATE, {"NotAParameter": "x"}, boto3.Session())


def test_missing_code_directory_is_reported(fills: GapFills, tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_DIR, tmp_path / "fx")
    shutil.rmtree(tmp_path / "fx" / "functions" / "flaky")
    with pytest.raises(StackDeployError, match=r"functions/flaky/"):
        deploy_local_stack(tmp_path / "fx" / "template.yaml", {}, boto3.Session())


def test_invalid_sam_is_reported_precisely(fills: GapFills, tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: app.handler\n"
        "      Runtime: python3.13\n",
        encoding="utf-8",
    )
    with pytest.raises(StackDeployError, match=r"SAM translation failed.*Fn"):
        deploy_local_stack(tmp_path / "template.yaml", {}, boto3.Session())


def test_local_control_plane_restores_environment_and_moto_on_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    with LocalControlPlane(FIXTURE_TEMPLATE, region="eu-west-1", stack_name="other") as cp:
        assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert cp.stack.name == "other"
        assert cp.stack.state_machine_arns["ItemFlow"].split(":")[3] == "eu-west-1"
        assert installed()
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-3"
    assert "AWS_ACCESS_KEY_ID" not in os.environ
    assert not installed()


@pytest.mark.parametrize(("value", "reserved"), [(None, 5), ("12", 12), ("0", None)])
def test_data_arrival_concurrency_reserves_and_caps_the_function(
    value: str | None, reserved: int | None
) -> None:
    """DataArrivalConcurrency bounds the writers on the data#<bucket> audit stream; 0 reserves nothing."""
    parameters = {} if value is None else {"DataArrivalConcurrency": value}
    with LocalControlPlane(Path(__file__).parents[2] / "template.yaml", parameters) as cp:
        name = cp.stack.function_names["DataArrivalFunction"]
        concurrency = cp.client("lambda").get_function_concurrency(FunctionName=name)
        assert concurrency.get("ReservedConcurrentExecutions") == reserved
        others = set(cp.stack.function_names.values()) - {name}
        assert not [
            fn
            for fn in others
            if "ReservedConcurrentExecutions" in cp.client("lambda").get_function_concurrency(FunctionName=fn)
        ]


def test_what_is_parked_or_stopped_alarms_on_call() -> None:
    """The control plane's own alarms, as deployed: each parking queue's depth and the deployment
    workflow's aborted / timed-out executions notify the incidents topic; an alarm's state change
    reaches intake like any alarm (audited on its stream, an incident opened, nothing rejected)."""
    from mlcp.adapters.audit_trail import AuditTrail

    with LocalControlPlane(Path(__file__).parents[2] / "template.yaml") as cp:
        alarms = {a["AlarmName"]: a for a in cp.client("cloudwatch").describe_alarms()["MetricAlarms"]}
        topic = cp.stack.physical_id("IncidentsTopic")
        queues = {
            url.rsplit("/", 1)[-1]
            for url in (
                cp.stack.physical_id(q)
                for q in ("EventDeliveryDLQ", "FunctionFailureQueue", "RejectedEventsQueue")
            )
        }
        watched_queues = {
            a["Dimensions"][0]["Value"]
            for a in alarms.values()
            if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
        }
        assert watched_queues == queues
        deployment = cp.stack.state_machine_arns["DeploymentStateMachine"]
        watched_machine = {
            a["MetricName"] for a in alarms.values() if a["Dimensions"][0]["Value"] == deployment
        }
        assert watched_machine == {"ExecutionsAborted", "ExecutionsTimedOut"}
        for alarm in alarms.values():
            assert alarm["AlarmActions"] == [topic], alarm["AlarmName"]
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
            assert alarm["AlarmDescription"]

        trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
        name = next(n for n in alarms if n.endswith("-rejected-events"))
        cp.client("cloudwatch").set_alarm_state(
            AlarmName=name, StateValue="ALARM", StateReason="1 message parked"
        )
        cp.pump()
        # like any alarm without an endpoint: an OpsCenter incident of its own (resource alarm/<name>)
        records = trail.read(f"alarm#{name}")
        assert [r.action.value for r in records] == ["event.received", "incident.opened"]
        assert records[1].evidence["resource"] == f"alarm/{name}"
        assert trail.read("control-plane") == []  # nothing rejected


_SAM = {
    "Transform": "AWS::Serverless-2016-10-31",
    "Parameters": {"Stage": {"Type": "String"}},
    "Resources": {
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": "s3://bucket/code.zip",
                "Handler": "app.handler",
                "Runtime": "python3.13",
            },
        }
    },
}


def test_a_translation_is_kept_on_disk_and_read_back_for_the_same_inputs(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mlcp_cli.emulator.stack import TRANSLATION_CACHE_ENV, translate

    monkeypatch.setenv(TRANSLATION_CACHE_ENV, str(tmp_path))
    first = translate(_SAM, {"Stage": "dev"})
    assert first["Resources"]["Fn"]["Type"] == "AWS::Lambda::Function"
    (stored,) = tmp_path.glob("*.json")
    assert translate(_SAM, {"Stage": "dev"}) == first
    stored.write_text('{"read": "from the file"}', encoding="utf-8")
    assert translate(_SAM, {"Stage": "dev"}) == {"read": "from the file"}
    translate(_SAM, {"Stage": "prod"})  # other parameters: another translation
    other_code = {**_SAM, "Resources": {"Fn": {**_SAM["Resources"]["Fn"]}}}  # type: ignore[dict-item]
    other_code["Resources"]["Fn"]["Properties"] = {
        **_SAM["Resources"]["Fn"]["Properties"],  # type: ignore[index]
        "CodeUri": "s3://bucket/other.zip",
    }
    assert (
        translate(other_code, {"Stage": "dev"})["Resources"]["Fn"]["Properties"]["Code"]["S3Key"]
        == "other.zip"
    )
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # the translator derives the partition from it
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    translate(_SAM, {"Stage": "dev"})
    assert len(list(tmp_path.glob("*.json"))) == 4


def test_a_damaged_translation_is_translated_again(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mlcp_cli.emulator.stack import TRANSLATION_CACHE_ENV, translate

    monkeypatch.setenv(TRANSLATION_CACHE_ENV, str(tmp_path))
    first = translate(_SAM, {"Stage": "dev"})
    (stored,) = tmp_path.glob("*.json")
    stored.write_text('{"truncated', encoding="utf-8")
    assert translate(_SAM, {"Stage": "dev"}) == first


def test_a_refused_template_is_never_stored_and_off_stores_nothing(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mlcp_cli.emulator.stack import TRANSLATION_CACHE_ENV, translate, translation_cache_dir

    monkeypatch.setenv(TRANSLATION_CACHE_ENV, str(tmp_path))
    broken = {
        **_SAM,
        "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": 3}}},
    }
    for _ in range(2):
        with pytest.raises(StackDeployError, match="SAM translation failed"):
            translate(broken, {"Stage": "dev"})
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(TRANSLATION_CACHE_ENV, "off")
    assert translation_cache_dir() is None
    translate(_SAM, {"Stage": "dev"})
    assert list(tmp_path.iterdir()) == []
