"""Fill ab: cross-account AssumeRole is decided by the caller's identity policy and the role's trust
policy (with its conditions), and what the session then calls is checked against the assumed role's
policies in its own account - as a function acting in a member account does (AccountClients)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcp.accounts import AccountScope
from mlcp.adapters.accounts import AccountClients
from mlcp_cli.emulator.accounts import account_session
from mlcp_cli.emulator.gaps.awslambda import _running
from mlcp_cli.emulator.iam import IamEnforcer

from .helpers import REGION
from .test_iam_enforcement import _allow, _function, _role

GOVERNANCE, MEMBER = "123456789012", "222222222222"
EXTERNAL_ID = "mlcp-governance-0001"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/mlcp-member-deployment"
ASSUME_MEMBER_ROLE = _allow(
    "sts:AssumeRole",
    "arn:aws:iam::*:role/mlcp-member-deployment",
    Condition={"StringEquals": {"aws:ResourceAccount": [MEMBER], "sts:ExternalId": EXTERNAL_ID}},
)


@pytest.fixture
def enforcer(fills: Any) -> Iterator[IamEnforcer]:
    with IamEnforcer(account=GOVERNANCE) as installed:
        yield installed


def _member_role(trusted: str) -> None:
    """member.yaml's deployment role, trusting ``trusted`` with the external id, allowed to create
    model package groups only."""
    iam = account_session(MEMBER, REGION).client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": trusted},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"sts:ExternalId": EXTERNAL_ID, "aws:PrincipalAccount": GOVERNANCE},
                    "StringLike": {"sts:RoleSessionName": "mlcp-*"},
                },
            }
        ],
    }
    iam.create_role(RoleName="mlcp-member-deployment", AssumeRolePolicyDocument=json.dumps(trust))
    grants = {
        "Version": "2012-10-17",
        "Statement": [
            _allow(
                "sagemaker:CreateModelPackageGroup",
                f"arn:aws:sagemaker:{REGION}:{MEMBER}:model-package-group/*",
            )
        ],
    }
    iam.put_role_policy(
        RoleName="mlcp-member-deployment", PolicyName="deploy", PolicyDocument=json.dumps(grants)
    )


def _accounts(external_id: str = EXTERNAL_ID) -> AccountClients:
    return AccountClients(
        AccountScope.parse(GOVERNANCE, MEMBER),
        role_name="mlcp-member-deployment",
        external_id=external_id,
        function="deploy-model",
        sts=boto3.client("sts"),
    )


def _member_groups() -> list[str]:
    groups = account_session(MEMBER, REGION).client("sagemaker").list_model_package_groups()
    return [g["ModelPackageGroupName"] for g in groups["ModelPackageGroupSummaryList"]]


def test_a_trusted_function_acts_in_the_member_as_the_member_role(enforcer: IamEnforcer) -> None:
    role = _role("deployer", ASSUME_MEMBER_ROLE)
    _member_role(trusted=role)
    accounts = _accounts()
    with _running(_function(role)):
        accounts.sagemaker(MEMBER).create_model_package_group(ModelPackageGroupName="churn")
        with pytest.raises(ClientError) as denied:  # the member role's policy, not the function's
            accounts.sagemaker(MEMBER).delete_model_package_group(ModelPackageGroupName="churn")
    assert _member_groups() == ["churn"]
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"arn:aws:sts::{MEMBER}:assumed-role/mlcp-member-deployment/mlcp-deploy-model" in str(denied.value)
    [assumed] = [d for d in enforcer.decisions if d.action == "sts:AssumeRole"]
    assert assumed.effect == "Allow"
    assert assumed.resource == MEMBER_ROLE


@pytest.mark.parametrize(
    ("identity", "trusted", "external_id"),
    [
        ([ASSUME_MEMBER_ROLE], "other", EXTERNAL_ID),  # the trust names another role
        ([ASSUME_MEMBER_ROLE], "self", "wrong-external-id-000"),  # trust's (and identity's) external id
        ([], "self", EXTERNAL_ID),  # trusted, but the caller's own policy does not allow it
    ],
    ids=["not-trusted", "wrong-external-id", "no-identity-grant"],
)
def test_assume_role_is_refused_unless_both_sides_allow_it(
    enforcer: IamEnforcer, identity: list[dict[str, Any]], trusted: str, external_id: str
) -> None:
    role = _role("deployer", *identity)
    other = _role("someone-else", ASSUME_MEMBER_ROLE)
    _member_role(trusted=role if trusted == "self" else other)
    with _running(_function(role)), pytest.raises(ClientError) as denied:
        _accounts(external_id).sagemaker(MEMBER).create_model_package_group(ModelPackageGroupName="churn")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert "sts:AssumeRole" in str(denied.value)
    assert _member_groups() == []
