"""``SageMaker Endpoint State Change`` and ``SageMaker Endpoint Deployment State Change`` (one
module: the deployment event's detail extends the endpoint's)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlcp.events._base import AwsDetail, AwsEvent, AwsPart, Timestamp, normalise_status
from mlcp.events._sagemaker import ARN_MAX, NAME_MAX

_ENDPOINT_ARN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:endpoint/\S{1,2048}$"


class VariantStatus(AwsPart):
    status: str = Field(alias="Status", description="Creating, Updating, ActivatingTraffic, Baking, Deleting")
    status_message: str | None = Field(default=None, alias="StatusMessage")
    start_time: Timestamp | None = Field(default=None, alias="StartTime")


class ProductionVariantSummary(AwsPart):
    variant_name: str | None = Field(default=None, alias="VariantName")
    current_weight: float | None = Field(default=None, alias="CurrentWeight")
    desired_weight: float | None = Field(default=None, alias="DesiredWeight")
    current_instance_count: int | None = Field(default=None, alias="CurrentInstanceCount")
    desired_instance_count: int | None = Field(default=None, alias="DesiredInstanceCount")
    variant_status: list[VariantStatus] | None = Field(default=None, alias="VariantStatus")


class PendingDeploymentSummary(AwsPart):
    endpoint_config_name: str | None = Field(default=None, alias="EndpointConfigName")
    start_time: Timestamp | None = Field(default=None, alias="StartTime")
    production_variants: list[ProductionVariantSummary] | None = Field(
        default=None, alias="ProductionVariants"
    )


class EndpointDetail(AwsDetail):
    endpoint_name: str = Field(alias="EndpointName", min_length=1, max_length=NAME_MAX)
    endpoint_arn: str | None = Field(
        default=None, alias="EndpointArn", max_length=ARN_MAX, pattern=_ENDPOINT_ARN
    )
    endpoint_config_name: str | None = Field(default=None, alias="EndpointConfigName", max_length=NAME_MAX)
    endpoint_status: str = Field(
        alias="EndpointStatus",
        max_length=64,
        description="IN_SERVICE, CREATING, UPDATING, SYSTEM_UPDATING, ROLLING_BACK, DELETING, FAILED, ...",
    )
    failure_reason: str | None = Field(default=None, alias="FailureReason")
    production_variants: list[ProductionVariantSummary] | None = Field(
        default=None, alias="ProductionVariants"
    )
    creation_time: Timestamp | None = Field(default=None, alias="CreationTime")
    last_modified_time: Timestamp | None = Field(default=None, alias="LastModifiedTime")
    tags: dict[str, str] | list[dict[str, str]] | None = Field(default=None, alias="Tags")


class EndpointDeploymentDetail(EndpointDetail):
    pending_deployment_summary: PendingDeploymentSummary | None = Field(
        default=None, alias="PendingDeploymentSummary"
    )


class _EndpointHelpers:
    detail: EndpointDetail

    @property
    def endpoint_name(self) -> str:
        return self.detail.endpoint_name

    @property
    def status(self) -> str:
        """Normalised status: ``IN_SERVICE`` and ``InService`` are both ``INSERVICE``."""
        return normalise_status(self.detail.endpoint_status)

    @property
    def is_in_service(self) -> bool:
        return self.status == "INSERVICE"

    @property
    def is_failed(self) -> bool:
        return self.status == "FAILED"

    @property
    def is_rolling_back(self) -> bool:
        return self.status == "ROLLINGBACK"


class EndpointStateChangeEvent(_EndpointHelpers, AwsEvent):
    """A real-time endpoint changed status (created, in service, updating, failed, deleted)."""

    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Endpoint State Change"] = Field(alias="detail-type")
    detail: EndpointDetail


class EndpointDeploymentStateChangeEvent(_EndpointHelpers, AwsEvent):
    """A deployment (blue/green, canary, linear, capacity change) on an endpoint progressed."""

    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Endpoint Deployment State Change"] = Field(alias="detail-type")
    detail: EndpointDeploymentDetail

    @property
    def deployment_stage(self) -> str | None:
        """The latest variant deployment stage (``Creating``, ``Updating``, ``ActivatingTraffic``,
        ``Baking``, ``Deleting``): pending deployment first, then the current variants."""
        pending = self.detail.pending_deployment_summary
        groups = [pending.production_variants if pending else None, self.detail.production_variants]
        for variants in groups:
            for variant in variants or []:
                if variant.variant_status:
                    return variant.variant_status[-1].status
        return None

    @property
    def target_endpoint_config_name(self) -> str | None:
        """The config being deployed (pending deployment), else the current one."""
        pending = self.detail.pending_deployment_summary
        if pending is not None and pending.endpoint_config_name:
            return pending.endpoint_config_name
        return self.detail.endpoint_config_name
