"""Duplicates: every event type, delivered again and again (at-least-once), changes nothing after
its first delivery: the same event redelivered 50 times in sequence, 50 times from 8 threads, and
re-emitted 50 times with a new EventBridge id -> one effect, one execution, one set of audit records
(plus, for an approval, one ``event.ignored`` noting that its copies were ignored).
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction
from mlcp_cli.emulator.gaps import Delivery, deliver

from .conftest import Profile
from .stack import RecordedStack, recorded_stack, run_in_threads, sample

pytestmark = pytest.mark.reliability_property("duplicates")

BUCKET = "mlcp-training-data"
THREADS = 8
IGNORED = str(AuditAction.EVENT_IGNORED)


@pytest.fixture(scope="module")
def stack() -> Iterator[RecordedStack]:
    with recorded_stack() as recorded:
        s3 = recorded.cp.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        yield recorded


@dataclass(frozen=True)
class Snapshot:
    """What the control plane has done so far: audit records, effects, executions that acted."""

    audit: Counter[tuple[str, str]]
    effects: Counter[tuple[str, str]]
    executions: int

    def minus(self, before: Snapshot) -> Snapshot:
        return Snapshot(
            self.audit - before.audit, self.effects - before.effects, self.executions - before.executions
        )

    def summary(self) -> str:
        return f"{self.audit.total()} / {self.effects.total()} / {self.executions}"


def _snapshot(stack: RecordedStack) -> Snapshot:
    audit = AuditTrail(stack.cp.stack.physical_id("AuditTable"), client=stack.cp.client("dynamodb"))
    records = Counter((stream, str(r.action)) for stream in audit.streams() for r in audit.read(stream))
    # An effect is a successful change a handler made outside its own tables (whose writes the
    # audit records and idempotency absorb): SageMaker, OpsCenter, SNS, SQS, Step Functions, S3.
    # The audit digest function's writes are the audit trail's own (a digest anchors the records
    # above; one noting an ignored copy moves a head, and the next digest anchors it).
    effects = Counter(
        (call.service, call.operation)
        for call in stack.calls.since(0)
        if call.function is not None
        and call.mutating
        and call.succeeded
        and call.service != "dynamodb"
        and call.function != stack.cp.stack.function_names["AuditDigestFunction"]
    )
    acted = 0
    for execution in stack.cp.executions():
        entered = stack.states_entered(execution["executionArn"])
        # A deployment run acts once it records the approval; the debounce workflow acts at all.
        acted += bool(entered & {"RecordApproval", "DeployModel"}) or "VerifyApproval" not in entered
    return Snapshot(records, effects, acted)


def _unique_sample(relative: str, **detail: Any) -> Callable[[RecordedStack], None]:
    def put(stack: RecordedStack) -> None:
        event = sample(relative)
        event["detail"].update(detail)
        stack.cp.put_event_document(event)

    return put


def _new_object(stack: RecordedStack) -> None:
    key = f"training-data/churn/dup/{uuid.uuid4()}.csv"
    stack.cp.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"a,b\n1,2\n")


def _pending_package(stack: RecordedStack) -> None:
    stack.register(f"churn-dup-{uuid.uuid4().hex[:6]}")


def _package_then(status: str) -> Callable[[RecordedStack], None]:
    def change(stack: RecordedStack) -> None:
        arn = stack.register(f"churn-dup-{uuid.uuid4().hex[:6]}")
        stack.settle()
        stack.set_status(arn, status)

    return change


EVENT_TYPES: dict[str, Callable[[RecordedStack], None]] = {
    "S3 Object Created": _new_object,
    "Model Package PendingManualApproval": _pending_package,
    "Model Package Approved": _package_then("Approved"),
    "Model Package Rejected": _package_then("Rejected"),
    "Endpoint State Change": _unique_sample("endpoint-state-change/in-service.json"),
    "Endpoint Deployment State Change": _unique_sample("endpoint-deployment-state-change/started.json"),
    "Training Job State Change": _unique_sample("training-job-state-change/failed.json"),
    "Pipeline Execution Status Change": _unique_sample("pipeline-execution-status-change/failed.json"),
    "Processing Job State Change": _unique_sample(
        "processing-job-state-change/monitoring-completed-with-violations.json"
    ),
    "CloudWatch Alarm State Change": _unique_sample("alarm-state-change/ok-to-alarm.json"),
    "Model Monitoring Report": _unique_sample("model-monitoring-report/with-violations.json"),
}


def _redeliver(stack: RecordedStack, deliveries: list[Delivery], times: int) -> None:
    for _ in range(times):
        for delivery in deliveries:
            stack.cp.deliveries.enqueue(copy.deepcopy(delivery))
    stack.settle()


def _redeliver_from_threads(stack: RecordedStack, deliveries: list[Delivery], times: int) -> None:
    """``times`` copies of each delivery, made by THREADS threads at once."""
    shares = [times // THREADS + (1 if n < times % THREADS else 0) for n in range(THREADS)]

    def work(share: int) -> None:
        for _ in range(share):
            for delivery in deliveries:
                deliver(copy.deepcopy(delivery), stack.cp.deliveries, stack.cp.registry)

    run_in_threads(work, [(share,) for share in shares])
    stack.settle()


def _re_emit(stack: RecordedStack, deliveries: list[Delivery], times: int) -> None:
    """The same events put again: each copy gets a new EventBridge id."""
    events = {delivery.event["id"]: delivery.event for delivery in deliveries}
    for _ in range(times):
        for event in events.values():
            stack.cp.put_event_document(event)
    stack.settle()


def test_each_event_type_has_one_effect_however_often_it_is_delivered(
    stack: RecordedStack, profile: Profile, figure: Callable[..., None], serialized_moto: None
) -> None:
    times = profile.scale(full=50, quick=2)
    failures = []
    total_deliveries = duplicated = ignored_noted = 0
    for name, trigger in EVENT_TYPES.items():
        stack.settle()
        trigger(stack)
        first = stack.take_deliveries()
        assert first, f"{name}: the event reached no target"
        before = _snapshot(stack)
        for delivery in first:
            stack.cp.deliveries.enqueue(copy.deepcopy(delivery))
        stack.settle()
        once = _snapshot(stack).minus(before)

        _redeliver(stack, first, times)
        _redeliver_from_threads(stack, first, times)
        _re_emit(stack, first, times)

        after = _snapshot(stack).minus(before)
        deliveries = (1 + 3 * times) * len(first)
        total_deliveries += deliveries
        # The deployment workflow audits an ignored redelivery once (its decision id is the package
        # status, so every later copy dedups onto it): at most one event.ignored, nothing else.
        noted = Counter({key: n for key, n in (after.audit - once.audit).items() if key[1] == IGNORED})
        ignored_noted += noted.total()
        same = (
            after.audit - noted == once.audit
            and after.effects == once.effects
            and after.executions == once.executions
            and once.audit.total() >= 1
            and all(n == 1 for n in noted.values())
        )
        duplicated += (after.audit - noted - once.audit).total() + (after.effects - once.effects).total()
        figure(
            f"{name}: audit records / effects / executions",
            after.summary(),
            unit=f"after {deliveries} deliveries",
            target=f"{once.summary()} (1st delivery)",
            ok=same,
        )
        if not same:
            failures.append(
                f"{name}: once {dict(once.audit)} {dict(once.effects)} {once.executions}; "
                f"after {dict(after.audit - once.audit)} {dict(after.effects - once.effects)} {after.executions}"
            )
    figure("deliveries in (same id in sequence, from 8 threads, new id)", total_deliveries)
    figure("records or effects added by duplicates", duplicated, target="0", ok=duplicated == 0)
    figure("redeliveries noted as event.ignored (once per event)", ignored_noted)
    assert not failures, failures
