"""Approvals answered in the Step Functions console (issue 14): the shipped scenario end to end, then
a redelivered CloudTrail record, one naming another identity, and a forged one change nothing."""

from __future__ import annotations

import json

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction
from mlcp_cli.emulator.gaps.cloudtrail import start_execution_record, user_identity
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.scenario import load_scenario

from .conftest import ROOT, TEMPLATE, play_shipped

SCENARIO = ROOT / "scenarios" / "console-approvals.yaml"
ACCOUNT = "123456789012"
RISK_OFFICER = f"arn:aws:iam::{ACCOUNT}:user/risk-officer"
ENGINEER = f"arn:aws:iam::{ACCOUNT}:user/ml-engineer"
REVIEWER = f"arn:aws:iam::{ACCOUNT}:user/reviewer"


def _cloudtrail_event(machine: str, execution: str, signer: str) -> dict[str, object]:
    record = start_execution_record(
        identity=user_identity(signer, "AIDAEXAMPLE", ACCOUNT, "AKIAEXAMPLE"),
        region="us-east-1",
        account_id=ACCOUNT,
        state_machine_arn=machine,
        name=execution.rsplit(":", 1)[-1],
        execution_arn=execution,
        start_date=None,
    )
    return {"Source": "aws.states", "DetailType": "AWS API Call via CloudTrail", "Detail": record}


def test_a_console_only_approval_deploys_with_the_approvers_identity_and_resists_replays() -> None:
    scenario = load_scenario(SCENARIO)
    with LocalControlPlane(TEMPLATE, parameters=scenario.parameters, start=scenario.start) as cp:
        play_shipped(cp, SCENARIO)
        audit = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
        machine = cp.stack.physical_id("ApprovalDecisionStateMachine")
        sfn = cp.client("stepfunctions")
        decisions = sfn.list_executions(stateMachineArn=machine)["executions"]
        granted = [e for e in decisions if e["status"] == "SUCCEEDED"]
        assert len(granted) == 1
        assert len(decisions) == 5
        execution = granted[0]["executionArn"]
        before = audit.read("group#fraud-detector")

        # CloudTrail redelivers the record of the grant, and a record of the same execution naming
        # another signer arrives (as only AWS could put it): the first verdict stands, nothing is redone.
        cp.put_aws_events([_cloudtrail_event(machine, execution, RISK_OFFICER)])
        cp.put_aws_events([_cloudtrail_event(machine, execution, ENGINEER)])
        cp.pump()
        # A caller cannot put an aws.states event at all (EventBridge refuses the source).
        with pytest.raises(ValueError, match="NotAuthorizedForSourceException"):
            cp.put_events([_cloudtrail_event(machine, execution, RISK_OFFICER)], principal="ml-engineer")
        cp.pump()
        after = audit.read("group#fraud-detector")
        output = json.loads(sfn.describe_execution(executionArn=execution)["output"])

    assert [r.action for r in after] == [r.action for r in before]
    assert (output["verdict"], output["decided_by"]) == ("granted", RISK_OFFICER)

    blocked = [r for r in after if r.action == AuditAction.APPROVAL_BLOCKED]
    assert [(r.actor, r.evidence["why"]) for r in blocked] == [
        (ENGINEER, "the approver created the package"),
        (REVIEWER, f"{REVIEWER} is not an approver of tier high"),
    ]
    [grant] = [r for r in after if r.action == AuditAction.APPROVAL_GRANTED]
    assert grant.actor == RISK_OFFICER  # from CloudTrail's userIdentity, never from the input
    assert grant.evidence["reason"] == "bias report reviewed"
    assert not [r for r in after if r.action == AuditAction.APPROVAL_DENIED]
