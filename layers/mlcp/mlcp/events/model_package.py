"""``SageMaker Model Package State Change``: a model package registered, approved, rejected, updated."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mlcp.events._base import AwsDetail, AwsEvent, AwsPart, Timestamp, arn_resource_tail
from mlcp.events._sagemaker import ARN_MAX, NAME_MAX, ModelApprovalStatus

_MODEL_PACKAGE_ARN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:model-package/\S{1,2048}$"


class IamIdentity(AwsPart):
    arn: str | None = Field(default=None, alias="Arn")
    principal_id: str | None = Field(default=None, alias="PrincipalId")
    source_identity: str | None = Field(default=None, alias="SourceIdentity")


class UserContext(AwsPart):
    """Who created / last modified a SageMaker resource (``CreatedBy`` / ``LastModifiedBy``)."""

    user_profile_arn: str | None = Field(default=None, alias="UserProfileArn")
    user_profile_name: str | None = Field(default=None, alias="UserProfileName")
    domain_id: str | None = Field(default=None, alias="DomainId")
    iam_identity: IamIdentity | None = Field(default=None, alias="IamIdentity")

    @property
    def principal(self) -> str | None:
        """The most specific identity available: IAM ARN, then Studio user profile."""
        if self.iam_identity is not None and self.iam_identity.arn:
            return self.iam_identity.arn
        return self.user_profile_arn or self.user_profile_name


class ModelPackageDetail(AwsDetail):
    model_package_arn: str = Field(alias="ModelPackageArn", max_length=ARN_MAX, pattern=_MODEL_PACKAGE_ARN)
    model_package_group_name: str | None = Field(
        default=None, alias="ModelPackageGroupName", min_length=1, max_length=NAME_MAX
    )
    model_package_version: int | None = Field(default=None, alias="ModelPackageVersion", ge=1)
    model_package_name: str | None = Field(default=None, alias="ModelPackageName", max_length=NAME_MAX)
    model_package_description: str | None = Field(
        default=None, alias="ModelPackageDescription", max_length=1024
    )
    model_package_status: str | None = Field(default=None, alias="ModelPackageStatus")
    model_approval_status: ModelApprovalStatus | None = Field(default=None, alias="ModelApprovalStatus")
    approval_description: str | None = Field(default=None, alias="ApprovalDescription", max_length=1024)
    created_by: UserContext | None = Field(default=None, alias="CreatedBy")
    last_modified_by: UserContext | None = Field(default=None, alias="LastModifiedBy")
    creation_time: Timestamp | None = Field(default=None, alias="CreationTime")
    last_modified_time: Timestamp | None = Field(default=None, alias="LastModifiedTime")
    inference_specification: dict[str, Any] | None = Field(default=None, alias="InferenceSpecification")
    model_metrics: dict[str, Any] | None = Field(default=None, alias="ModelMetrics")
    metadata_properties: dict[str, Any] | None = Field(default=None, alias="MetadataProperties")
    customer_metadata_properties: dict[str, str] | None = Field(
        default=None, alias="CustomerMetadataProperties"
    )
    model_life_cycle: dict[str, Any] | None = Field(default=None, alias="ModelLifeCycle")
    updated_model_package_fields: list[str] | None = Field(default=None, alias="UpdatedModelPackageFields")
    certify_for_marketplace: bool | None = Field(default=None, alias="CertifyForMarketplace")
    tags: dict[str, str] | list[dict[str, str]] | None = Field(default=None, alias="Tags")


class ModelPackageStateChangeEvent(AwsEvent):
    """A model package (a version in a model package group) changed: registered, approved,
    rejected, its metadata updated."""

    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Model Package State Change"] = Field(alias="detail-type")
    detail: ModelPackageDetail

    @property
    def model_package_arn(self) -> str:
        return self.detail.model_package_arn

    @property
    def approval_status(self) -> ModelApprovalStatus | None:
        return self.detail.model_approval_status

    @property
    def is_approved(self) -> bool:
        return self.detail.model_approval_status == "Approved"

    @property
    def group_name(self) -> str | None:
        """Group name, from the detail or else from the versioned ARN ``.../<group>/<version>``."""
        if self.detail.model_package_group_name:
            return self.detail.model_package_group_name
        tail = arn_resource_tail(self.detail.model_package_arn, "model-package")
        if tail and "/" in tail:
            return tail.rsplit("/", 1)[0]
        return None

    @property
    def package_version(self) -> int | None:
        if self.detail.model_package_version is not None:
            return self.detail.model_package_version
        tail = arn_resource_tail(self.detail.model_package_arn, "model-package")
        if tail and "/" in tail:
            last = tail.rsplit("/", 1)[1]
            return int(last) if last.isdigit() else None
        return None

    @property
    def changed_by(self) -> str | None:
        """Principal of the last modification (the approver on an approval), else the creator."""
        for who in (self.detail.last_modified_by, self.detail.created_by):
            if who is not None and who.principal:
                return who.principal
        return None
