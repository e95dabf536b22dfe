"""One pair of tests per gap fill: moto's raw behaviour (still has the gap; when a moto upgrade makes
such a test fail, the fill can go) and the fill's behaviour (what AWS does)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, cast

import boto3
import pytest

from mlcp_cli.emulator.gaps import (
    FunctionRegistry,
    GapFills,
    install_gap_fills,
    installed,
    process_pending,
    settle,
    simulated_now,
)
from mlcp_cli.emulator.gaps.state import HANG_TIMEOUT

from .helpers import (
    capture_events,
    capture_queue,
    create_function,
    drain,
    lambda_role,
    register_fixture_function,
    user_session,
)

AWS_EVENT_KEYS = {
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
}


def recorded(registry: FunctionRegistry, name: str) -> list[Any]:
    """The EVENTS list of the recorder fixture module loaded for function ``name``."""
    spec = registry.get(name)
    assert spec is not None
    handler = registry.handler_of(spec)
    events: list[Any] = sys.modules[handler.__module__].EVENTS
    return events


def state_machine(name: str, definition: dict[str, Any]) -> str:
    return str(
        boto3.client("stepfunctions").create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=lambda_role()
        )["stateMachineArn"]
    )


def wait_execution(arn: str, timeout: float = HANG_TIMEOUT) -> dict[str, Any]:
    """The execution once it no longer runs without simulated time passing: with the fills, once
    everything has settled (no real time involved); on raw moto (its own threads, wall-clock
    waits), polled until it ends, ``timeout`` only bounding a hang."""
    sfn = boto3.client("stepfunctions")
    if installed():
        settle(timeout)
        return cast(dict[str, Any], sfn.describe_execution(executionArn=arn))
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.01)


def put_event(source: str, detail_type: str, detail: dict[str, Any]) -> None:
    response = boto3.client("events").put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    assert response["FailedEntryCount"] == 0


# -- installation --------------------------------------------------------------------------------


def test_install_is_idempotent_and_uninstall_restores_moto(raw_moto: None) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.__dict__["invoke"]
    from mlcp_cli.emulator.gaps import install_gap_fills

    first = install_gap_fills(FunctionRegistry())
    second = install_gap_fills(FunctionRegistry())
    assert LambdaSimpleBackend.__dict__["invoke"] is not original
    second.uninstall()
    assert installed()  # still held by `first`
    first.uninstall()
    first.uninstall()  # harmless
    assert not installed()
    assert LambdaSimpleBackend.__dict__["invoke"] is original


# -- a. Lambda runs the real handler --------------------------------------------------------------


def test_raw_moto_lambda_echoes_the_payload_without_running_code(raw_moto: None) -> None:
    create_function("checker-fn")
    response = boto3.client("lambda").invoke(
        FunctionName="checker-fn", Payload=json.dumps({"detail": {"item": "bad"}})
    )
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"detail": {"item": "bad"}}


def test_lambda_fill_runs_the_handler_with_its_environment_and_context(fills: GapFills) -> None:
    arn = create_function("recorder-fn")
    register_fixture_function(fills.registry, "recorder-fn", "recorder", arn, MARKER="from-config")
    assert "MARKER" not in os.environ

    response = boto3.client("lambda").invoke(FunctionName=arn, Payload=json.dumps({"n": 1}))

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"received": {"n": 1}, "memory": 512, "arn": arn}
    module = sys.modules[fills.registry.handler_of(fills.registry.get("recorder-fn")).__module__]  # type: ignore[arg-type]
    assert module.ENVIRONMENTS == [{"MARKER": "from-config", "function": "recorder-fn"}]
    assert "MARKER" not in os.environ  # restored after the invocation


def test_a_closed_registry_runs_no_handler(fills: GapFills) -> None:
    from mlcp_cli.emulator.gaps.awslambda import run_function

    arn = create_function("recorder-fn")
    register_fixture_function(fills.registry, "recorder-fn", "recorder", arn, MARKER="from-config")
    spec = fills.registry.get("recorder-fn")
    assert spec is not None
    fills.registry.close()
    # A leftover thread of a closed control plane parks; the main thread gets an error instead.
    with pytest.raises(RuntimeError, match="closed"):
        run_function(fills.registry, spec, {"n": 1})
    assert fills.registry.logs == []


def test_lambda_fill_reports_handler_exceptions_as_unhandled_with_the_class_name(fills: GapFills) -> None:
    arn = create_function("checker-fn")
    register_fixture_function(fills.registry, "checker-fn", "checker", arn)

    response = boto3.client("lambda").invoke(
        FunctionName="checker-fn", Payload=json.dumps({"detail": {"item": "bad"}})
    )

    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "ItemRejected"
    assert payload["errorMessage"] == "item 'bad' is rejected"
    assert any("checker/app.py" in line for line in payload["stackTrace"])


def test_lambda_fill_leaves_unregistered_functions_to_moto(fills: GapFills) -> None:
    create_function("plain-fn")
    response = boto3.client("lambda").invoke(FunctionName="plain-fn", Payload=json.dumps({"x": 1}))
    assert json.loads(response["Payload"].read()) == {"x": 1}


def test_lambda_fill_error_type_drives_an_asl_catch(fills: GapFills) -> None:
    arn = create_function("checker-fn")
    register_fixture_function(fills.registry, "checker-fn", "checker", arn)
    machine = state_machine(
        "catcher",
        {
            "StartAt": "Check",
            "States": {
                "Check": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": arn, "Payload.$": "$"},
                    "Catch": [{"ErrorEquals": ["ItemRejected"], "ResultPath": "$.error", "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "Parameters": {"caught.$": "$.error.Error"}, "End": True},
            },
        },
    )
    sfn = boto3.client("stepfunctions")
    rejected = sfn.start_execution(
        stateMachineArn=machine, name="bad", input=json.dumps({"detail": {"item": "bad"}})
    )
    accepted = sfn.start_execution(
        stateMachineArn=machine, name="ok", input=json.dumps({"detail": {"item": "ok"}})
    )

    caught = wait_execution(rejected["executionArn"])
    assert caught["status"] == "SUCCEEDED"
    assert json.loads(caught["output"]) == {"caught": "ItemRejected"}
    passed = wait_execution(accepted["executionArn"])
    assert passed["status"] == "SUCCEEDED"
    assert json.loads(passed["output"])["Payload"]["verdict"] == "ok"


def test_lambda_fill_queues_event_invocations(fills: GapFills) -> None:
    arn = create_function("recorder-fn")
    register_fixture_function(fills.registry, "recorder-fn", "recorder", arn)

    response = boto3.client("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=b'{"q": 1}')

    assert response["StatusCode"] == 202
    assert recorded(fills.registry, "recorder-fn") == []  # not run yet: AWS runs it later
    assert process_pending(fills.deliveries, fills.registry) == 1
    assert recorded(fills.registry, "recorder-fn") == [{"q": 1}]


# -- b. EventBridge delivers to Lambda and Step Functions targets ----------------------------------


@pytest.mark.parametrize("service", ["lambda", "states"])
def test_raw_moto_eventbridge_cannot_deliver_to_lambda_or_step_functions(
    raw_moto: None, service: str
) -> None:
    if service == "lambda":
        target = create_function("fn")
    else:
        target = state_machine("sm", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    events = boto3.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["t.app"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": target}])
    with pytest.raises(NotImplementedError, match="Expr not defined"):
        put_event("t.app", "Thing", {"a": 1})


def test_events_fill_delivers_to_lambda_honouring_input_path_input_and_transformer(fills: GapFills) -> None:
    arn = create_function("recorder-fn")
    register_fixture_function(fills.registry, "recorder-fn", "recorder", arn)
    queue_url, queue_arn = capture_queue("also-sqs")
    events = boto3.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["t.app"]}))
    events.put_targets(
        Rule="r",
        Targets=[
            {"Id": "whole", "Arn": arn},
            {"Id": "path", "Arn": arn, "InputPath": "$.detail"},
            {"Id": "fixed", "Arn": arn, "Input": '{"fixed": true}'},
            {
                "Id": "transformed",
                "Arn": arn,
                "InputTransformer": {
                    "InputPathsMap": {"item": "$.detail.item"},
                    "InputTemplate": '{"got": "<item>"}',
                },
            },
            {"Id": "queue", "Arn": queue_arn},
        ],
    )

    put_event("t.app", "Thing", {"item": "i-1"})
    assert process_pending(fills.deliveries, fills.registry) == 4

    whole, path, fixed, transformed = recorded(fills.registry, "recorder-fn")
    assert set(whole) == AWS_EVENT_KEYS
    assert whole["detail"] == {"item": "i-1"}
    assert whole["time"].endswith("Z")
    assert path == {"item": "i-1"}
    assert fixed == {"fixed": True}
    assert transformed == {"got": "i-1"}
    assert [m["body"]["detail"] for m in drain(queue_url)] == [{"item": "i-1"}]  # moto's SQS delivery kept
    assert {r.outcome for r in fills.deliveries.log} == {"invoked"}


def test_events_fill_starts_step_functions_executions_with_the_event(fills: GapFills) -> None:
    machine = state_machine("sm", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    events = boto3.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["t.app"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": machine}])

    put_event("t.app", "Thing", {"item": "i-2"})
    process_pending(fills.deliveries, fills.registry)

    (execution,) = boto3.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert not execution["executionArn"].endswith(":None")
    finished = wait_execution(execution["executionArn"])
    assert finished["status"] == "SUCCEEDED"
    assert json.loads(finished["output"])["detail"] == {"item": "i-2"}
    assert fills.deliveries.log[-1].outcome == "execution-started"


def test_events_fill_sends_undeliverable_events_to_the_target_dead_letter_queue(fills: GapFills) -> None:
    dlq_url, dlq_arn = capture_queue("dlq")
    missing = "arn:aws:lambda:us-east-1:123456789012:function:does-not-exist"
    events = boto3.client("events")
    rule_arn = events.put_rule(Name="r", EventPattern=json.dumps({"source": ["t.app"]}))["RuleArn"]
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}}])

    put_event("t.app", "Thing", {"item": "i-3"})
    process_pending(fills.deliveries, fills.registry)

    (message,) = drain(dlq_url)
    assert message["body"]["detail"] == {"item": "i-3"}
    attributes = {k: v["StringValue"] for k, v in message["attributes"].items()}
    assert attributes["RULE_ARN"] == rule_arn
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"]
    assert attributes["ERROR_MESSAGE"]
    assert fills.deliveries.log[-1].outcome == "dead-lettered"


def test_events_fill_async_failures_are_retried_then_sent_to_on_failure(fills: GapFills) -> None:
    arn = create_function("flaky-fn")
    register_fixture_function(fills.registry, "flaky-fn", "flaky", arn)
    failure_url, failure_arn = capture_queue("on-failure")
    boto3.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky-fn",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failure_arn}},
    )
    events = boto3.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["t.app"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": arn}])

    put_event("t.app", "Thing", {"item": "i-4"})
    process_pending(fills.deliveries, fills.registry)

    (record,) = [m["body"] for m in drain(failure_url)]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"]["detail"] == {"item": "i-4"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "DownstreamUnavailable"
    assert [r.outcome for r in fills.deliveries.log] == [
        "function-error",
        "function-error",
        "retries-exhausted",
    ]


def test_events_fill_skips_disabled_rules(fills: GapFills) -> None:
    arn = create_function("recorder-fn")
    register_fixture_function(fills.registry, "recorder-fn", "recorder", arn)
    events = boto3.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["t.app"]}), State="DISABLED")
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": arn}])
    put_event("t.app", "Thing", {"item": "i-5"})
    assert process_pending(fills.deliveries, fills.registry) == 0


def _put_entries(*sources: str) -> dict[str, Any]:
    entries = [
        {"Source": source, "DetailType": "Thing", "Detail": json.dumps({"n": n})}
        for n, source in enumerate(sources)
    ]
    response: dict[str, Any] = boto3.client("events").put_events(Entries=entries)
    return response


def test_raw_moto_put_events_accepts_an_aws_source_from_anyone(raw_moto: None) -> None:
    response = _put_entries("aws.sagemaker")
    assert response["FailedEntryCount"] == 0


def test_events_fill_refuses_aws_sources_in_put_events_and_puts_the_rest(fills: GapFills) -> None:
    queue = capture_events({"detail-type": ["Thing"]})

    response = _put_entries("custom.app", "aws.sagemaker", "aws.s3.evil", "custom.other")

    assert response["FailedEntryCount"] == 2
    refused = {
        "ErrorCode": "NotAuthorizedForSourceException",
        "ErrorMessage": "Not authorized for the source.",
    }
    assert [e if "ErrorCode" in e else "put" for e in response["Entries"]] == ["put", refused, refused, "put"]
    assert sorted(m["body"]["source"] for m in drain(queue)) == ["custom.app", "custom.other"]


# -- c. CloudFormation state machines with DefinitionSubstitutions ----------------------------------

SUBSTITUTED_MACHINE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/sfn",
                "DefinitionString": json.dumps(
                    {
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "Result": {"greeting": "${Greeting}"}, "End": True}},
                    }
                ),
                "DefinitionSubstitutions": {"Greeting": {"Fn::Sub": "hello-${AWS::Region}"}},
            },
        }
    },
}


def test_raw_moto_cfn_state_machine_is_not_executable_nor_substituted(raw_moto: None) -> None:
    from moto.stepfunctions.models import stepfunctions_backends

    boto3.client("cloudformation").create_stack(StackName="s", TemplateBody=json.dumps(SUBSTITUTED_MACHINE))
    assert boto3.client("stepfunctions").list_state_machines()["stateMachines"] == []
    (machine,) = stepfunctions_backends["123456789012"]["us-east-1"].state_machines
    assert "${Greeting}" in machine.definition


def test_cfn_state_machine_fill_substitutes_and_executes(fills: GapFills) -> None:
    boto3.client("cloudformation").create_stack(StackName="s", TemplateBody=json.dumps(SUBSTITUTED_MACHINE))
    sfn = boto3.client("stepfunctions")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    assert (
        "${Greeting}"
        not in sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"]
    )
    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="x", input="{}")
    finished = wait_execution(started["executionArn"])
    assert json.loads(finished["output"]) == {"greeting": "hello-us-east-1"}


# -- d. CloudFormation alarms and EventInvokeConfig -------------------------------------------------


def _alarm_and_invoke_config_template() -> str:
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "FunctionName": "cfn-fn",
                        "Runtime": "python3.13",
                        "Handler": "index.handler",
                        "Role": lambda_role(),
                        "Code": {"ZipFile": "def handler(e, c):\n    return e\n"},
                    },
                },
                "FnAsync": {
                    "Type": "AWS::Lambda::EventInvokeConfig",
                    "Properties": {
                        "FunctionName": {"Ref": "Fn"},
                        "Qualifier": "$LATEST",
                        "MaximumRetryAttempts": 0,
                    },
                },
                "Alarm": {
                    "Type": "AWS::CloudWatch::Alarm",
                    "Properties": {
                        "AlarmName": "errors",
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Errors",
                        "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "Fn"}}],
                        "Statistic": "Sum",
                        "Period": 60,
                        "EvaluationPeriods": 1,
                        "Threshold": 1,
                        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    },
                },
            },
            "Outputs": {"AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}}},
        }
    )


def test_raw_moto_cfn_skips_alarms_and_event_invoke_configs(raw_moto: None) -> None:
    template = json.loads(_alarm_and_invoke_config_template())
    del template["Outputs"]  # GetAtt of a skipped resource cannot resolve
    with pytest.warns(UserWarning, match="not supported by moto") as caught:
        boto3.client("cloudformation").create_stack(StackName="s", TemplateBody=json.dumps(template))
    skipped = " ".join(str(w.message) for w in caught)
    assert "AWS::CloudWatch::Alarm" in skipped
    assert "AWS::Lambda::EventInvokeConfig" in skipped
    assert boto3.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert (
        boto3.client("lambda").list_function_event_invoke_configs(FunctionName="cfn-fn")[
            "FunctionEventInvokeConfigs"
        ]
        == []
    )


def test_cfn_fill_creates_alarms_and_event_invoke_configs(fills: GapFills) -> None:
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="s", TemplateBody=_alarm_and_invoke_config_template())
    (alarm,) = boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert alarm["AlarmName"] == "errors"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": "cfn-fn"}]
    assert alarm["Threshold"] == 1.0
    outputs = cfn.describe_stacks(StackName="s")["Stacks"][0]["Outputs"]
    assert outputs == [{"OutputKey": "AlarmArn", "OutputValue": alarm["AlarmArn"]}]
    config = boto3.client("lambda").get_function_event_invoke_config(FunctionName="cfn-fn")
    assert config["MaximumRetryAttempts"] == 0


# -- e. Events AWS services emit: SageMaker, CloudWatch; S3 (moto's own) ------------------------


def _model_package(sagemaker: Any, **extra: Any) -> str:
    sagemaker.create_model_package_group(ModelPackageGroupName="churn")
    return str(
        sagemaker.create_model_package(
            ModelPackageGroupName="churn",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            **extra,
        )["ModelPackageArn"]
    )


def test_raw_moto_sagemaker_emits_no_model_package_events(raw_moto: None) -> None:
    queue = capture_events({"source": ["aws.sagemaker"]})
    sagemaker = boto3.client("sagemaker")
    arn = _model_package(sagemaker)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert drain(queue) == []


def test_sagemaker_fill_emits_model_package_state_change(fills: GapFills) -> None:
    queue = capture_events(
        {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"]}
    )
    sagemaker = boto3.client("sagemaker")
    arn = _model_package(sagemaker)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    sagemaker.update_model_package(ModelPackageArn=arn, ApprovalDescription="no status change")

    created, approved = [m["body"] for m in drain(queue)]
    assert created["resources"] == [arn]
    assert created["detail"]["ModelApprovalStatus"] == "PendingManualApproval"
    detail = approved["detail"]
    assert detail["ModelApprovalStatus"] == "Approved"
    assert detail["ModelPackageGroupName"] == "churn"
    assert detail["ModelPackageVersion"] == 1
    assert detail["ModelPackageArn"] == arn
    assert detail["ModelPackageName"] == "churn"
    assert isinstance(detail["CreationTime"], int)
    assert detail["InferenceSpecification"]["Containers"][0]["Image"].endswith("m:1")


def test_raw_moto_cloudwatch_emits_no_alarm_state_change(raw_moto: None) -> None:
    queue = capture_events({"source": ["aws.cloudwatch"]})
    cloudwatch = boto3.client("cloudwatch")
    _alarm(cloudwatch)
    cloudwatch.set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="test")
    assert drain(queue) == []


def _alarm(cloudwatch: Any) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName="latency",
        AlarmDescription="p99 latency",
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=[{"Name": "EndpointName", "Value": "churn"}, {"Name": "VariantName", "Value": "blue"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=100.0,
        ComparisonOperator="GreaterThanThreshold",
    )


def test_cloudwatch_fill_emits_alarm_state_change(fills: GapFills) -> None:
    queue = capture_events({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]})
    cloudwatch = boto3.client("cloudwatch")
    _alarm(cloudwatch)
    cloudwatch.set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="threshold crossed")
    cloudwatch.set_alarm_state(AlarmName="latency", StateValue="ALARM", StateReason="still")  # no change

    (event,) = [m["body"] for m in drain(queue)]
    alarm_arn = cloudwatch.describe_alarms(AlarmNames=["latency"])["MetricAlarms"][0]["AlarmArn"]
    assert event["resources"] == [alarm_arn]
    detail = event["detail"]
    assert detail["alarmName"] == "latency"
    assert detail["state"]["value"] == "ALARM"
    assert detail["state"]["reason"] == "threshold crossed"
    assert detail["previousState"]["value"] == "OK"
    metric = detail["configuration"]["metrics"][0]["metricStat"]["metric"]
    assert metric == {
        "namespace": "AWS/SageMaker",
        "name": "ModelLatency",
        "dimensions": {"EndpointName": "churn", "VariantName": "blue"},
    }


def _latency(cloudwatch: Any, minute: int, value: float, variant: str = "blue") -> None:
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "churn"},
                    {"Name": "VariantName", "Value": variant},
                ],
                "Timestamp": dt.datetime(2026, 6, 1, 12, minute, 30, tzinfo=dt.UTC),
                "Value": value,
            }
        ],
    )


def test_raw_moto_cloudwatch_never_evaluates_alarms_from_metrics(raw_moto: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    _alarm(cloudwatch)
    _latency(cloudwatch, 0, 500.0)
    assert cloudwatch.describe_alarms(AlarmNames=["latency"])["MetricAlarms"][0]["StateValue"] == "OK"


def test_cloudwatch_fill_evaluates_alarms_on_new_datapoints(fills: GapFills) -> None:
    queue = capture_events({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]})
    cloudwatch = boto3.client("cloudwatch")
    _alarm(cloudwatch)  # Average > 100 for 1 period

    def state() -> str:
        return str(cloudwatch.describe_alarms(AlarmNames=["latency"])["MetricAlarms"][0]["StateValue"])

    _latency(cloudwatch, 0, 500.0, variant="green")  # another metric (dimensions): not this alarm's
    assert state() == "OK"
    _latency(cloudwatch, 1, 80.0)
    assert state() == "OK"
    _latency(cloudwatch, 2, 150.0)
    _latency(cloudwatch, 2, 90.0)  # the period's average: 120 > 100
    assert state() == "ALARM"
    _latency(cloudwatch, 3, 40.0)
    assert state() == "OK"
    assert [m["body"]["detail"]["state"]["value"] for m in drain(queue)] == ["ALARM", "OK"]

    cloudwatch.put_metric_alarm(  # two periods in a row must breach
        AlarmName="latency",
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=[{"Name": "EndpointName", "Value": "churn"}, {"Name": "VariantName", "Value": "blue"}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=2,
        Threshold=100.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    _latency(cloudwatch, 4, 200.0)
    assert state() == "OK"
    _latency(cloudwatch, 5, 200.0)
    assert state() == "ALARM"


FLEET = [
    {"Name": "EndpointName", "Value": "churn"},
    {"Name": "VariantName", "Value": "AllTraffic"},
    {"Name": "EndpointConfigName", "Value": "churn-v2"},
]


def _fleet_samples() -> int:
    cloudwatch = boto3.client("cloudwatch")
    start = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[{"MetricName": "ModelLatency", "Dimensions": FLEET, "Timestamp": start, "Value": 40.0}],
    )
    query = {
        "Id": "m",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "ModelLatency",
                "Dimensions": sorted(FLEET, key=lambda d: d["Name"]),  # another order than put
            },
            "Period": 60,
            "Stat": "Average",
        },
    }
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[query],
        StartTime=start - dt.timedelta(minutes=5),
        EndTime=start + dt.timedelta(minutes=5),
    )
    return len(result["MetricDataResults"][0]["Values"])


def test_raw_moto_get_metric_data_misses_three_dimensions_in_another_order(raw_moto: None) -> None:
    assert _fleet_samples() == 0


def test_cloudwatch_fill_finds_a_metric_whatever_its_dimension_order(fills: GapFills) -> None:
    assert _fleet_samples() == 1


def test_moto_s3_emits_object_created_itself_with_known_deviations(raw_moto: None) -> None:
    """No fill: moto's S3 emits ``Object Created``. Deviations from AWS's shape, recorded here so a
    moto change shows up: ``detail.reason`` is ``ObjectCreated`` (AWS: ``PutObject``) and the
    object's ETag key is ``eTag`` (AWS: ``etag``); ``version-id`` is ``"null"`` when unversioned (AWS
    omits it); a plain PutObject also emits ``Object Tags Added`` with the same event id (AWS: only
    when tags are set). Rules that name the detail-type (as the template's do) are unaffected."""
    queue = capture_events({"source": ["aws.s3"]})
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="training")
    s3.put_bucket_notification_configuration(
        Bucket="training", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_object(Bucket="training", Key="training-data/a.csv", Body=b"x,y\n")

    event, tags_added = [m["body"] for m in drain(queue)]
    assert event["detail-type"] == "Object Created"
    assert tags_added["detail-type"] == "Object Tags Added"
    assert event["resources"] == ["arn:aws:s3:::training"]
    assert event["detail"]["bucket"] == {"name": "training"}
    assert event["detail"]["object"]["key"] == "training-data/a.csv"
    assert event["detail"]["object"]["size"] == 4
    assert event["detail"]["reason"] == "ObjectCreated"
    assert "eTag" in event["detail"]["object"]


def test_s3_object_created_reaches_lambda_targets_through_the_events_fill(fills: GapFills) -> None:
    arn = create_function("recorder-fn")
    register_fixture_function(fills.registry, "recorder-fn", "recorder", arn)
    events = boto3.client("events")
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"object": {"key": [{"prefix": "training-data/"}]}},
    }
    events.put_rule(Name="r", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": arn}])
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="training")
    s3.put_bucket_notification_configuration(
        Bucket="training", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_object(Bucket="training", Key="training-data/a.csv", Body=b"x")
    s3.put_object(Bucket="training", Key="other/b.csv", Body=b"x")

    process_pending(fills.deliveries, fills.registry)
    (event,) = recorded(fills.registry, "recorder-fn")
    assert event["detail-type"] == "Object Created"
    assert event["detail"]["object"]["key"] == "training-data/a.csv"


def _two_s3_events() -> list[dict[str, Any]]:
    queue = capture_events({"source": ["aws.s3"], "detail-type": ["Object Created"]})
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="training")
    s3.put_bucket_notification_configuration(
        Bucket="training", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_object(Bucket="training", Key="a.csv", Body=b"1")
    s3.put_object(Bucket="training", Key="b.csv", Body=b"2")
    return [m["body"] for m in drain(queue)]


def test_raw_moto_s3_events_all_share_one_id(raw_moto: None) -> None:
    first, second = _two_s3_events()
    assert first["id"] == second["id"]


def test_s3_event_id_fill_gives_each_event_its_own_id(fills: GapFills) -> None:
    first, second = _two_s3_events()
    assert first["id"] != second["id"]
    assert [first["detail"]["object"]["key"], second["detail"]["object"]["key"]] == ["a.csv", "b.csv"]


# -- f. update_model_package keeps CustomerMetadataProperties ---------------------------------------


def test_raw_moto_update_model_package_wipes_customer_metadata(raw_moto: None) -> None:
    sagemaker = boto3.client("sagemaker")
    arn = _model_package(sagemaker, CustomerMetadataProperties={"git_sha": "abc"})
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert "CustomerMetadataProperties" not in sagemaker.describe_model_package(ModelPackageName=arn)


def test_update_model_package_fill_keeps_and_merges_customer_metadata(fills: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    arn = _model_package(sagemaker, CustomerMetadataProperties={"git_sha": "abc", "drop": "me"})
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok"
    )
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["CustomerMetadataProperties"] == {"git_sha": "abc", "drop": "me"}

    sagemaker.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={"auc": "0.91"},
        CustomerMetadataPropertiesToRemove=["drop"],
    )
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["CustomerMetadataProperties"] == {"git_sha": "abc", "auc": "0.91"}
    assert described["ApprovalDescription"] == "ok"
    assert described["ModelApprovalStatus"] == "Approved"  # moto would wipe it too


