"""The first vertical slice, end to end on the real template, handlers and ASL.

S3 Object Created -> TrainingDataArrivedRule -> DataArrivalFunction -> data.arrived;
Model Package State Change (Approved) -> ModelPackageApprovedRule -> DeploymentStateMachine ->
ReadModelPackage (DescribeModelPackage) -> RecordApproval -> package.approved.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from mlcp.audit import AuditAction, AuditTrail, verify_chain
from mlcp_cli.emulator.runtime import LocalControlPlane

from .conftest import ROOT

EVENTS = ROOT / "events"
BUCKET = "mlcp-training-data"


def _states(cp: LocalControlPlane, execution: dict[str, Any]) -> list[str]:
    history = cp.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])
    return [
        e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e
    ]


def _bucket(cp: LocalControlPlane) -> Any:
    s3 = cp.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    return s3


def _register(cp: LocalControlPlane, group: str) -> str:
    sm = cp.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName=group)
    arn: str = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb@sha256:" + "1" * 64}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    return arn


def _put(cp: LocalControlPlane, event: dict[str, Any]) -> None:
    cp.put_events(
        [
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": event["detail"],
                "Resources": event.get("resources", []),
            }
        ]
    )


def _new_executions(cp: LocalControlPlane, before: int) -> list[dict[str, Any]]:
    return cp.executions()[before:]


def test_training_data_under_the_prefix_is_recorded_with_s3_facts(
    cp: LocalControlPlane, audit: AuditTrail
) -> None:
    s3 = _bucket(cp)
    key = f"training-data/churn/{uuid.uuid4()}.csv"
    version = s3.put_object(Bucket=BUCKET, Key=key, Body=b"a,b\n1,2\n")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key=f"scratch/{uuid.uuid4()}.txt", Body=b"not training data")
    cp.pump()

    records = [r for r in audit.read(f"data#{BUCKET}") if r.subject == f"s3://{BUCKET}/{key}"]
    assert [r.action for r in records] == [AuditAction.DATA_ARRIVED]
    assert records[0].evidence["version_id"] == version
    assert records[0].evidence["size"] == 8
    # The rule's prefix filter kept the scratch object away from the function entirely.
    assert not any("scratch/" in r.subject for r in audit.read(f"data#{BUCKET}"))


def test_approval_runs_the_deployment_workflow_and_records_package_approved(
    cp: LocalControlPlane, audit: AuditTrail
) -> None:
    group = f"churn-{uuid.uuid4().hex[:8]}"
    arn = _register(cp, group)
    cp.pump()
    before = len(cp.executions())

    cp.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    cp.pump()

    [execution] = _new_executions(cp, before)
    assert execution["status"] == "SUCCEEDED"
    assert _states(cp, execution) == ["ReadModelPackage", "IsApprovedNow", "RecordApproval", "Approved"]
    records = audit.read(f"group#{group}")
    assert [r.action for r in records] == [AuditAction.EVENT_RECEIVED, AuditAction.PACKAGE_APPROVED]
    approved = records[-1]
    assert approved.subject == arn
    assert approved.evidence["approval_status"] == "Approved"
    assert approved.evidence["execution"] == execution["executionArn"]
    assert verify_chain(records).ok


def test_an_approved_event_for_a_package_that_is_not_approved_is_ignored(
    cp: LocalControlPlane, audit: AuditTrail
) -> None:
    group = f"forged-{uuid.uuid4().hex[:8]}"
    arn = _register(cp, group)
    cp.pump()
    event = json.loads((EVENTS / "model-package-state-change/approved.json").read_text())
    event["detail"].update(ModelPackageArn=arn, ModelPackageGroupName=group, ModelPackageVersion=1)
    before = len(cp.executions())

    _put(cp, event)
    cp.pump()

    [execution] = _new_executions(cp, before)
    assert _states(cp, execution) == [
        "ReadModelPackage",
        "IsApprovedNow",
        "RecordStaleApproval",
        "NotApproved",
    ]
    actions = [r.action for r in audit.read(f"group#{group}")]
    assert AuditAction.PACKAGE_APPROVED not in actions
    assert actions[-1] == AuditAction.EVENT_IGNORED


def test_a_redelivered_approval_records_one_approval(cp: LocalControlPlane, audit: AuditTrail) -> None:
    group = f"dup-{uuid.uuid4().hex[:8]}"
    arn = _register(cp, group)
    cp.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    cp.pump()
    event = json.loads((EVENTS / "model-package-state-change/approved.json").read_text())
    event["detail"].update(ModelPackageArn=arn, ModelPackageGroupName=group, ModelPackageVersion=1)
    before = len(cp.executions())

    for _ in range(3):  # at-least-once delivery, each copy with a new EventBridge id
        _put(cp, event)
    cp.pump()

    assert [e["status"] for e in _new_executions(cp, before)] == ["SUCCEEDED"] * 3
    approvals = [r for r in audit.read(f"group#{group}") if r.action == AuditAction.PACKAGE_APPROVED]
    assert len(approvals) == 1


def test_a_malformed_event_is_parked_with_its_reason_and_audited(
    cp: LocalControlPlane, audit: AuditTrail
) -> None:
    event = json.loads((EVENTS / "negative/missing-model-package-arn.json").read_text())
    event["detail"]["ModelPackageDescription"] = f"unique {uuid.uuid4()}"
    before = len(cp.executions())

    _put(cp, event)
    cp.pump()

    [execution] = _new_executions(cp, before)
    assert execution["status"] == "SUCCEEDED"
    assert _states(cp, execution) == ["ReadModelPackage", "EventRejected"]
    sqs = cp.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=cp.stack.queue_urls["RejectedEventsQueue"], MaxNumberOfMessages=10
    )
    parked = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    mine = [
        p
        for p in parked
        if p["event"]["detail"].get("ModelPackageDescription") == event["detail"]["ModelPackageDescription"]
    ]
    assert len(mine) == 1
    assert mine[0]["reason"] == "detail.ModelPackageArn: Field required"
    assert mine[0]["rejected_by"] == "read-model-package"
    rejected = [r for r in audit.read("control-plane") if r.evidence["digest"] == mine[0]["digest"]]
    assert len(rejected) == 1


def test_every_sample_event_is_handled_without_a_function_error(
    cp: LocalControlPlane, audit: AuditTrail
) -> None:
    samples = sorted(p for p in EVENTS.glob("*/*.json") if p.parent.name not in {"negative", "schemas"})
    log_start = len(cp.delivery_log)
    for path in samples:
        _put(cp, json.loads(path.read_text()))
    cp.pump()

    outcomes = [d.outcome for d in cp.delivery_log[log_start:]]
    assert outcomes, "no sample reached a target"
    assert set(outcomes) <= {"invoked", "execution-started"}, outcomes
    for stream in audit.streams():
        assert verify_chain(audit.read(stream)).ok, stream


def test_forged_sources_reach_no_target(cp: LocalControlPlane) -> None:
    log_start = len(cp.delivery_log)
    for name in (
        "forged-source-custom-sagemaker.json",
        "custom-source-claims-aws-detail-type.json",
        "lookalike-aws-source.json",
    ):
        _put(cp, json.loads((EVENTS / "negative" / name).read_text()))
    cp.pump()
    assert cp.delivery_log[log_start:] == []


def test_each_function_logs_to_its_own_log_group_as_its_own_service(cp: LocalControlPlane) -> None:
    s3 = _bucket(cp)
    s3.put_object(Bucket=BUCKET, Key=f"training-data/{uuid.uuid4()}.csv", Body=b"x")
    _register(cp, f"logs-{uuid.uuid4().hex[:8]}")
    cp.pump()

    logs = cp.client("logs")
    for logical, service in (
        ("DataArrivalFunction", "data-arrival"),
        ("EventIntakeFunction", "event-intake"),
    ):
        group = cp.stack.physical_id(f"{logical.removesuffix('Function')}LogGroup")
        messages = [
            json.loads(e["message"])
            for e in logs.filter_log_events(logGroupName=group)["events"]
            if e["message"].startswith('{"level"')
        ]
        assert messages, f"nothing logged to {group}"
        # Each function has its own execution environment: its own Logger, service and correlation id.
        assert {m["service"] for m in messages} == {service}
        assert all(m["correlation_id"] for m in messages)
