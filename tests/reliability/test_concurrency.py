"""Concurrency: many approvals racing for one endpoint update it one at a time.

16 package versions approved at once (16 deployment executions running together) -> the endpoint's
lease lets one UpdateEndpoint run at a time (the emulator records each update's in-flight interval;
none overlaps, and no UpdateEndpoint is refused as "in progress"), the others record
``deployment.queued`` and wait, every execution ends, and the endpoint ends on the newest version
(an older one that gets the lease after a newer one was promoted is superseded, not deployed).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mlcp.audit import AuditAction

from .conftest import Profile
from .stack import RecordedStack, recorded_stack, run_in_threads

pytestmark = pytest.mark.reliability_property("concurrency")

ENDPOINT = "churn-prod"  # where the policy deploys churn-* groups
ENDPOINT_CALLS = {"CreateEndpoint", "UpdateEndpoint"}


@pytest.fixture(scope="module")
def stack() -> Iterator[RecordedStack]:
    with recorded_stack() as recorded:
        yield recorded


def _max_overlap(intervals: list[tuple[dt.datetime, dt.datetime]]) -> int:
    """The most intervals in flight at one instant (an end and a start at the same instant do not overlap)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    # Ends sort before starts at the same instant (-1 < 1): a handover is not an overlap.
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


def test_simultaneous_approvals_update_the_endpoint_one_at_a_time(
    stack: RecordedStack, profile: Profile, figure: Callable[..., None], serialized_moto: None
) -> None:
    count = profile.scale(full=16, quick=4)
    group = f"churn-conc-{uuid.uuid4().hex[:6]}"
    arns = [stack.register(group) for _ in range(count)]
    stack.settle()
    before = {e["executionArn"] for e in stack.cp.executions()}
    mark = stack.calls.mark()

    # Every reviewer approves at the same moment; the 16 events start 16 executions together.
    # (boto3 sessions are not thread-safe to build clients from: one client per thread, made here.)
    clients = [stack.cp.client("sagemaker", principal="reviewer") for _ in arns]
    barrier = threading.Barrier(count)

    def approve(arn: str, sagemaker: Any) -> None:
        barrier.wait()
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    run_in_threads(approve, list(zip(arns, clients, strict=True)))
    stack.settle()

    executions = [e for e in stack.cp.executions() if e["executionArn"] not in before]
    deployments = [d for d in stack.cp.endpoint_deployments() if d.endpoint_name == ENDPOINT]
    intervals = [(d.started, d.finished) for d in deployments if d.finished is not None]
    calls = [c for c in stack.calls.since(mark) if c.operation in ENDPOINT_CALLS]
    refused = [c for c in calls if not c.succeeded]
    records = [r for r in stack.audit.read(f"endpoint#{ENDPOINT}") if r.subject in arns]
    queued = {r.subject for r in records if r.action == AuditAction.DEPLOYMENT_QUEUED}
    started = [r for r in records if r.action == AuditAction.DEPLOYMENT_STARTED]
    ended = [
        r
        for r in records
        if r.action
        in {
            AuditAction.DEPLOYMENT_PROMOTED,
            AuditAction.DEPLOYMENT_ROLLED_BACK,
            AuditAction.DEPLOYMENT_FAILED,
        }
    ]
    # An approval that gets the lease after a newer version of the group was promoted leaves the
    # endpoint alone (audited as ignored: superseded); that ends its deployment too.
    superseded = [
        r
        for r in records
        if r.action == AuditAction.EVENT_IGNORED
        and str(r.evidence.get("reason", "")).startswith("superseded")
    ]
    serving = stack.cp.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    newest = f"v{count}"
    running = [e for e in executions if e["status"] == "RUNNING"]
    most = _max_overlap(intervals)

    figure("approvals at once", count)
    figure("deployment executions", len(executions), target=str(count), ok=len(executions) == count)
    figure("CreateEndpoint + UpdateEndpoint calls", len(calls))
    figure("endpoint updates (in-flight intervals recorded)", len(deployments))
    figure("max concurrent endpoint updates", most, target="1", ok=most <= 1)
    figure("UpdateEndpoint refused (in progress)", len(refused), target="0", ok=not refused)
    figure("deployments queued (deployment.queued)", len(queued), target=">0", ok=len(queued) > 0)
    figure(
        "promoted, rolled back or failed / superseded by a newer version", f"{len(ended)} / {len(superseded)}"
    )
    # A superseded approval records no deployment.started (nothing was deployed): every execution
    # either started a deployment that ended, or was superseded.
    figure(
        "deployments started / ended",
        f"{len(started)} / {len(ended)}",
        target="equal",
        ok=len(started) == len(ended),
    )
    figure(
        "deployments started + superseded",
        len(started) + len(superseded),
        target=str(count),
        ok=len(started) + len(superseded) == count,
    )
    figure(
        "endpoint serves the newest version",
        serving.rsplit("-", 1)[-1],
        target=newest,
        ok=serving.endswith(newest),
    )
    figure("executions still running", len(running), target="0", ok=not running)
    statuses = sorted({e["status"] for e in executions})
    figure("execution outcomes", ", ".join(statuses), target="SUCCEEDED", ok=statuses == ["SUCCEEDED"])

    assert len(executions) == count
    assert all(d.finished is not None for d in deployments)
    assert most <= 1
    assert not refused
    assert queued
    assert len(started) == len(ended)
    assert len(started) + len(superseded) == count
    assert serving.endswith(f"-{newest}")
    assert statuses == ["SUCCEEDED"]
