"""An approval is re-checked at the moment it takes effect (issue 14): the shipped scenario's two
cases end with nothing deployed and the reason in the audit trail, on the real template and ASL."""

from __future__ import annotations

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.scenario import load_scenario

from .conftest import ROOT, TEMPLATE, play_shipped

SCENARIO = ROOT / "scenarios" / "approval-recheck.yaml"


def test_a_rejection_or_a_freeze_during_the_wait_deploys_nothing_and_says_why() -> None:
    scenario = load_scenario(SCENARIO)
    with LocalControlPlane(TEMPLATE, parameters=scenario.parameters, start=scenario.start) as cp:
        play_shipped(cp, SCENARIO)
        records = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb")).read(
            "endpoint#fraud-prod"
        )
        sagemaker = cp.client("sagemaker")
        models = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
        described = {
            version: sagemaker.describe_model_package(
                ModelPackageName=f"arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detector/{version}"
            )
            for version in (1, 2)
        }
        paths = [
            [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
            for history in (
                cp.client("stepfunctions").get_execution_history(executionArn=e["executionArn"])["events"]
                for e in cp.executions()
            )
        ]

    refused = [r for r in records if r.action == AuditAction.DEPLOYMENT_REFUSED]
    started = [r.subject.rsplit("/", 1)[1] for r in records if r.action == AuditAction.DEPLOYMENT_STARTED]
    assert started == ["3"]  # only the control case started a deployment
    assert not {"fraud-detector-v1", "fraud-detector-v2"} & models

    # Rejected in the registry during the wait: the reviewer's rejection stands, untouched.
    registry = refused[0].evidence
    assert registry["rejects_package"] is False
    assert registry["reasons"][0].startswith(
        "the registry says Rejected now (by arn:aws:iam::123456789012:user/second-reviewer"
    )
    assert registry["granted_by"] == "arn:aws:iam::123456789012:user/risk-officer"
    assert described[1]["ApprovalDescription"] == "label leak in the training data"

    # A freeze published during the wait: the package is rejected with the freeze as the reason.
    freeze = refused[1].evidence
    assert freeze["rejects_package"] is True
    assert freeze["reasons"] == [
        "re-checked before deploying: change_freeze: inside incident freeze "
        "(2000-01-01T00:00:00+00:00 to 2100-01-01T00:00:00+00:00)"
    ]
    assert str(freeze["report_uri"]).startswith("s3://")
    assert "incident freeze" in described[2]["ApprovalDescription"]

    endings = [p[-1] for p in paths if "DeployModel" in p]
    assert endings == ["NotDeployed", "Rejected", "Deployed"]
    assert all("CreateModel" not in p for p in paths)