def test_raw_moto_cannot_tag_a_versioned_model_package(raw_moto: None) -> None:
    sagemaker = boto3.client("sagemaker")
    arn = _model_package(sagemaker)
    with pytest.raises(ValueError, match="too many values to unpack"):
        sagemaker.list_tags(ResourceArn=arn)


def test_versioned_package_arn_fill_tags_the_package(fills: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    arn = _model_package(sagemaker)
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "cost_center", "Value": "cc-1"}])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "cost_center", "Value": "cc-1"}]
    missing = arn.rsplit("/", 1)[0] + "/99"
    with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find model package"):
        sagemaker.list_tags(ResourceArn=missing)


# -- g. $$.Execution.StartTime -------------------------------------------------------------------

START_TIME_MACHINE = {
    "StartAt": "Put",
    "States": {
        "Put": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "starts", "Item": {"pk": {"S.$": "$$.Execution.StartTime"}}},
            "End": True,
        }
    },
}


def _start_time_run() -> dict[str, Any]:
    boto3.client("dynamodb").create_table(
        TableName="starts",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    machine = state_machine("starts", START_TIME_MACHINE)
    started = boto3.client("stepfunctions").start_execution(stateMachineArn=machine, name="x", input="{}")
    return wait_execution(started["executionArn"])


def test_raw_moto_execution_start_time_is_a_datetime_that_breaks_integrations(raw_moto: None) -> None:
    finished = _start_time_run()
    assert finished["status"] == "FAILED"
    assert "not JSON serializable" in finished.get("cause", "") + finished.get("error", "")


def test_start_time_fill_gives_the_iso_string(fills: GapFills) -> None:
    finished = _start_time_run()
    assert finished["status"] == "SUCCEEDED"
    (item,) = boto3.client("dynamodb").scan(TableName="starts")["Items"]
    assert item["pk"]["S"].endswith("Z")
    assert item["pk"]["S"][:10] == finished["startDate"].strftime("%Y-%m-%d")


def test_execution_start_and_state_entered_times_follow_the_virtual_clock(fills: GapFills) -> None:
    fills.advance(3 * 86400)  # three simulated days ahead of the wall clock
    machine = copy.deepcopy(START_TIME_MACHINE)
    machine["States"]["Put"]["Parameters"]["Item"]["entered"] = {"S.$": "$$.State.EnteredTime"}
    boto3.client("dynamodb").create_table(
        TableName="starts",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = state_machine("starts", machine)
    started = boto3.client("stepfunctions").start_execution(stateMachineArn=arn, name="x", input="{}")
    assert wait_execution(started["executionArn"])["status"] == "SUCCEEDED"
    (item,) = boto3.client("dynamodb").scan(TableName="starts")["Items"]
    virtual_day = simulated_now().strftime("%Y-%m-%d")
    assert item["pk"]["S"][:10] == virtual_day
    assert item["entered"]["S"][:10] == virtual_day


# -- i. who called: CreatedBy / LastModifiedBy, a handler's identity -------------------------------


def _create_then_update(creator: boto3.Session, updater: boto3.Session) -> dict[str, Any]:
    arn = _model_package(creator.client("sagemaker"))
    updater.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    described: dict[str, Any] = boto3.client("sagemaker").describe_model_package(ModelPackageName=arn)
    return described


def test_raw_moto_model_package_created_and_modified_by_one_fake_profile_whoever_calls(
    raw_moto: None,
) -> None:
    described = _create_then_update(user_session("ml-engineer"), user_session("reviewer"))
    assert described["CreatedBy"] == described["LastModifiedBy"]
    assert described["CreatedBy"]["UserProfileName"] == "fake-user-profile-name"
    assert "IamIdentity" not in described["CreatedBy"]


def test_caller_fill_records_the_creator_and_the_last_modifier(fills: GapFills) -> None:
    engineer, reviewer = user_session("ml-engineer"), user_session("reviewer")
    engineer_id = engineer.client("sts").get_caller_identity()["UserId"]
    reviewer_id = reviewer.client("sts").get_caller_identity()["UserId"]

    arn = _model_package(engineer.client("sagemaker"))
    created = boto3.client("sagemaker").describe_model_package(ModelPackageName=arn)
    engineer_identity = {"Arn": "arn:aws:iam::123456789012:user/ml-engineer", "PrincipalId": engineer_id}
    assert created["CreatedBy"]["IamIdentity"] == engineer_identity
    assert created["LastModifiedBy"]["IamIdentity"] == engineer_identity

    reviewer.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    updated = boto3.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert updated["CreatedBy"]["IamIdentity"] == engineer_identity
    assert updated["LastModifiedBy"]["IamIdentity"] == {
        "Arn": "arn:aws:iam::123456789012:user/reviewer",
        "PrincipalId": reviewer_id,
    }
    assert updated["LastModifiedBy"]["UserProfileName"] == "fake-user-profile-name"  # moto's keys kept


def test_caller_fill_puts_the_identities_in_the_state_change_event(fills: GapFills) -> None:
    queue = capture_events({"source": ["aws.sagemaker"]})
    _create_then_update(user_session("ml-engineer"), user_session("reviewer"))
    created, approved = [m["body"]["detail"] for m in drain(queue)]
    assert created["CreatedBy"]["IamIdentity"]["Arn"].endswith(":user/ml-engineer")
    assert approved["CreatedBy"]["IamIdentity"]["Arn"].endswith(":user/ml-engineer")
    assert approved["LastModifiedBy"]["IamIdentity"]["Arn"].endswith(":user/reviewer")


def test_caller_fill_gives_unknown_keys_moto_default_identity(fills: GapFills) -> None:
    default = boto3.client("sts").get_caller_identity()
    assert default["Arn"] == "arn:aws:sts::123456789012:user/moto"
    described = _create_then_update(boto3.Session(), boto3.Session())
    expected = {"Arn": default["Arn"], "PrincipalId": default["UserId"]}
    assert described["CreatedBy"]["IamIdentity"] == expected
    assert described["LastModifiedBy"]["IamIdentity"] == expected


def test_raw_moto_identifies_the_process_key_a_handler_signs_with_as_the_default_user(
    raw_moto: None,
) -> None:
    create_function("registrar-fn")
    assert boto3.client("sts").get_caller_identity()["Arn"] == "arn:aws:sts::123456789012:user/moto"


def test_caller_fill_makes_an_in_process_handler_its_function_role_session(fills: GapFills) -> None:
    arn = create_function("registrar-fn")
    register_fixture_function(fills.registry, "registrar-fn", "registrar", arn)
    boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName="churn")
    role_id = boto3.client("iam").get_role(RoleName="fixture-role")["Role"]["RoleId"]

    response = boto3.client("lambda").invoke(FunctionName=arn, Payload=json.dumps({"group": "churn"}))

    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    session = "arn:aws:sts::123456789012:assumed-role/fixture-role/registrar-fn"
    assert result["Arn"] == session
    assert result["UserId"] == f"{role_id}:registrar-fn"
    described = boto3.client("sagemaker").describe_model_package(ModelPackageName=result["ModelPackageArn"])
    assert described["CreatedBy"]["IamIdentity"] == {"Arn": session, "PrincipalId": f"{role_id}:registrar-fn"}
    # outside the handler the process is itself again
    assert boto3.client("sts").get_caller_identity()["Arn"] == "arn:aws:sts::123456789012:user/moto"


def test_caller_fill_keeps_an_iam_user_key_used_inside_a_handler(fills: GapFills) -> None:
    # the fill's per-thread record of the running function
    from mlcp_cli.emulator.gaps.awslambda import _running

    arn = create_function("registrar-fn")
    register_fixture_function(fills.registry, "registrar-fn", "registrar", arn)
    reviewer = user_session("reviewer")
    spec = fills.registry.get("registrar-fn")
    assert spec is not None
    with _running(spec):
        assert reviewer.client("sts").get_caller_identity()["Arn"].endswith(":user/reviewer")
        assert (
            boto3.client("sts")
            .get_caller_identity()["Arn"]
            .endswith("assumed-role/fixture-role/registrar-fn")
        )


# -- h. simulated time for Step Functions waits and timeouts ------------------------------------

WAIT_MACHINE = {"StartAt": "Bake", "States": {"Bake": {"Type": "Wait", "Seconds": 1, "End": True}}}
LONG_WAIT_MACHINE = {"StartAt": "Bake", "States": {"Bake": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def _callback_machine(function_arn: str) -> dict[str, Any]:
    return {
        "StartAt": "AskHuman",
        "States": {
            "AskHuman": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": function_arn, "Payload": {"token.$": "$$.Task.Token"}},
                "TimeoutSeconds": 7200,
                "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}],
                "End": True,
            },
            "TimedOut": {"Type": "Pass", "Result": {"outcome": "timed out"}, "End": True},
        },
    }


def _seconds_between(arn: str, first: str, then: str) -> float:
    """Seconds between the first ``first`` and the next ``then`` event of the execution's history
    (moto stamps them with its own wall clock)."""
    events = boto3.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    start = next(e["timestamp"] for e in events if e["type"] == first)
    end = next(e["timestamp"] for e in events if e["type"] == then and e["timestamp"] >= start)
    return float((end - start).total_seconds())


def test_raw_moto_waits_in_wall_clock_time(raw_moto: None) -> None:
    execution = boto3.client("stepfunctions").start_execution(
        stateMachineArn=state_machine("bake", WAIT_MACHINE), name="one", input="{}"
    )
    assert wait_execution(execution["executionArn"])["status"] == "SUCCEEDED"
    # A lower bound on moto's own stamps: the second really passed (no host is too fast for that).
    assert _seconds_between(execution["executionArn"], "WaitStateEntered", "WaitStateExited") >= 1.0


def _status(arn: str) -> str:
    return str(boto3.client("stepfunctions").describe_execution(executionArn=arn)["status"])


def test_clock_fill_runs_waits_and_timeouts_on_the_virtual_clock(fills: GapFills) -> None:
    sfn = boto3.client("stepfunctions")
    start = fills.clock.now()
    baked = sfn.start_execution(
        stateMachineArn=state_machine("bake", LONG_WAIT_MACHINE), name="hour", input="{}"
    )["executionArn"]
    fills.settle()
    assert _status(baked) == "RUNNING"  # blocked on the clock: no time passes by itself
    fills.advance(3599)
    assert _status(baked) == "RUNNING"
    fills.advance(1)
    assert _status(baked) == "SUCCEEDED"

    machine = state_machine("ask", _callback_machine(create_function("asker")))
    asked = sfn.start_execution(stateMachineArn=machine, name="nobody-answers", input="{}")["executionArn"]
    fills.advance(7199)
    assert _status(asked) == "RUNNING"
    fills.advance(1)  # the 2 h TimeoutSeconds of the task-token wait falls due
    described = sfn.describe_execution(executionArn=asked)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"outcome": "timed out"}
    assert fills.clock.now() - start == dt.timedelta(hours=3)


def _retry_machine(interval_seconds: int) -> dict[str, Any]:
    """A task that always fails (no such table), retried once after ``interval_seconds``."""
    return {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": "nowhere", "Key": {"pk": {"S": "x"}}},
                "Retry": [
                    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": interval_seconds, "MaxAttempts": 1}
                ],
                "End": True,
            }
        },
    }


