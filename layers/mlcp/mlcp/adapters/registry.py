"""SageMaker Model Registry adapter: the source of truth for a model package's state."""

from __future__ import annotations

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


class ModelPackageState(BaseModel):
    """A model package as DescribeModelPackage returns it, reduced to what the control plane uses."""

    model_config = ConfigDict(frozen=True)

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

    def describe(self, model_package_arn: str) -> ModelPackageState:
        """The package's current state; ModelPackageNotFound when SageMaker does not know it."""
        try:
            raw = self._client.describe_model_package(ModelPackageName=model_package_arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationException":
                raise ModelPackageNotFound(f"{model_package_arn}: {exc}") from exc
            raise
        creation_time = _iso(raw["CreationTime"])
        return ModelPackageState(
            model_package_arn=raw["ModelPackageArn"],
            model_package_group_name=raw.get("ModelPackageGroupName", ""),
            model_package_version=int(raw.get("ModelPackageVersion", 0)),
            approval_status=raw.get("ModelApprovalStatus", "PendingManualApproval"),
            created_by=identity_of(raw.get("CreatedBy")),  # type: ignore[arg-type]
            last_modified_by=identity_of(raw.get("LastModifiedBy")),  # type: ignore[arg-type]
            creation_time=creation_time,
            last_modified_time=_iso(raw["LastModifiedTime"]) if "LastModifiedTime" in raw else creation_time,
            approval_description=raw.get("ApprovalDescription"),
            customer_metadata=dict(raw.get("CustomerMetadataProperties", {})),
        )
