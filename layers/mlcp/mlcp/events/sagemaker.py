"""``aws.sagemaker`` state-change events consumed by the control plane.

Shapes follow "Events that Amazon SageMaker AI sends to Amazon EventBridge" (SageMaker developer
guide). Most detail fields mirror the matching ``Describe*`` API response (PascalCase), except the
pipeline execution event, whose fields are camelCase. Status spellings differ between events and
the API (``IN_SERVICE`` vs ``InService``), so statuses stay free strings and the helpers compare
them through :func:`mlcp.events._base.normalise_status`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mlcp.events._base import AwsDetail, AwsEvent, AwsPart, Timestamp, arn_resource_tail, normalise_status

SAGEMAKER_SOURCE = "aws.sagemaker"

_ARN_MAX = 2048
_NAME_MAX = 63
_MODEL_PACKAGE_ARN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:model-package/\S{1,2048}$"
_ENDPOINT_ARN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:endpoint/\S{1,2048}$"

ModelApprovalStatus = Literal["Approved", "Rejected", "PendingManualApproval"]


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


# --- model package ------------------------------------------------------------------------------


class ModelPackageDetail(AwsDetail):
    model_package_arn: str = Field(alias="ModelPackageArn", max_length=_ARN_MAX, pattern=_MODEL_PACKAGE_ARN)
    model_package_group_name: str | None = Field(
        default=None, alias="ModelPackageGroupName", min_length=1, max_length=_NAME_MAX
    )
    model_package_version: int | None = Field(default=None, alias="ModelPackageVersion", ge=1)
    model_package_name: str | None = Field(default=None, alias="ModelPackageName", max_length=_NAME_MAX)
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


# --- endpoints ----------------------------------------------------------------------------------


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
    endpoint_name: str = Field(alias="EndpointName", min_length=1, max_length=_NAME_MAX)
    endpoint_arn: str | None = Field(
        default=None, alias="EndpointArn", max_length=_ARN_MAX, pattern=_ENDPOINT_ARN
    )
    endpoint_config_name: str | None = Field(default=None, alias="EndpointConfigName", max_length=_NAME_MAX)
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


# --- training jobs ------------------------------------------------------------------------------


class ModelArtifacts(AwsPart):
    s3_model_artifacts: str | None = Field(default=None, alias="S3ModelArtifacts")


class TrainingJobDetail(AwsDetail):
    training_job_name: str | None = Field(default=None, alias="TrainingJobName", max_length=_NAME_MAX)
    training_job_arn: str = Field(alias="TrainingJobArn", min_length=1, max_length=_ARN_MAX)
    training_job_status: str = Field(
        alias="TrainingJobStatus",
        max_length=64,
        description="InProgress, Completed, Failed, Stopping, Stopped",
    )
    secondary_status: str | None = Field(default=None, alias="SecondaryStatus")
    failure_reason: str | None = Field(default=None, alias="FailureReason")
    hyper_parameters: dict[str, str] | None = Field(default=None, alias="HyperParameters")
    model_artifacts: ModelArtifacts | None = Field(default=None, alias="ModelArtifacts")
    role_arn: str | None = Field(default=None, alias="RoleArn")
    output_data_config: dict[str, Any] | None = Field(default=None, alias="OutputDataConfig")
    creation_time: Timestamp | None = Field(default=None, alias="CreationTime")
    training_start_time: Timestamp | None = Field(default=None, alias="TrainingStartTime")
    training_end_time: Timestamp | None = Field(default=None, alias="TrainingEndTime")
    last_modified_time: Timestamp | None = Field(default=None, alias="LastModifiedTime")
    tags: dict[str, str] | list[dict[str, str]] | None = Field(default=None, alias="Tags")


class TrainingJobStateChangeEvent(AwsEvent):
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Training Job State Change"] = Field(alias="detail-type")
    detail: TrainingJobDetail

    @property
    def training_job_name(self) -> str | None:
        return self.detail.training_job_name or arn_resource_tail(
            self.detail.training_job_arn, "training-job"
        )

    @property
    def status(self) -> str:
        return self.detail.training_job_status

    @property
    def is_terminal(self) -> bool:
        return normalise_status(self.detail.training_job_status) in {"COMPLETED", "FAILED", "STOPPED"}

    @property
    def model_artifacts_uri(self) -> str | None:
        artifacts = self.detail.model_artifacts
        return artifacts.s3_model_artifacts if artifacts else None


# --- pipeline executions ------------------------------------------------------------------------


class PipelineExecutionDetail(AwsDetail):
    pipeline_arn: str | None = Field(default=None, alias="pipelineArn", max_length=_ARN_MAX)
    pipeline_execution_arn: str = Field(alias="pipelineExecutionArn", min_length=1, max_length=_ARN_MAX)
    current_pipeline_execution_status: str = Field(
        alias="currentPipelineExecutionStatus",
        max_length=64,
        description="Executing, Succeeded, Failed, Stopping, Stopped",
    )
    previous_pipeline_execution_status: str | None = Field(
        default=None, alias="previousPipelineExecutionStatus"
    )
    pipeline_execution_display_name: str | None = Field(default=None, alias="pipelineExecutionDisplayName")
    pipeline_execution_description: str | None = Field(default=None, alias="pipelineExecutionDescription")
    execution_start_time: Timestamp | None = Field(default=None, alias="executionStartTime")
    execution_end_time: Timestamp | None = Field(default=None, alias="executionEndTime")
    failure_reason: str | None = Field(default=None, alias="failureReason")


class PipelineExecutionStatusChangeEvent(AwsEvent):
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Model Building Pipeline Execution Status Change"] = Field(
        alias="detail-type"
    )
    detail: PipelineExecutionDetail

    @property
    def pipeline_execution_arn(self) -> str:
        return self.detail.pipeline_execution_arn

    @property
    def status(self) -> str:
        return self.detail.current_pipeline_execution_status

    @property
    def previous_status(self) -> str | None:
        return self.detail.previous_pipeline_execution_status

    @property
    def pipeline_name(self) -> str | None:
        """``arn:...:pipeline/<name>/execution/<id>`` -> ``<name>``."""
        tail = arn_resource_tail(self.detail.pipeline_execution_arn, "pipeline") or arn_resource_tail(
            self.detail.pipeline_arn, "pipeline"
        )
        return tail.split("/", 1)[0] if tail else None


# --- processing jobs ----------------------------------------------------------------------------


class S3Output(AwsPart):
    s3_uri: str = Field(alias="S3Uri")
    local_path: str | None = Field(default=None, alias="LocalPath")
    s3_upload_mode: str | None = Field(default=None, alias="S3UploadMode")


class ProcessingOutput(AwsPart):
    output_name: str | None = Field(default=None, alias="OutputName")
    s3_output: S3Output | None = Field(default=None, alias="S3Output")


class ProcessingOutputConfig(AwsPart):
    outputs: list[ProcessingOutput] = Field(default_factory=list, alias="Outputs")
    kms_key_id: str | None = Field(default=None, alias="KmsKeyId")


class AppSpecification(AwsPart):
    image_uri: str | None = Field(default=None, alias="ImageUri")
    container_entrypoint: list[str] | None = Field(default=None, alias="ContainerEntrypoint")
    container_arguments: list[str] | None = Field(default=None, alias="ContainerArguments")


class ProcessingJobDetail(AwsDetail):
    processing_job_name: str | None = Field(default=None, alias="ProcessingJobName", max_length=_NAME_MAX)
    processing_job_arn: str = Field(alias="ProcessingJobArn", min_length=1, max_length=_ARN_MAX)
    processing_job_status: str = Field(
        alias="ProcessingJobStatus",
        max_length=64,
        description="InProgress, Completed, Failed, Stopping, Stopped",
    )
    failure_reason: str | None = Field(default=None, alias="FailureReason")
    exit_message: str | None = Field(default=None, alias="ExitMessage")
    environment: dict[str, str] | None = Field(default=None, alias="Environment")
    monitoring_schedule_arn: str | None = Field(default=None, alias="MonitoringScheduleArn")
    training_job_arn: str | None = Field(default=None, alias="TrainingJobArn")
    processing_inputs: list[dict[str, Any]] | None = Field(default=None, alias="ProcessingInputs")
    processing_output_config: ProcessingOutputConfig | None = Field(
        default=None, alias="ProcessingOutputConfig"
    )
    app_specification: AppSpecification | None = Field(default=None, alias="AppSpecification")
    role_arn: str | None = Field(default=None, alias="RoleArn")
    creation_time: Timestamp | None = Field(default=None, alias="CreationTime")
    processing_start_time: Timestamp | None = Field(default=None, alias="ProcessingStartTime")
    processing_end_time: Timestamp | None = Field(default=None, alias="ProcessingEndTime")
    last_modified_time: Timestamp | None = Field(default=None, alias="LastModifiedTime")
    tags: dict[str, str] | list[dict[str, str]] | None = Field(default=None, alias="Tags")


# Environment keys SageMaker Model Monitor sets on the processing jobs its schedules start.
MONITOR_ENV_ENDPOINT = "sagemaker_endpoint_name"
MONITOR_ENV_SCHEDULE = "sagemaker_monitoring_schedule_name"


class ProcessingJobStateChangeEvent(AwsEvent):
    """A processing job changed status. Model Monitor executions are processing jobs too: they
    carry ``MonitoringScheduleArn`` and monitor hints in ``Environment``."""

    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Processing Job State Change"] = Field(alias="detail-type")
    detail: ProcessingJobDetail

    @property
    def processing_job_arn(self) -> str:
        return self.detail.processing_job_arn

    @property
    def status(self) -> str:
        return self.detail.processing_job_status

    @property
    def monitoring_schedule_name(self) -> str | None:
        from_arn = arn_resource_tail(self.detail.monitoring_schedule_arn, "monitoring-schedule")
        if from_arn:
            return from_arn
        return (self.detail.environment or {}).get(MONITOR_ENV_SCHEDULE)

    @property
    def monitored_endpoint_name(self) -> str | None:
        return (self.detail.environment or {}).get(MONITOR_ENV_ENDPOINT)

    @property
    def is_monitoring_job(self) -> bool:
        return self.monitoring_schedule_name is not None

    @property
    def output_s3_uris(self) -> list[str]:
        config = self.detail.processing_output_config
        if config is None:
            return []
        return [out.s3_output.s3_uri for out in config.outputs if out.s3_output is not None]
