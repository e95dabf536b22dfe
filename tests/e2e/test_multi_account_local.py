"""Three accounts in one emulator (issue 20, ADR 26): the control plane in the governance account, the
member stack (member.yaml) in staging and prod, and one account that is not listed. Forwarding is
real: an event put on a member's default bus reaches the control plane only through the governance
bus's policy, and keeps its envelope."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction
from mlcp_cli.commands.promote_stage import promotion_input
from mlcp_cli.emulator.accounts import deploy_member_stack, member_parameters, put_service_events
from mlcp_cli.emulator.runtime import LOCAL_ACCOUNT_ID, LocalControlPlane
from mlcp_cli.emulator.stack import LocalStack

from .conftest import ROOT, TEMPLATE

#: The scenarios' policy with a promotion path (scenarios/policies/promotion.yaml): promo-* goes to
#: staging's mlcp-promo (low tier), then prod's mlcp-promo (medium tier) after a 60-minute soak.
POLICY = ROOT / "scenarios" / "policies" / "promotion.yaml"

STAGING, PROD, UNLISTED = "222222222222", "333333333333", "444444444444"
EXTERNAL_ID = "mlcp-local-governance-0001"


@pytest.fixture(scope="module")
def accounts() -> Iterator[tuple[LocalControlPlane, dict[str, LocalStack]]]:
    from mlcp_cli.commands.policy import DeliveryTarget, publish_to_appconfig

    parameters = {"MemberAccountIds": f"{STAGING},{PROD}", "MemberExternalId": EXTERNAL_ID}
    with LocalControlPlane(TEMPLATE, parameters=parameters) as cp:
        members = {
            account: deploy_member_stack(cp, account, member_parameters(cp, EXTERNAL_ID))
            for account in (STAGING, PROD, UNLISTED)
        }
        target = DeliveryTarget.from_outputs(cp.stack.outputs)
        publish_to_appconfig(cp.client("appconfig"), target, POLICY)
        yield cp, members


def _endpoint_event(account: str, endpoint: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events/endpoint-state-change/failed.json").read_text())
    arn = f"arn:aws:sagemaker:us-east-1:{account}:endpoint/{endpoint}"
    event["detail"].update(EndpointName=endpoint, EndpointArn=arn)
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Resources": [arn],
        "Detail": event["detail"],
    }


def _audit(cp: LocalControlPlane) -> AuditTrail:
    return AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))


def _dead_letters(cp: LocalControlPlane, member: LocalStack, account: str) -> list[dict[str, Any]]:
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account][cp.region].get_queue(member.queue_urls["ForwardingDLQ"].rsplit("/", 1)[-1])
    return [json.loads(m.body) for m in queue._messages]


def test_a_members_event_reaches_the_control_plane_with_its_own_account(
    accounts: tuple[LocalControlPlane, dict[str, LocalStack]],
) -> None:
    cp, _ = accounts
    endpoint = f"churn-{uuid.uuid4().hex[:6]}"
    put_service_events(STAGING, cp.region, [_endpoint_event(STAGING, endpoint)])
    cp.pump()

    audit = _audit(cp)
    records = audit.read(f"endpoint#{STAGING}:{endpoint}")
    [received] = [r for r in records if r.action == AuditAction.EVENT_RECEIVED]
    # The failure opens staging's incident: its own resource and stream, not the home endpoint's.
    [opened] = [r for r in records if r.action == AuditAction.INCIDENT_OPENED]
    assert opened.subject == f"endpoint/{STAGING}:{endpoint}"
    assert received.evidence["resources"] == [f"arn:aws:sagemaker:us-east-1:{STAGING}:endpoint/{endpoint}"]
    assert audit.read(f"endpoint#{endpoint}") == []  # not the governance account's stream


def test_an_event_forged_from_an_unlisted_account_changes_nothing(
    accounts: tuple[LocalControlPlane, dict[str, LocalStack]],
) -> None:
    cp, members = accounts
    endpoint = f"churn-{uuid.uuid4().hex[:6]}"
    log_start = len(cp.delivery_log)
    put_service_events(UNLISTED, cp.region, [_endpoint_event(UNLISTED, endpoint)])
    cp.pump()

    audit = _audit(cp)
    assert audit.read(f"endpoint#{UNLISTED}:{endpoint}") == []
    assert audit.read(f"endpoint#{endpoint}") == []
    [refused] = [
        r for r in cp.delivery_log[log_start:] if r.target.endswith(":event-bus/mlcp-local-governance")
    ]
    assert refused.outcome == "dead-lettered"
    assert f"does not admit arn:aws:sts::{UNLISTED}:assumed-role/" in refused.detail
    parked = [
        e for e in _dead_letters(cp, members[UNLISTED], UNLISTED) if e["detail"]["EndpointName"] == endpoint
    ]
    assert [e["account"] for e in parked] == [UNLISTED]
    # No function ran for it in the governance account.
    assert all(r.target.endswith(":event-bus/mlcp-local-governance") for r in cp.delivery_log[log_start:])


def _rejections(cp: LocalControlPlane, endpoint: str) -> list[dict[str, Any]]:
    """Parked rejections of events about ``endpoint``, each checked to be in the audit trail."""
    parked = cp.client("sqs").receive_message(
        QueueUrl=cp.stack.queue_urls["RejectedEventsQueue"], MaxNumberOfMessages=10
    )
    mine = [
        body
        for body in (json.loads(m["Body"]) for m in parked.get("Messages", []))
        if body["event"]["detail"].get("EndpointName") == endpoint
    ]
    digests = {p["digest"] for p in mine}
    audited = [r for r in _audit(cp).read("control-plane") if r.evidence.get("digest") in digests]
    assert {r.action for r in audited} == {AuditAction.EVENT_REJECTED}
    assert {r.evidence["digest"] for r in audited} == digests  # one record per event (its digest)
    return mine


@pytest.mark.parametrize(
    ("envelope", "named"), [(STAGING, PROD), (LOCAL_ACCOUNT_ID, "210987654321")], ids=["member", "home"]
)
def test_an_event_whose_detail_names_another_account_acts_on_neither(
    accounts: tuple[LocalControlPlane, dict[str, LocalStack]], envelope: str, named: str
) -> None:
    cp, _ = accounts
    endpoint = f"churn-{uuid.uuid4().hex[:6]}"
    entry = _endpoint_event(envelope, endpoint)
    entry["Detail"]["EndpointArn"] = f"arn:aws:sagemaker:us-east-1:{named}:endpoint/{endpoint}"
    put_service_events(envelope, cp.region, [entry])
    cp.pump()

    audit = _audit(cp)
    for stream in (f"endpoint#{envelope}:{endpoint}", f"endpoint#{named}:{endpoint}", f"endpoint#{endpoint}"):
        assert audit.read(stream) == []
    rejections = _rejections(cp, endpoint)
    # Both consumers of Endpoint State Change (intake and the endpoint-events waker) refuse it.
    assert sorted(p["rejected_by"] for p in rejections) == ["endpoint-events", "event-intake"]
    assert {p["reason"] for p in rejections} == {
        f"event from account {envelope} names resources in account {named}: "
        "the control plane acts only on the envelope's account"
    }


def test_an_approved_package_of_the_governance_registry_is_deployed_into_staging_as_its_deployment_role(
    accounts: tuple[LocalControlPlane, dict[str, LocalStack]],
) -> None:
    from moto.sagemaker.models import sagemaker_backends

    from mlcp_cli.seeding import PackageSpec, register_package

    cp, _ = accounts
    group = f"promo-{uuid.uuid4().hex[:6]}"
    arn = register_package(
        cp.client("s3", principal="ml-engineer"),
        cp.client("sagemaker", principal="ml-engineer"),
        PackageSpec(group=group),
    )
    cp.pump()  # low tier: auto-approved, then the deployment workflow
    assert cp.run_until(
        lambda: any(
            r.action == AuditAction.DEPLOYMENT_PROMOTED
            for r in _audit(cp).read(f"endpoint#{STAGING}:mlcp-promo")
        ),
        limit=4 * 3600,
    )

    staging = sagemaker_backends[STAGING][cp.region]
    endpoint = staging.endpoints["mlcp-promo"]
    assert endpoint.endpoint_status == "InService"
    [model] = [m for m in staging._models.values() if group in m.model_name]
    assert model.model_name.startswith("mlcp-promo-")
    assert model.primary_container["ModelPackageName"] == arn  # the governance registry's package
    assert model.execution_role_arn == f"arn:aws:iam::{STAGING}:role/mlcp-member-model"
    # Shared, not copied (ADR 27): the group's resource policy lets staging's deployment role read
    # this group's packages, nothing else (fill af refuses CreateModel otherwise).
    policy = cp.client("sagemaker").get_model_package_group_policy(ModelPackageGroupName=group)
    [shared] = json.loads(policy["ResourcePolicy"])["Statement"]
    assert shared["Principal"] == {"AWS": f"arn:aws:iam::{STAGING}:role/mlcp-member-deployment"}
    assert (shared["Action"], shared["Resource"]) == (
        "sagemaker:DescribeModelPackage",
        arn.rsplit("/", 1)[0] + "/*",
    )
    # Nothing in the governance account's SageMaker nor in prod.
    assert "mlcp-promo" not in sagemaker_backends[LOCAL_ACCOUNT_ID][cp.region].endpoints
    assert "mlcp-promo" not in sagemaker_backends[PROD][cp.region].endpoints
    records = _audit(cp).read(f"endpoint#{STAGING}:mlcp-promo")
    assert [r.action for r in records if r.subject == arn] == [
        AuditAction.DEPLOYMENT_STARTED,
        AuditAction.DEPLOYMENT_PROMOTED,
    ]
    assert _audit(cp).read("endpoint#mlcp-promo") == []
    # Staging's endpoint event came through the governance bus and resumed the wait (no timeout).
    [execution] = [e for e in cp.executions() if e["status"] == "SUCCEEDED" and _deployed(cp, e, arn)]
    history = cp.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])
    assert not [e for e in history["events"] if e["type"] == "TaskTimedOut"]
    assert any(r.target.endswith(cp.stack.function_names["EndpointEventsFunction"]) for r in cp.delivery_log)


def _deployed(cp: LocalControlPlane, execution: dict[str, Any], arn: str) -> bool:
    described = cp.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    return arn in described.get("output", "")


def _promote(cp: LocalControlPlane, arn: str, stage: str) -> dict[str, Any]:
    """Start the deployment workflow for ``arn`` towards ``stage`` as a promotion does: the package's
    state-change event (as the registry would send it) and ``{"promotion": {"stage": ...}}``."""
    described = cp.client("sagemaker").describe_model_package(ModelPackageName=arn)
    event = promotion_input(described, stage, now=cp.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    sfn = cp.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=cp.stack.state_machine_arns["DeploymentStateMachine"],
        name=f"promote-{stage}-{uuid.uuid4().hex[:12]}",
        input=json.dumps(event),
    )
    cp.pump()
    assert cp.run_until(
        lambda: sfn.describe_execution(executionArn=started["executionArn"])["status"] != "RUNNING"
    )
    return dict(sfn.describe_execution(executionArn=started["executionArn"]))


def _refusals(cp: LocalControlPlane, group: str, arn: str) -> list[str]:
    return [
        reason
        for r in _audit(cp).read(f"group#{group}")
        if r.action == AuditAction.PROMOTION_REFUSED and r.subject == arn
        for reason in r.evidence["reasons"]
    ]


def test_a_package_is_promoted_from_staging_to_prod_after_its_soak_and_not_while_staging_has_an_incident(
    accounts: tuple[LocalControlPlane, dict[str, LocalStack]],
) -> None:
    from moto.sagemaker.models import sagemaker_backends

    from mlcp_cli.seeding import PackageSpec, register_package

    cp, _ = accounts
    group = f"promo-{uuid.uuid4().hex[:6]}"

    def staged() -> str:
        arn = register_package(
            cp.client("s3", principal="ml-engineer"),
            cp.client("sagemaker", principal="ml-engineer"),
            PackageSpec(group=group),
        )
        cp.pump()
        assert cp.run_until(
            lambda: any(
                r.action == AuditAction.DEPLOYMENT_PROMOTED and r.subject == arn
                for r in _audit(cp).read(f"endpoint#{STAGING}:mlcp-promo")
            ),
            limit=4 * 3600,
        )
        return arn

    first = staged()
    refused = _promote(cp, first, "prod")  # before staging's 60-minute soak
    assert refused["status"] == "SUCCEEDED"
    assert any("has soaked 0 of 60 minutes in staging" in r for r in _refusals(cp, group, first))
    assert "mlcp-promo" not in sagemaker_backends[PROD][cp.region].endpoints

    cp.advance_time(61 * 60)
    promoted = _promote(cp, first, "prod")
    assert promoted["status"] == "SUCCEEDED"
    prod = _audit(cp).read(f"endpoint#{PROD}:mlcp-promo")
    assert [r.action for r in prod if r.subject == first] == [
        AuditAction.DEPLOYMENT_STARTED,
        AuditAction.DEPLOYMENT_PROMOTED,
    ]
    assert sagemaker_backends[PROD][cp.region].endpoints["mlcp-promo"].endpoint_status == "InService"

    # A second version soaks in staging, but staging's endpoint fails meanwhile: an open incident.
    second = staged()
    event = _endpoint_event(STAGING, "mlcp-promo")
    put_service_events(STAGING, cp.region, [event])
    cp.pump()
    cp.advance_time(61 * 60)
    blocked = _promote(cp, second, "prod")
    assert blocked["status"] == "SUCCEEDED"
    assert any(
        "staging (222222222222/mlcp-promo) has 1 open incident(s)" in r for r in _refusals(cp, group, second)
    )
    assert [r.subject for r in _audit(cp).read(f"endpoint#{PROD}:mlcp-promo") if r.subject == second] == []
