"""What a monitoring run found, in one shape whatever the monitor: ``Violation``.

Two sources:

- SageMaker Model Monitor: each monitoring execution is a processing job that writes
  ``constraint_violations.json`` next to its other reports. Its shape depends on the monitoring type:

  ==================== ======================================================= =============================
  monitoring type      violation entry                                         kind
  ==================== ======================================================= =============================
  DataQuality          ``feature_name``, ``constraint_check_type`` (data_type   ``data_quality``
                       / completeness / baseline_drift / missing_column /
                       extra_column / categorical_values ``_check``),
                       ``description``
  ModelQuality         ``metric_name``, ``constraint_check_type`` (the          ``model_quality``
                       comparison: ``LessThanThreshold``...), ``description``
  ModelBias            ``facet``, ``facet_value``, ``metric_name``,             ``bias_drift``
                       ``constraint_check_type`` (``bias_drift_check``)
  ModelExplainability  ``label``, ``metric_name`` (``shap``),                   ``feature_attribution_drift``
                       ``constraint_check_type``
                       (``feature_attribution_drift_check``)
  ==================== ======================================================= =============================

  ``classify_constraint_violations(document, monitoring_type)`` reads one; the numbers Model
  Monitor only writes into ``description`` (drift distance, completeness, the metric's value and
  its threshold) are recovered where the text carries them. ``monitoring_job_facts(describe)``
  finds, in a DescribeProcessingJob response, the endpoint, schedule, monitoring type and the URI
  of the violations file.

- Our monitor-agnostic ``mlcp.monitoring`` ``Model Monitoring Report`` event:
  ``violations_from_report(event)`` maps it onto the same kinds (``REPORT_KIND_BY_MONITOR``, then
  ``REPORT_CHECK_KINDS`` for ``monitorKind: custom``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from mlcp.policy.model import MonitoringKind
from mlcp.records import record_class

if TYPE_CHECKING:
    from mlcp.events.monitoring import ModelMonitoringReportEvent

VIOLATIONS_FILE: Final = "constraint_violations.json"
MODEL_LEVEL: Final = "*"
"""The ``feature`` of a violation about the model as a whole (model quality)."""

KIND_BY_MONITORING_TYPE: Final[Mapping[str, MonitoringKind]] = {
    "DataQuality": "data_quality",
    "ModelQuality": "model_quality",
    "ModelBias": "bias_drift",
    "ModelExplainability": "feature_attribution_drift",
}
"""SageMaker ``MonitoringType`` -> violation kind."""

REPORT_KIND_BY_MONITOR: Final[Mapping[str, MonitoringKind]] = {
    "data-quality": "data_quality",
    "model-quality": "model_quality",
    "bias-drift": "bias_drift",
    "feature-attribution-drift": "feature_attribution_drift",
}
"""A Model Monitoring Report's ``monitorKind`` -> violation kind (``custom``: by check type)."""

REPORT_CHECK_KINDS: Final[Mapping[str, MonitoringKind]] = {
    # Model Monitor's data-quality checks.
    "data_type_check": "data_quality",
    "completeness_check": "data_quality",
    "baseline_drift_check": "data_quality",
    "missing_column_check": "data_quality",
    "extra_column_check": "data_quality",
    "categorical_values_check": "data_quality",
    # Model quality: the comparison operators Model Monitor reports, and a generic name.
    "model_quality_check": "model_quality",
    "LessThanThreshold": "model_quality",
    "LessThanOrEqualToThreshold": "model_quality",
    "GreaterThanThreshold": "model_quality",
    "GreaterThanOrEqualToThreshold": "model_quality",
    # Clarify.
    "bias_drift_check": "bias_drift",
    "feature_attribution_drift_check": "feature_attribution_drift",
}
"""For ``monitorKind: custom`` reports: check type -> kind. A check type not listed is
``model_quality`` when its feature is ``*`` (model-level) and ``data_quality`` otherwise."""

# Environment keys Model Monitor sets on the processing jobs of its schedules.
ENV_ENDPOINT: Final = "sagemaker_endpoint_name"
ENV_SCHEDULE: Final = "sagemaker_monitoring_schedule_name"
ENV_DATASET_SOURCE: Final = "dataset_source"
ENV_OUTPUT_PATH: Final = "output_path"
ENV_ANALYSIS_TYPE: Final = "analysis_type"
SCHEDULE_TAG: Final = "sagemaker-monitoring-schedule"

_ANALYSIS_TYPES: Final[Mapping[str, str]] = {
    "DATA_QUALITY": "DataQuality",
    "MODEL_QUALITY": "ModelQuality",
    "MODEL_BIAS": "ModelBias",
    "MODEL_EXPLAINABILITY": "ModelExplainability",
}

