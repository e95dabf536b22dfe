"""SageMaker Model Registry adapter: the source of truth for a model package's state."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlcp.adapters import clients
from mlcp.errors import ModelPackageNotFound
from mlcp.models.gates import Candidate, Container

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

#: Who did something, when the registry cannot say: separation-of-duty checks fail closed on it.
UNKNOWN_IDENTITY = "unknown"

#: ListTags error codes that mean "this ARN has no tags to read", not "try again".
NO_READABLE_TAGS = frozenset({"ValidationException", "ResourceNotFound", "ResourceNotFoundException"})


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


#: ModelMetrics paths -> the keys of ``Candidate.model_metrics``.
_MODEL_METRICS: tuple[tuple[str, str, str], ...] = (
    ("ModelQuality", "Statistics", "model_quality_statistics"),
    ("ModelQuality", "Constraints", "model_quality_constraints"),
    ("ModelDataQuality", "Statistics", "data_quality_statistics"),
    ("ModelDataQuality", "Constraints", "data_quality_constraints"),
    ("Bias", "Report", "bias_report"),
    ("Bias", "PreTrainingReport", "bias_pre_training"),
    ("Bias", "PostTrainingReport", "bias_post_training"),
    ("Explainability", "Report", "explainability"),
)


def model_metrics_uris(model_metrics: Mapping[str, Any] | None) -> dict[str, str]:
    """The S3 URIs of a DescribeModelPackage ``ModelMetrics``, by kind (see ``Candidate.model_metrics``)."""
    uris: dict[str, str] = {}
    for kind, part, key in _MODEL_METRICS:
        source = ((model_metrics or {}).get(kind) or {}).get(part) or {}
        if isinstance(source, Mapping) and source.get("S3Uri"):
            uris[key] = str(source["S3Uri"])
    return uris


def candidate_from_describe(response: Mapping[str, Any], tags: Mapping[str, str]) -> Candidate:
    """A ``Candidate`` from a DescribeModelPackage response and the package's tags."""
    containers = [
        Container(
            image=str(container.get("Image", "")),
            image_digest=container.get("ImageDigest"),
            model_data_url=container.get("ModelDataUrl"),
        )
        for container in (response.get("InferenceSpecification") or {}).get("Containers") or []
    ]
    return Candidate(
        arn=response["ModelPackageArn"],
        group=response.get("ModelPackageGroupName", ""),
        version=int(response.get("ModelPackageVersion", 0)),
        approval_status=response.get("ModelApprovalStatus", "PendingManualApproval"),
        created_by=identity_of(response.get("CreatedBy")),
        last_modified_by=identity_of(response.get("LastModifiedBy")),
        creation_time=response["CreationTime"],
        containers=containers,
        customer_metadata={
            str(k): str(v) for k, v in (response.get("CustomerMetadataProperties") or {}).items()
        },
        tags=dict(tags),
        generated_by=(response.get("MetadataProperties") or {}).get("GeneratedBy"),
        approval_description=response.get("ApprovalDescription"),
        model_metrics=model_metrics_uris(response.get("ModelMetrics")),
    )


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

    def candidate(self, model_package_arn: str) -> tuple[Candidate, str]:
        """The package as the gates see it (DescribeModelPackage and its tags, parsed once here),
        with its last-modified time; ModelPackageNotFound when SageMaker does not know it."""
        raw = self.describe_raw(model_package_arn)
        candidate = candidate_from_describe(raw, self.tags(model_package_arn))
        return candidate, _iso(raw.get("LastModifiedTime") or raw["CreationTime"])

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