def test_raw_moto_sleeps_retry_intervals_in_wall_clock_time(raw_moto: None) -> None:
    execution = boto3.client("stepfunctions").start_execution(
        stateMachineArn=state_machine("retry", _retry_machine(1)), name="one", input="{}"
    )
    assert wait_execution(execution["executionArn"])["status"] == "FAILED"
    assert _seconds_between(execution["executionArn"], "TaskFailed", "TaskScheduled") >= 1.0


def test_clock_fill_runs_retry_intervals_on_the_virtual_clock(fills: GapFills) -> None:
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=state_machine("retry", _retry_machine(3600)), name="hour", input="{}"
    )["executionArn"]

    def attempts() -> int:
        return sum(
            e["type"] == "TaskScheduled" for e in sfn.get_execution_history(executionArn=arn)["events"]
        )

    fills.advance(3599)
    assert (_status(arn), attempts()) == ("RUNNING", 1)  # in its retry interval, on the clock
    fills.advance(1)
    assert (_status(arn), attempts()) == ("FAILED", 2)  # retried once, an hour later


# -- k. SSM OpsCenter ------------------------------------------------------------------------------


def _searchable(**values: str) -> dict[str, dict[str, str]]:
    return {key: {"Value": value, "Type": "SearchableString"} for key, value in values.items()}


