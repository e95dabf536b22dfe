"""Retraining in the account that owns the pipeline (issue 20 item 3, ADR 37), three accounts in one
emulator: a member endpoint's alarm starts the member's own pipeline through the member's deployment
role (cross-account AssumeRole and the member role's grants enforced), its guards and audit stream
are keyed ``<account>:<pipeline>``, the pipeline's status events forwarded from the member close that
account's run; a member stage without a pipeline is refused, never the governance account's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction
from mlcp_cli.emulator.accounts import (
    account_session,
    deploy_member_stack,
    member_parameters,
    put_service_events,
)
from mlcp_cli.emulator.runtime import LocalControlPlane

from .conftest import ROOT, TEMPLATE

STAGING, PROD = "222222222222", "333333333333"
EXTERNAL_ID = "mlcp-local-governance-0001"
ENDPOINT = "mlcp-promo"
MEMBER_PIPELINE = "mlcp-churn-training"
ALARM = "churn-prod-model-drift"  # the medium tier's on_alarms (scenarios/policies/promotion.yaml)


def _policy(tmp: Path) -> Path:
    """promotion.yaml with both stages under the medium tier (it retrains on ``ALARM``): prod names
    its own pipeline, staging none."""
    policy = yaml.safe_load((ROOT / "scenarios" / "policies" / "promotion.yaml").read_text())
    [group] = [g for g in policy["groups"] if g["match"] == "promo-*"]
    group["promotion"] = [
        {"stage": "staging", "account": STAGING, "endpoint": ENDPOINT, "tier": "medium", "soak_minutes": 60},
        {
            "stage": "prod",
            "account": PROD,
            "endpoint": ENDPOINT,
            "tier": "medium",
            "pipeline": MEMBER_PIPELINE,
        },
    ]
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


@pytest.fixture(scope="module")
def cp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalControlPlane]:
    from mlcp_cli.commands.policy import DeliveryTarget, publish_to_appconfig

    parameters = {"MemberAccountIds": f"{STAGING},{PROD}", "MemberExternalId": EXTERNAL_ID}
    with LocalControlPlane(TEMPLATE, parameters=parameters) as control_plane:
        for account in (STAGING, PROD):
            deploy_member_stack(control_plane, account, member_parameters(control_plane, EXTERNAL_ID))
        target = DeliveryTarget.from_outputs(control_plane.stack.outputs)
        publish_to_appconfig(control_plane.client("appconfig"), target, _policy(tmp_path_factory.mktemp("p")))
        # The member owns its pipeline (its administrator created it); the governance account has none.
        account_session(PROD, control_plane.region).client("sagemaker").create_pipeline(
            PipelineName=MEMBER_PIPELINE,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []}),
            RoleArn=f"arn:aws:iam::{PROD}:role/mlcp-pipeline",
        )
        yield control_plane


def _alarm(account: str, endpoint: str, alarm: str = ALARM) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events/alarm-state-change/ok-to-alarm.json").read_text())
    detail = event["detail"]
    detail["alarmName"] = alarm
    for metric in detail["configuration"]["metrics"]:
        if "metricStat" in metric:
            metric["metricStat"]["metric"]["dimensions"]["EndpointName"] = endpoint
    detail["state"]["reason"] = f"drift {uuid.uuid4().hex[:6]}"
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Resources": [f"arn:aws:cloudwatch:us-east-1:{account}:alarm:{alarm}"],
        "Detail": detail,
    }


def _audit(cp: LocalControlPlane) -> AuditTrail:
    return AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))


def _executions(account: str, region: str) -> list[dict[str, Any]]:
    sagemaker = account_session(account, region).client("sagemaker")
    return list(
        sagemaker.list_pipeline_executions(PipelineName=MEMBER_PIPELINE)["PipelineExecutionSummaries"]
    )


def test_a_members_alarm_retrains_with_the_members_pipeline_through_its_role(cp: LocalControlPlane) -> None:
    put_service_events(PROD, cp.region, [_alarm(PROD, ENDPOINT)])
    cp.pump()

    audit = _audit(cp)
    stream = f"pipeline#{PROD}:{MEMBER_PIPELINE}"
    records = audit.read(stream)
    [started] = [r for r in records if r.action == AuditAction.RETRAINING_STARTED]
    assert started.subject.startswith(f"arn:aws:sagemaker:us-east-1:{PROD}:pipeline/{MEMBER_PIPELINE}/")
    assert started.evidence["trigger"] == "alarm"
    # The run's status events came back through prod's forwarding rule, attributed to prod.
    [finished] = [r for r in records if r.action == AuditAction.RETRAINING_SUCCEEDED]
    assert finished.subject == started.subject
    assert finished.evidence["account"] == PROD
    [execution] = _executions(PROD, cp.region)
    assert execution["PipelineExecutionArn"] == started.subject
    # Nothing of the governance account's: neither its tier's pipeline stream nor a run there.
    assert audit.read("pipeline#churn-training") == []
    assert audit.read(f"pipeline#{MEMBER_PIPELINE}") == []

    # Prod's cooldown (1 h, medium tier) is its own: a second alarm there is suppressed...
    put_service_events(PROD, cp.region, [_alarm(PROD, ENDPOINT)])
    cp.pump()
    suppressed = [r for r in audit.read(stream) if r.action == AuditAction.RETRAINING_SUPPRESSED]
    assert len(suppressed) == 1
    assert "cooldown" in suppressed[0].evidence["reason"]
    assert len(_executions(PROD, cp.region)) == 1


def test_a_member_stage_without_a_pipeline_refuses_retraining(cp: LocalControlPlane) -> None:
    put_service_events(STAGING, cp.region, [_alarm(STAGING, ENDPOINT)])
    cp.pump()

    audit = _audit(cp)
    [refused] = audit.read(f"pipeline#{STAGING}:churn-training")
    assert refused.action == AuditAction.RETRAINING_SUPPRESSED
    assert refused.evidence["refused"] is True
    assert refused.evidence["account"] == STAGING
    assert "no retraining pipeline" in refused.evidence["reason"]
    assert audit.read("pipeline#churn-training") == []
    # The alarm's incident is still staging's own.
    opened = [
        r for r in audit.read(f"endpoint#{STAGING}:{ENDPOINT}") if r.action == AuditAction.INCIDENT_OPENED
    ]
    assert len(opened) == 1


def _serve(cp: LocalControlPlane, account: str, name: str, configs: list[str]) -> None:
    """As the account's administrator: an endpoint ``name`` on the first config, then updated to each
    next one (a simulated UpdateEndpoint deployment each)."""
    sagemaker = account_session(account, cp.region).client("sagemaker")
    for config in configs:
        sagemaker.create_model(
            ModelName=config,
            ExecutionRoleArn=f"arn:aws:iam::{account}:role/mlcp-member-model",
            PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb:1"},
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": config,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=configs[0])
    for config in configs[1:]:
        assert cp.run_until(
            lambda: sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
        )
        sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=config)
    assert cp.wait_endpoint_deployments()


def test_an_endpoint_expectations_updates_count_that_accounts_endpoint_only(cp: LocalControlPlane) -> None:
    import io

    from mlcp_cli.scenario import ScenarioRunner, parse_scenario

    name = f"mlcp-twin-{uuid.uuid4().hex[:6]}"
    _serve(cp, STAGING, name, [f"{name}-a", f"{name}-b"])  # staging's endpoint is updated once
    _serve(cp, PROD, name, [f"{name}-a"])  # prod's, of the same name, never

    def play(account: str, updates: dict[str, int]) -> list[str]:
        expect = {"endpoint": {"name": name, "account": account, "updates": updates}}
        runner = ScenarioRunner(cp, root=ROOT, timeline=io.StringIO())
        return runner.run(parse_scenario({"name": "updates", "steps": [{"expect": expect}]}, "test")).failures

    assert play(STAGING, {"Completed": 1}) == []
    assert play(PROD, {}) == []
    assert play(PROD, {"Completed": 1}) == [
        f"endpoint {name} in account {PROD}: updates {{}}, expected {{'Completed': 1}}"
    ]
    assert play(STAGING, {}) == [
        f"endpoint {name} in account {STAGING}: updates {{'Completed': 1}}, expected {{}}"
    ]
