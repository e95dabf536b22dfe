"""`mlcp doctor --local` against the emulator: a fresh stack (nothing but what it creates) fails with
one line and one fix per missing piece; set up as the deploy guide says, every check passes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcp_cli.commands.policy import publish_policy
from mlcp_cli.emulator.runtime import LocalControlPlane

from .conftest import ROOT, TEMPLATE

POLICY = ROOT / "scenarios" / "policy.yaml"


@pytest.fixture(scope="module")
def fresh() -> Iterator[LocalControlPlane]:
    with LocalControlPlane(TEMPLATE, iam=False) as control:
        yield control


def _checks(cli: Any) -> tuple[int, dict[str, dict[str, str]]]:
    code, out, _ = cli("doctor", "--local", "--json")
    return code, {check["name"]: check for check in map(json.loads, out.splitlines())}


def test_an_incomplete_setup_fails_with_the_fix_for_each_gap(fresh: LocalControlPlane, cli: Any) -> None:
    code, out, _ = cli("doctor", "--local")
    assert code == 1
    lines = out.splitlines()
    bucket = fresh.parameters.get("TrainingDataBucketName", "mlcp-training-data")
    assert (
        f"FAIL  training-bucket: bucket {bucket}: NoSuchBucket: The specified bucket does not exist" in lines
    )
    assert any(line.startswith("FAIL  policy: no policy published at /mlcp/policy") for line in lines)
    assert "FAIL  approvals-subscribed: nobody is subscribed: approvers are never told" in lines
    assert "FAIL  incidents-subscribed: nobody is subscribed: on-call are never told" in lines
    assert any(line.startswith("FAIL  console-approvals: no logging trail") for line in lines)
    fixes = [line for line in lines if line.startswith("      fix: ")]
    assert len(fixes) == sum(line.startswith("FAIL") for line in lines) == 5
    assert any("mlcp policy publish" in fix for fix in fixes)
    assert any("aws sns subscribe --topic-arn arn:aws:sns:" in fix for fix in fixes)
    assert lines[-1] == "5 checks: 5 failed, 0 warnings"


def test_set_up_as_the_guide_says_every_check_passes(
    fresh: LocalControlPlane, cli: Any, tmp_path: Path
) -> None:
    bucket = fresh.parameters.get("TrainingDataBucketName", "mlcp-training-data")
    s3 = fresh.client("s3")
    s3.create_bucket(Bucket=bucket)
    code, checks = _checks(cli)
    assert code == 1
    assert checks["training-bucket-events"]["status"] == "fail"
    assert "EventBridgeConfiguration" in checks["training-bucket-events"]["fix"]
    assert checks["training-bucket-versioning"]["status"] == "fail"

    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    publish_policy(fresh.client("ssm"), POLICY, "/mlcp/policy")
    code, checks = _checks(cli)
    assert checks["policy"]["status"] == "ok"
    assert checks["policy-alarms"]["status"] == "fail"  # the policy names alarms nobody created
    assert "churn-prod-5xx" in checks["policy-alarms"]["detail"]

    sns = fresh.client("sns")
    for output in ("ApprovalsTopicArn", "IncidentsTopicArn"):
        sns.subscribe(TopicArn=fresh.stack.outputs[output], Protocol="sqs", Endpoint=_queue(fresh))
    logs = fresh.client("s3")
    logs.create_bucket(Bucket="mlcp-trail-logs")
    cloudtrail = fresh.client("cloudtrail")
    cloudtrail.create_trail(Name="management", S3BucketName="mlcp-trail-logs", IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="management")
    cloudwatch = fresh.client("cloudwatch")
    for name in checks["policy-alarms"]["detail"].split(": ", 1)[1].split(", "):
        cloudwatch.put_metric_alarm(
            AlarmName=name, MetricName="Invocation5XXErrors", Namespace="AWS/SageMaker", Statistic="Sum",
            Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        )  # fmt: skip

    code, checks = _checks(cli)
    assert {name: check["status"] for name, check in checks.items() if check["status"] != "ok"} == {
        "model-monitor": "warn"  # no endpoint deployed yet, so no schedule: a warning, not a failure
    }
    assert code == 0


def _queue(cp: LocalControlPlane) -> str:
    sqs = cp.client("sqs")
    url = sqs.create_queue(QueueName="people")["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
