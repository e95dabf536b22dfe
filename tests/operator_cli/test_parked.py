"""`mlcp parked list|redrive` on the real stack in the emulator: an invocation that failed its retries
(a real OnFailure record), an event EventBridge could not deliver (the documented DLQ message) and a
rejected event are listed with why, and sent back once the cause is gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp_cli.commands.policy import publish_policy
from mlcp_cli.emulator.faults import FaultInjector, FaultRule
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.parked import StackTargets, parse_message, send_again, stack_targets

ROOT = Path(__file__).resolve().parents[2]
ALARM_EVENT = json.loads((ROOT / "events" / "alarm-state-change" / "ok-to-alarm.json").read_text())
NO_DETAIL = json.loads((ROOT / "events" / "negative" / "missing-detail.json").read_text())


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[LocalControlPlane, FaultInjector]]:
    with FaultInjector() as faults, LocalControlPlane(ROOT / "template.yaml") as cp:
        parameter = str(cp.stack.template["Parameters"]["PolicyParameterName"]["Default"])
        publish_policy(cp.client("ssm"), ROOT / "scenarios" / "policy.yaml", parameter)
        yield cp, faults


@pytest.fixture
def cp(stack: tuple[LocalControlPlane, FaultInjector]) -> LocalControlPlane:
    return stack[0]


def _alarm_event(event_id: str) -> dict[str, Any]:
    """A distinct alarm state change: intake's idempotency key is the content, not the id."""
    detail = {**ALARM_EVENT["detail"], "state": {**ALARM_EVENT["detail"]["state"], "reason": event_id}}
    return {**ALARM_EVENT, "id": event_id, "detail": detail}


def _audited(cp: LocalControlPlane, event_id: str) -> list[str]:
    trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    return [r.action.value for s in trail.streams() for r in trail.read(s) if r.event_id == event_id]


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _depth(cp: LocalControlPlane, logical: str) -> int:
    attributes = cp.client("sqs").get_queue_attributes(
        QueueUrl=cp.stack.physical_id(logical), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_a_failed_invocation_is_listed_then_redriven_once_the_cause_is_gone(
    stack: tuple[LocalControlPlane, FaultInjector], cli: Any
) -> None:
    cp, faults = stack
    intake = cp.stack.function_names["EventIntakeFunction"]
    event = _alarm_event("parked-failed-1")
    faults.arm(FaultRule("dynamodb", "TransactWriteItems", "internal", times=10_000, caller=intake))
    try:
        assert cp.invoke_async(intake, event) is False  # 3 attempts, then Lambda's OnFailure record
    finally:
        faults.disarm()
    assert _audited(cp, event["id"]) == []

    code, out, _ = cli("parked", "list", "--local", "--queue", "failed", "--json")
    assert code == 0
    [parked] = _lines(out)
    assert parked["target"] == intake
    assert parked["what"] == f"CloudWatch Alarm State Change {event['id']}"
    assert parked["reason"].startswith("InternalServerError")  # the handler's error, as Lambda recorded it
    assert parked["problem"] is None

    code, out, _ = cli("parked", "redrive", "failed", "--local")  # dry run
    assert (code, _depth(cp, "FunctionFailureQueue")) == (0, 1)
    assert "0 redriven, 1 left parked (dry run" in out

    code, out, _ = cli("parked", "redrive", "failed", "--local", "--apply", "--json")
    assert code == 0
    [done] = _lines(out)
    assert done["outcome"] == "redriven (invoked)"
    cp.pump()
    assert "event.received" in _audited(cp, event["id"])
    assert _depth(cp, "FunctionFailureQueue") == 0
    assert cli("parked", "list", "--local", "--queue", "failed")[1] == "nothing parked in failed\n"


def test_an_undelivered_event_goes_to_its_target_and_a_foreign_target_is_kept(
    cp: LocalControlPlane, cli: Any
) -> None:
    sqs = cp.client("sqs")
    dlq = cp.stack.physical_id("EventDeliveryDLQ")
    intake_arn = cp.client("lambda").get_function(
        FunctionName=cp.stack.function_names["EventIntakeFunction"]
    )["Configuration"]["FunctionArn"]

    def park(event: dict[str, Any], target: str) -> None:
        # The message EventBridge writes to a target's dead-letter queue (body: the event).
        attributes = {
            "RULE_ARN": "arn:aws:events:us-east-1:123456789012:rule/mlcp-local-EndpointAlarmRule",
            "TARGET_ARN": target,
            "ERROR_CODE": "Lambda.TooManyRequestsException",
            "ERROR_MESSAGE": "Rate exceeded",
        }
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps(event),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )

    park({**ALARM_EVENT, "id": "parked-undelivered-1"}, intake_arn)
    park(
        {**ALARM_EVENT, "id": "parked-undelivered-2"},
        "arn:aws:lambda:us-east-1:123456789012:function:elsewhere",
    )

    code, out, _ = cli("parked", "redrive", "undelivered", "--local", "--apply", "--json")
    assert code == 1  # one message could not be sent: it stays parked
    outcomes = {d["what"].split()[-1]: d["outcome"] for d in _lines(out)}
    assert outcomes["parked-undelivered-1"] == "redriven (invoked)"
    assert outcomes["parked-undelivered-2"] == (
        "kept: target arn:aws:lambda:us-east-1:123456789012:function:elsewhere is not an event target of this stack"
    )
    cp.pump()
    assert "event.received" in _audited(cp, "parked-undelivered-1")
    assert _audited(cp, "parked-undelivered-2") == []
    [left] = _lines(cli("parked", "list", "--local", "--queue", "undelivered", "--json")[1])
    assert left["what"].endswith("parked-undelivered-2")  # kept, and visible again at once
    assert left["reason"] == "Lambda.TooManyRequestsException: Rate exceeded"


