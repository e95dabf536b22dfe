"""The operator CLI per account (issue 20 item 3, ADR 36) on three emulated accounts: the control plane
in the governance account, member stacks in staging and prod (member.yaml), a package group promoted
staging -> prod (scenarios/policies/promotion.yaml). ``--account`` reads and acts on the member's
endpoint (its ``<account>:<endpoint>`` lease, stream and incidents), refuses an account the control
plane does not govern, and lineage/evidence follow the package from staging to prod. Virtual time."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction
from mlcp_cli.commands.promote_stage import promotion_input
from mlcp_cli.emulator.accounts import deploy_member_stack, member_parameters, put_service_events
from mlcp_cli.emulator.runtime import LOCAL_ACCOUNT_ID, LocalControlPlane

from .conftest import ROOT, TEMPLATE

POLICY = ROOT / "scenarios" / "policies" / "promotion.yaml"
STAGING, PROD, UNLISTED = "222222222222", "333333333333", "444444444444"
ENDPOINT = "mlcp-promo"
EXTERNAL_ID = "mlcp-local-governance-0001"


@dataclass
class World:
    cp: LocalControlPlane
    group: str
    v1: str
    v2: str

    def audit(self) -> AuditTrail:
        return AuditTrail(self.cp.stack.physical_id("AuditTable"), client=self.cp.client("dynamodb"))

    def sagemaker(self, account: str) -> Any:
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[account][self.cp.region]


def _register_and_stage(cp: LocalControlPlane, group: str) -> str:
    """Register a version of ``group``; the low tier deploys it to staging, promoted."""
    from mlcp_cli.seeding import PackageSpec, register_package

    arn = register_package(
        cp.client("s3", principal="ml-engineer"),
        cp.client("sagemaker", principal="ml-engineer"),
        PackageSpec(group=group),
    )
    cp.pump()
    trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    assert cp.run_until(
        lambda: any(
            r.action == AuditAction.DEPLOYMENT_PROMOTED and r.subject == arn
            for r in trail.read(f"endpoint#{STAGING}:{ENDPOINT}")
        ),
        limit=4 * 3600,
    )
    return arn


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    from mlcp_cli.commands.policy import DeliveryTarget, publish_to_appconfig

    parameters = {"MemberAccountIds": f"{STAGING},{PROD}", "MemberExternalId": EXTERNAL_ID}
    with LocalControlPlane(TEMPLATE, parameters=parameters) as cp:
        for account in (STAGING, PROD, UNLISTED):
            deploy_member_stack(cp, account, member_parameters(cp, EXTERNAL_ID))
        publish_to_appconfig(cp.client("appconfig"), DeliveryTarget.from_outputs(cp.stack.outputs), POLICY)
        group = f"promo-{uuid.uuid4().hex[:6]}"
        v1 = _register_and_stage(cp, group)
        v2 = _register_and_stage(cp, group)
        yield World(cp, group, v1, v2)


def _json(cli: Any, *args: str) -> Any:
    code, out, err = cli(*args, "--local", "--json")
    assert code == 0, err
    return json.loads(out)


def _lines(cli: Any, *args: str) -> list[Any]:
    code, out, err = cli(*args, "--local", "--json")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_status_reads_the_members_endpoint_and_not_the_home_one(world: World, cli: Any) -> None:
    status = _json(cli, "status", ENDPOINT, "--account", STAGING)
    assert status["account"] == STAGING
    assert (status["champion"]["group"], status["champion"]["version"]) == (world.group, 2)
    assert status["lease_holder"] is None  # <account>:<endpoint>'s lease, released

    code, out, _ = cli("status", ENDPOINT, "--local", "--account", STAGING)
    assert code == 0
    assert out.splitlines()[0].startswith(f"{ENDPOINT} (account {STAGING})  InService")
    # The governance account has no such endpoint: without --account, nothing of staging's shows.
    code, _, err = cli("status", ENDPOINT, "--local")
    assert code == 1
    assert f"endpoint {ENDPOINT!r}: no such endpoint and no deployment of it in flight" in err
    code, out, _ = cli("status", "--local", "--account", PROD)
    assert (code, out) == (0, "no endpoints\n")  # nothing promoted to prod yet


@pytest.mark.parametrize(
    ("account", "message"),
    [
        (UNLISTED, f"--account {UNLISTED}: not governed by this control plane (its own account "
                   f"{LOCAL_ACCOUNT_ID}; members: {STAGING}, {PROD})"),
        ("staging", "--account 'staging': not an AWS account id (12 digits)"),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    "command",
    [
        ("status", ENDPOINT),
        ("abort", ENDPOINT, "--reason", "r"),
        ("promote", ENDPOINT, "--reason", "r"),
        ("rollback", ENDPOINT, "--reason", "r"),
        ("lineage", ENDPOINT),
        ("incidents", "list"),
    ],
    ids=lambda c: c[0],
)
def test_an_account_the_control_plane_does_not_govern_is_refused(
    world: World, cli: Any, command: tuple[str, ...], account: str, message: str
) -> None:
    before = {name: len(world.audit().read(name)) for name in world.audit().streams()}
    code, out, err = cli(*command, "--local", "--account", account)
    assert (code, out) == (2, "")
    assert message in err
    assert {name: len(world.audit().read(name)) for name in world.audit().streams()} == before


def test_abort_and_promote_of_a_member_endpoint_with_nothing_in_flight_are_refused(
    world: World, cli: Any
) -> None:
    for verb in ("abort", "promote"):
        code, _, err = cli(verb, ENDPOINT, "--local", "--account", STAGING, "--reason", "test")
        assert code == 1
        assert f"{ENDPOINT}: no deployment in flight to {verb} (it serves {world.group} v2)" in err
    [refused] = [
        r
        for r in world.audit().read(f"endpoint#{STAGING}:{ENDPOINT}")
        if r.action == AuditAction.DEPLOYMENT_PROMOTE_REFUSED
    ]
    assert refused.subject == f"endpoint/{STAGING}:{ENDPOINT}"
    assert refused.evidence["account"] == STAGING


def test_the_steer_bake_function_refuses_a_member_accounts_bake(world: World) -> None:
    cp = world.cp
    request = {
        "action": "promote",
        "account": STAGING,
        "endpoint": ENDPOINT,
        "execution": "arn:aws:states:us-east-1:123456789012:execution:x:y",
        "index": 0,
        "package_arn": world.v2,
        "reason": "member",
        "requested_by": "arn:aws:iam::123456789012:user/operator",
    }
    answer = cp.client("lambda").invoke(
        FunctionName=cp.stack.outputs["SteerBakeFunctionArn"], Payload=json.dumps(request).encode()
    )
    body = json.loads(answer["Payload"].read())
    assert body["outcome"] == "refused"
    assert body["refused"].startswith(
        f"{ENDPOINT} (account {STAGING}): managed bakes run only in the control plane's own account "
        f"{LOCAL_ACCOUNT_ID}"
    )
    # Its refusal is audited in staging's stream, never in a home endpoint's of that name.
    assert world.audit().read(f"endpoint#{ENDPOINT}") == []
    assert any(
        r.action == AuditAction.DEPLOYMENT_PROMOTE_REFUSED and r.evidence.get("reason") == "member"
        for r in world.audit().read(f"endpoint#{STAGING}:{ENDPOINT}")
    )


def test_rollback_puts_the_member_endpoint_back_through_its_own_lease_and_stream(
    world: World, cli: Any
) -> None:
    staging = world.sagemaker(STAGING)
    before = staging.endpoints[ENDPOINT].endpoint_config_name
    code, out, err = cli("rollback", ENDPOINT, "--local", "--account", STAGING, "--reason", "v2 misbehaves")
    assert code == 0, err
    after = staging.endpoints[ENDPOINT].endpoint_config_name
    assert out == f"{ENDPOINT}: {before} -> {after} (version 1)\n"
    assert staging.endpoints[ENDPOINT].endpoint_status == "InService"
    [rolled] = [
        r
        for r in world.audit().read(f"endpoint#{STAGING}:{ENDPOINT}")
        if r.action == AuditAction.DEPLOYMENT_ROLLED_BACK and r.evidence.get("manual")
    ]
    assert rolled.subject == f"endpoint/{STAGING}:{ENDPOINT}"
    assert (rolled.evidence["from_config"], rolled.evidence["to_config"]) == (before, after)
    assert ENDPOINT not in world.sagemaker(LOCAL_ACCOUNT_ID).endpoints
    assert ENDPOINT not in world.sagemaker(PROD).endpoints
    assert _json(cli, "status", ENDPOINT, "--account", STAGING)["champion"]["version"] == 1


def _promote(world: World, arn: str, stage: str) -> str:
    """Start the deployment workflow towards ``stage`` as a promotion does (ADR 27's input)."""
    cp = world.cp
    described = cp.client("sagemaker").describe_model_package(ModelPackageName=arn)
    event = promotion_input(described, stage, now=cp.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    sfn = cp.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=cp.stack.state_machine_arns["DeploymentStateMachine"],
        name=f"promote-{stage}-{uuid.uuid4().hex[:12]}",
        input=json.dumps(event),
    )["executionArn"]
    cp.pump()
    assert cp.run_until(lambda: sfn.describe_execution(executionArn=started)["status"] != "RUNNING")
    return str(sfn.describe_execution(executionArn=started)["status"])


def _failure_event(account: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events/endpoint-state-change/failed.json").read_text())
    arn = f"arn:aws:sagemaker:us-east-1:{account}:endpoint/{ENDPOINT}"
    event["detail"].update(EndpointName=ENDPOINT, EndpointArn=arn)
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Resources": [arn],
        "Detail": event["detail"],
    }


def test_incidents_per_account_then_lineage_and_evidence_follow_the_package_into_prod(
    world: World, cli: Any, tmp_path: Any
) -> None:
    cp = world.cp
    # Staging's endpoint fails: its incident is staging's alone.
    put_service_events(STAGING, cp.region, [_failure_event(STAGING)])
    cp.pump()
    [incident] = _lines(cli, "incidents", "list", "--account", STAGING)
    assert incident["resource"] == f"endpoint/{STAGING}:{ENDPOINT}"
    code, out, _ = cli("incidents", "list", "--local", "--account", LOCAL_ACCOUNT_ID, "--json")
    assert (code, out) == (0, "")
    code, out, _ = cli("incidents", "list", "--local", "--account", PROD)
    assert (code, out) == (0, "no incidents\n")
    assert [i["incident_id"] for i in _lines(cli, "incidents", "list")] == [incident["incident_id"]]
    assert (
        _json(cli, "status", ENDPOINT, "--account", STAGING)["incidents"][0]["id"] == incident["incident_id"]
    )

    # v1 has soaked in staging, but the open incident refuses its promotion; resolved, it goes to prod.
    cp.advance_time(61 * 60)
    assert _promote(world, world.v1, "prod") == "SUCCEEDED"
    assert ENDPOINT not in world.sagemaker(PROD).endpoints
    code, _, err = cli("incidents", "resolve", incident["incident_id"], "--local", "--reason", "fixed")
    assert code == 0, err
    assert _promote(world, world.v1, "prod") == "SUCCEEDED"
    assert world.sagemaker(PROD).endpoints[ENDPOINT].endpoint_status == "InService"

    lineage = _json(cli, "lineage", world.v1)
    deployed = [
        (link["facts"]["account"], link["facts"]["endpoint"], link["facts"]["outcome"])
        for link in lineage["links"]
        if link["kind"] == "deployment"
    ]
    assert deployed == [
        (STAGING, ENDPOINT, "promoted"),
        (STAGING, ENDPOINT, "manual_rollback"),
        (PROD, ENDPOINT, "promoted"),
    ]
    assert all(
        link["facts"]["started_at"] and link["facts"]["finished_at"]
        for link in lineage["links"]
        if link["kind"] == "deployment" and link["facts"]["outcome"] == "promoted"
    )
    promotions = [link for link in lineage["links"] if link["kind"] == "promotion"]
    assert [p["facts"]["outcome"] for p in promotions] == ["refused", "allowed"]
    assert "1 open incident(s)" in promotions[0]["facts"]["reason"]
    assert (promotions[1]["facts"]["stage"], promotions[1]["facts"]["tier"]) == ("prod", "medium")
    assert all(link["status"] == "verified" for link in promotions)
    configs = {link["facts"]["account"]: link["facts"]["serving_now"] for link in lineage["links"]
               if link["kind"] == "endpoint_config"}  # fmt: skip
    assert configs == {PROD: True, STAGING: True}  # staging serves v1 again since the rollback

    # lineage of prod's endpoint resolves to v1 through --account; the tree names both accounts.
    code, tree, err = cli("lineage", ENDPOINT, "--local", "--account", PROD)
    assert code == 0, err
    assert f"(serving {PROD}:{ENDPOINT})" in tree.splitlines()[0]
    assert f"deployment: {ENDPOINT} (account {STAGING}): promoted" in tree
    assert f"deployment: {ENDPOINT} (account {PROD}): promoted" in tree
    assert "promotion: to prod: refused: " in tree
    assert all(len(line) <= 120 for line in tree.splitlines())

    code, markdown, err = cli("evidence", world.v1, "--local")
    assert code == 0, err
    assert "## Promotions between accounts" in markdown
    assert all(len(line) <= 120 for line in markdown.splitlines())
    for account in (STAGING, PROD):
        assert (
            f"| {ENDPOINT} ({account}) | {ENDPOINT}-{world.group}-v1 | - | canary | True | verified |"
            in markdown
        )
    code, wide, err = cli("evidence", world.v1, "--local", "--wide")
    assert code == 0, err
    assert f"| {ENDPOINT} ({PROD}) | promoted |" in wide
    assert f"| {ENDPOINT} ({STAGING}) | manual_rollback |" in wide
    assert "| prod | refused | - | - | staging (222222222222/mlcp-promo) has 1 open incident(s)" in wide


class _ListEndpoints:
    """A SageMaker client's ``list_endpoints`` paginator over fixed names."""

    def __init__(self, *names: str) -> None:
        self.names = names

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_endpoints"
        return self

    def paginate(self) -> list[dict[str, Any]]:
        return [{"Endpoints": [{"EndpointName": name} for name in self.names]}]


def test_a_deployment_in_flight_belongs_to_its_verdicts_account_only() -> None:
    import datetime as dt

    from mlcp_cli.rollout import Execution, Readers, endpoint_names

    def execution(account: str | None, endpoint: str) -> Execution:
        return Execution(f"arn:{account}:{endpoint}", endpoint, "Bake", None, None, {}, {}, account)

    staging = execution(STAGING, ENDPOINT)
    home = execution(LOCAL_ACCOUNT_ID, "churn")
    legacy = execution(None, "fraud")  # an execution started before verdicts named the account
    flight = [staging, home, legacy]

    def readers(account: str) -> Readers:
        return Readers(
            sagemaker=_ListEndpoints("scoring"),
            stepfunctions=None,
            cloudwatch=None,
            state=None,  # type: ignore[arg-type]
            incidents=None,  # type: ignore[arg-type]
            state_machine_arn=None,
            now=lambda: dt.datetime.now(dt.UTC),
            account=account,
            home_account=LOCAL_ACCOUNT_ID,
        )

    at_home, in_staging = readers(LOCAL_ACCOUNT_ID), readers(STAGING)
    assert [e for e in flight if at_home.owns(e)] == [home, legacy]
    assert [e for e in flight if in_staging.owns(e)] == [staging]
    assert endpoint_names(at_home, flight) == ["churn", "fraud", "scoring"]
    assert endpoint_names(in_staging, flight) == [ENDPOINT, "scoring"]
    assert (in_staging.key(ENDPOINT), at_home.key(ENDPOINT)) == (f"{STAGING}:{ENDPOINT}", ENDPOINT)