def test_raw_moto_has_no_ops_items(raw_moto: None) -> None:
    ssm = boto3.client("ssm")
    for call in (
        lambda: ssm.create_ops_item(Title="t", Description="d", Source="mlcp"),
        lambda: ssm.get_ops_item(OpsItemId="oi-0123456789ab"),
        lambda: ssm.update_ops_item(OpsItemId="oi-0123456789ab", Status="Resolved"),
        ssm.describe_ops_items,
    ):
        with pytest.raises(NotImplementedError, match="has not been implemented"):
            call()


def test_ops_items_fill_creates_updates_and_reads_ops_items(fills: GapFills) -> None:
    ssm = boto3.client("ssm")
    before = time.time()
    created = ssm.create_ops_item(
        Title="churn-prod 5xx",
        Description="the 5xx alarm fired",
        Source="mlcp",
        Severity="2",
        Category="Availability",
        Priority=2,
        OperationalData=_searchable(resource="endpoint/churn-prod", cause="alarm:5xx"),
        Notifications=[{"Arn": "arn:aws:sns:us-east-1:123456789012:ops"}],
    )
    ops_item_id = created["OpsItemId"]
    assert re.fullmatch(r"oi-[0-9a-f]{12}", ops_item_id)
    assert created["OpsItemArn"].endswith(f":opsitem/{ops_item_id}")

    item = ssm.get_ops_item(OpsItemId=ops_item_id)["OpsItem"]
    assert item["Status"] == "Open"
    assert item["Version"] == "1"
    assert item["Severity"] == "2"
    assert item["Notifications"] == [{"Arn": "arn:aws:sns:us-east-1:123456789012:ops"}]
    assert item["CreatedTime"].timestamp() >= before - 1
    assert item["CreatedBy"].endswith(":user/moto")

    ssm.update_ops_item(
        OpsItemId=ops_item_id,
        Status="Resolved",
        OperationalData={"occurrences": {"Value": "3", "Type": "String"}, **_searchable(cause="alarm:5xx-b")},
        OperationalDataToDelete=["resource"],
    )
    item = ssm.get_ops_item(OpsItemId=ops_item_id)["OpsItem"]
    assert item["Status"] == "Resolved"
    assert item["Version"] == "2"
    assert item["Title"] == "churn-prod 5xx"  # kept
    assert item["LastModifiedTime"] >= item["CreatedTime"]
    assert item["OperationalData"] == {
        "cause": {"Value": "alarm:5xx-b", "Type": "SearchableString"},
        "occurrences": {"Value": "3", "Type": "String"},
    }

    with pytest.raises(ssm.exceptions.OpsItemNotFoundException):
        ssm.get_ops_item(OpsItemId="oi-0123456789ab")
    with pytest.raises(ssm.exceptions.OpsItemNotFoundException):
        ssm.update_ops_item(OpsItemId="oi-0123456789ab", Status="Resolved")


