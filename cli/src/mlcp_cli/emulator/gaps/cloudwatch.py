"""CloudWatch: fill e for alarms (SetAlarmState emits ``CloudWatch Alarm State Change``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mlcp_cli.emulator.gaps.events import _put_aws_event
from mlcp_cli.emulator.gaps.state import _INSTALL, _call_original


def _iso_ms(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def alarm_state_change_detail(alarm: Any, previous: dict[str, Any]) -> dict[str, Any]:
    """The ``CloudWatch Alarm State Change`` detail as AWS documents it (single-metric alarms)."""
    metric: dict[str, Any] = {
        "namespace": alarm.namespace,
        "name": alarm.metric_name,
        "dimensions": {d.name: d.value for d in alarm.dimensions},
    }
    configuration: dict[str, Any] = {
        "description": alarm.description,
        "metrics": [
            {
                "id": "m1",
                "metricStat": {"metric": metric, "period": alarm.period, "stat": alarm.statistic},
                "returnData": True,
            }
        ],
    }
    return {
        "alarmName": alarm.name,
        "state": {
            "value": alarm.state_value,
            "reason": alarm.state_reason,
            "reasonData": alarm.state_reason_data,
            "timestamp": _iso_ms(alarm.state_updated_timestamp),
        },
        "previousState": previous,
        "configuration": configuration,
    }


def fill_cloudwatch_set_alarm_state(
    self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str
) -> None:
    """SetAlarmState emits ``CloudWatch Alarm State Change`` when the state changes.

    AWS: every alarm state change puts an event (source ``aws.cloudwatch``, resources the alarm
    ARN, detail alarmName/state/previousState/configuration) on the default bus.
    moto: changes the state and emits nothing. Fill: emit the documented event after a change.
    """
    alarm = self.alarms.get(alarm_name)
    previous = (
        None
        if alarm is None
        else {
            "value": alarm.state_value,
            "reason": alarm.state_reason,
            "reasonData": alarm.state_reason_data,
            "timestamp": _iso_ms(alarm.state_updated_timestamp),
        }
    )
    _call_original(type(self), "set_alarm_state", self, alarm_name, reason, reason_data, state_value)
    alarm = self.alarms[alarm_name]
    if previous is not None and previous["value"] != state_value:
        _put_aws_event(
            self.account_id,
            self.region_name,
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            [alarm.alarm_arn],
            alarm_state_change_detail(alarm, previous),
        )
    state = _INSTALL.active
    if state is not None:
        state.clock.poke()  # a deployment baking under this alarm re-reads it now


_BREACHES = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _statistic(name: str, values: list[float]) -> float:
    if name == "Maximum":
        return max(values)
    if name == "Minimum":
        return min(values)
    if name == "Sum":
        return sum(values)
    if name == "SampleCount":
        return float(len(values))
    return sum(values) / len(values)


def _metric_key(namespace: str, name: str, dimensions: Any) -> tuple[str, str, frozenset[tuple[str, str]]]:
    pairs = frozenset(
        (str(d["Name"]), str(d["Value"])) if isinstance(d, dict) else (str(d.name), str(d.value))
        for d in dimensions
    )
    return namespace, name, pairs


def evaluate_alarm(backend: Any, alarm: Any) -> str | None:
    """ALARM when each of the alarm's last ``EvaluationPeriods`` periods (ending with the newest
    datapoint's) breaches the threshold with the alarm's statistic, OK when the newest does not;
    None (state kept) for what is not evaluated here: metric math, percentiles, missing periods."""
    compare = _BREACHES.get(alarm.comparison_operator)
    if compare is None or not alarm.metric_name or alarm.statistic is None:
        return None
    key = _metric_key(alarm.namespace, alarm.metric_name, alarm.dimensions)
    period = int(alarm.period)
    buckets: dict[int, list[float]] = {}
    for datum in backend.metric_data:
        if not hasattr(datum, "value") or _metric_key(datum.namespace, datum.name, datum.dimensions) != key:
            continue
        start = int(_timestamp(datum.timestamp).timestamp()) // period * period
        buckets.setdefault(start, []).append(float(datum.value))
    if not buckets:
        return None
    newest = max(buckets)
    windows = [buckets.get(newest - k * period) for k in range(int(alarm.evaluation_periods))]
    threshold = float(alarm.threshold)
    if not compare(_statistic(alarm.statistic, buckets[newest]), threshold):
        return "OK"
    if any(window is None for window in windows):
        return None
    return "ALARM" if all(compare(_statistic(alarm.statistic, w), threshold) for w in windows if w) else None


def fill_cloudwatch_put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
    """PutMetricData evaluates the metric alarms on the metrics it wrote.

    AWS: a metric alarm evaluates its metric every period; ``EvaluationPeriods`` breaching periods
    in a row set ALARM (and a state change event), a non-breaching one sets OK. moto: alarms never
    look at metrics; only SetAlarmState changes them. Fill: after the datapoints are stored, each
    single-metric alarm on one of the metrics written (namespace, name, exact dimensions) is
    evaluated (:func:`evaluate_alarm`) and a change goes through SetAlarmState (event, clock poke).
    Evaluated when data arrives, not on a period timer: a period with no data keeps the state.
    """
    _call_original(type(self), "put_metric_data", self, namespace, metric_data)
    written = {_metric_key(namespace, m["MetricName"], m.get("Dimensions") or []) for m in metric_data}
    for alarm in list(self.alarms.values()):
        if (
            not alarm.metric_name
            or _metric_key(alarm.namespace, alarm.metric_name, alarm.dimensions) not in written
        ):
            continue
        state = evaluate_alarm(self, alarm)
        if state is not None and state != alarm.state_value:
            reason = (
                f"Threshold Crossed: {alarm.evaluation_periods} datapoint(s) "
                f"{'breached' if state == 'ALARM' else 'within'} the threshold ({alarm.threshold})"
            )
            self.set_alarm_state(alarm.name, reason, "{}", state)


def fill_cloudwatch_dimension_order(self: Any, other: Any) -> bool:
    """Dimensions order by name, then value: GetMetricData finds a metric whatever the order its
    dimensions were given in.

    AWS: a metric is identified by its namespace, name and *set* of dimensions. moto (5.2.5):
    GetMetricData compares ``sorted(dimensions)`` and ``Dimension.__lt__`` compares a name with a
    value (``self.value < other.name``), so with three or more dimensions the sort is arbitrary and
    a metric whose dimensions were put in another order than the query's is never found (SageMaker's
    per-fleet EndpointName / VariantName / EndpointConfigName). Fill: a total order on (name, value).
    """
    return (str(self.name), str(self.value)) < (str(other.name), str(other.value))
