"""``aws.sagemaker`` state-change events consumed by the control plane.

Shapes follow "Events that Amazon SageMaker AI sends to Amazon EventBridge" (SageMaker developer
guide). Most detail fields mirror the matching ``Describe*`` API response (PascalCase), except the
pipeline execution event, whose fields are camelCase. Status spellings differ between events and
the API (``IN_SERVICE`` vs ``InService``), so statuses stay free strings and the helpers compare
them through :func:`mlcp.events._base.normalise_status`.

Every model, in one namespace. Importing this module loads all of them: runtime code imports the
module of the detail-type it handles (``model_package``, ``endpoint``, ``training``, ``pipeline``,
``processing``) or goes through :mod:`mlcp.events`, which loads one module per detail-type.
"""

from __future__ import annotations

from mlcp.events._sagemaker import ARN_MAX, NAME_MAX, SAGEMAKER_SOURCE, ModelApprovalStatus
from mlcp.events.endpoint import (
    EndpointDeploymentDetail,
    EndpointDeploymentStateChangeEvent,
    EndpointDetail,
    EndpointStateChangeEvent,
    PendingDeploymentSummary,
    ProductionVariantSummary,
    VariantStatus,
)
from mlcp.events.model_package import (
    IamIdentity,
    ModelPackageDetail,
    ModelPackageStateChangeEvent,
    UserContext,
)
from mlcp.events.pipeline import PipelineExecutionDetail, PipelineExecutionStatusChangeEvent
from mlcp.events.processing import (
    MONITOR_ENV_ENDPOINT,
    MONITOR_ENV_SCHEDULE,
    AppSpecification,
    ProcessingJobDetail,
    ProcessingJobStateChangeEvent,
    ProcessingOutput,
    ProcessingOutputConfig,
    S3Output,
)
from mlcp.events.training import ModelArtifacts, TrainingJobDetail, TrainingJobStateChangeEvent

__all__ = [
    "ARN_MAX",
    "MONITOR_ENV_ENDPOINT",
    "MONITOR_ENV_SCHEDULE",
    "NAME_MAX",
    "SAGEMAKER_SOURCE",
    "AppSpecification",
    "EndpointDeploymentDetail",
    "EndpointDeploymentStateChangeEvent",
    "EndpointDetail",
    "EndpointStateChangeEvent",
    "IamIdentity",
    "ModelApprovalStatus",
    "ModelArtifacts",
    "ModelPackageDetail",
    "ModelPackageStateChangeEvent",
    "PendingDeploymentSummary",
    "PipelineExecutionDetail",
    "PipelineExecutionStatusChangeEvent",
    "ProcessingJobDetail",
    "ProcessingJobStateChangeEvent",
    "ProcessingOutput",
    "ProcessingOutputConfig",
    "ProductionVariantSummary",
    "S3Output",
    "TrainingJobDetail",
    "TrainingJobStateChangeEvent",
    "UserContext",
    "VariantStatus",
]
