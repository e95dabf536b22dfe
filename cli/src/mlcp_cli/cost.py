"""The idle-endpoint report: which SageMaker endpoints served no request over a window, and what each
costs per hour while it idles.

Invocations come from CloudWatch (``AWS/SageMaker`` ``Invocations``, Sum, per EndpointName and
VariantName, one GetMetricData call per 500 queries); capacity from DescribeEndpoint (current instance
count, else the config's initial count) and DescribeEndpointConfig (instance type). An endpoint is
idle when every variant has no Invocations datapoint above zero in the window. A serverless variant
costs nothing idle (it is billed per request).

``US_EAST_1_HOURLY_USD``: on-demand prices of common real-time inference instance types in
US East (N. Virginia), USD per instance-hour, from https://aws.amazon.com/sagemaker/pricing/
(Real-Time Inference tab), written down 2026-11 and not re-checked against the live page since: an
estimate for ranking idle endpoints, not a bill. Prices change and differ per region and with
Savings Plans: pass ``--prices FILE`` (a JSON object instance type -> USD/h, e.g. exported from
the AWS Price List API, service code ``AmazonSageMaker``) to use your own. A type not in the table
is reported with an unknown cost, never a guessed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

US_EAST_1_HOURLY_USD: dict[str, float] = {
    "ml.t2.medium": 0.056,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.m5.4xlarge": 0.922,
    "ml.c5.large": 0.102,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
    "ml.g4dn.xlarge": 0.7364,
    "ml.g5.xlarge": 1.408,
    "ml.p3.2xlarge": 3.825,
}
PRICE_SOURCE = (
    "aws.amazon.com/sagemaker/pricing, Real-Time Inference, us-east-1, on-demand (written down 2026-11)"
)
HOURS_PER_MONTH = 730
_QUERIES_PER_CALL = 500  # GetMetricData's limit


class VariantUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    variant: str
    instance_type: str | None
    instance_count: int
    serverless: bool
    invocations: float
    hourly_usd: float | None


class EndpointUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    endpoint: str
    status: str
    config: str
    variants: list[VariantUsage]
    invocations: float
    idle: bool
    hourly_usd: float | None
    """capacity cost per hour (0 for serverless; None when a type's price is unknown)"""


def _variants(sagemaker: Any, described: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each variant's name, instance type, count and whether it is serverless."""
    configured = {
        v["VariantName"]: v
        for v in sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])[
            "ProductionVariants"
        ]
    }
    current = {v["VariantName"]: v for v in described.get("ProductionVariants") or []}
    variants = []
    for name in sorted(set(configured) | set(current)):
        config, now = configured.get(name, {}), current.get(name, {})
        serverless = "ServerlessConfig" in config or "CurrentServerlessConfig" in now
        count = now.get("CurrentInstanceCount", config.get("InitialInstanceCount", 0))
        variants.append(
            {
                "variant": name,
                "instance_type": None if serverless else config.get("InstanceType"),
                "instance_count": 0 if serverless else int(count or 0),
                "serverless": serverless,
            }
        )
    return variants


def _invocations(
    cloudwatch: Any, keys: list[tuple[str, str]], start: datetime, end: datetime
) -> dict[tuple[str, str], float]:
    """Sum of Invocations per (endpoint, variant) over [start, end)."""
    period = max(60, int((end - start).total_seconds()) // 60 * 60)
    totals = dict.fromkeys(keys, 0.0)
    for offset in range(0, len(keys), _QUERIES_PER_CALL):
        batch = keys[offset : offset + _QUERIES_PER_CALL]
        queries = [
            {
                "Id": f"q{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "Invocations",
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": endpoint},
                            {"Name": "VariantName", "Value": variant},
                        ],
                    },
                    "Period": period,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for index, (endpoint, variant) in enumerate(batch)
        ]
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
            if token:
                kwargs["NextToken"] = token
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", []):
                key = batch[int(result["Id"][1:])]
                totals[key] += float(sum(result.get("Values", [])))
            token = response.get("NextToken")
            if not token:
                break
    return totals


def endpoint_usage(
    sagemaker: Any,
    cloudwatch: Any,
    *,
    now: datetime,
    window_hours: float,
    prices: Mapping[str, float] | None = None,
    progress: Any = None,
) -> list[EndpointUsage]:
    """Every endpoint with its invocations over the last ``window_hours`` and its hourly cost."""
    table = US_EAST_1_HOURLY_USD if prices is None else prices
    described = []
    for page in sagemaker.get_paginator("list_endpoints").paginate():
        for summary in page.get("Endpoints", []):
            if progress:
                progress(f"describing {summary['EndpointName']} ...")
            endpoint = sagemaker.describe_endpoint(EndpointName=summary["EndpointName"])
            described.append((endpoint, _variants(sagemaker, endpoint)))
    keys = [(e["EndpointName"], v["variant"]) for e, variants in described for v in variants]
    if progress:
        progress(f"reading Invocations of {len(keys)} variants over {window_hours:g} h from CloudWatch ...")
    counts = _invocations(cloudwatch, keys, now - timedelta(hours=window_hours), now)
    report = []
    for endpoint, variants in described:
        usages = []
        for v in variants:
            price = table.get(v["instance_type"]) if v["instance_type"] else None
            hourly = (
                0.0 if v["serverless"] else (None if price is None else round(price * v["instance_count"], 4))
            )
            usages.append(
                VariantUsage(
                    **v, invocations=counts[(endpoint["EndpointName"], v["variant"])], hourly_usd=hourly
                )
            )
        hourly_total = (
            None if any(u.hourly_usd is None for u in usages) else sum(u.hourly_usd or 0.0 for u in usages)
        )
        total = sum(u.invocations for u in usages)
        report.append(
            EndpointUsage(
                endpoint=endpoint["EndpointName"],
                status=endpoint["EndpointStatus"],
                config=endpoint["EndpointConfigName"],
                variants=usages,
                invocations=total,
                idle=total == 0,
                hourly_usd=None if hourly_total is None else round(hourly_total, 4),
            )
        )
    return sorted(report, key=lambda u: (not u.idle, -(u.hourly_usd or 0.0), u.endpoint))
