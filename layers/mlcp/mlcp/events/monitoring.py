"""The control plane's own, monitor-agnostic event: ``mlcp.monitoring`` ``Model Monitoring Report``.

Any monitor (SageMaker Model Monitor, a custom drift job, a third-party tool) publishes one per
run with PutEvents; the contract is documented in docs/events/monitoring-report.md. Unlike AWS
events the bounds here are ours, so they are strict: a report outside them is rejected.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlcp.events import MONITORING_REPORT_DETAIL_TYPE, MONITORING_REPORT_SOURCE
from mlcp.events._base import AwsDetail, AwsEvent, AwsPart, Timestamp

__all__ = [
    "MAX_VIOLATIONS",
    "MONITORING_REPORT_DETAIL_TYPE",
    "MONITORING_REPORT_SOURCE",
    "ModelMonitoringReportDetail",
    "ModelMonitoringReportEvent",
    "MonitorKind",
    "Violation",
]
MAX_VIOLATIONS = 500

MonitorKind = Literal["data-quality", "model-quality", "bias-drift", "feature-attribution-drift", "custom"]

_NAME = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # SageMaker endpoint / schedule naming rule
_S3_URI = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"


class Violation(AwsPart):
    """One failed check of one feature (or of the model, for model-quality checks)."""

    feature: str = Field(
        min_length=1, max_length=256, description="Feature (column) name, or `*` for model-level."
    )
    check_type: str = Field(
        alias="checkType",
        min_length=1,
        max_length=128,
        description="e.g. baseline_drift_check, data_type_check, completeness_check, missing_column_check.",
    )
    metric: str | None = Field(
        default=None, max_length=128, description="Metric compared, e.g. `js_divergence`."
    )
    threshold: float | str | None = Field(default=None, description="The bound the check compares against.")
    observed_value: float | str | None = Field(default=None, alias="observedValue")
    description: str | None = Field(default=None, max_length=1024)


class ModelMonitoringReportDetail(AwsDetail):
    schema_version: str = Field(
        default="1.0",
        alias="schemaVersion",
        pattern=r"^1\.\d+$",
        description="Contract version; consumers accept any 1.x.",
    )
    endpoint_name: str = Field(alias="endpointName", min_length=1, max_length=63, pattern=_NAME)
    monitor_name: str = Field(alias="monitorName", min_length=1, max_length=63, pattern=_NAME)
    monitor_kind: MonitorKind = Field(default="custom", alias="monitorKind")
    run_time: Timestamp = Field(alias="runTime", description="When the monitoring run analysed its window.")
    violations: list[Violation] = Field(default_factory=list, max_length=MAX_VIOLATIONS)
    report_uri: str = Field(alias="reportUri", max_length=1024, pattern=_S3_URI)


class ModelMonitoringReportEvent(AwsEvent):
    source: Literal["mlcp.monitoring"]
    detail_type: Literal["Model Monitoring Report"] = Field(alias="detail-type")
    detail: ModelMonitoringReportDetail

    @property
    def endpoint_name(self) -> str:
        return self.detail.endpoint_name

    @property
    def monitor_name(self) -> str:
        return self.detail.monitor_name

    @property
    def has_violations(self) -> bool:
        return bool(self.detail.violations)

    @property
    def violated_features(self) -> list[str]:
        """Distinct features with at least one violation, in report order."""
        return list(dict.fromkeys(v.feature for v in self.detail.violations))
