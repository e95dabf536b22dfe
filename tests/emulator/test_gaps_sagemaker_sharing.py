"""Fill af: model package group resource policies, and CreateModel with another account's package
(it must exist and be allowed by the caller's identity policies and the group's resource policy)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcp.adapters.registry import SageMakerModelRegistry
from mlcp_cli.emulator.accounts import account_session
from mlcp_cli.seeding import PackageSpec, register_package

from .helpers import REGION

GOVERNANCE, MEMBER = "123456789012", "222222222222"
ROLE = f"arn:aws:iam::{MEMBER}:role/mlcp-member-deployment"


def _member_sagemaker(*, identity_allows: bool) -> Any:
    """SageMaker in the member, as its deployment role (allowed DescribeModelPackage on the
    governance account's packages, or not)."""
    iam = account_session(MEMBER, REGION).client("iam")
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": GOVERNANCE}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="mlcp-member-deployment", AssumeRolePolicyDocument=json.dumps(trust))
    action = "sagemaker:DescribeModelPackage" if identity_allows else "sagemaker:DescribeModel"
    grants = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": action,
                "Resource": f"arn:aws:sagemaker:*:{GOVERNANCE}:model-package/*",
            }
        ],
    }
    iam.put_role_policy(
        RoleName="mlcp-member-deployment", PolicyName="deploy", PolicyDocument=json.dumps(grants)
    )
    credentials = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="mlcp-deploy-model")[
        "Credentials"
    ]
    return boto3.client(
        "sagemaker",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _package(group: str = "churn-model") -> str:
    return register_package(boto3.client("s3"), boto3.client("sagemaker"), PackageSpec(group=group))


def _create_model(sagemaker: Any, package_arn: str, name: str = "mlcp-churn-v1") -> Any:
    return sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"ModelPackageName": package_arn},
        ExecutionRoleArn=f"arn:aws:iam::{MEMBER}:role/mlcp-member-model",
    )


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_a_group_policy_is_put_read_and_deleted(fills: Any) -> None:
    arn = _package()
    sagemaker = boto3.client("sagemaker")
    with pytest.raises(ClientError) as none_yet:
        sagemaker.get_model_package_group_policy(ModelPackageGroupName="churn-model")
    assert _code(none_yet) == "ValidationException"

    registry = SageMakerModelRegistry(sagemaker)
    assert registry.share_group("churn-model", arn, ROLE) is True
    assert registry.share_group("churn-model", arn, ROLE) is False  # a retry changes nothing
    [statement] = json.loads(
        sagemaker.get_model_package_group_policy(ModelPackageGroupName="churn-model")["ResourcePolicy"]
    )["Statement"]
    assert statement["Principal"] == {"AWS": ROLE}
    assert statement["Action"] == "sagemaker:DescribeModelPackage"
    assert statement["Resource"] == arn.rsplit("/", 1)[0] + "/*"

    sagemaker.delete_model_package_group_policy(ModelPackageGroupName="churn-model")
    with pytest.raises(ClientError):
        sagemaker.get_model_package_group_policy(ModelPackageGroupName="churn-model")
    for bad in ("not json", json.dumps({"Version": "2012-10-17"})):
        with pytest.raises(ClientError) as malformed:
            sagemaker.put_model_package_group_policy(ModelPackageGroupName="churn-model", ResourcePolicy=bad)
        assert _code(malformed) == "ValidationException"
    with pytest.raises(ClientError) as unknown:
        sagemaker.put_model_package_group_policy(ModelPackageGroupName="nope", ResourcePolicy=json.dumps({}))
    assert _code(unknown) == "ValidationException"


def test_another_accounts_package_deploys_only_once_shared(fills: Any) -> None:
    arn = _package()
    member = _member_sagemaker(identity_allows=True)

    with pytest.raises(ClientError) as unshared:
        _create_model(member, arn)
    assert _code(unshared) == "AccessDeniedException"
    assert "has no resource policy sharing it" in str(unshared.value)

    SageMakerModelRegistry(boto3.client("sagemaker")).share_group("churn-model", arn, ROLE)
    _create_model(member, arn)
    assert [m["ModelName"] for m in member.list_models()["Models"]] == ["mlcp-churn-v1"]

    other = _package("fraud-model")  # another group, not shared
    with pytest.raises(ClientError) as other_group:
        _create_model(member, other, "mlcp-fraud-v1")
    assert _code(other_group) == "AccessDeniedException"

    missing = arn.rsplit("/", 1)[0] + "/99"
    with pytest.raises(ClientError) as unknown:
        _create_model(member, missing, "mlcp-churn-v99")
    assert _code(unknown) == "ValidationException"


def test_the_members_own_policy_must_allow_it_too(fills: Any) -> None:
    arn = _package()
    SageMakerModelRegistry(boto3.client("sagemaker")).share_group("churn-model", arn, ROLE)
    member = _member_sagemaker(identity_allows=False)

    with pytest.raises(ClientError) as denied:
        _create_model(member, arn)
    assert _code(denied) == "AccessDeniedException"
    assert "no identity-based policy" in str(denied.value)