_DATA_QUALITY_METRICS: Final[Mapping[str, str]] = {
    "baseline_drift_check": "distribution_distance",
    "completeness_check": "completeness",
    "data_type_check": "data_type_match",
    "categorical_values_check": "domain_content",
}

_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_EXCEEDS = re.compile(
    rf"{_NUMBER}\s+exceeds\s+(?:the\s+)?threshold(?:\s+value)?(?:\s+of)?:?\s*'?{_NUMBER}", re.I
)
_DISTANCE = re.compile(rf"distance:?\s*{_NUMBER}", re.I)
_THRESHOLD = re.compile(rf"threshold(?:\s+value)?(?:\s+of)?:?\s*'?{_NUMBER}", re.I)
_EXPECTED_PERCENT = re.compile(rf"Expected(?:\s+match)?:?\s*{_NUMBER}\s*%", re.I)
_OBSERVED_PERCENT = re.compile(rf"Observed:?\s*(?:Only\s+)?{_NUMBER}\s*%", re.I)
_ONLY_PERCENT = re.compile(rf"Only\s+{_NUMBER}\s*%", re.I)
_METRIC_WITH = re.compile(rf"\bwith\s+{_NUMBER}", re.I)
_QUOTED_NUMBER = re.compile(rf"'{_NUMBER}'")
_VALUE = re.compile(rf"\bValue\s+{_NUMBER}", re.I)
_HOUR_PATH = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}/?$")


@record_class(slots=True)
class Violation:
    """One failed check: of a feature (column, facet or label) or, with feature ``*``, of the model."""

    feature: str
    check_type: str
    kind: MonitoringKind
    metric: str | None = None
    threshold: float | None = None
    observed: float | None = None
    description: str = ""


@record_class(slots=True)
class MonitoringJobFacts:
    """What a monitoring execution's processing job says about itself (None: not found)."""

    endpoint: str | None
    schedule: str | None
    monitoring_type: str | None
    violations_uri: str | None

    @property
    def kind(self) -> MonitoringKind | None:
        return KIND_BY_MONITORING_TYPE.get(self.monitoring_type or "")


def monitoring_kind(monitoring_type: str) -> MonitoringKind:
    """``DataQuality`` / ``data-quality`` / ``DATA_QUALITY`` / ``data_quality`` -> ``data_quality``, etc."""
    folded = re.sub(r"[^a-z]", "", monitoring_type.lower())
    for name, kind in KIND_BY_MONITORING_TYPE.items():
        if folded in (name.lower(), kind.replace("_", "")):
            return kind
    if folded in ("bias", "biasdrift", "modelbiasdrift"):
        return "bias_drift"
    if folded in ("explainability", "featureattribution", "featureattributiondrift"):
        return "feature_attribution_drift"
    known = ", ".join(KIND_BY_MONITORING_TYPE)
    raise ValueError(f"unknown monitoring type {monitoring_type!r} (known: {known})")


# ------------------------------------------------------------------------------ Model Monitor


def _number(pattern: re.Pattern[str], text: str, group: int = 1) -> float | None:
    found = pattern.search(text)
    return float(found.group(group)) if found else None