def test_ops_items_fill_validates_like_aws(fills: GapFills) -> None:
    ssm = boto3.client("ssm")
    with pytest.raises(ssm.exceptions.ClientError, match="ValidationException"):
        ssm.create_ops_item(Title="t" * 1025, Description="d", Source="mlcp")
    with pytest.raises(ssm.exceptions.ClientError, match="ValidationException"):
        ssm.create_ops_item(Title="t", Description="d" * 2049, Source="mlcp")
    with pytest.raises(ssm.exceptions.OpsItemInvalidParameterException):
        ssm.create_ops_item(
            Title="t", Description="d", Source="mlcp", OperationalData=_searchable(awsKey="x")
        )
    with pytest.raises(ssm.exceptions.OpsItemInvalidParameterException):
        ssm.create_ops_item(
            Title="t", Description="d", Source="mlcp", OperationalData=_searchable(big="x" * (20 * 1024 + 1))
        )


def test_ops_items_fill_deduplicates_open_items_on_the_dedup_string(fills: GapFills) -> None:
    ssm = boto3.client("ssm")
    dedup = {"/aws/dedup": {"Value": json.dumps({"dedupString": "inc-1"}), "Type": "SearchableString"}}
    first = ssm.create_ops_item(Title="t", Description="d", Source="mlcp", OperationalData=dedup)["OpsItemId"]
    with pytest.raises(ssm.exceptions.OpsItemAlreadyExistsException) as caught:
        ssm.create_ops_item(Title="t", Description="d", Source="mlcp", OperationalData=dedup)
    assert caught.value.response["OpsItemId"] == first
    ssm.update_ops_item(OpsItemId=first, Status="Resolved")
    second = ssm.create_ops_item(Title="t", Description="d", Source="mlcp", OperationalData=dedup)[
        "OpsItemId"
    ]
    assert second != first