def test_a_state_machine_target_gets_one_execution_named_after_the_message(cp: LocalControlPlane) -> None:
    stack = stack_targets(
        cp.client("cloudformation"), cp.client("lambda"), cp.client("events"), cp.stack.name
    )
    machine = cp.stack.state_machine_arns["DeploymentStateMachine"]
    raw = {
        "MessageId": "m-1",
        "ReceiptHandle": "h",
        "Body": json.dumps({"id": "x", "detail-type": "SageMaker Model Package State Change"}),
        "MessageAttributes": {"TARGET_ARN": {"DataType": "String", "StringValue": machine}},
    }
    message = parse_message("undelivered", raw, stack)
    assert (message.target, message.problem) == (machine, None)
    sfn, lam = cp.client("stepfunctions"), cp.client("lambda")
    assert send_again(message, lam, sfn) == "execution started"
    # Again (a redrive cut off before its delete): AWS returns the running execution for the same
    # name and input, or ExecutionAlreadyExists once it ended; either way there is one.
    assert send_again(message, lam, sfn) in {
        "execution started",
        "execution already started by an earlier redrive",
    }
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]
    assert names.count("redrive-m-1") == 1
    cp.pump()


def test_a_rejected_event_goes_back_to_the_function_that_refused_it(cp: LocalControlPlane, cli: Any) -> None:
    intake = cp.stack.function_names["EventIntakeFunction"]
    event = {**NO_DETAIL, "id": "parked-rejected-1"}
    cp.invoke_async(intake, event)

    def mine() -> list[dict[str, Any]]:
        listed = _lines(cli("parked", "list", "--local", "--queue", "rejected", "--json")[1])
        return [m for m in listed if m["what"].endswith(event["id"])]

    [parked] = mine()
    assert parked["target"] == intake  # rejected_by (its service name) mapped to the function
    assert parked["reason"] == "detail: Field required"
    trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    rejections = len(trail.read("control-plane"))

    code, out, _ = cli("parked", "redrive", "rejected", "--local", "--apply", "--json")
    outcomes = {d["what"]: d["outcome"] for d in _lines(out)}
    assert outcomes.pop(parked["what"]) == "redriven (invoked)"
    # The workflow's VerifyApproval task refused the previous test's execution input: not an event
    # entry point, so that one stays parked (exit 1).
    assert code == (1 if outcomes else 0)
    assert all("a workflow task: redrive its execution instead" in o for o in outcomes.values()), outcomes
    cp.pump()
    # Still malformed: refused and parked again (nothing lost), audited once (by digest).
    [again] = mine()
    assert again["message_id"] != parked["message_id"]
    assert len(trail.read("control-plane")) == rejections


def test_parked_needs_a_stack(cli: Any) -> None:
    code, _, err = cli("parked", "list")
    assert code == 2
    assert "which stack?" in err


def test_every_function_rejects_under_its_service_name() -> None:
    """A rejection names its function by ``Runtime(name)``; ``mlcp parked`` maps that back through
    POWERTOOLS_SERVICE_NAME, so the two must agree for every function."""
    import re

    from mlcp_cli.template import load_template

    template = load_template(ROOT / "template.yaml")
    checked = 0
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        app = (ROOT / resource["Properties"]["CodeUri"] / "app.py").read_text(encoding="utf-8")
        named = re.search(r'Runtime\("([a-z-]+)"\)', app)
        if named is None:
            continue  # rejects nothing (no Runtime)
        service = resource["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        assert named.group(1) == service, resource["Properties"]["CodeUri"]
        checked += 1
    assert checked >= 15


def test_a_message_without_an_event_is_kept_with_the_reason() -> None:
    stack = StackTargets(
        queue_urls={},
        functions={"intake": "arn:aws:lambda:us-east-1:123456789012:function:intake"},
        state_machines=set(),
    )
    record = {
        "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:intake:$LATEST"},
        "responsePayload": {"errorType": "Boom", "errorMessage": "x"},
    }
    raw = {"MessageId": "m", "ReceiptHandle": "h", "Body": json.dumps(record)}
    message = parse_message("failed", raw, stack)
    assert message.target == "intake"
    assert message.reason == "Boom: x"
    assert message.problem == "the message carries no event (a JSON object) to send"
    raw["Body"] = "not json"
    assert parse_message("failed", raw, stack).problem == "the body is not JSON"
