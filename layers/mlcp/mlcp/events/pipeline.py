"""``SageMaker Model Building Pipeline Execution Status Change`` (its fields are camelCase)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlcp.events._base import AwsDetail, AwsEvent, Timestamp, arn_resource_tail
from mlcp.events._sagemaker import ARN_MAX


class PipelineExecutionDetail(AwsDetail):
    pipeline_arn: str | None = Field(default=None, alias="pipelineArn", max_length=ARN_MAX)
    pipeline_execution_arn: str = Field(alias="pipelineExecutionArn", min_length=1, max_length=ARN_MAX)
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
