"""The first vertical slice, end to end on the real template, handlers and ASL.

S3 Object Created -> TrainingDataArrivedRule -> DataArrivalFunction -> data.arrived;
Model Package State Change (Approved) -> ModelPackageApprovedRule -> DeploymentStateMachine ->
VerifyApproval (DescribeModelPackage, gates) -> RecordApproval -> ... -> DeployModel (re-check, then
deployment.started and the deployment).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction, verify_chain
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.main import main
from mlcp_cli.seeding import PackageSpec, register_package

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


def _register(cp: LocalControlPlane, group: str, **overrides: Any) -> str:
    """A package as the reference pipeline registers it, by an ML engineer."""
    return register_package(
        cp.client("s3", principal="ml-engineer"),
        cp.client("sagemaker", principal="ml-engineer"),
        PackageSpec(group=group, **overrides),
    )


def _approve(cp: LocalControlPlane, arn: str, principal: str = "reviewer") -> None:
    cp.client("sagemaker", principal=principal).update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved"
    )


def _put(cp: LocalControlPlane, event: dict[str, Any]) -> None:
    cp.put_event_document(event)


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

    _approve(cp, arn)
    cp.pump()

    [execution] = _new_executions(cp, before)
    assert execution["status"] == "SUCCEEDED"
    states = _states(cp, execution)
    assert states[:5] == ["VerifyApproval", "Outcome", "RecordApproval", "HasEndpoint", "InitDeployment"]
    assert "DeployModel" in states
    assert states[-1] in {"Deployed", "RolledBack"}
    records = audit.read(f"group#{group}")
    assert [r.action for r in records] == [
        AuditAction.GATES_EVALUATED,
        AuditAction.APPROVAL_REQUESTED,
        AuditAction.GATES_EVALUATED,
        AuditAction.PACKAGE_APPROVED,
        AuditAction.GATES_EVALUATED,  # re-checked by DeployModel, under the lease, before deploying
    ]
    assert str(records[-1].decision_id).endswith(f":deployment:{execution['executionArn']}")
    approved = records[3]
    assert approved.subject == arn
    assert approved.actor == "arn:aws:iam::123456789012:user/reviewer"
    assert approved.evidence["created_by"] == "arn:aws:iam::123456789012:user/ml-engineer"
    assert approved.evidence["execution"] == execution["executionArn"]
    assert str(approved.evidence["report_uri"]).startswith("s3://")
    # The chain anchors the gate report's bytes, not only its address.
    gated = records[2].evidence
    bucket, _, key = str(gated["report_uri"]).removeprefix("s3://").partition("/")
    key, _, version = key.partition("?versionId=")
    body = cp.client("s3").get_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
    assert hashlib.sha256(body["Body"].read()).hexdigest() == gated["report_sha256"]
    assert verify_chain(records).ok
    mine = [r.action for r in audit.read("endpoint#churn-prod") if r.subject == arn]
    assert mine[0] == AuditAction.DEPLOYMENT_STARTED
    assert mine.count(AuditAction.DEPLOYMENT_STARTED) == 1
    assert mine[-1] in {AuditAction.DEPLOYMENT_PROMOTED, AuditAction.DEPLOYMENT_ROLLED_BACK}


def test_an_approved_event_for_a_package_that_is_not_approved_is_ignored(
    cp: LocalControlPlane, audit: AuditTrail
) -> None:
    group = f"churn-forged-{uuid.uuid4().hex[:8]}"
    arn = _register(cp, group)
    cp.pump()
    event = json.loads((EVENTS / "model-package-state-change/approved.json").read_text())
    event["detail"].update(ModelPackageArn=arn, ModelPackageGroupName=group, ModelPackageVersion=1)
    before = len(cp.executions())

    _put(cp, event)
    cp.pump()

    [execution] = _new_executions(cp, before)
    assert _states(cp, execution) == ["VerifyApproval", "Outcome", "RecordIgnored", "NotApproved"]
    actions = [r.action for r in audit.read(f"group#{group}")]
    assert AuditAction.PACKAGE_APPROVED not in actions
    assert actions[-1] == AuditAction.EVENT_IGNORED


def test_a_redelivered_approval_records_one_approval(cp: LocalControlPlane, audit: AuditTrail) -> None:
    group = f"churn-dup-{uuid.uuid4().hex[:8]}"
    arn = _register(cp, group)
    _approve(cp, arn)
    cp.pump()
    event = json.loads((EVENTS / "model-package-state-change/approved.json").read_text())
    event["detail"].update(ModelPackageArn=arn, ModelPackageGroupName=group, ModelPackageVersion=1)
    before = len(cp.executions())

    for _ in range(3):  # at-least-once delivery, each copy with a new EventBridge id
        _put(cp, event)
    cp.pump()

    redelivered = _new_executions(cp, before)
    assert [e["status"] for e in redelivered] == ["SUCCEEDED"] * 3
    assert all(_states(cp, e)[-1] == "NotApproved" for e in redelivered)
    approvals = [r for r in audit.read(f"group#{group}") if r.action == AuditAction.PACKAGE_APPROVED]
    assert len(approvals) == 1
    started = [
        r
        for r in audit.read("endpoint#churn-prod")
        if r.subject == arn and r.action == AuditAction.DEPLOYMENT_STARTED
    ]
    assert len(started) == 1


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
    assert _states(cp, execution) == ["VerifyApproval", "EventRejected"]
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
    assert mine[0]["rejected_by"] == "verify-approval"
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


def _pending_fraud_approval(cp: LocalControlPlane, creator: str | None) -> tuple[str, str]:
    group = f"fraud-{uuid.uuid4().hex[:8]}"
    arn = register_package(
        cp.client("s3", principal=creator),
        cp.client("sagemaker", principal=creator),
        PackageSpec(group=group, bias={"DPL": 0.03}, explainability=True),
    )
    cp.pump()
    _approve(cp, arn)
    cp.pump()
    return group, arn


def _tables(cp: LocalControlPlane) -> list[str]:
    return [
        "--state-table",
        cp.stack.physical_id("ControlPlaneTable"),
        "--audit-table",
        cp.stack.physical_id("AuditTable"),
    ]


def test_mlcp_approve_resumes_the_waiting_deployment(
    cp: LocalControlPlane, audit: AuditTrail, capsys: pytest.CaptureFixture[str]
) -> None:
    group, arn = _pending_fraud_approval(cp, creator="ml-engineer")
    assert main(["approvals", "list", *_tables(cp)]) == 0
    listed = capsys.readouterr().out
    [line] = [row for row in listed.splitlines() if row.split()[1:2] == [group]]
    approval_id = line.split()[0]

    # The CLI acts as whoever its credentials belong to (here the emulator's default user).
    assert main(["approve", approval_id, "--reason", "bias report reviewed", *_tables(cp)]) == 0
    assert "granted by arn:aws:sts::123456789012:user/moto" in capsys.readouterr().out
    cp.pump()

    actions = [r.action for r in audit.read(f"group#{group}")]
    assert actions[-3:] == [
        AuditAction.APPROVAL_GRANTED,
        AuditAction.PACKAGE_APPROVED,
        AuditAction.GATES_EVALUATED,  # the re-check before deploying
    ]
    deployed = [r.action for r in audit.read("endpoint#fraud-prod") if r.subject == arn]
    assert deployed[0] == AuditAction.DEPLOYMENT_STARTED
    assert deployed.count(AuditAction.DEPLOYMENT_STARTED) == 1
    # Decided once: a second answer is refused.
    assert main(["reject", approval_id, "--reason", "too late", *_tables(cp)]) == 1
    assert "not pending" in capsys.readouterr().err


def _approval_of(cp: LocalControlPlane, group: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The group's approval, whatever its status, as `mlcp approvals list --all --json` shows it
    (output captured before is dropped)."""
    capsys.readouterr()
    assert main(["approvals", "list", "--all", "--json", *_tables(cp)]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [approval] = [a for a in listed if a["group"] == group]
    return approval


def test_an_answer_to_a_stopped_deployment_is_refused_recorded_and_asked_again_on_redrive(
    cp: LocalControlPlane, audit: AuditTrail, capsys: pytest.CaptureFixture[str]
) -> None:
    group, arn = _pending_fraud_approval(cp, creator="ml-engineer")
    approval = _approval_of(cp, group, capsys)
    sfn = cp.client("stepfunctions")
    sfn.stop_execution(executionArn=approval["execution"], error="Operator", cause="stopped by hand")
    cp.pump()
    assert sfn.describe_execution(executionArn=approval["execution"])["status"] == "ABORTED"
    # The listing tells the approver before anyone answers.
    assert _approval_of(cp, group, capsys)["execution_status"] == "ABORTED"
    assert main(["approvals", "list", "--wide", *_tables(cp)]) == 0  # every field in full
    listed = capsys.readouterr().out
    (row,) = [line for line in listed.splitlines() if line.startswith(approval["approval_id"])]
    assert group in row
    assert "deployment ABORTED" in row
    assert "! a deployment that has ended cannot be resumed by an answer; redrive its execution" in listed

    assert main(["approve", approval["approval_id"], "--reason", "reviewed", *_tables(cp)]) == 1
    assert "the deployment that asked for it has ended" in capsys.readouterr().err
    assert _approval_of(cp, group, capsys)["status"] == "abandoned"
    actions = [r.action for r in audit.read(f"group#{group}")]
    assert actions[-1] == AuditAction.APPROVAL_ABANDONED
    assert AuditAction.APPROVAL_GRANTED not in actions
    assert not [r for r in audit.read("endpoint#fraud-prod") if r.subject == arn]
    # Answering again is refused as abandoned, and recorded once.
    assert main(["reject", approval["approval_id"], "--reason", "late", *_tables(cp)]) == 1
    assert "is abandoned, not pending" in capsys.readouterr().err
    assert [r.action for r in audit.read(f"group#{group}")].count(AuditAction.APPROVAL_ABANDONED) == 1

    # Redriven (ADR 11), the deployment asks again: pending once more, with a live token.
    sfn.redrive_execution(executionArn=approval["execution"])
    cp.pump()
    again = _approval_of(cp, group, capsys)
    assert again["status"] == "pending"
    assert "execution_status" not in again  # its deployment runs again
    assert main(["approve", approval["approval_id"], "--reason", "reviewed", *_tables(cp)]) == 0

    def status() -> str:
        return str(sfn.describe_execution(executionArn=approval["execution"])["status"])

    cp.run_until(lambda: status() != "RUNNING")  # the endpoint update runs on the virtual clock
    assert status() == "SUCCEEDED"
    deployed = [r.action for r in audit.read("endpoint#fraud-prod") if r.subject == arn]
    assert deployed.count(AuditAction.DEPLOYMENT_STARTED) == 1


def test_an_answer_that_does_not_reach_the_workflow_leaves_the_approval_pending(
    cp: LocalControlPlane, audit: AuditTrail, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlcp_cli.emulator.faults import FaultInjector, FaultRule

    group, arn = _pending_fraud_approval(cp, creator="ml-engineer")
    approval_id = _approval_of(cp, group, capsys)["approval_id"]
    with FaultInjector() as faults:
        faults.arm(FaultRule("sfn", "SendTaskSuccess", "internal", times=20))  # beyond botocore's retries
        assert main(["approve", approval_id, "--reason", "reviewed", *_tables(cp)]) == 1
    assert faults.injected > 0
    assert "still pending" in capsys.readouterr().err
    assert _approval_of(cp, group, capsys)["status"] == "pending"
    assert AuditAction.APPROVAL_GRANTED not in [r.action for r in audit.read(f"group#{group}")]

    assert main(["approve", approval_id, "--reason", "reviewed", *_tables(cp)]) == 0
    cp.pump()
    assert _approval_of(cp, group, capsys)["status"] == "granted"
    deployed = [r.action for r in audit.read("endpoint#fraud-prod") if r.subject == arn]
    assert deployed.count(AuditAction.DEPLOYMENT_STARTED) == 1


def test_mlcp_approve_by_the_creator_is_refused_and_audited(
    cp: LocalControlPlane, audit: AuditTrail, capsys: pytest.CaptureFixture[str]
) -> None:
    # Registered with the emulator's default credentials: the CLI's own identity.
    group, _ = _pending_fraud_approval(cp, creator=None)
    main(["approvals", "list", "--json", *_tables(cp)])
    pending = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [approval] = [a for a in pending if a["group"] == group]

    assert main(["approve", approval["approval_id"], "--reason", "mine", *_tables(cp)]) == 1
    assert "the approver created the package" in capsys.readouterr().err
    assert audit.read(f"group#{group}")[-1].action == AuditAction.APPROVAL_BLOCKED
    # Still pending: someone else may decide.
    main(["approvals", "list", "--json", *_tables(cp)])
    still = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(a["approval_id"] == approval["approval_id"] for a in still)
