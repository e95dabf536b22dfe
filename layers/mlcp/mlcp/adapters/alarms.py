"""CloudWatch alarm states (DescribeAlarms), read by the managed traffic shift at each step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlcp.adapters import clients

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient


class CloudWatchAlarms:
    """The current state of named metric and composite alarms."""

    def __init__(self, client: CloudWatchClient | None = None) -> None:
        self._client = client or clients.cloudwatch()

    def states(self, names: list[str]) -> dict[str, str]:
        """Alarm name -> ``OK`` | ``ALARM`` | ``INSUFFICIENT_DATA``; an alarm that does not exist is left out."""
        found: dict[str, str] = {}
        for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
            paginator = self._client.get_paginator("describe_alarms")
            for page in paginator.paginate(
                AlarmNames=names[start : start + 100], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            ):
                for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                    found[alarm["AlarmName"]] = alarm["StateValue"]
        return found
