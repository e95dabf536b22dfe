"""Out of order: approve, reject, alarm and deploy-complete events of several package versions,
delivered in any order, leave the control plane where the in-order delivery leaves it.

Each world is one group and its own endpoint. What happened, in order: three versions registered,
v1 approved, v3 approved, v2 rejected, an alarm on the endpoint, the endpoint InService. The events
of the last five are taken off the bus and delivered in a hypothesis permutation, one after the other.
End state (champion, registry, open incidents) = the in-order world's; an approval that arrives after
a newer version already serves is audited as ignored (superseded); an older version never replaces a
newer champion.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mlcp.audit import AuditAction
from mlcp_cli.emulator.gaps import Delivery

from .conftest import Profile
from .stack import POLICY, RecordedStack, examples, recorded_stack, sample

pytestmark = pytest.mark.reliability_property("out of order")

WORLDS = 32  # policy rules published up front: the in-order world and up to 31 permutations
EVENTS = ("approve v1", "approve v3", "reject v2", "alarm", "deploy-complete")
_VERSION = re.compile(r"-v(\d+)$")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordedStack]:
    """The scenarios' medium tier, one group -> endpoint rule per world (an SSM parameter holds 8 KB)."""
    policy = yaml.safe_load(POLICY.read_text())
    policy["tiers"] = {"medium": policy["tiers"]["medium"]}
    policy["groups"] = [
        {"match": f"ooo{n}-*", "tier": "medium", "endpoint": f"ooo{n}-prod"} for n in range(WORLDS)
    ]
    path: Path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    with recorded_stack(policy=path) as recorded:
        yield recorded


@dataclass(frozen=True)
class EndState:
    champion: int | None  # the version the endpoint serves
    statuses: tuple[str, ...]  # the registry's approval status of v1, v2, v3
    open_incidents: int


def _happen(stack: RecordedStack, world: int) -> dict[str, list[Delivery]]:
    """Make the story happen in world ``world``; the deliveries of each of its EVENTS, undelivered."""
    group, endpoint = f"ooo{world}-model", f"ooo{world}-prod"
    arns = [stack.register(group) for _ in range(3)]
    stack.settle()
    taken: dict[str, list[Delivery]] = {}
    for name, arn, status in (
        ("approve v1", arns[0], "Approved"),
        ("approve v3", arns[2], "Approved"),
        ("reject v2", arns[1], "Rejected"),
    ):
        stack.set_status(arn, status)
        taken[name] = stack.take_deliveries()
    cloudwatch = stack.cp.client("cloudwatch")
    alarm = f"{endpoint}-latency"
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=800_000,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="p99 above 800 ms")
    taken["alarm"] = stack.take_deliveries()
    in_service = sample("endpoint-state-change/in-service.json")
    in_service["detail"]["EndpointName"] = endpoint
    in_service["resources"] = [f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{endpoint}"]
    stack.cp.put_event_document(in_service)
    taken["deploy-complete"] = stack.take_deliveries()
    assert all(taken.values()), {name: len(d) for name, d in taken.items()}
    return taken


def _deliver_in(stack: RecordedStack, order: tuple[str, ...], taken: dict[str, list[Delivery]]) -> None:
    for name in order:
        for delivery in taken[name]:
            stack.cp.deliveries.enqueue(delivery)
        stack.settle()


def _end_state(stack: RecordedStack, world: int) -> EndState:
    sagemaker = stack.cp.client("sagemaker")
    group, endpoint = f"ooo{world}-model", f"ooo{world}-prod"
    packages = sagemaker.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    by_version = sorted(packages, key=lambda p: int(p["ModelPackageVersion"]))
    statuses = tuple(p["ModelApprovalStatus"] for p in by_version)
    config = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    match = _VERSION.search(config)
    records = stack.audit.read(f"endpoint#{endpoint}")
    opened = sum(r.action == AuditAction.INCIDENT_OPENED for r in records)
    resolved = sum(r.action == AuditAction.INCIDENT_RESOLVED for r in records)
    return EndState(int(match.group(1)) if match else None, statuses, opened - resolved)


def _promoted_versions(stack: RecordedStack, world: int) -> list[int]:
    records = stack.audit.read(f"endpoint#ooo{world}-prod")
    return [int(r.evidence["version"]) for r in records if r.action == AuditAction.DEPLOYMENT_PROMOTED]


def _superseded(stack: RecordedStack, world: int) -> list[str]:
    return [
        r.subject
        for r in stack.audit.read(f"endpoint#ooo{world}-prod")
        if r.action == AuditAction.EVENT_IGNORED
        and str(r.evidence.get("reason", "")).startswith("superseded")
    ]


def test_any_delivery_order_reaches_the_in_order_end_state(
    stack: RecordedStack, profile: Profile, figure: Callable[..., None]
) -> None:
    _deliver_in(stack, EVENTS, _happen(stack, 0))
    expected = _end_state(stack, 0)
    assert expected.champion == 3, expected
    assert _promoted_versions(stack, 0) == [1, 3]
    worlds: list[tuple[tuple[str, ...], EndState, list[int], int]] = []

    @examples(profile.scale(full=WORLDS - 1, quick=2))
    @given(order=st.permutations(EVENTS))
    def one_order(order: list[str]) -> None:
        world = len(worlds) + 1
        assert world < WORLDS
        _deliver_in(stack, tuple(order), _happen(stack, world))
        state = _end_state(stack, world)
        stale = len(_superseded(stack, world))
        worlds.append((tuple(order), state, _promoted_versions(stack, world), stale))

    one_order()

    differing = [(order, state) for order, state, _, _ in worlds if state != expected]
    regressions = [(order, promoted) for order, _, promoted, _ in worlds if promoted != sorted(set(promoted))]
    late_v1 = [w for w in worlds if w[0].index("approve v1") > w[0].index("approve v3")]
    unaudited = [(order, stale) for order, _, _, stale in late_v1 if stale != 1]
    figure("orders delivered (hypothesis permutations)", len(worlds))
    figure("end state differs from in-order", len(differing), target="0", ok=not differing)
    figure("older version replaced a newer champion", len(regressions), target="0", ok=not regressions)
    figure(
        "v1 approved after v3: audited ignored (superseded)",
        f"{len(late_v1) - len(unaudited)}/{len(late_v1)}",
        target="all",
        ok=not unaudited,
    )
    figure(
        "in-order end state",
        f"champion v{expected.champion}, {'/'.join(expected.statuses)}, incidents {expected.open_incidents}",
    )
    assert not differing, differing[:3]
    assert not regressions, regressions[:3]
    assert not unaudited, unaudited[:3]
