"""SageMaker Model Registry adapter: the source of truth for a model package's state."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from mlcp.adapters import clients
from mlcp.errors import ModelPackageNotFound

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

#: Who did something, when the registry cannot say: separation-of-duty checks fail closed on it.
UNKNOWN_IDENTITY = "unknown"

#: ListTags error codes that mean "this ARN has no tags to read", not "try again".
NO_READABLE_TAGS = frozenset({"ValidationException", "ResourceNotFound", "ResourceNotFoundException"})


class ModelPackageState(BaseModel):
    """A model package as DescribeModelPackage returns it, reduced to what the control plane uses."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    model_package_arn: str
    model_package_group_name: str
    model_package_version: int
    approval_status: str
    created_by: str
    last_modified_by: str
    creation_time: str
    last_modified_time: str
    approval_description: str | None = None
    customer_metadata: dict[str, str] = {}


def identity_of(user_context: dict[str, Any] | None) -> str:
    """The most specific identity in a SageMaker UserContext (IAM ARN, then Studio user profile)."""
    if not user_context:
        return UNKNOWN_IDENTITY
    iam = user_context.get("IamIdentity") or {}
    for candidate in (
        iam.get("Arn"),
        user_context.get("UserProfileArn"),
        user_context.get("UserProfileName"),
    ):
        if candidate:
            return str(candidate)
    return UNKNOWN_IDENTITY


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class SageMakerModelRegistry:
    """DescribeModelPackage-backed reads."""

    def __init__(self, client: SageMakerClient | None = None) -> None:
        self._client = client or clients.sagemaker()

    def describe_raw(self, model_package_arn: str) -> dict[str, Any]:
        """DescribeModelPackage's response; ModelPackageNotFound when SageMaker does not know it."""
        try:
            return dict(self._client.describe_model_package(ModelPackageName=model_package_arn))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationException":
                raise ModelPackageNotFound(f"{model_package_arn}: {exc}") from exc
            raise

    def tags(self, model_package_arn: str) -> dict[str, str]:
        """The package's tags; ``{}`` only when SageMaker says the ARN has none to read.

        ValidationException ("Could not find ...", an ARN that takes no tags) and
        ResourceNotFound mean no readable tags. Anything else (throttling or a 5xx beyond
        botocore's retries, AccessDenied) propagates: read as "no tags", a transient error would
        make the ``cost_allocation_tags`` gate reject a good package for good; failing the
        Lambda lets the caller's retry (Step Functions Retry/Catch, async redelivery) decide.
        """
        tags: dict[str, str] = {}
        try:
            paginator = self._client.get_paginator("list_tags")
            for page in paginator.paginate(ResourceArn=model_package_arn):
                tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in NO_READABLE_TAGS:
                return {}
            raise
        return tags

    def set_status(self, model_package_arn: str, status: str, description: str) -> None:
        """Set the approval status with a description (SageMaker keeps at most 1024 characters)."""
        self._client.update_model_package(
            ModelPackageArn=model_package_arn,
            ModelApprovalStatus=status,  # type: ignore[arg-type]
            ApprovalDescription=description[:1024],
        )

    def approval_status(self, model_package_arn: str) -> str:
        """The package's ModelApprovalStatus now (re-read at the moment of effect)."""
        return str(self.describe_raw(model_package_arn).get("ModelApprovalStatus", "PendingManualApproval"))

    def describe(self, model_package_arn: str) -> ModelPackageState:
        """The package's current state; ModelPackageNotFound when SageMaker does not know it."""
        raw = self.describe_raw(model_package_arn)
        creation_time = _iso(raw["CreationTime"])
        return ModelPackageState(
            model_package_arn=raw["ModelPackageArn"],
            model_package_group_name=raw.get("ModelPackageGroupName", ""),
            model_package_version=int(raw.get("ModelPackageVersion", 0)),
            approval_status=raw.get("ModelApprovalStatus", "PendingManualApproval"),
            created_by=identity_of(raw.get("CreatedBy")),
            last_modified_by=identity_of(raw.get("LastModifiedBy")),
            creation_time=creation_time,
            last_modified_time=_iso(raw["LastModifiedTime"]) if "LastModifiedTime" in raw else creation_time,
            approval_description=raw.get("ApprovalDescription"),
            customer_metadata=dict(raw.get("CustomerMetadataProperties", {})),
        )

    def share_group(self, group: str, package_arn: str, principal_arn: str) -> bool:
        """Let ``principal_arn`` (a member's deployment role) use the group's packages (ADR 27):
        one statement per principal in the group's resource policy, ``sagemaker:DescribeModelPackage``
        on ``model-package/<group>/*`` only. Read, then written only when the statement is missing
        (idempotent on retries); True when the policy was changed."""
        sid = "mlcp" + "".join(ch for ch in principal_arn.split(":")[4] if ch.isdigit())
        resource = package_arn.rsplit("/", 1)[0] + "/*"
        statement = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"AWS": principal_arn},
            "Action": "sagemaker:DescribeModelPackage",
            "Resource": resource,
        }
        try:
            document = json.loads(
                self._client.get_model_package_group_policy(ModelPackageGroupName=group)["ResourcePolicy"]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in NO_READABLE_TAGS:  # no policy yet
                raise
            document = {"Version": "2012-10-17", "Statement": []}
        statements = [s for s in document.get("Statement", []) if isinstance(s, dict)]
        if statement in statements:
            return False
        document["Statement"] = [s for s in statements if s.get("Sid") != sid] + [statement]
        self._client.put_model_package_group_policy(
            ModelPackageGroupName=group, ResourcePolicy=json.dumps(document)
        )
        return True
