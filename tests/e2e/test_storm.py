"""Storm protection, measured: a flood of alarms, monitoring reports and training files opens one
incident per cause and starts no more pipelines than the policy allows. Prints the figures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp_cli.emulator.runtime import LocalControlPlane

from .conftest import POLICY, ROOT, TEMPLATE

EVENTS = ROOT / "events"


@pytest.fixture(scope="module")
def storm_cp() -> Iterator[LocalControlPlane]:
    from mlcp_cli.commands.policy import publish_policy

    with LocalControlPlane(TEMPLATE) as cp:
        publish_policy(cp.client("ssm"), POLICY, "/mlcp/policy")
        cp.client("sagemaker").create_pipeline(
            PipelineName="churn-training",
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []}),
            RoleArn="arn:aws:iam::123456789012:role/mlcp-pipeline",
        )
        s3 = cp.client("s3")
        s3.create_bucket(Bucket="mlcp-training-data")
        s3.put_bucket_versioning(Bucket="mlcp-training-data", VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket="mlcp-training-data", NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        yield cp


def _entry(path: str, **detail_changes: Any) -> dict[str, Any]:
    event = json.loads((EVENTS / path).read_text())
    detail = {**event["detail"], **detail_changes}
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": detail,
        "Resources": event["resources"],
    }


def test_a_storm_opens_one_incident_per_cause_and_few_pipelines(storm_cp: LocalControlPlane) -> None:
    cp = storm_cp
    audit = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    alarms = [
        _entry(
            "alarm-state-change/ok-to-alarm.json",
            state={"value": "ALARM", "reason": f"burst {i}", "timestamp": "2026-11-26T10:00:00.000+0000"},
        )
        for i in range(60)
    ]
    reports = [
        _entry("model-monitoring-report/with-violations.json", runTime=f"2026-11-26T10:{i:02d}:00.000Z")
        for i in range(40)
    ]
    entries = alarms + reports
    cp.put_aws_events(alarms)  # CloudWatch puts alarm events; any monitor may put its reports
    cp.put_events(reports)
    cp.pump()
    s3 = cp.client("s3")
    for i in range(50):
        s3.put_object(
            Bucket="mlcp-training-data", Key=f"training-data/churn/storm/part-{i:03d}.csv", Body=b"0" * 512
        )
    cp.pump()
    # Let the quiet period pass (60 s simulated) and the debounce workflow decide.
    cp.advance_time(600)
    cp.pump()

    endpoint = [str(r.action) for r in audit.read("endpoint#churn-prod")]
    pipeline = [str(r.action) for r in audit.read("pipeline#churn-training")]
    figures = {
        "events_in": len(entries) + 50,
        "incidents_opened": endpoint.count("incident.opened"),
        "incident_updates": endpoint.count("incident.updated"),
        "pipelines_started": pipeline.count("retraining.started"),
        "retraining_suppressed": pipeline.count("retraining.suppressed"),
    }
    print(f"\nstorm figures: {json.dumps(figures)}")
    # One incident for the alarm, one for the data-quality violations: not 100.
    assert figures["incidents_opened"] == 2
    assert figures["incident_updates"] >= len(entries) - 2
    # Violations and the data burst may each start a run, but the cooldown and the daily maximum
    # (3 in the policy) hold: never a pipeline per report or per file.
    assert 1 <= figures["pipelines_started"] <= 2
    assert figures["retraining_suppressed"] >= 1