def test_ops_items_fill_describes_with_filters_and_pages(fills: GapFills) -> None:
    ssm = boto3.client("ssm")
    ids = [
        ssm.create_ops_item(
            Title=f"incident {n}",
            Description="d",
            Source="mlcp" if n < 3 else "other",
            OperationalData={
                **_searchable(resource=f"endpoint/e{n % 2}"),
                "secret": {"Value": "s", "Type": "String"},
            },
        )["OpsItemId"]
        for n in range(4)
    ]
    ssm.update_ops_item(OpsItemId=ids[0], Status="Resolved")

    def described(*filters: dict[str, Any]) -> list[str]:
        summaries = ssm.describe_ops_items(OpsItemFilters=list(filters))["OpsItemSummaries"]
        return sorted(s["OpsItemId"] for s in summaries)

    eq = "Equal"
    assert described({"Key": "Status", "Values": ["Open"], "Operator": eq}) == sorted(ids[1:])
    assert described({"Key": "Source", "Values": ["mlcp"], "Operator": eq}) == sorted(ids[:3])
    assert described({"Key": "Title", "Values": ["incident 2"], "Operator": "Contains"}) == [ids[2]]
    pair = json.dumps({"key": "resource", "value": "endpoint/e1"})
    assert described(
        {"Key": "OperationalData", "Values": [pair], "Operator": eq},
        {"Key": "Status", "Values": ["Open", "InProgress"], "Operator": eq},
    ) == sorted([ids[1], ids[3]])
    # String (not searchable) data is neither filterable nor in the summaries
    assert described({"Key": "OperationalDataKey", "Values": ["secret"], "Operator": eq}) == []
    summary = ssm.describe_ops_items(
        OpsItemFilters=[{"Key": "OpsItemId", "Values": [ids[1]], "Operator": eq}]
    )
    assert set(summary["OpsItemSummaries"][0]["OperationalData"]) == {"resource"}

    first = ssm.describe_ops_items(MaxResults=3)
    assert len(first["OpsItemSummaries"]) == 3
    rest = ssm.describe_ops_items(MaxResults=3, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    assert sorted(s["OpsItemId"] for s in first["OpsItemSummaries"] + rest["OpsItemSummaries"]) == sorted(ids)
    assert first["OpsItemSummaries"][0]["OpsItemId"] == ids[-1]  # newest first


def test_ops_items_fill_leaves_other_ssm_actions_to_moto(fills: GapFills) -> None:
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/mlcp/x", Value="1", Type="String")
    assert ssm.get_parameter(Name="/mlcp/x")["Parameter"]["Value"] == "1"


# -- l. pipeline executions: idempotency token and status events ----------------------------------

PIPELINE_DEFINITION = json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []})


