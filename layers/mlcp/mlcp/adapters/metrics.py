"""CloudWatch metrics for the canary analysis: per-variant samples (GetMetricData), the verdict
metric (PutMetricData) and its alarm (PutMetricAlarm), which SageMaker's AutoRollbackConfiguration
watches during a guardrails deployment."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from mlcp.adapters import clients

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDataQueryTypeDef

#: Where the analysis publishes its verdict: 1 = roll back, 0 = keep going.
VERDICT_NAMESPACE = "mlcp/CanaryAnalysis"
VERDICT_METRIC = "RollBack"
#: One-minute samples: SageMaker's endpoint metrics are published per minute.
PERIOD_SECONDS = 60


def verdict_alarm_name(candidate_config: str) -> str:
    """The verdict alarm of one candidate (its endpoint config): fresh for every deployment, so a
    verdict of an earlier deployment never rolls back a later one."""
    return f"mlcp-analysis-{candidate_config}"


def _dimensions(dimensions: dict[str, str]) -> list[DimensionTypeDef]:
    return [{"Name": name, "Value": value} for name, value in sorted(dimensions.items())]


class CloudWatchMetrics:
    """Reads per-variant samples and publishes the analysis verdict."""

    def __init__(self, client: CloudWatchClient | None = None) -> None:
        self._client = client or clients.cloudwatch()

    def samples(
        self,
        namespace: str,
        metric: str,
        statistic: str,
        dimensions: dict[str, str],
        start: datetime,
        end: datetime,
    ) -> list[tuple[datetime, float]]:
        """The one-minute ``statistic`` of ``metric`` with exactly ``dimensions`` in [start, end)."""
        found: list[tuple[datetime, float]] = []
        query: MetricDataQueryTypeDef = {
            "Id": "m0",
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": metric,
                    "Dimensions": _dimensions(dimensions),
                },
                "Period": PERIOD_SECONDS,
                "Stat": statistic,
            },
            "ReturnData": True,
        }
        paginator = self._client.get_paginator("get_metric_data")
        for page in paginator.paginate(
            MetricDataQueries=[query], StartTime=start, EndTime=end, ScanBy="TimestampAscending"
        ):
            for result in page.get("MetricDataResults", []):
                found.extend(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
        return sorted(found)

    def put_verdict(self, endpoint: str, candidate: str, value: float, at: datetime) -> None:
        """Publish 1 (roll back) or 0 for ``candidate`` on ``endpoint``."""
        self._client.put_metric_data(
            Namespace=VERDICT_NAMESPACE,
            MetricData=[
                {
                    "MetricName": VERDICT_METRIC,
                    "Dimensions": _dimensions({"EndpointName": endpoint, "Candidate": candidate}),
                    "Timestamp": at,
                    "Value": value,
                    "Unit": "Count",
                }
            ],
        )

    def ensure_verdict_alarm(self, endpoint: str, candidate: str) -> str:
        """The alarm on the verdict metric (idempotent: PutMetricAlarm replaces it with the same).

        Missing data keeps the state (``ignore``): a roll-back verdict holds until a later analysis
        says otherwise, however long SageMaker takes to look."""
        name = verdict_alarm_name(candidate)
        self._client.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=f"mlcp canary analysis of {candidate} on {endpoint}: 1 = statistical regression",
            Namespace=VERDICT_NAMESPACE,
            MetricName=VERDICT_METRIC,
            Dimensions=_dimensions({"EndpointName": endpoint, "Candidate": candidate}),
            Statistic="Maximum",
            Period=PERIOD_SECONDS,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="ignore",
        )
        return name
