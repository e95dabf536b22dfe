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
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from mlcp.errors import InvalidEvent
from mlcp.records import record_class

if TYPE_CHECKING:
    from pydantic import ValidationError

    from mlcp.events.cloudwatch import AlarmStateChangeEvent
    from mlcp.events.endpoint import EndpointDeploymentStateChangeEvent, EndpointStateChangeEvent
    from mlcp.events.model_package import ModelPackageStateChangeEvent
    from mlcp.events.monitoring import ModelMonitoringReportEvent, Violation
    from mlcp.events.pipeline import PipelineExecutionStatusChangeEvent
    from mlcp.events.processing import ProcessingJobStateChangeEvent
    from mlcp.events.s3 import S3ObjectCreatedEvent
    from mlcp.events.training import TrainingJobStateChangeEvent

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
    "detail_types",
    "parse_event",
    "validation_reason",
]

MONITORING_REPORT_SOURCE: Final = "mlcp.monitoring"
MONITORING_REPORT_DETAIL_TYPE: Final = "Model Monitoring Report"

# A lazy type alias: its members are looked up when something evaluates it, not at import.
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


@record_class
class EventKind:
    """One detail-type we consume: the only source allowed to send it, where its model lives
    (module and class, imported on first use) and the directory of its samples under ``events/``."""

    source: str
    module: str
    model: str
    slug: str

    def load(self) -> type[ControlPlaneEvent]:
        """The model class (importing its module the first time)."""
        # __import__ rather than importlib.import_module: -X importtime then shows the module.
        model: type[ControlPlaneEvent] = getattr(__import__(self.module, fromlist=[self.model]), self.model)
        return model


# The registry is data, not the models: a function imports the module of the one detail-type it
# receives, not all nine (cold start, docs/adr/0030). tests/events check it against the models'
# own Literal source and detail-type.
EVENT_KINDS: Final[dict[str, EventKind]] = {
    "Object Created": EventKind("aws.s3", "mlcp.events.s3", "S3ObjectCreatedEvent", "s3-object-created"),
    "SageMaker Model Package State Change": EventKind(
        "aws.sagemaker",
        "mlcp.events.model_package",
        "ModelPackageStateChangeEvent",
        "model-package-state-change",
    ),
    "SageMaker Endpoint State Change": EventKind(
        "aws.sagemaker", "mlcp.events.endpoint", "EndpointStateChangeEvent", "endpoint-state-change"
    ),
    "SageMaker Endpoint Deployment State Change": EventKind(
        "aws.sagemaker",
        "mlcp.events.endpoint",
        "EndpointDeploymentStateChangeEvent",
        "endpoint-deployment-state-change",
    ),
    "SageMaker Training Job State Change": EventKind(
        "aws.sagemaker", "mlcp.events.training", "TrainingJobStateChangeEvent", "training-job-state-change"
    ),
    "SageMaker Model Building Pipeline Execution Status Change": EventKind(
        "aws.sagemaker",
        "mlcp.events.pipeline",
        "PipelineExecutionStatusChangeEvent",
        "pipeline-execution-status-change",
    ),
    "SageMaker Processing Job State Change": EventKind(
        "aws.sagemaker",
        "mlcp.events.processing",
        "ProcessingJobStateChangeEvent",
        "processing-job-state-change",
    ),
    "CloudWatch Alarm State Change": EventKind(
        "aws.cloudwatch", "mlcp.events.cloudwatch", "AlarmStateChangeEvent", "alarm-state-change"
    ),
    MONITORING_REPORT_DETAIL_TYPE: EventKind(
        MONITORING_REPORT_SOURCE,
        "mlcp.events.monitoring",
        "ModelMonitoringReportEvent",
        "model-monitoring-report",
    ),
}
"""detail-type -> what we know of it before loading its model."""

_MODULE_OF_NAME: Final[dict[str, str]] = {kind.model: kind.module for kind in EVENT_KINDS.values()} | {
    "Violation": "mlcp.events.monitoring"
}


class _ModelsByDetailType(Mapping[str, "type[ControlPlaneEvent]"]):
    """detail-type -> model class, each model imported when it is first looked up."""

    def __getitem__(self, detail_type: str) -> type[ControlPlaneEvent]:
        return EVENT_KINDS[detail_type].load()

    def __iter__(self) -> Iterator[str]:
        return iter(EVENT_KINDS)

    def __len__(self) -> int:
        return len(EVENT_KINDS)


MODELS_BY_DETAIL_TYPE: Final[Mapping[str, type[ControlPlaneEvent]]] = _ModelsByDetailType()
"""detail-type -> model class (loaded on lookup)."""


def detail_types(*models: str) -> frozenset[str]:
    """The detail-types of the named models (``"S3ObjectCreatedEvent"``), their modules left unloaded:
    a function that takes several detail-types loads the model of each with its first event."""
    by_model = {kind.model: detail_type for detail_type, kind in EVENT_KINDS.items()}
    unknown = sorted(set(models) - set(by_model))
    if unknown:
        raise ValueError(f"not event models of mlcp.events: {', '.join(unknown)}")
    return frozenset(by_model[model] for model in models)


SOURCE_BY_DETAIL_TYPE: Final[dict[str, str]] = {
    detail_type: kind.source for detail_type, kind in EVENT_KINDS.items()
}
"""detail-type -> the only source allowed to send it."""

SLUG_BY_DETAIL_TYPE: Final[dict[str, str]] = {
    detail_type: kind.slug for detail_type, kind in EVENT_KINDS.items()
}
"""detail-type -> the directory name of its samples and schema under ``events/``."""


def __getattr__(name: str) -> Any:
    """The model classes (``from mlcp.events import S3ObjectCreatedEvent``), each imported with
    its own module the first time it is asked for (PEP 562)."""
    module = _MODULE_OF_NAME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


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
    kind = EVENT_KINDS.get(detail_type)
    if kind is None:
        raise InvalidEvent(f"unknown detail-type {_quote(detail_type)}")
    expected = kind.source
    source = raw.get("source")
    if source is None:
        raise InvalidEvent(f"missing source (expected {expected!r} for {detail_type!r})")
    if source != expected:
        shown = _quote(source) if isinstance(source, str) else _describe_input(source).strip(" ()")
        raise InvalidEvent(f"source {shown} is not the source of {detail_type!r} (expected {expected!r})")
    return kind.load()


def parse_event(raw: Mapping[str, Any] | str | bytes) -> ControlPlaneEvent:
    """Validate a raw EventBridge event (a mapping, or its JSON text) into its model.

    Raises :class:`mlcp.errors.InvalidEvent` with a precise reason on any problem."""
    from pydantic import ValidationError

    event = _as_mapping(raw)
    model = model_for(event)
    try:
        return model.model_validate(dict(event))
    except ValidationError as exc:
        raise InvalidEvent(validation_reason(exc)) from None
