"""The sample corpus against the models: every sample parses, every negative is rejected for
the recorded reason, and the behaviour the control plane relies on holds."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlcp.errors import InvalidEvent
from mlcp.events import (
    MODELS_BY_DETAIL_TYPE,
    MONITORING_REPORT_DETAIL_TYPE,
    MONITORING_REPORT_SOURCE,
    SLUG_BY_DETAIL_TYPE,
    SOURCE_BY_DETAIL_TYPE,
    AlarmStateChangeEvent,
    EndpointDeploymentStateChangeEvent,
    EndpointStateChangeEvent,
    ModelMonitoringReportEvent,
    ModelPackageStateChangeEvent,
    PipelineExecutionStatusChangeEvent,
    ProcessingJobStateChangeEvent,
    S3ObjectCreatedEvent,
    TrainingJobStateChangeEvent,
    parse_event,
)

from .conftest import EVENTS, NEGATIVE, load, negative_expectations, positive_samples


def _sample(rel: str) -> dict:
    return load(EVENTS / rel)


def test_registry_covers_every_consumed_event() -> None:
    assert set(MODELS_BY_DETAIL_TYPE) == set(SOURCE_BY_DETAIL_TYPE) == set(SLUG_BY_DETAIL_TYPE)
    assert len(MODELS_BY_DETAIL_TYPE) == 9
    assert (
        SOURCE_BY_DETAIL_TYPE[MONITORING_REPORT_DETAIL_TYPE] == MONITORING_REPORT_SOURCE == "mlcp.monitoring"
    )
    assert SOURCE_BY_DETAIL_TYPE["Object Created"] == "aws.s3"
    assert SOURCE_BY_DETAIL_TYPE["CloudWatch Alarm State Change"] == "aws.cloudwatch"
    assert {s for d, s in SOURCE_BY_DETAIL_TYPE.items() if d.startswith("SageMaker")} == {"aws.sagemaker"}


def test_every_slug_has_several_samples() -> None:
    by_slug: dict[str, int] = {}
    for path in positive_samples():
        by_slug[path.parent.name] = by_slug.get(path.parent.name, 0) + 1
    assert set(by_slug) == set(SLUG_BY_DETAIL_TYPE.values())
    assert min(by_slug.values()) >= 3


@pytest.mark.parametrize("path", positive_samples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_parses_to_the_model_of_its_directory(path: Path) -> None:
    raw = load(path)
    assert raw["account"] == "123456789012"
    assert raw["region"] == "us-east-1"
    assert set(raw) >= {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    event = parse_event(raw)
    assert SLUG_BY_DETAIL_TYPE[event.detail_type] == path.parent.name
    assert isinstance(event, MODELS_BY_DETAIL_TYPE[raw["detail-type"]])
    assert event.source == SOURCE_BY_DETAIL_TYPE[raw["detail-type"]]
    # JSON text is accepted too, and yields the same model.
    assert parse_event(path.read_text()) == event


@pytest.mark.parametrize("name", sorted(negative_expectations()), ids=str)
def test_negative_sample_is_rejected_with_its_reason(name: str) -> None:
    fragment = negative_expectations()[name]
    with pytest.raises(InvalidEvent) as caught:
        parse_event((NEGATIVE / name).read_text())
    assert fragment in caught.value.reason
    assert str(caught.value) == caught.value.reason
    assert "pydantic" not in caught.value.reason
    assert "errors.pydantic.dev" not in caught.value.reason


def test_every_negative_file_has_an_expectation() -> None:
    files = {p.name for p in NEGATIVE.glob("*.json")} - {"expected.json"}
    assert files == set(negative_expectations())


@pytest.mark.parametrize("raw", [None, 42, "[]", "not json", b"\xff\xfe", ["a"]])
def test_non_objects_are_rejected(raw: object) -> None:
    with pytest.raises(InvalidEvent, match=r"not valid JSON|must be a JSON object"):
        parse_event(raw)  # type: ignore[arg-type]


def test_forged_sources_name_the_genuine_source() -> None:
    raw = _sample("model-package-state-change/approved.json")
    for forged in (
        "custom.sagemaker",
        "evil.sagemaker",
        "aws.sagemaker ",
        "AWS.SAGEMAKER",
        "mlcp.monitoring",
    ):
        with pytest.raises(InvalidEvent) as caught:
            parse_event({**raw, "source": forged})
        assert caught.value.reason == (
            f"source {forged!r} is not the source of 'SageMaker Model Package State Change' "
            "(expected 'aws.sagemaker')"
        )


def test_unknown_detail_type_reason() -> None:
    raw = _sample("alarm-state-change/ok-to-alarm.json")
    with pytest.raises(InvalidEvent) as caught:
        parse_event({**raw, "detail-type": "Foo"})
    assert caught.value.reason == "unknown detail-type 'Foo'"


def test_missing_required_field_reason_names_the_alias_path() -> None:
    raw = copy.deepcopy(_sample("model-package-state-change/approved.json"))
    del raw["detail"]["ModelPackageArn"]
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    assert caught.value.reason == "detail.ModelPackageArn: Field required"


def test_many_problems_are_capped() -> None:
    raw = copy.deepcopy(_sample("model-monitoring-report/with-violations.json"))
    raw["detail"]["violations"] = [{"feature": ""} for _ in range(10)]
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    assert "detail.violations[0].feature" in caught.value.reason
    assert "more problem(s)" in caught.value.reason
    assert len(caught.value.reason) < 1000


def test_unknown_fields_are_tolerated_and_kept() -> None:
    raw = copy.deepcopy(_sample("endpoint-state-change/in-service.json"))
    raw["detail"]["SomeFieldAwsAddsNextYear"] = {"x": 1}
    raw["detail"]["ProductionVariants"][0]["NewVariantField"] = True
    raw["brand-new-envelope-field"] = "ok"
    event = parse_event(raw)
    assert isinstance(event, EndpointStateChangeEvent)
    assert event.detail.model_extra == {"SomeFieldAwsAddsNextYear": {"x": 1}}


def test_s3_object_created_helpers() -> None:
    event = parse_event(_sample("s3-object-created/training-data-multipart.json"))
    assert isinstance(event, S3ObjectCreatedEvent)
    assert event.bucket == "mlcp-training-data"
    assert event.key.startswith("training-data/")
    assert event.s3_uri == "s3://mlcp-training-data/training-data/churn/2024-11-19/events.parquet"
    assert event.version_id == "uhggCJ2_B6gU2JaXWXebnXFDstO0ID6G"
    assert event.detail.source_ip_address == "203.0.113.24"
    assert event.detail.reason == "CompleteMultipartUpload"


def test_model_package_helpers() -> None:
    approved = parse_event(_sample("model-package-state-change/approved.json"))
    assert isinstance(approved, ModelPackageStateChangeEvent)
    assert approved.model_package_arn.endswith(":model-package/churn-classifier/7")
    assert approved.approval_status == "Approved"
    assert approved.is_approved
    assert approved.group_name == "churn-classifier"
    assert approved.package_version == 7
    assert approved.changed_by == "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-abc123xyz/alice"
    by_role = parse_event(_sample("model-package-state-change/approved-by-iam-role.json"))
    assert isinstance(by_role, ModelPackageStateChangeEvent)
    assert by_role.changed_by == "arn:aws:sts::123456789012:assumed-role/ml-release-approver/bob"
    pending = parse_event(_sample("model-package-state-change/pending-manual-approval.json"))
    assert isinstance(pending, ModelPackageStateChangeEvent)
    assert not pending.is_approved
    assert pending.changed_by is not None
    assert "mlcp-sagemaker-pipeline" in pending.changed_by


def test_model_package_group_and_version_fall_back_to_the_arn() -> None:
    raw = copy.deepcopy(_sample("model-package-state-change/rejected.json"))
    del raw["detail"]["ModelPackageGroupName"], raw["detail"]["ModelPackageVersion"]
    event = parse_event(raw)
    assert isinstance(event, ModelPackageStateChangeEvent)
    assert (event.group_name, event.package_version, event.approval_status) == (
        "churn-classifier",
        6,
        "Rejected",
    )


def test_endpoint_helpers_normalise_status() -> None:
    event = parse_event(_sample("endpoint-state-change/in-service.json"))
    assert isinstance(event, EndpointStateChangeEvent)
    assert (event.endpoint_name, event.status, event.is_in_service) == ("churn-prod", "INSERVICE", True)
    raw = _sample("endpoint-state-change/in-service.json")
    raw["detail"]["EndpointStatus"] = "InService"  # the API's spelling
    assert parse_event(raw).is_in_service  # type: ignore[union-attr]
    failed = parse_event(_sample("endpoint-state-change/failed.json"))
    assert isinstance(failed, EndpointStateChangeEvent)
    assert failed.is_failed


def test_endpoint_deployment_stage_and_rollback() -> None:
    started = parse_event(_sample("endpoint-deployment-state-change/started.json"))
    assert isinstance(started, EndpointDeploymentStateChangeEvent)
    assert started.deployment_stage == "Creating"
    assert started.target_endpoint_config_name == "churn-prod-config-v7"
    assert not started.is_rolling_back
    baking = parse_event(_sample("endpoint-deployment-state-change/canary-baking.json"))
    assert isinstance(baking, EndpointDeploymentStateChangeEvent)
    assert baking.deployment_stage == "Baking"
    rollback = parse_event(_sample("endpoint-deployment-state-change/rollback.json"))
    assert isinstance(rollback, EndpointDeploymentStateChangeEvent)
    assert rollback.is_rolling_back
    assert rollback.deployment_stage == "Deleting"
    capacity = parse_event(_sample("endpoint-deployment-state-change/capacity-update.json"))
    assert isinstance(capacity, EndpointDeploymentStateChangeEvent)
    assert capacity.deployment_stage == "Updating"
    assert capacity.target_endpoint_config_name == "churn-prod-config-v7"


def test_timestamps_in_every_aws_spelling() -> None:
    training = parse_event(_sample("training-job-state-change/completed.json"))
    assert isinstance(training, TrainingJobStateChangeEvent)
    # "CreationTime": "1731985800000" (epoch ms as a string, as SageMaker sends it)
    assert training.detail.creation_time == datetime(2024, 11, 19, 3, 10, tzinfo=UTC)
    assert training.is_terminal
    assert training.model_artifacts_uri is not None
    deployment = parse_event(_sample("endpoint-deployment-state-change/started.json"))
    assert deployment.detail.creation_time == datetime.fromtimestamp(1731400000, tz=UTC)  # type: ignore[union-attr]
    alarm = parse_event(_sample("alarm-state-change/ok-to-alarm.json"))
    assert isinstance(alarm, AlarmStateChangeEvent)
    # "2024-11-19T11:21:02.573+0000" (CloudWatch's offset without a colon)
    assert alarm.detail.state.timestamp == datetime(2024, 11, 19, 11, 21, 2, 573000, tzinfo=UTC)


def test_training_and_pipeline_helpers() -> None:
    failed = parse_event(_sample("training-job-state-change/failed.json"))
    assert isinstance(failed, TrainingJobStateChangeEvent)
    assert failed.status == "Failed"
    assert failed.is_terminal
    assert "XGBoostError" in (failed.detail.failure_reason or "")
    running = parse_event(_sample("training-job-state-change/in-progress.json"))
    assert isinstance(running, TrainingJobStateChangeEvent)
    assert not running.is_terminal
    pipeline = parse_event(_sample("pipeline-execution-status-change/succeeded.json"))
    assert isinstance(pipeline, PipelineExecutionStatusChangeEvent)
    assert pipeline.pipeline_name == "churn-training"
    assert (pipeline.status, pipeline.previous_status) == ("Succeeded", "Executing")
    assert pipeline.pipeline_execution_arn.endswith("/execution/p4jn9xou8a8s")


def test_processing_job_monitoring_hints() -> None:
    monitoring = parse_event(_sample("processing-job-state-change/monitoring-completed-with-violations.json"))
    assert isinstance(monitoring, ProcessingJobStateChangeEvent)
    assert monitoring.is_monitoring_job
    assert monitoring.monitoring_schedule_name == "churn-prod-data-quality"
    assert monitoring.monitored_endpoint_name == "churn-prod"
    assert monitoring.output_s3_uris == [
        "s3://mlcp-monitoring/reports/churn-prod/churn-prod-data-quality/2024/11/20/12"
    ]
    raw = _sample("processing-job-state-change/monitoring-completed.json")
    del raw["detail"]["MonitoringScheduleArn"]
    from_env = parse_event(raw)
    assert isinstance(from_env, ProcessingJobStateChangeEvent)
    assert from_env.monitoring_schedule_name == "churn-prod-data-quality"  # from Environment
    plain = parse_event(_sample("processing-job-state-change/failed.json"))
    assert isinstance(plain, ProcessingJobStateChangeEvent)
    assert not plain.is_monitoring_job
    assert plain.status == "Failed"


def test_alarm_helpers() -> None:
    up = parse_event(_sample("alarm-state-change/ok-to-alarm.json"))
    assert isinstance(up, AlarmStateChangeEvent)
    assert (up.alarm_name, up.state, up.previous_state) == ("mlcp-churn-prod-5xx", "ALARM", "OK")
    assert up.is_alarm
    assert not up.is_recovery
    assert up.dimensions == {"EndpointName": "churn-prod", "VariantName": "AllTraffic"}
    assert up.endpoint_name == "churn-prod"
    assert json.loads(up.detail.state.reason_data or "{}")["threshold"] == 1.0
    down = parse_event(_sample("alarm-state-change/alarm-to-ok.json"))
    assert isinstance(down, AlarmStateChangeEvent)
    assert down.is_recovery
    assert not down.is_alarm


def test_monitoring_report_helpers_and_defaults() -> None:
    report = parse_event(_sample("model-monitoring-report/with-violations.json"))
    assert isinstance(report, ModelMonitoringReportEvent)
    assert (report.endpoint_name, report.monitor_name) == ("churn-prod", "churn-prod-data-quality")
    assert report.has_violations
    assert report.violated_features == ["tenure_months", "plan_type", "monthly_charges"]
    assert report.detail.violations[2].observed_value == "0.93"
    assert report.detail.violations[0].observed_value == pytest.approx(0.274)
    assert report.detail.run_time == datetime(2024, 11, 20, 12, 12, 40, tzinfo=UTC)
    minimal = parse_event(_sample("model-monitoring-report/minimal.json"))
    assert isinstance(minimal, ModelMonitoringReportEvent)
    assert (minimal.detail.schema_version, minimal.detail.monitor_kind) == ("1.0", "custom")
    assert not minimal.has_violations


def test_monitoring_report_accepts_future_minor_versions_only() -> None:
    raw = _sample("model-monitoring-report/clean-run.json")
    raw["detail"]["schemaVersion"] = "1.7"
    assert parse_event(raw)
    raw["detail"]["schemaVersion"] = "2.0"
    with pytest.raises(InvalidEvent, match=r"detail\.schemaVersion"):
        parse_event(raw)