def _pipeline(sagemaker: Any) -> None:
    sagemaker.create_pipeline(
        PipelineName="retrain", PipelineDefinition=PIPELINE_DEFINITION, RoleArn=lambda_role()
    )


def test_raw_moto_pipeline_starts_ignore_the_token_and_emit_nothing(raw_moto: None) -> None:
    queue = capture_events({"source": ["aws.sagemaker"]})
    sagemaker = boto3.client("sagemaker")
    _pipeline(sagemaker)
    token = "mlcp-" + "a" * 40
    first = sagemaker.start_pipeline_execution(PipelineName="retrain", ClientRequestToken=token)
    again = sagemaker.start_pipeline_execution(PipelineName="retrain", ClientRequestToken=token)
    assert first["PipelineExecutionArn"] != again["PipelineExecutionArn"]
    assert drain(queue) == []


def test_pipeline_fill_is_idempotent_on_the_token_and_announces_the_run(fills: GapFills) -> None:
    from mlcp.events import PipelineExecutionStatusChangeEvent, parse_event

    queue = capture_events({"source": ["aws.sagemaker"]})
    sagemaker = boto3.client("sagemaker")
    _pipeline(sagemaker)
    token = "mlcp-" + "b" * 40
    first = sagemaker.start_pipeline_execution(PipelineName="retrain", ClientRequestToken=token)
    again = sagemaker.start_pipeline_execution(PipelineName="retrain", ClientRequestToken=token)
    assert first["PipelineExecutionArn"] == again["PipelineExecutionArn"]
    bodies = [m["body"] for m in drain(queue)]
    assert [b["detail-type"] for b in bodies] == [
        "SageMaker Model Building Pipeline Execution Status Change"
    ] * 2
    assert [b["detail"]["currentPipelineExecutionStatus"] for b in bodies] == ["Executing", "Succeeded"]
    assert {b["detail"]["pipelineExecutionArn"] for b in bodies} == {first["PipelineExecutionArn"]}
    # The detail is what the control plane's contract model accepts (moto's SQS copy has no account).
    parsed = parse_event({**bodies[1], "account": "123456789012"})
    assert isinstance(parsed, PipelineExecutionStatusChangeEvent)
    assert parsed.status == "Succeeded"


# -- m. processing jobs keep their Environment ----------------------------------------------------


def _processing_job(sagemaker: Any) -> dict[str, Any]:
    sagemaker.create_processing_job(
        ProcessingJobName="monitor-run",
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
        },
        AppSpecification={
            "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
        },
        RoleArn=lambda_role(),
        Environment={"sagemaker_endpoint_name": "churn-prod"},
    )
    described: dict[str, Any] = sagemaker.describe_processing_job(ProcessingJobName="monitor-run")
    return described


def test_raw_moto_processing_job_forgets_its_environment(raw_moto: None) -> None:
    assert "Environment" not in _processing_job(boto3.client("sagemaker"))


def test_processing_job_fill_keeps_the_environment(fills: GapFills) -> None:
    assert _processing_job(boto3.client("sagemaker"))["Environment"] == {
        "sagemaker_endpoint_name": "churn-prod"
    }


# -- m2. Model Monitor schedules: an account without any -----------------------------------------


def test_raw_moto_cannot_list_monitoring_schedules(raw_moto: None) -> None:
    with pytest.raises(NotImplementedError):
        boto3.client("sagemaker").list_monitoring_schedules(EndpointName="churn-prod")


def test_monitoring_schedules_fill_answers_an_empty_list(fills: GapFills) -> None:
    response = boto3.client("sagemaker").list_monitoring_schedules(EndpointName="churn-prod")
    assert response["MonitoringScheduleSummaries"] == []


# -- m3. S3 says whether a bucket's events go to EventBridge ------------------------------------


def _eventbridge_bucket() -> dict[str, Any]:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="notifying")
    s3.put_bucket_notification_configuration(
        Bucket="notifying", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.create_bucket(Bucket="silent")
    answer: dict[str, Any] = s3.get_bucket_notification_configuration(Bucket="notifying")
    assert "EventBridgeConfiguration" not in s3.get_bucket_notification_configuration(Bucket="silent")
    return answer


def test_raw_moto_leaves_eventbridge_out_of_the_notification_configuration(raw_moto: None) -> None:
    assert "EventBridgeConfiguration" not in _eventbridge_bucket()


def test_s3_fill_answers_the_eventbridge_configuration(fills: GapFills) -> None:
    assert _eventbridge_bucket()["EventBridgeConfiguration"] == {}


# -- n. one simulated clock -----------------------------------------------------------------------


def test_the_control_planes_clock_is_the_virtual_clock_and_is_restored(raw_moto: None) -> None:
    from mlcp import clock

    start = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    with install_gap_fills(FunctionRegistry(), start=start) as fills:
        assert clock.now() == start
        fills.advance(6 * 3600)  # a 6 h cooldown, in an instant
        assert clock.now() == start + dt.timedelta(hours=6)
    drift = abs((clock.now() - dt.datetime.now(dt.UTC)).total_seconds())
    assert drift < 1, "the wall clock is back after uninstall"


def test_clock_fill_runs_powertools_idempotency_expiry_on_the_virtual_clock(raw_moto: None) -> None:
    from aws_lambda_powertools.utilities.idempotency.persistence import datarecord

    from mlcp_cli.emulator.gaps import use_simulated_clock

    start = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    in_an_hour = int((start + dt.timedelta(hours=1)).timestamp())
    record = datarecord.DataRecord(idempotency_key="k", status="COMPLETED", expiry_timestamp=in_an_hour)
    assert record.is_expired  # raw: Powertools reads the wall clock (months after 2026-01-05)
    with install_gap_fills(FunctionRegistry(), start=start) as fills:
        use_simulated_clock()  # what every invocation does before its handler runs
        assert not record.is_expired
        fills.advance(3601)
        assert record.is_expired
    assert datarecord.dt is dt  # the wall clock is back after uninstall


def test_raw_moto_schedule_rules_take_every_event(raw_moto: None) -> None:
    url, queue_arn = capture_queue("scheduled")
    events = boto3.client("events")
    events.put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="hourly", Targets=[{"Id": "q", "Arn": queue_arn}])
    put_event("custom.app", "Thing Happened", {"x": 1})
    assert len(drain(url)) == 1  # on AWS a schedule-only rule matches no event


def test_events_fill_gives_schedule_rules_no_events(fills: GapFills) -> None:
    from mlcp_cli.emulator.gaps.state import _state

    arn = create_function("ticker")
    events = boto3.client("events")
    events.put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="hourly", Targets=[{"Id": "t", "Arn": arn}])
    put_event("custom.app", "Thing Happened", {"x": 1})
    assert _state().deliveries.pending() == 0


# -- p. One parse per definition -------------------------------------------------------------------


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The definitions moto's ASL parser is asked to parse, from now on (with an empty on-disk
    program cache of its own)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    from mlcp_cli.emulator.gaps.stepfunctions import PROGRAM_CACHE_ENV

    monkeypatch.setenv(PROGRAM_CACHE_ENV, str(tmp_path / "asl-programs"))

    parse = AmazonStateLanguageParser.parse
    seen: list[str] = []

    def counted(definition: str) -> Any:
        seen.append(definition)
        return parse(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counted))
    return seen


