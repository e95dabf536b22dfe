"""SageMaker: fills e/f (model package events and metadata), l (pipeline executions) and m (processing
jobs keep their Environment). Endpoints are in :mod:`.sagemaker_endpoints`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from mlcp_cli.emulator.gaps.events import _put_aws_event
from mlcp_cli.emulator.gaps.identity import stamp_model_package_caller
from mlcp_cli.emulator.gaps.state import _call_original


def _epoch_ms(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return value


def model_package_state_change_detail(model_package: Any) -> dict[str, Any]:
    """The ``SageMaker Model Package State Change`` detail: the package's describe shape, times in ms."""
    described = model_package.gen_response_object()
    detail = {k: _epoch_ms(v) for k, v in described.items() if v is not None and k != "ResponseMetadata"}
    detail.setdefault("ModelPackageName", model_package.model_package_name)
    detail.setdefault("ModelPackageArn", model_package.arn)
    shaped: dict[str, Any] = json.loads(json.dumps(detail, default=str))
    return shaped


def _emit_model_package_event(backend: Any, arn: str) -> None:
    model_package = backend.describe_model_package(arn)
    _put_aws_event(
        backend.account_id,
        backend.region_name,
        "aws.sagemaker",
        "SageMaker Model Package State Change",
        [model_package.arn],
        model_package_state_change_detail(model_package),
    )


def fill_sagemaker_create_model_package(self: Any, *args: Any, **kwargs: Any) -> str:
    """CreateModelPackage emits ``SageMaker Model Package State Change``.

    AWS: SageMaker puts the event (source ``aws.sagemaker``) on the default bus when a package is
    created or its approval status changes. moto: emits nothing.
    Fill: after moto's create, re-read the package and put the documented event.
    """
    arn: str = _call_original(type(self), "create_model_package", self, *args, **kwargs)
    stamp_model_package_caller(self.describe_model_package(arn), created=True)
    _emit_model_package_event(self, arn)
    return arn


def fill_sagemaker_versioned_package_arn(self: Any, arn: str) -> Any:
    """Tags of a versioned model package.

    AWS: ListTags / AddTags / DeleteTags take a versioned model package ARN
    (``...:model-package/<group>/<version>``). moto 5.2.5: splits the resource part on "/" into
    exactly two names and fails with "too many values to unpack". Fill: look the package up by its
    ARN (with an empty tag list where moto keeps None); other ARNs keep moto's behaviour.
    """
    resource = arn.rsplit(":", maxsplit=1)[-1]
    if resource.startswith("model-package/") and resource.count("/") == 2:
        from moto.sagemaker.exceptions import ValidationError

        for package in self.model_packages.values():
            if package.arn == arn:
                if package.tags is None:  # moto leaves it None when created without tags
                    package.tags = []
                return package
        raise ValidationError(message=f"Could not find model package {arn}")
    return _call_original(type(self), "_get_resource_from_arn", self, arn)


def fill_sagemaker_update_model_package(
    self: Any,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str],
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    """UpdateModelPackage keeps unspecified fields and emits the state-change event.

    AWS: fields the call does not set are kept; ``CustomerMetadataProperties`` given are merged
    into the existing ones; an approval status change emits ``SageMaker Model Package State
    Change``. moto: sets ``CustomerMetadataProperties``, ``ApprovalDescription`` and even
    ``ModelApprovalStatus`` to the call's value, wiping them when absent; emits nothing.
    Fill: merge/keep those fields, then put the event when the approval status changed.
    """
    package = self.describe_model_package(model_package_arn)
    before_status = package.model_approval_status
    kept_properties = dict(package.customer_metadata_properties or {})
    kept_description = package.approval_description
    arn: str = _call_original(
        type(self),
        "update_model_package",
        self,
        model_package_arn,
        model_approval_status,
        approval_description,
        customer_metadata_properties,
        customer_metadata_properties_to_remove,
        additional_inference_specifications_to_add,
    )
    if model_approval_status is None:
        package.model_approval_status = before_status
    merged = {**kept_properties, **(customer_metadata_properties or {})}
    for key in customer_metadata_properties_to_remove or []:
        merged.pop(key, None)
    package.customer_metadata_properties = merged or None
    if approval_description is None:
        package.approval_description = kept_description
    stamp_model_package_caller(package, created=False)
    if package.model_approval_status != before_status:
        _emit_model_package_event(self, arn)
    return arn


