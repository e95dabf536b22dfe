"""``SageMaker Processing Job State Change`` (Model Monitor executions are processing jobs too)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mlcp.events._base import AwsDetail, AwsEvent, AwsPart, Timestamp, arn_resource_tail
from mlcp.events._sagemaker import ARN_MAX, NAME_MAX


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
    processing_job_name: str | None = Field(default=None, alias="ProcessingJobName", max_length=NAME_MAX)
    processing_job_arn: str = Field(alias="ProcessingJobArn", min_length=1, max_length=ARN_MAX)
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