def _text(entry: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = entry.get(key)
        if value is not None and str(value).strip():
            return str(value)
    return None


def _data_quality(entry: Mapping[str, Any], check: str, description: str) -> Violation:
    feature = _text(entry, "feature_name", "feature", "column") or MODEL_LEVEL
    observed = threshold = None
    if check == "baseline_drift_check":
        exceeds = _EXCEEDS.search(description)
        if exceeds:
            observed, threshold = float(exceeds.group(1)), float(exceeds.group(2))
        else:
            observed = _number(_DISTANCE, description)
            threshold = _number(_THRESHOLD, description)
    elif check in ("completeness_check", "data_type_check", "categorical_values_check"):
        expected = _number(_EXPECTED_PERCENT, description)
        seen = _number(_OBSERVED_PERCENT, description)
        if seen is None:
            seen = _number(_ONLY_PERCENT, description)
        threshold = None if expected is None else expected / 100
        observed = None if seen is None else seen / 100
        if threshold is None and observed is None:
            exceeds = _EXCEEDS.search(description)
            if exceeds:
                observed, threshold = float(exceeds.group(1)), float(exceeds.group(2))
    return Violation(
        feature=feature,
        check_type=check,
        kind="data_quality",
        metric=_DATA_QUALITY_METRICS.get(check),
        threshold=threshold,
        observed=observed,
        description=description,
    )


def _model_quality(entry: Mapping[str, Any], check: str, description: str) -> Violation:
    threshold = _number(_QUOTED_NUMBER, description)
    if threshold is None:
        threshold = _number(_THRESHOLD, description)
    return Violation(
        feature=MODEL_LEVEL,
        check_type=check,
        kind="model_quality",
        metric=_text(entry, "metric_name", "metric"),
        threshold=threshold,
        observed=_number(_METRIC_WITH, description),
        description=description,
    )


def _bias_drift(entry: Mapping[str, Any], check: str, description: str) -> Violation:
    facet = _text(entry, "facet", "feature_name", "feature") or MODEL_LEVEL
    threshold, observed = _number(_THRESHOLD, description), _number(_VALUE, description)
    facet_value = _text(entry, "facet_value")
    if facet_value is not None:
        where = f"facet {facet}={facet_value}"
        description = f"{description} ({where})" if description else where
    return Violation(
        feature=facet,
        check_type=check,
        kind="bias_drift",
        metric=_text(entry, "metric_name", "metric"),
        threshold=threshold,
        observed=observed,
        description=description,
    )


def _feature_attribution(entry: Mapping[str, Any], check: str, description: str) -> Violation:
    # Clarify compares the nDCG of the global SHAP ranking per label: no per-feature entries.
    feature = _text(entry, "feature_name", "feature", "label") or MODEL_LEVEL
    exceeds = _EXCEEDS.search(description)
    observed = float(exceeds.group(1)) if exceeds else None
    threshold = float(exceeds.group(2)) if exceeds else _number(_THRESHOLD, description)
    return Violation(
        feature=feature,
        check_type=check,
        kind="feature_attribution_drift",
        metric=_text(entry, "metric_name", "metric"),
        threshold=threshold,
        observed=observed,
        description=description,
    )


_READERS = {
    "data_quality": (_data_quality, None),
    "model_quality": (_model_quality, None),
    "bias_drift": (_bias_drift, "bias_drift_check"),
    "feature_attribution_drift": (_feature_attribution, "feature_attribution_drift_check"),
}


def classify_constraint_violations(document: Mapping[str, Any], monitoring_type: str) -> list[Violation]:
    """The violations of a Model Monitor ``constraint_violations.json`` (decoded), in file order.

    ``monitoring_type`` is the schedule's ``MonitoringType`` (``DataQuality``, ``ModelQuality``,
    ``ModelBias``, ``ModelExplainability``; other spellings via ``monitoring_kind``). A document
    without ``violations`` has none; ``ValueError`` for one that is not Model Monitor's shape.
    """
    if not isinstance(document, Mapping):
        raise ValueError(f"constraint violations must be a JSON object (got {type(document).__name__})")
    kind = monitoring_kind(monitoring_type)
    entries = document.get("violations")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ValueError(f"'violations' must be a list (got {type(entries).__name__})")
    read, default_check = _READERS[kind]
    found: list[Violation] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ValueError(f"violations[{index}] must be an object (got {type(entry).__name__})")
        check = _text(entry, "constraint_check_type") or default_check
        if check is None:
            raise ValueError(f"violations[{index}] has no constraint_check_type")
        found.append(read(entry, check, _text(entry, "description") or ""))
    return found


# ------------------------------------------------------------------------------ our report


def _float(value: float | str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def report_kind(monitor_kind: str, check_type: str, feature: str) -> MonitoringKind:
    """The kind of one violation of a Model Monitoring Report (see the module's mapping)."""
    by_monitor = REPORT_KIND_BY_MONITOR.get(monitor_kind)
    if by_monitor is not None:
        return by_monitor
    by_check = REPORT_CHECK_KINDS.get(check_type)
    if by_check is not None:
        return by_check
    return "model_quality" if feature == MODEL_LEVEL else "data_quality"


def violations_from_report(event: ModelMonitoringReportEvent) -> list[Violation]:
    """The report's violations with their kinds, in report order."""
    detail = event.detail
    return [
        Violation(
            feature=v.feature,
            check_type=v.check_type,
            kind=report_kind(detail.monitor_kind, v.check_type, v.feature),
            metric=v.metric,
            threshold=_float(v.threshold),
            observed=_float(v.observed_value),
            description=v.description or "",
        )
        for v in detail.violations
    ]


def violating_features(violations: Iterable[Violation], kind: str | None = None) -> list[str]:
    """Distinct features with a violation (of ``kind``, if given), first seen first."""
    return list(dict.fromkeys(v.feature for v in violations if kind is None or v.kind == kind))


def kinds_of(violations: Iterable[Violation]) -> list[MonitoringKind]:
    """Distinct kinds, first seen first."""
    return list(dict.fromkeys(v.kind for v in violations))


# ------------------------------------------------------------------------------ processing job


def _tags(raw: Any) -> dict[str, str]:
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        return {
            str(tag["Key"]): str(tag.get("Value", ""))
            for tag in raw
            if isinstance(tag, Mapping) and "Key" in tag
        }
    return {}


def _arn_tail(arn: str | None, resource: str) -> str | None:
    if not arn:
        return None
    marker = f":{resource}/"
    if marker not in arn:
        return None
    tail = arn.split(marker, 1)[1]
    return tail or None


def _output_uri(describe: Mapping[str, Any], output_path: str | None) -> str | None:
    config = describe.get("ProcessingOutputConfig") or {}
    outputs = [o for o in config.get("Outputs") or [] if isinstance(o, Mapping)]
    s3_outputs = [o["S3Output"] for o in outputs if isinstance(o.get("S3Output"), Mapping)]
    if output_path:
        for s3 in s3_outputs:
            if str(s3.get("LocalPath", "")).rstrip("/") == output_path.rstrip("/") and s3.get("S3Uri"):
                return str(s3["S3Uri"])
    for s3 in s3_outputs:
        if s3.get("S3Uri"):
            return str(s3["S3Uri"])
    return None


def _monitoring_type(describe: Mapping[str, Any], environment: Mapping[str, str]) -> str | None:
    analysis = environment.get(ENV_ANALYSIS_TYPE)
    if analysis:
        folded = analysis.strip().upper().replace("-", "_")
        if folded in _ANALYSIS_TYPES:
            return _ANALYSIS_TYPES[folded]
        try:
            return next(t for t, k in KIND_BY_MONITORING_TYPE.items() if k == monitoring_kind(analysis))
        except ValueError:
            pass
    image = str((describe.get("AppSpecification") or {}).get("ImageUri") or "")
    if "sagemaker-model-monitor-analyzer" in image:
        # The analyzer runs both; model quality jobs carry the ground-truth/problem-type settings.
        if any(key in environment for key in ("problem_type", "ground_truth_attribute")):
            return "ModelQuality"
        return "DataQuality"
    return None


def _endpoint_from_output(uri: str | None, schedule: str | None) -> str | None:
    """Model Monitor writes to ``<S3Uri>/<endpoint>/<schedule>/<yyyy>/<mm>/<dd>/<hh>``."""
    if not uri or not schedule:
        return None
    marker = f"/{schedule}/"
    if marker not in uri:
        return None
    head, tail = uri.rsplit(marker, 1)
    if not _HOUR_PATH.match(tail):
        return None
    endpoint = head.rsplit("/", 1)[-1]
    return endpoint if endpoint and not head.endswith(":/") else None


_CAPTURE_PATH = re.compile(r"/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/[^/]+/\d{4}/\d{2}/\d{2}/\d{2}(?:/|$)")


def _endpoint_from_inputs(describe: Mapping[str, Any], dataset_source: str | None) -> str | None:
    """The endpoint of the data-capture input mounted at ``dataset_source``: captured requests live
    under ``<prefix>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>``."""
    if not dataset_source:
        return None
    for item in describe.get("ProcessingInputs") or []:
        s3 = item.get("S3Input") if isinstance(item, Mapping) else None
        if not isinstance(s3, Mapping):
            continue
        local = str(s3.get("LocalPath", "")).rstrip("/")
        if local and dataset_source.rstrip("/").startswith(local):
            found = _CAPTURE_PATH.search(str(s3.get("S3Uri", "")))
            if found:
                return found.group(1)
    return None


def monitoring_job_facts(
    describe: Mapping[str, Any], monitoring_type: str | None = None
) -> MonitoringJobFacts:
    """Endpoint, schedule, monitoring type and ``constraint_violations.json`` URI of a monitoring
    execution, from its DescribeProcessingJob response (tags merged in as ``Tags`` if the caller
    listed them). ``monitoring_type`` (e.g. from DescribeMonitoringSchedule) wins over what the job
    itself hints at (``analysis_type`` in its Environment, or the Model Monitor analyzer image).
    """
    environment = {str(k): str(v) for k, v in (describe.get("Environment") or {}).items()}
    tags = _tags(describe.get("Tags"))
    schedule = (
        _arn_tail(describe.get("MonitoringScheduleArn"), "monitoring-schedule")
        or environment.get(ENV_SCHEDULE)
        or tags.get(SCHEDULE_TAG)
    )
    output = _output_uri(describe, environment.get(ENV_OUTPUT_PATH))
    endpoint = (
        environment.get(ENV_ENDPOINT)
        or _endpoint_from_inputs(describe, environment.get(ENV_DATASET_SOURCE))
        or _endpoint_from_output(output, schedule)
    )
    if monitoring_type is not None:
        kind = monitoring_kind(monitoring_type)
        resolved: str | None = next(t for t, k in KIND_BY_MONITORING_TYPE.items() if k == kind)
    else:
        resolved = _monitoring_type(describe, environment)
    violations_uri = f"{output.rstrip('/')}/{VIOLATIONS_FILE}" if output else None
    return MonitoringJobFacts(
        endpoint=endpoint or None,
        schedule=schedule or None,
        monitoring_type=resolved,
        violations_uri=violations_uri,
    )
