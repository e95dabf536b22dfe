"""The canary analysis use case on moto: fleets, samples from CloudWatch, the verdict, its evidence
(report in S3, ``analysis.completed``) and the verdict metric; DeployModel's verdict alarm."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from mlcp.adapters.endpoints import SageMakerHosting
from mlcp.adapters.metrics import VERDICT_METRIC, VERDICT_NAMESPACE, CloudWatchMetrics, verdict_alarm_name
from mlcp.adapters.reports import ReportWriter
from mlcp.audit import AuditAction
from mlcp.usecases.canary_analysis import AnalysisDeps, AnalysisRequest, analyze, fleets
from mlcp.usecases.deployment_start import deployment_config

from .conftest import REGION, Stores

ENDPOINT = "churn-prod"
SINCE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AT = SINCE + timedelta(minutes=31)
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:mlcp-dev-deployment:run-1"
SETTINGS: dict[str, Any] = {
    "metrics": [
        {"metric": "ModelLatency", "direction": "increase", "allowed_increase": 1.1},
        {"metric": "Invocation5XXErrors", "statistic": "Sum", "allowed_increase": 1.5},
    ],
    "on_marginal": "fail",
}
SHIFT_DEPLOY = {
    "shift": {
        "strategy": "shift",
        "candidate": "churn-v2",
        "config": "churn-prod-churn-v2-shift",
        "steps": [],
    },
    "target_config": "churn-prod-churn-v2",
    "previous_config": "churn-prod-ab",
}


@pytest.fixture
def deps(stores: Stores) -> AnalysisDeps:
    stores.s3.create_bucket(Bucket="reports")
    stores.sagemaker.create_model(
        ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r", PrimaryContainer={"Image": "i"}
    )
    variants = [
        {"VariantName": name, "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        for name in ("blue", "green", "churn-v2")
    ]
    stores.sagemaker.create_endpoint_config(
        EndpointConfigName="churn-prod-churn-v2-shift", ProductionVariants=variants
    )
    stores.sagemaker.create_endpoint_config(
        EndpointConfigName="churn-prod-churn-v2", ProductionVariants=variants[:1]
    )
    return AnalysisDeps(
        metrics=CloudWatchMetrics(boto3.client("cloudwatch", region_name=REGION)),
        reports=ReportWriter("reports", client=stores.s3),
        audit=stores.audit,
        hosting=SageMakerHosting(stores.sagemaker),
    )


def publish(dimensions: dict[str, str], metric: str, values: list[float]) -> None:
    client = boto3.client("cloudwatch", region_name=REGION)
    client.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Timestamp": SINCE + timedelta(minutes=1 + i),
                "Value": value,
            }
            for i, value in enumerate(values)
        ],
    )


def traffic(variant: str, minutes: int, latency_factor: float, seed: int, **extra: str) -> None:
    rng = random.Random(seed)
    dims = {"EndpointName": ENDPOINT, "VariantName": variant, **extra}
    publish(dims, "ModelLatency", [rng.gauss(40_000, 2_000) * latency_factor for _ in range(minutes)])
    publish(dims, "Invocation5XXErrors", [0.0] * minutes)


def request(step: int = 0, final: bool = False, settings: dict[str, Any] | None = None) -> AnalysisRequest:
    return AnalysisRequest(
        endpoint=ENDPOINT,
        phase="canary",
        step=step,
        final=final,
        since=SINCE,
        at=AT,
        package_arn=PACKAGE,
        execution=EXECUTION,
        settings=settings or SETTINGS,
    )


def verdict_values() -> list[float]:
    client = boto3.client("cloudwatch", region_name=REGION)
    out = client.get_metric_statistics(
        Namespace=VERDICT_NAMESPACE,
        MetricName=VERDICT_METRIC,
        Dimensions=[{"Name": "Candidate", "Value": "churn-v2"}, {"Name": "EndpointName", "Value": ENDPOINT}],
        StartTime=SINCE,
        EndTime=AT + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )
    return [point["Maximum"] for point in out["Datapoints"]]


def test_a_slower_candidate_fails_with_its_evidence(deps: AnalysisDeps, stores: Stores) -> None:
    traffic("blue", 30, 1.0, seed=1)
    traffic("green", 30, 1.0, seed=2)
    traffic("churn-v2", 30, 1.3, seed=3)
    result = analyze(request(), fleets(ENDPOINT, SHIFT_DEPLOY, deps.hosting), deps=deps)
    assert (result["verdict"], result["roll_back"]) == ("fail", True)
    assert "ModelLatency" in result["reason"]
    key = result["report_uri"].removeprefix("s3://reports/").split("?")[0]
    report = json.loads(stores.s3.get_object(Bucket="reports", Key=key)["Body"].read())
    latency = report["judgement"]["metrics"][0]
    assert latency["classification"] == "high"
    assert latency["test"]["p_value"] < 1e-6
    assert len(report["samples"]["ModelLatency"]["candidate"]) == 30
    assert len(report["samples"]["ModelLatency"]["baseline"]) == 60  # blue + green pooled
    assert report["baseline"]["label"] == "blue+green"
    (record,) = [
        r for r in stores.audit.read(f"endpoint#{ENDPOINT}") if r.action == AuditAction.ANALYSIS_COMPLETED
    ]
    assert record.evidence["verdict"] == "fail"
    assert record.evidence["report_uri"] == result["report_uri"]
    assert verdict_values() == [1.0]


def test_an_equal_candidate_passes_and_publishes_zero(deps: AnalysisDeps) -> None:
    traffic("blue", 30, 1.0, seed=1)
    traffic("green", 30, 1.0, seed=2)
    traffic("churn-v2", 30, 1.0, seed=3)
    result = analyze(request(), fleets(ENDPOINT, SHIFT_DEPLOY, deps.hosting), deps=deps)
    assert (result["verdict"], result["roll_back"], result["reason"]) == ("pass", False, None)
    assert verdict_values() == [0.0]


@pytest.mark.parametrize(
    ("final", "on_marginal", "roll_back"),
    [(False, "fail", False), (True, "fail", True), (True, "pass", False)],
)
def test_too_few_samples_is_marginal_and_the_tier_decides_at_the_end(
    deps: AnalysisDeps, final: bool, on_marginal: str, roll_back: bool
) -> None:
    traffic("blue", 30, 1.0, seed=1)
    traffic("churn-v2", 4, 1.0, seed=3)
    result = analyze(
        request(final=final, settings={**SETTINGS, "on_marginal": on_marginal}),
        fleets(ENDPOINT, SHIFT_DEPLOY, deps.hosting),
        deps=deps,
    )
    assert result["verdict"] == "marginal"
    assert result["roll_back"] is roll_back


def test_the_baseline_is_cut_to_the_candidates_window(deps: AnalysisDeps, stores: Stores) -> None:
    traffic("blue", 30, 1.0, seed=1)
    traffic("green", 30, 1.0, seed=2)
    rng = random.Random(4)
    client = boto3.client("cloudwatch", region_name=REGION)
    client.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": ENDPOINT},
                    {"Name": "VariantName", "Value": "churn-v2"},
                ],
                "Timestamp": SINCE + timedelta(minutes=20 + i),
                "Value": rng.gauss(40_000, 2_000),
            }
            for i in range(10)
        ],
    )
    result = analyze(request(), fleets(ENDPOINT, SHIFT_DEPLOY, deps.hosting), deps=deps)
    key = result["report_uri"].removeprefix("s3://reports/").split("?")[0]
    report = json.loads(stores.s3.get_object(Bucket="reports", Key=key)["Body"].read())
    assert len(report["samples"]["ModelLatency"]["baseline"]) == 20  # minutes 20..29 of blue and green


def test_a_retry_records_the_analysis_once(deps: AnalysisDeps, stores: Stores) -> None:
    traffic("blue", 30, 1.0, seed=1)
    traffic("churn-v2", 30, 1.0, seed=3)
    selected = fleets(ENDPOINT, SHIFT_DEPLOY, deps.hosting)
    analyze(request(), selected, deps=deps)
    analyze(request(), selected, deps=deps)
    records = [
        r for r in stores.audit.read(f"endpoint#{ENDPOINT}") if r.action == AuditAction.ANALYSIS_COMPLETED
    ]
    assert len(records) == 1


def test_guardrails_compares_the_new_fleet_with_the_old_by_endpoint_config(deps: AnalysisDeps) -> None:
    deploy = {"shift": None, "target_config": "churn-prod-churn-v2", "previous_config": "churn-prod-churn-v1"}
    selected = fleets(ENDPOINT, deploy, deps.hosting)
    assert selected.candidate is not None
    assert selected.baseline is not None
    assert selected.candidate.dimensions == [
        {"EndpointName": ENDPOINT, "VariantName": "blue", "EndpointConfigName": "churn-prod-churn-v2"}
    ]
    assert selected.baseline.dimensions[0]["EndpointConfigName"] == "churn-prod-churn-v1"


@pytest.mark.parametrize(
    ("deploy", "why"),
    [
        ({"shift": {"strategy": "bake"}}, "serverless endpoint"),
        (
            {"shift": None, "target_config": "churn-prod-churn-v2", "previous_config": None},
            "first deployment",
        ),
    ],
)
def test_no_concurrent_baseline_is_not_applicable_and_audited(
    deps: AnalysisDeps, stores: Stores, deploy: dict[str, Any], why: str
) -> None:
    result = analyze(request(), fleets(ENDPOINT, deploy, deps.hosting), deps=deps)
    assert (result["verdict"], result["roll_back"]) == ("not_applicable", False)
    assert why in result["reason"]
    (record,) = [
        r for r in stores.audit.read(f"endpoint#{ENDPOINT}") if r.action == AuditAction.ANALYSIS_COMPLETED
    ]
    assert why in record.evidence["reason"]


def test_the_verdict_alarm_joins_the_rollback_alarms(stores: Stores) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    name = CloudWatchMetrics(cloudwatch).ensure_verdict_alarm(ENDPOINT, "churn-prod-churn-v2")
    assert name == verdict_alarm_name("churn-prod-churn-v2")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
        VERDICT_NAMESPACE,
        VERDICT_METRIC,
        1.0,
    )
    config = deployment_config({"alarms": ["latency-p99"]}, [name])
    assert config["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": "latency-p99"}, {"AlarmName": name}]
    }
