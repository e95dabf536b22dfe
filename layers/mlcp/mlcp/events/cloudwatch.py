"""``aws.cloudwatch`` ``CloudWatch Alarm State Change`` (metric, math-expression and composite
alarms). Shape per "Alarm events and EventBridge" in the CloudWatch user guide."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlcp.events._base import AwsDetail, AwsEvent, AwsPart, Timestamp

CLOUDWATCH_SOURCE = "aws.cloudwatch"

AlarmStateValue = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


class AlarmState(AwsPart):
    value: AlarmStateValue
    reason: str | None = None
    reason_data: str | None = Field(default=None, alias="reasonData", description="JSON text.")
    timestamp: Timestamp | None = None
    actions_suppressed_by: str | None = Field(default=None, alias="actionsSuppressedBy")
    actions_suppressed_reason: str | None = Field(default=None, alias="actionsSuppressedReason")


class Metric(AwsPart):
    namespace: str | None = None
    name: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)


class MetricStat(AwsPart):
    metric: Metric
    period: int | None = None
    stat: str | None = None
    unit: str | None = None


class AlarmMetric(AwsPart):
    id: str | None = None
    metric_stat: MetricStat | None = Field(default=None, alias="metricStat")
    expression: str | None = None
    label: str | None = None
    return_data: bool | None = Field(default=None, alias="returnData")


class AlarmConfiguration(AwsPart):
    description: str | None = None
    metrics: list[AlarmMetric] = Field(default_factory=list)
    alarm_rule: str | None = Field(default=None, alias="alarmRule", description="Composite alarms only.")
    actions_suppressor: str | None = Field(default=None, alias="actionsSuppressor")


class AlarmStateChangeDetail(AwsDetail):
    alarm_name: str = Field(alias="alarmName", min_length=1, max_length=255)
    state: AlarmState
    previous_state: AlarmState | None = Field(default=None, alias="previousState")
    configuration: AlarmConfiguration | None = None


class AlarmStateChangeEvent(AwsEvent):
    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmStateChangeDetail

    @property
    def alarm_name(self) -> str:
        return self.detail.alarm_name

    @property
    def state(self) -> AlarmStateValue:
        return self.detail.state.value

    @property
    def previous_state(self) -> AlarmStateValue | None:
        previous = self.detail.previous_state
        return previous.value if previous else None

    @property
    def is_alarm(self) -> bool:
        return self.detail.state.value == "ALARM"

    @property
    def is_recovery(self) -> bool:
        """ALARM -> OK."""
        return self.previous_state == "ALARM" and self.state == "OK"

    @property
    def dimensions(self) -> dict[str, str]:
        """Dimensions of every metric the alarm watches, merged (first one wins on a clash)."""
        merged: dict[str, str] = {}
        configuration = self.detail.configuration
        for metric in configuration.metrics if configuration else []:
            if metric.metric_stat is not None:
                for key, value in metric.metric_stat.metric.dimensions.items():
                    merged.setdefault(key, value)
        return merged

    @property
    def endpoint_name(self) -> str | None:
        """``EndpointName`` dimension (AWS/SageMaker invocation metrics), if any."""
        return self.dimensions.get("EndpointName")
