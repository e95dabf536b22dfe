"""Forged events: nobody deploys a model by faking an event.

A customer cannot put an ``aws.`` source on the bus (EventBridge refuses it), look-alike sources
match no rule, and a genuine-looking "Approved" event for a package the Model Registry does not
say is Approved is ignored by the deployment workflow: 0 deployments (no CreateEndpoint or
UpdateEndpoint, no execution past verification).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mlcp.audit import AuditAction

from .conftest import Profile
from .stack import RecordedStack, recorded_stack, sample

pytestmark = pytest.mark.reliability_property("forged events")

APPROVED_TYPE = "SageMaker Model Package State Change"
# Sources a forger might try: AWS's own (refused by EventBridge) and look-alikes (no rule matches).
AWS_SOURCES = ("aws.sagemaker", "aws.sagemaker.evil", "aws.s3", "aws.cloudwatch", "aws.events")
LOOKALIKES = (
    "custom.sagemaker",
    "sagemaker",
    "aws-sagemaker",
    "AWS.sagemaker",
    "Aws.SageMaker",
    "\u0430ws.sagemaker",  # Cyrillic a
    "aws\u200b.sagemaker",  # zero-width space
    "aws\uff0esagemaker",  # fullwidth full stop
    "mlcp.monitoring",  # our own monitor source claiming a SageMaker detail-type
    "aws",
)
DEPLOYING_CALLS = {"CreateEndpoint", "UpdateEndpoint", "CreateEndpointConfig", "CreateModel"}
PAST_VERIFICATION = {"RecordApproval", "InitDeployment", "DeployModel", "RequestHumanApproval"}


@pytest.fixture(scope="module")
def stack() -> Iterator[RecordedStack]:
    with recorded_stack() as recorded:
        yield recorded


def _approved_event(arn: str, group: str, version: int) -> dict[str, Any]:
    event = sample("model-package-state-change/approved.json")
    event["detail"].update(ModelPackageArn=arn, ModelPackageGroupName=group, ModelPackageVersion=version)
    event["resources"] = [arn]
    return event


def _entry(event: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "Source": source,
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event["resources"],
    }


def _put_as_customer(stack: RecordedStack, event: dict[str, Any], source: str) -> tuple[str | None, int]:
    """PutEvents signed by a customer: (EventBridge's error code or None, deliveries it caused)."""
    log_start = len(stack.cp.delivery_log)
    events = stack.cp.client("events", principal="mallory")
    [result] = events.put_events(Entries=[_entry(event, source)])["Entries"]
    stack.settle()
    return result.get("ErrorCode"), len(stack.cp.delivery_log) - log_start


def test_forged_events_deploy_nothing(
    stack: RecordedStack, profile: Profile, figure: Callable[..., None]
) -> None:
    rounds = profile.scale(full=5, quick=1)
    packages: list[tuple[str, str, int, str]] = []  # arn, group, version, what the registry says
    for _ in range(rounds):
        group = f"churn-forge-{uuid.uuid4().hex[:6]}"
        pending = stack.register(group)
        rejected = stack.register(group)
        stack.settle()
        stack.set_status(rejected, "Rejected")
        stack.settle()
        unknown = pending.rsplit("/", 1)[0] + "/99"
        packages += [(pending, group, 1, "PendingManualApproval"), (rejected, group, 2, "Rejected")]
        packages += [(unknown, group, 99, "unknown")]
    executions_before = {e["executionArn"] for e in stack.cp.executions()}
    mark = stack.calls.mark()

    aws_accepted = lookalike_delivered = attempts = 0
    for arn, group, version, _ in packages:
        event = _approved_event(arn, group, version)
        for source in AWS_SOURCES:
            error, delivered = _put_as_customer(stack, event, source)
            aws_accepted += error != "NotAuthorizedForSourceException" or delivered > 0
            attempts += 1
        for source in LOOKALIKES:
            error, delivered = _put_as_customer(stack, event, source)
            assert error is None, (source, error)  # accepted by EventBridge, then matched by no rule
            lookalike_delivered += delivered
            attempts += 1
    # The same events as if SageMaker itself had sent them (stale or replayed): the workflow runs
    # and asks the registry, which does not say Approved.
    for arn, group, version, _ in packages:
        stack.cp.put_aws_events([_entry(_approved_event(arn, group, version), "aws.sagemaker")])
        attempts += 1
    stack.settle()

    new = [e for e in stack.cp.executions() if e["executionArn"] not in executions_before]
    proceeded = [e for e in new if stack.states_entered(e["executionArn"]) & PAST_VERIFICATION]
    failed = [e for e in new if e["status"] != "SUCCEEDED"]
    deploying = [c for c in stack.calls.since(mark) if c.operation in DEPLOYING_CALLS]
    records = [r for group in {g for _, g, _, _ in packages} for r in stack.audit.read(f"group#{group}")]
    approvals = [
        r for r in records if r.action in {AuditAction.PACKAGE_APPROVED, AuditAction.DEPLOYMENT_STARTED}
    ]
    ignored = {r.subject for r in records if r.action == AuditAction.EVENT_IGNORED}
    known = {arn for arn, *_ in packages if not arn.endswith("/99")}
    figure("forged events in", attempts)
    figure(
        "PutEvents with an aws.* source accepted",
        aws_accepted,
        target="0",
        ok=aws_accepted == 0,
    )
    figure(
        "look-alike events delivered to a target",
        lookalike_delivered,
        target="0",
        ok=lookalike_delivered == 0,
    )
    figure(
        "deployment executions started (genuine source, not Approved)", len(new), target=f"{len(packages)}"
    )
    figure("executions past verification", len(proceeded), target="0", ok=not proceeded)
    figure("executions failed", len(failed), target="0", ok=not failed)
    figure(
        "CreateModel/EndpointConfig/Endpoint, UpdateEndpoint calls",
        len(deploying),
        target="0",
        ok=not deploying,
    )
    figure("package.approved / deployment.started records", len(approvals), target="0", ok=not approvals)
    figure(
        "not-Approved packages audited event.ignored",
        f"{len(ignored & known)}/{len(known)}",
        target="all",
        ok=ignored >= known,
    )
    # Control: the same counters see a real approval deploy (they are not blind).
    control_mark = stack.calls.mark()
    stack.set_status(packages[0][0], "Approved")
    stack.settle()
    control = [
        e
        for e in stack.cp.executions()
        if e["executionArn"] not in executions_before and e not in new
        if stack.states_entered(e["executionArn"]) & PAST_VERIFICATION
    ]
    control_calls = [c for c in stack.calls.since(control_mark) if c.operation in DEPLOYING_CALLS]
    figure(
        "control: a real approval's executions past verification / deploying calls",
        f"{len(control)} / {len(control_calls)}",
        target="1 / >0",
        ok=len(control) == 1 and bool(control_calls),
    )
    assert len(control) == 1
    assert control_calls
    assert aws_accepted == 0
    assert lookalike_delivered == 0
    assert len(new) == len(packages)
    assert not proceeded
    assert not failed
    assert not deploying
    assert not approvals
    assert ignored >= known