def fill_sagemaker_start_pipeline_execution(
    self: Any,
    pipeline_name: str,
    pipeline_execution_display_name: str,
    pipeline_parameters: list[dict[str, Any]],
    pipeline_execution_description: str,
    parallelism_configuration: dict[str, int],
    client_request_token: str,
) -> dict[str, str]:
    """StartPipelineExecution: idempotent on its token, and announced on EventBridge.

    AWS: a repeated ClientRequestToken returns the execution it started; every status change emits
    ``SageMaker Model Building Pipeline Execution Status Change``. moto 5.2.5: each call starts a new
    execution (marked Succeeded at once, no step runs) and emits nothing. Fill: return the existing
    execution for a known token; otherwise start one and emit Executing then Succeeded (what moto
    records), so the control plane's retraining loop closes in local mode.
    """
    from moto.sagemaker.utils import get_pipeline_from_name

    pipeline = get_pipeline_from_name(self.pipelines, pipeline_name)
    if client_request_token:
        for arn, execution in pipeline.pipeline_executions.items():
            if execution.client_request_token == client_request_token:
                return {"PipelineExecutionArn": arn}
    started: dict[str, str] = _call_original(
        type(self),
        "start_pipeline_execution",
        self,
        pipeline_name,
        pipeline_execution_display_name,
        pipeline_parameters,
        pipeline_execution_description,
        parallelism_configuration,
        client_request_token,
    )
    arn = started["PipelineExecutionArn"]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = {
        "pipelineArn": pipeline.arn,
        "pipelineExecutionArn": arn,
        "pipelineExecutionDisplayName": pipeline_execution_display_name or arn.rsplit("/", 1)[-1],
        "pipelineExecutionDescription": pipeline_execution_description or "",
        "executionStartTime": now,
    }
    for previous, current in ((None, "Executing"), ("Executing", "Succeeded")):
        detail = {**base, "currentPipelineExecutionStatus": current}
        if previous:
            detail["previousPipelineExecutionStatus"] = previous
            detail["executionEndTime"] = now
        _put_aws_event(
            self.account_id,
            self.region_name,
            "aws.sagemaker",
            "SageMaker Model Building Pipeline Execution Status Change",
            [pipeline.arn, arn],
            detail,
        )
    return started


def fill_sagemaker_create_processing_job_environment(self: Any) -> Any:
    """DescribeProcessingJob returns the job's Environment.

    AWS: a processing job keeps the Environment it was created with (Model Monitor puts the
    endpoint and schedule names there). moto 5.2.5: drops Environment at creation. Fill: keep it on
    moto's job, which then describes it.
    """
    result = _call_original(type(self), "create_processing_job", self)
    environment = self._get_param("Environment")
    if environment:
        job = self.sagemaker_backend.processing_jobs[self._get_param("ProcessingJobName")]
        job.environment = dict(environment)
    return result


def fill_sagemaker_list_monitoring_schedules(self: Any) -> str:
    """ListMonitoringSchedules answers, empty.

    AWS: lists the account's Model Monitor schedules (``EndpointName`` filters them). moto 5.2.5:
    implements neither CreateMonitoringSchedule nor ListMonitoringSchedules (NotImplementedError).
    Fill: the answer of an account with no schedule, the only state moto can hold, so ``mlcp doctor``
    reports a missing schedule in local mode as it would on AWS.
    """
    return json.dumps({"MonitoringScheduleSummaries": []})
