"""``SageMaker Training Job State Change``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mlcp.events._base import AwsDetail, AwsEvent, AwsPart, Timestamp, arn_resource_tail, normalise_status
from mlcp.events._sagemaker import ARN_MAX, NAME_MAX


class ModelArtifacts(AwsPart):
    s3_model_artifacts: str | None = Field(default=None, alias="S3ModelArtifacts")


class TrainingJobDetail(AwsDetail):
    training_job_name: str | None = Field(default=None, alias="TrainingJobName", max_length=NAME_MAX)
    training_job_arn: str = Field(alias="TrainingJobArn", min_length=1, max_length=ARN_MAX)
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
