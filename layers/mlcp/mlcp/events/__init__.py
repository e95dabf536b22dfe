"""The event contract: pydantic models of every event the control plane consumes, keyed by
``detail-type``, and :func:`parse_event`, the single entry point that validates a raw event.

``parse_event`` trusts nothing: the detail-type must be one we consume, the source must be the
genuine source of that detail-type (``custom.sagemaker`` cannot pose as SageMaker, and our own
``mlcp.monitoring`` cannot carry an ``aws.`` detail-type), and the envelope and detail must
validate. Every rejection is an :class:`mlcp.errors.InvalidEvent` whose ``reason`` names the
offending field in a sentence an operator can act on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from mlcp.errors import InvalidEvent
from mlcp.events.cloudwatch import AlarmStateChangeEvent
from mlcp.events.monitoring import (
    MONITORING_REPORT_DETAIL_TYPE,
    MONITORING_REPORT_SOURCE,
    ModelMonitoringReportEvent,
    Violation,
)
from mlcp.events.s3 import S3ObjectCreatedEvent
from mlcp.events.sagemaker import (
    EndpointDeploymentStateChangeEvent,
    EndpointStateChangeEvent,
    ModelPackageStateChangeEvent,
    PipelineExecutionStatusChangeEvent,
    ProcessingJobStateChangeEvent,
    TrainingJobStateChangeEvent,
)

__all__ = [
    "MODELS_BY_DETAIL_TYPE",
    "MONITORING_REPORT_DETAIL_TYPE",
    "MONITORING_REPORT_SOURCE",
    "SLUG_BY_DETAIL_TYPE",
    "SOURCE_BY_DETAIL_TYPE",
    "AlarmStateChangeEvent",
    "ControlPlaneEvent",
    "EndpointDeploymentStateChangeEvent",
    "EndpointStateChangeEvent",
    "ModelMonitoringReportEvent",
    "ModelPackageStateChangeEvent",
    "PipelineExecutionStatusChangeEvent",
    "ProcessingJobStateChangeEvent",
    "S3ObjectCreatedEvent",
    "TrainingJobStateChangeEvent",
    "Violation",
    "parse_event",
    "validation_reason",
]

type ControlPlaneEvent = (
    S3ObjectCreatedEvent
    | ModelPackageStateChangeEvent
    | EndpointStateChangeEvent
    | EndpointDeploymentStateChangeEvent
    | TrainingJobStateChangeEvent
    | PipelineExecutionStatusChangeEvent
    | ProcessingJobStateChangeEvent
    | AlarmStateChangeEvent
    | ModelMonitoringReportEvent
)
"""Any event :func:`parse_event` returns."""

_ALL_MODELS: Final[tuple[type[ControlPlaneEvent], ...]] = (
    S3ObjectCreatedEvent,
    ModelPackageStateChangeEvent,
    EndpointStateChangeEvent,
    EndpointDeploymentStateChangeEvent,
    TrainingJobStateChangeEvent,
    PipelineExecutionStatusChangeEvent,
    ProcessingJobStateChangeEvent,
    AlarmStateChangeEvent,
    ModelMonitoringReportEvent,
)


def _literal(model: type[BaseModel], field: str) -> str:
    """The single value of a ``Literal[...]`` field (source, detail-type) of a model."""
    annotation = model.model_fields[field].annotation
    values: tuple[object, ...] = getattr(annotation, "__args__", ())
    if len(values) != 1 or not isinstance(values[0], str):  # pragma: no cover - a model bug
        raise TypeError(f"{model.__name__}.{field} must be a one-value Literal")
    return values[0]


MODELS_BY_DETAIL_TYPE: Final[dict[str, type[ControlPlaneEvent]]] = {
    _literal(model, "detail_type"): model for model in _ALL_MODELS
}
"""detail-type -> model class."""

SOURCE_BY_DETAIL_TYPE: Final[dict[str, str]] = {
    _literal(model, "detail_type"): _literal(model, "source") for model in _ALL_MODELS
}
"""detail-type -> the only source allowed to send it."""

SLUG_BY_DETAIL_TYPE: Final[dict[str, str]] = {
    "Object Created": "s3-object-created",
    "SageMaker Model Package State Change": "model-package-state-change",
    "SageMaker Endpoint State Change": "endpoint-state-change",
    "SageMaker Endpoint Deployment State Change": "endpoint-deployment-state-change",
    "SageMaker Training Job State Change": "training-job-state-change",
    "SageMaker Model Building Pipeline Execution Status Change": "pipeline-execution-status-change",
    "SageMaker Processing Job State Change": "processing-job-state-change",
    "CloudWatch Alarm State Change": "alarm-state-change",
    "Model Monitoring Report": "model-monitoring-report",
}
"""detail-type -> the directory name of its samples and schema under ``events/``."""

_MAX_REPORTED_ERRORS = 5
_MAX_VALUE_CHARS = 60


def _quote(text: str) -> str:
    return repr(text if len(text) <= _MAX_VALUE_CHARS else text[:_MAX_VALUE_CHARS] + "...")


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _describe_input(value: Any) -> str:
    if isinstance(value, str):
        return (
            f" (got {_quote(value)})" if len(value) <= _MAX_VALUE_CHARS else f" (got {len(value)} characters)"
        )
    if isinstance(value, bool | int | float) or value is None:
        return f" (got {json.dumps(value)})"
    return f" (got {type(value).__name__})"


def validation_reason(exc: ValidationError) -> str:
    """Why pydantic refused an event: the first problems, each with where it is and what was given."""
    parts = []
    errors = exc.errors(include_url=False, include_context=False)
    for error in errors[:_MAX_REPORTED_ERRORS]:
        where = _location(error["loc"])
        message = error["msg"]
        if error["type"] not in {"missing", "extra_forbidden"}:
            message += _describe_input(error.get("input"))
        parts.append(f"{where}: {message}" if where else message)
    if len(errors) > _MAX_REPORTED_ERRORS:
        parts.append(f"and {len(errors) - _MAX_REPORTED_ERRORS} more problem(s)")
    return "; ".join(parts)


def _as_mapping(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, str | bytes | bytearray):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidEvent(f"event is not valid JSON: {exc}") from None
    if not isinstance(raw, Mapping):
        kind = "null" if raw is None else type(raw).__name__
        raise InvalidEvent(f"event must be a JSON object, got {kind}")
    return raw


def model_for(raw: Mapping[str, Any]) -> type[ControlPlaneEvent]:
    """The model that ``raw`` claims to be, after the detail-type and source checks."""
    if "detail-type" not in raw:
        raise InvalidEvent("missing detail-type")
    detail_type = raw["detail-type"]
    if not isinstance(detail_type, str):
        raise InvalidEvent(f"detail-type must be a string{_describe_input(detail_type)}")
    model = MODELS_BY_DETAIL_TYPE.get(detail_type)
    if model is None:
        raise InvalidEvent(f"unknown detail-type {_quote(detail_type)}")
    expected = SOURCE_BY_DETAIL_TYPE[detail_type]
    source = raw.get("source")
    if source is None:
        raise InvalidEvent(f"missing source (expected {expected!r} for {detail_type!r})")
    if source != expected:
        shown = _quote(source) if isinstance(source, str) else _describe_input(source).strip(" ()")
        raise InvalidEvent(f"source {shown} is not the source of {detail_type!r} (expected {expected!r})")
    return model


def parse_event(raw: Mapping[str, Any] | str | bytes) -> ControlPlaneEvent:
    """Validate a raw EventBridge event (a mapping, or its JSON text) into its model.

    Raises :class:`mlcp.errors.InvalidEvent` with a precise reason on any problem."""
    event = _as_mapping(raw)
    model = model_for(event)
    try:
        return model.model_validate(dict(event))
    except ValidationError as exc:
        raise InvalidEvent(validation_reason(exc)) from None
