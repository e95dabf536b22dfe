"""`mlcp abort --account` of a SageMaker blue/green update in flight in a member account (ADR 36):
the rollback alarm tripped is the member's own (the operator's credentials there), the request is
audited in the member endpoint's stream, SageMaker rolls back in the member, and the workflow records
the rollback under ``<account>:<endpoint>``; nothing happens in the governance or the other member
account. Virtual time."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.audit import AuditAction, AuditTrail
from mlcp_cli.emulator.accounts import account_session, deploy_member_stack, member_parameters
from mlcp_cli.emulator.runtime import LOCAL_ACCOUNT_ID, LocalControlPlane

from .conftest import ROOT, TEMPLATE

STAGING, PROD = "222222222222", "333333333333"
ENDPOINT, ALARM = "mlcp-promo", "mlcp-promo-5xx"


def _policy(directory: Path) -> Path:
    """scenarios/policies/promotion.yaml with staging under a canary tier watching ``ALARM``."""
    document = yaml.safe_load((ROOT / "scenarios" / "policies" / "promotion.yaml").read_text())
    document["tiers"]["staged"] = {
        **document["tiers"]["low"],
        "deployment": {"strategy": "canary", "canary_percent": 10, "wait_interval_seconds": 1800,
                       "alarms": [ALARM]},
    }  # fmt: skip
    [promo] = [g for g in document["groups"] if g["match"] == "promo-*"]
    promo["promotion"][0]["tier"] = "staged"
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def cp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalControlPlane]:
    from mlcp_cli.commands.policy import DeliveryTarget, publish_to_appconfig

    parameters = {"MemberAccountIds": f"{STAGING},{PROD}", "MemberExternalId": "mlcp-local-governance-0001"}
    with LocalControlPlane(TEMPLATE, parameters=parameters) as control:
        for account in (STAGING, PROD):
            deploy_member_stack(control, account, member_parameters(control, "mlcp-local-governance-0001"))
        policy = _policy(tmp_path_factory.mktemp("policy"))
        publish_to_appconfig(
            control.client("appconfig"), DeliveryTarget.from_outputs(control.stack.outputs), policy
        )
        yield control


def _staging_cloudwatch(cp: LocalControlPlane) -> Any:
    return account_session(STAGING, cp.region).client("cloudwatch")


def _register(cp: LocalControlPlane, group: str) -> str:
    from mlcp_cli.seeding import PackageSpec, register_package

    arn = register_package(
        cp.client("s3", principal="ml-engineer"),
        cp.client("sagemaker", principal="ml-engineer"),
        PackageSpec(group=group),
    )
    cp.pump()
    return arn


def test_abort_trips_the_members_rollback_alarm_and_the_workflow_records_the_rollback_there(
    cp: LocalControlPlane, cli: Any
) -> None:
    from moto.sagemaker.models import sagemaker_backends

    _staging_cloudwatch(cp).put_metric_alarm(
        AlarmName=ALARM, MetricName="Invocation5XXErrors", Namespace="AWS/SageMaker", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    stream = f"endpoint#{STAGING}:{ENDPOINT}"
    group = f"promo-{uuid.uuid4().hex[:6]}"
    first = _register(cp, group)
    assert cp.run_until(lambda: any(r.subject == first and r.action == AuditAction.DEPLOYMENT_PROMOTED
                                    for r in trail.read(stream)), limit=4 * 3600)  # fmt: skip
    second = _register(cp, group)
    staging = sagemaker_backends[STAGING][cp.region]
    assert cp.run_until(lambda: staging.endpoints[ENDPOINT].endpoint_status == "Updating", limit=3600)

    code, out, err = cli("status", ENDPOINT, "--local", "--account", STAGING, "--json")
    assert code == 0, err
    status = json.loads(out)
    assert (status["account"], status["candidate"]["version"], status["alarms"]) == (
        STAGING,
        2,
        {ALARM: "OK"},
    )
    assert status["lease_holder"] == status["execution"]

    code, out, err = cli("abort", ENDPOINT, "--local", "--account", STAGING, "--reason", "staging 5xx")
    assert code == 0, err
    assert f"alarm {ALARM} tripped; SageMaker is rolling back" in out
    assert staging.endpoints[ENDPOINT].endpoint_status == "RollingBack"
    alarm = _staging_cloudwatch(cp).describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"  # back to its state; its metric decides again
    assert cp.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"] == []  # home: none

    cp.advance_time(1800)
    assert cp.run_until(lambda: any(r.subject == second and r.action == AuditAction.DEPLOYMENT_ROLLED_BACK
                                    for r in trail.read(stream)), limit=3600)  # fmt: skip
    [requested] = [r for r in trail.read(stream) if r.action == AuditAction.DEPLOYMENT_ABORT_REQUESTED]
    assert (requested.subject, requested.evidence["account"], requested.evidence["reason"]) == (
        second,
        STAGING,
        "staging 5xx",
    )
    assert staging.endpoints[ENDPOINT].endpoint_status == "InService"
    assert trail.read(f"endpoint#{ENDPOINT}") == []
    assert ENDPOINT not in sagemaker_backends[LOCAL_ACCOUNT_ID][cp.region].endpoints
    assert ENDPOINT not in sagemaker_backends[PROD][cp.region].endpoints
    code, out, err = cli("status", ENDPOINT, "--local", "--account", STAGING, "--json")
    assert (json.loads(out)["champion"]["version"], json.loads(out)["lease_holder"]) == (1, None)
