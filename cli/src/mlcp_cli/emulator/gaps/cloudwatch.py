"""CloudWatch: fill e for alarms (SetAlarmState emits ``CloudWatch Alarm State Change``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mlcp_cli.emulator.gaps.events import _put_aws_event
from mlcp_cli.emulator.gaps.state import _call_original


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