def _run_twice_at_once(machine: str, fills: GapFills | None = None) -> list[dict[str, Any]]:
    """Two executions started together; each one's history, once both have ended (with the
    fills, their retry intervals pass on the virtual clock)."""
    sfn = boto3.client("stepfunctions")
    arns = [
        sfn.start_execution(stateMachineArn=machine, name=name, input="{}")["executionArn"]
        for name in ("first", "second")
    ]
    if fills is not None:
        fills.advance(60)
    for arn in arns:
        assert wait_execution(arn)["status"] == "FAILED"
    return [sfn.get_execution_history(executionArn=arn)["events"] for arn in arns]


def test_raw_moto_parses_the_definition_for_every_execution(raw_moto: None, parses: list[str]) -> None:
    machine = state_machine("retry", _retry_machine(1))
    parses.clear()
    _run_twice_at_once(machine)
    assert len(parses) == 2


def test_parse_once_fill_shares_one_program_and_no_execution_state(
    raw_moto: None, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcp_cli.emulator.gaps import stepfunctions

    monkeypatch.setattr(stepfunctions, "_PROGRAMS", {})  # what earlier tests in this process parsed
    monkeypatch.setattr(stepfunctions, "_VALIDATED", set())
    with install_gap_fills(FunctionRegistry()) as fills:
        parses.clear()
        machines = [state_machine("retry", _retry_machine(1)), state_machine("again", _retry_machine(2))]
        histories = [events for machine in machines for events in _run_twice_at_once(machine, fills)]
    # One per definition text (CreateStateMachine's validation), not one per execution: the
    # executions run the program the validation parsed.
    assert len(parses) == 2
    for events in histories:  # each execution retried once on its own attempt count
        assert sum(e["type"] == "TaskScheduled" for e in events) == 2
    with install_gap_fills(FunctionRegistry()) as fills:  # a later installation (another stack)
        later = state_machine("later", _retry_machine(1))
        parses.clear()  # CreateStateMachine validates (parses) the definition, as AWS does
        again = _run_twice_at_once(later, fills)
    assert parses == []  # its executions reuse the program parsed for the first installation
    for events in again:
        assert sum(e["type"] == "TaskScheduled" for e in events) == 2


# -- u. A JSON template body is parsed as JSON ------------------------------------------------------


@pytest.fixture
def yaml_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The template bodies moto's CloudFormation reads with PyYAML, from now on."""
    import moto.cloudformation.models as cfn_models

    load = cfn_models.yaml.load
    seen: list[str] = []

    def counted(text: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(text)
        return load(text, *args, **kwargs)

    monkeypatch.setattr(cfn_models.yaml, "load", counted)
    return seen


def _parameters_of(stack: str) -> dict[str, Any]:
    summary = boto3.client("cloudformation").get_template_summary(StackName=stack)
    return {p["ParameterKey"]: p.get("DefaultValue") for p in summary["Parameters"]}


JSON_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"Stage": {"Type": "String", "Default": "yes"}},  # YAML 1.1 would read yes as true
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}},
}


def test_raw_moto_reads_a_json_template_with_the_yaml_parser(raw_moto: None, yaml_loads: list[str]) -> None:
    boto3.client("cloudformation").create_stack(StackName="j", TemplateBody=json.dumps(JSON_TEMPLATE))
    assert json.dumps(JSON_TEMPLATE) in yaml_loads


def test_json_first_fill_reads_json_as_json_and_yaml_as_yaml(fills: GapFills, yaml_loads: list[str]) -> None:
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="j", TemplateBody=json.dumps(JSON_TEMPLATE))
    assert yaml_loads == []
    assert _parameters_of("j") == {"Stage": "yes"}
    assert cfn.describe_stacks(StackName="j")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    yaml_body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: y}\n"
    cfn.create_stack(StackName="y", TemplateBody=yaml_body)
    assert yaml_body in yaml_loads
    assert cfn.describe_stacks(StackName="y")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


# -- v. A definition text is validated once ----------------------------------------------------------


def test_raw_moto_validates_the_definition_on_every_create(raw_moto: None, parses: list[str]) -> None:
    state_machine("one", _retry_machine(3))
    state_machine("two", _retry_machine(3))
    assert len(parses) == 2


def test_validate_once_fill_still_refuses_an_invalid_definition_every_time(
    fills: GapFills, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcp_cli.emulator.gaps import stepfunctions

    monkeypatch.setattr(stepfunctions, "_VALIDATED", set())
    state_machine("one", _retry_machine(4))
    state_machine("two", _retry_machine(4))
    assert len(parses) == 1
    sfn = boto3.client("stepfunctions")
    for name in ("bad-1", "bad-2"):
        # moto 5.2.5 answers with an empty error code (AWS: InvalidDefinition); the parser's message
        with pytest.raises(sfn.exceptions.ClientError, match="ASLParserException"):
            sfn.create_state_machine(
                name=name, definition='{"StartAt": "Nowhere", "States": {}}', roleArn=lambda_role()
            )
    # An invalid text is parsed (and refused) each time: the fill's parse, then moto's own
    # validation, which raises moto's error.
    assert len(parses) == 1 + 2 * 2


def test_validate_once_fill_keeps_the_program_on_disk_for_the_next_process(
    fills: GapFills, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcp_cli.emulator.gaps import stepfunctions

    monkeypatch.setattr(stepfunctions, "_VALIDATED", set())
    monkeypatch.setattr(stepfunctions, "_PROGRAMS", {})
    state_machine("first", _retry_machine(5))
    assert len(parses) == 1
    directory = stepfunctions.program_cache_dir()
    assert directory is not None
    assert len(list(directory.glob("*.pickle"))) == 1
    for attempt in range(2):  # a new process (nothing validated or parsed in it yet): read from disk
        monkeypatch.setattr(stepfunctions, "_VALIDATED", set())
        monkeypatch.setattr(stepfunctions, "_PROGRAMS", {})
        machine = state_machine(f"next-{attempt}", _retry_machine(5))
        assert len(parses) == 1
        for events in _run_twice_at_once(machine, fills):  # the stored program runs as parsed
            assert sum(e["type"] == "TaskScheduled" for e in events) == 2
    for stored in directory.glob("*.pickle"):  # a damaged file: parsed again, stored again
        stored.write_bytes(b"not a pickle")
    monkeypatch.setattr(stepfunctions, "_VALIDATED", set())
    monkeypatch.setattr(stepfunctions, "_PROGRAMS", {})
    state_machine("damaged", _retry_machine(5))
    assert len(parses) == 2
    monkeypatch.setenv(stepfunctions.PROGRAM_CACHE_ENV, "off")
    assert stepfunctions.program_cache_dir() is None


# -- q. DynamoDB handles one request at a time ------------------------------------------------------


def _transact_from_threads(threads: int = 4, each: int = 40) -> tuple[list[str], int]:
    """Concurrent single-Put TransactWriteItems on a table of 300 items: (errors, items written)."""
    import threading

    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="busy",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(300):
        ddb.put_item(TableName="busy", Item={"pk": {"S": f"seed-{i}"}})
    errors: list[str] = []

    def writer(n: int) -> None:
        client = boto3.client("dynamodb")
        for j in range(each):
            try:
                client.transact_write_items(
                    TransactItems=[{"Put": {"TableName": "busy", "Item": {"pk": {"S": f"w{n}-{j}"}}}}]
                )
            except Exception as exc:  # counting what the race raises
                errors.append(type(exc).__name__)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    written = ddb.scan(TableName="busy", Select="COUNT")["Count"] - 300
    return errors, written


def test_raw_moto_transactions_race_each_other(raw_moto: None) -> None:
    errors, written = _transact_from_threads()
    # measured: about 2 in 3 transactions fail ("dictionary changed size during iteration")
    assert errors
    assert written < 4 * 40


def test_serialized_fill_gives_every_transaction_its_turn(fills: GapFills) -> None:
    errors, written = _transact_from_threads()
    assert errors == []
    assert written == 4 * 40
