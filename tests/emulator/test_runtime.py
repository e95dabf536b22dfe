"""End to end on the local control plane: event -> rule -> Lambda / state machine -> results."""

from __future__ import annotations

import gc
import json
from pathlib import Path

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


def test_the_pump_lists_no_executions_and_task_states_reuse_their_client(
    control_plane: LocalControlPlane,
) -> None:
    """ADR 40: the pump reads which executions changed from moto's backend (it only describes
    those), and a state machine's Task states reuse the client moto made for the first one."""
    from mlcp_cli.emulator.calls import CallRecorder

    cp = control_plane
    assert cp.iam is not None
    with CallRecorder() as recorder:
        cp.put_events(
            [{"Source": "fixture.app", "DetailType": "Item Requested", "Detail": {"item": "good-2"}}]
        )
        first = cp.pump()
        task_clients = len(cp.iam._sfn_clients)
        cp.put_events(
            [{"Source": "fixture.app", "DetailType": "Item Requested", "Detail": {"item": "good-3"}}]
        )
        second = cp.pump()

    assert [e["status"] for e in first.executions] == ["SUCCEEDED"]
    assert [e["status"] for e in second.executions] == ["SUCCEEDED"]
    assert first.executions[0]["executionArn"] != second.executions[0]["executionArn"]
    names = [call.name for call in recorder.calls]
    assert "stepfunctions.ListExecutions" not in names
    assert names.count("stepfunctions.DescribeExecution") == 2  # the changed ones, once each
    assert task_clients >= 1
    assert len(cp.iam._sfn_clients) == task_clients


def test_the_heap_alive_after_a_deploy_is_frozen_until_close(tmp_path: Path) -> None:
    """ADR 40: a play's full collections do not traverse what the deploy built; a closed plane gives
    it back to the collector."""
    cp = LocalControlPlane(tmp_path / "template.yaml")
    cp._freeze_heap()
    assert gc.get_freeze_count() > 0
    cp.close()
    assert gc.get_freeze_count() == 0
