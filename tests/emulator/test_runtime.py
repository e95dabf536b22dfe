"""End to end on the local control plane: event -> rule -> Lambda / state machine -> results."""

from __future__ import annotations

import json

import pytest
from boto3.dynamodb.types import TypeDeserializer

from mlcp_cli.emulator.runtime import LocalControlPlane


def _items(cp: LocalControlPlane) -> dict[tuple[str, str], dict[str, object]]:
    deserialize = TypeDeserializer().deserialize
    scanned = cp.client("dynamodb").scan(TableName=cp.stack.table_names["ItemsTable"])["Items"]
    rows = [{k: deserialize(v) for k, v in item.items()} for item in scanned]
    return {(str(r["pk"]), str(r["sk"])): r for r in rows}


def test_event_reaches_the_lambda_and_the_state_machine(control_plane: LocalControlPlane) -> None:
    cp = control_plane
    cp.put_events([{"Source": "fixture.app", "DetailType": "Item Requested", "Detail": {"item": "good-1"}}])

    report = cp.pump()

    (execution,) = report.executions
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {"outcome": "accepted", "item": "good-1", "verdict": "ok"}
    assert not execution["executionArn"].endswith(":None")
    items = _items(cp)
    writer = items[("good-1", "writer")]
    assert writer["greeting"] == "hello-unit"
    assert writer["function_name"] == cp.stack.function_names["WriterFunction"]
    assert items[("good-1", "flow")]["greeting"] == "hello-flow"  # DefinitionSubstitutions applied
    outcomes = {(r.target.rsplit(":", 1)[-1], r.outcome) for r in report.deliveries}
    assert (cp.stack.function_names["WriterFunction"], "invoked") in outcomes


def test_state_machine_catches_the_lambda_error_class(control_plane: LocalControlPlane) -> None:
    cp = control_plane
    cp.put_events([{"Source": "fixture.app", "DetailType": "Item Requested", "Detail": {"item": "bad-1"}}])

    (execution,) = cp.pump().executions

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {
        "outcome": "rejected",
        "item": "bad-1",
        "error": "ItemRejected",
    }
    assert ("bad-1", "flow") not in _items(cp)


def test_failing_async_lambda_ends_in_its_on_failure_queue(control_plane: LocalControlPlane) -> None:
    cp = control_plane
    cp.put_events([{"Source": "fixture.app", "DetailType": "Broken Requested", "Detail": {"item": "x"}}])

    report = cp.pump()

    assert [r.outcome for r in report.deliveries] == [
        "function-error",
        "function-error",
        "function-error",
        "retries-exhausted",
    ]  # MaximumRetryAttempts 2 from the template's EventInvokeConfig
    sqs = cp.client("sqs")
    messages = sqs.receive_message(QueueUrl=cp.stack.queue_urls["FailureQueue"], MaxNumberOfMessages=10)
    (message,) = messages["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "DownstreamUnavailable"
    assert record["requestPayload"]["detail"] == {"item": "x"}
    assert cp.stack.function_names["FlakyFunction"] in record["requestContext"]["functionArn"]


def test_template_alarm_exists_and_pump_is_idle_when_nothing_happens(
    control_plane: LocalControlPlane,
) -> None:
    (alarm,) = control_plane.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert alarm["AlarmName"] == "fixture-unit-failures"
    report = control_plane.pump()
    assert report.idle
    assert len(control_plane.executions()) == 2
    assert all(r.rule and r.target for r in control_plane.delivery_log)


def test_put_events_rejects_malformed_entries(control_plane: LocalControlPlane) -> None:
    with pytest.raises(ValueError, match="Source"):
        control_plane.put_events([{"Source": "", "DetailType": "x", "Detail": {}}])


def test_only_put_aws_events_puts_an_aws_source(control_plane: LocalControlPlane) -> None:
    entry = {"Source": "aws.sagemaker", "DetailType": "Item Requested", "Detail": {"item": "forged"}}
    with pytest.raises(ValueError, match="NotAuthorizedForSourceException"):
        control_plane.put_events([entry])
    with pytest.raises(ValueError, match="AWS sources only"):
        control_plane.put_aws_events([{**entry, "Source": "fixture.app"}])

    [result] = control_plane.put_aws_events([entry])

    assert result["EventId"]
