"""The approver and operator managed policies the stack creates (outputs ApproverPolicyArn,
OperatorPolicyArn), as deployed on the emulator, judged by local mode's IAM evaluator: an approver
can answer approvals but not deploy; an operator can resolve incidents, roll back and ask for promotions but not approve;
both are scoped to this stack's resources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import unquote

import pytest

from mlcp_cli.emulator.iam.policy import ALLOW, Policy, Request, evaluate
from mlcp_cli.emulator.runtime import LocalControlPlane

from .conftest import TEMPLATE

USER = "arn:aws:iam::123456789012:user/someone"


@pytest.fixture(scope="module")
def deployed() -> Iterator[LocalControlPlane]:
    with LocalControlPlane(TEMPLATE, iam=False) as control:
        yield control


def _policy(cp: LocalControlPlane, output: str) -> Policy:
    iam = cp.client("iam")
    arn = cp.stack.outputs[output]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    if isinstance(document, str):
        document = json.loads(unquote(document))
    return Policy(output, document)


def _allowed(policy: Policy, action: str, resource: str) -> bool:
    request = Request(USER, action, resource, {}, frozenset(), principal_account="123456789012")
    return evaluate([policy], request).effect == ALLOW


def _arn(cp: LocalControlPlane, logical: str) -> str:
    return cp.stack.physical_id(logical)


def _table(cp: LocalControlPlane, logical: str) -> str:
    return f"arn:aws:dynamodb:{cp.region}:123456789012:table/{_arn(cp, logical)}"


def test_an_approver_can_answer_approvals_but_not_deploy(deployed: LocalControlPlane) -> None:
    cp = deployed
    approver = _policy(cp, "ApproverPolicyArn")
    decision_machine = _arn(cp, "ApprovalDecisionStateMachine")
    deployment_machine = _arn(cp, "DeploymentStateMachine")
    region = cp.region
    package = f"arn:aws:sagemaker:{region}:123456789012:model-package/churn-model/3"
    assert _allowed(approver, "states:StartExecution", decision_machine)
    assert _allowed(approver, "dynamodb:Scan", _table(cp, "ControlPlaneTable"))
    assert _allowed(approver, "sagemaker:UpdateModelPackage", package)
    # not deploy, not write the control plane's state, not resume a workflow directly
    assert not _allowed(approver, "states:StartExecution", deployment_machine)
    assert not _allowed(
        approver, "sagemaker:UpdateEndpoint", f"arn:aws:sagemaker:{region}:123456789012:endpoint/x"
    )
    assert not _allowed(
        approver, "sagemaker:CreateEndpoint", f"arn:aws:sagemaker:{region}:123456789012:endpoint/x"
    )
    assert not _allowed(approver, "dynamodb:PutItem", _table(cp, "ControlPlaneTable"))
    assert not _allowed(approver, "dynamodb:PutItem", _table(cp, "AuditTable"))
    assert not _allowed(approver, "states:SendTaskSuccess", "*")
    assert not _allowed(approver, "lambda:InvokeFunction", _arn(cp, "ConsoleDecisionFunction"))
    # scoped to this stack: another table is out of reach
    assert not _allowed(approver, "dynamodb:Scan", f"arn:aws:dynamodb:{region}:123456789012:table/other")


def test_an_operator_can_resolve_incidents_and_roll_back_but_not_approve(deployed: LocalControlPlane) -> None:
    cp = deployed
    operator = _policy(cp, "OperatorPolicyArn")
    region = cp.region
    endpoint = f"arn:aws:sagemaker:{region}:123456789012:endpoint/churn-prod"
    package = f"arn:aws:sagemaker:{region}:123456789012:model-package/churn-model/3"
    assert _allowed(operator, "ssm:UpdateOpsItem", f"arn:aws:ssm:{region}:123456789012:opsitem/oi-1234")
    assert _allowed(operator, "dynamodb:UpdateItem", _table(cp, "ControlPlaneTable"))
    assert _allowed(operator, "dynamodb:Query", _table(cp, "AuditTable"))
    assert _allowed(operator, "sagemaker:UpdateEndpoint", endpoint)
    execution = _arn(cp, "DeploymentStateMachine").replace(":stateMachine:", ":execution:") + ":run-1"
    assert _allowed(operator, "states:DescribeExecution", execution)
    # mlcp promote / abort of a managed bake go through the steer-bake function (ADR 24), which
    # re-checks; never SendTask* directly: an approval's task token is readable in the state table.
    steer = cp.stack.outputs["SteerBakeFunctionArn"]
    assert _allowed(operator, "lambda:InvokeFunction", steer)
    shift = steer.replace(_arn(cp, "SteerBakeFunction"), _arn(cp, "ShiftTrafficFunction"))
    assert not _allowed(operator, "lambda:InvokeFunction", shift)
    assert not _allowed(operator, "states:SendTaskSuccess", "*")
    assert not _allowed(operator, "states:SendTaskFailure", "*")
    # not approve: neither the console workflow nor the registry
    assert not _allowed(operator, "states:StartExecution", _arn(cp, "ApprovalDecisionStateMachine"))
    assert not _allowed(operator, "sagemaker:UpdateModelPackage", package)
    # mlcp promote-stage starts the deployment workflow (ADR 35): verify-approval decides, re-reading
    # the registry; the approval-decision workflow stays the approvers'.
    assert _allowed(operator, "states:StartExecution", _arn(cp, "DeploymentStateMachine"))
    assert not _allowed(
        operator, "states:StartExecution", _arn(cp, "DeploymentStateMachine").replace("deployment", "other")
    )
    # the audit trail is appended to, never rewritten
    assert not _allowed(operator, "dynamodb:DeleteItem", _table(cp, "AuditTable"))
    assert not _allowed(
        operator, "dynamodb:UpdateItem", f"arn:aws:dynamodb:{region}:123456789012:table/other"
    )
