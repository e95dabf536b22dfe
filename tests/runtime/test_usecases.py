"""Use cases against moto: what each appends, what it ignores, and that duplicates append nothing."""

from __future__ import annotations

import json

import pytest

from mlcp.adapters.registry import identity_of
from mlcp.adapters.storage import S3ObjectStore
from mlcp.audit import AuditAction, verify_chain
from mlcp.config import CoreConfig, TrainingDataConfig
from mlcp.errors import ConfigurationError, InvalidEvent
from mlcp.events import S3ObjectCreatedEvent, parse_event
from mlcp.usecases.append_audit import AuditAppendRequest, append_audit
from mlcp.usecases.data_arrival import record_data_arrival
from mlcp.usecases.event_intake import record_event_received, stream_and_subject
from mlcp.usecases.reject_event import REJECTED_STREAM, reject_event

from .conftest import Stores, sample

TRAINING = TrainingDataConfig(
    MLCP_TRAINING_DATA_BUCKET="mlcp-training-data", MLCP_TRAINING_DATA_PREFIX="training-data/"
)


def _put_training_object(stores: Stores, key: str, body: bytes = b"a,b\n1,2\n") -> str:
    stores.s3.create_bucket(Bucket="mlcp-training-data")
    stores.s3.put_bucket_versioning(
        Bucket="mlcp-training-data", VersioningConfiguration={"Status": "Enabled"}
    )
    version: str = stores.s3.put_object(Bucket="mlcp-training-data", Key=key, Body=body)["VersionId"]
    return version


def _arrival(key: str, version_id: str | None, event_id: str = "e-1") -> S3ObjectCreatedEvent:
    raw = sample("s3-object-created/training-data-put.json")
    raw["id"] = event_id
    raw["detail"]["object"]["key"] = key
    if version_id:
        raw["detail"]["object"]["version-id"] = version_id
    event = parse_event(raw)
    assert isinstance(event, S3ObjectCreatedEvent)
    return event


def test_data_arrival_records_what_s3_says_now(stores: Stores) -> None:
    key = "training-data/churn/2026-11-26/part-0001.csv"
    version = _put_training_object(stores, key)
    event = _arrival(key, version)

    outcome = record_data_arrival(
        event, config=TRAINING, objects=S3ObjectStore(stores.s3), audit=stores.audit
    )

    assert outcome["status"] == "recorded"
    [record] = stores.audit.read("data#mlcp-training-data")
    assert record.action == AuditAction.DATA_ARRIVED
    assert record.subject == f"s3://mlcp-training-data/{key}"
    # Size comes from HeadObject, not from the event (the sample claims another size).
    assert record.evidence["size"] == 8
    assert record.evidence["version_id"] == version
    assert record.event_id == "e-1"


def test_data_arrival_redelivered_or_reemitted_appends_nothing(stores: Stores) -> None:
    key = "training-data/churn/part-0002.csv"
    version = _put_training_object(stores, key)
    objects = S3ObjectStore(stores.s3)
    for event_id in ("e-1", "e-1", "e-2-reemitted"):
        record_data_arrival(
            _arrival(key, version, event_id), config=TRAINING, objects=objects, audit=stores.audit
        )
    assert len(stores.audit.read("data#mlcp-training-data")) == 1


def test_data_arrival_outside_prefix_or_gone_is_ignored_with_reason(stores: Stores) -> None:
    _put_training_object(stores, "training-data/present.csv")
    objects = S3ObjectStore(stores.s3)

    outside = record_data_arrival(
        _arrival("scratch/x.csv", None), config=TRAINING, objects=objects, audit=stores.audit
    )
    gone = record_data_arrival(
        _arrival("training-data/deleted.csv", None, "e-9"),
        config=TRAINING,
        objects=objects,
        audit=stores.audit,
    )

    assert outside["status"] == gone["status"] == "ignored"
    assert "outside s3://mlcp-training-data/training-data/" in str(outside["reason"])
    assert "does not have" in str(gone["reason"])
    records = stores.audit.read("data#mlcp-training-data")
    assert [r.action for r in records] == [AuditAction.EVENT_IGNORED, AuditAction.EVENT_IGNORED]


def test_reject_event_parks_the_whole_event_and_audits_once(stores: Stores) -> None:
    raw = sample("negative/missing-model-package-arn.json")
    for _ in range(3):
        reject_event(
            raw,
            "detail.ModelPackageArn: Field required",
            rejected_by="t",
            audit=stores.audit,
            parking=stores.parking,
        )

    messages = stores.sqs.receive_message(
        QueueUrl=stores.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    parked = [json.loads(m["Body"]) for m in messages["Messages"]]
    assert len(parked) == 3  # at-least-once parking: nothing is lost ...
    assert parked[0]["event"] == raw
    assert parked[0]["reason"] == "detail.ModelPackageArn: Field required"
    records = stores.audit.read(REJECTED_STREAM)
    assert len(records) == 1  # ... but the audit records the rejection once
    assert records[0].action == AuditAction.EVENT_REJECTED
    assert records[0].evidence["reason"] == "detail.ModelPackageArn: Field required"


def test_reject_event_takes_input_that_is_not_json(stores: Stores) -> None:
    digest = reject_event(
        b"\xff\xfe not json",
        "event must be a JSON object",
        rejected_by="t",
        audit=stores.audit,
        parking=stores.parking,
    )
    assert len(digest) == 64
    assert stores.audit.read(REJECTED_STREAM)[0].subject == f"event:{digest}"


@pytest.mark.parametrize(
    ("relative", "stream"),
    [
        ("model-package-state-change/pending-manual-approval.json", "group#"),
        ("endpoint-state-change/in-service.json", "endpoint#"),
        ("endpoint-deployment-state-change/rollback.json", "endpoint#"),
        ("model-monitoring-report/with-violations.json", "endpoint#"),
        ("pipeline-execution-status-change/failed.json", "pipeline#"),
        ("training-job-state-change/failed.json", "training#"),
        ("processing-job-state-change/failed.json", "processing#"),
        ("processing-job-state-change/monitoring-completed.json", "endpoint#"),
        ("alarm-state-change/ok-to-alarm.json", ""),
    ],
)
def test_intake_files_each_event_under_its_resource(stores: Stores, relative: str, stream: str) -> None:
    event = parse_event(sample(relative))
    expected_stream, subject = stream_and_subject(event)
    assert expected_stream.startswith(stream)
    assert "unknown" not in expected_stream
    assert subject

    first = record_event_received(event, audit=stores.audit)
    reemitted = parse_event({**sample(relative), "id": "another-eventbridge-id"})
    second = record_event_received(reemitted, audit=stores.audit)

    assert first.appended
    assert not second.appended
    assert second.record == first.record
    assert verify_chain(stores.audit.read(expected_stream)).ok


def test_an_unmonitored_processing_job_has_its_own_stream() -> None:
    event = parse_event(sample("processing-job-state-change/failed.json"))
    stream, subject = stream_and_subject(event)
    assert stream == "processing#churn-preprocess-2024-11-19-03-02-15"
    assert subject.endswith(":processing-job/churn-preprocess-2024-11-19-03-02-15")


def test_identity_prefers_iam_then_profile_and_fails_closed() -> None:
    assert (
        identity_of({"IamIdentity": {"Arn": "arn:aws:iam::1:role/a"}, "UserProfileName": "p"})
        == "arn:aws:iam::1:role/a"
    )
    assert identity_of({"UserProfileName": "p"}) == "p"
    assert identity_of({}) == identity_of(None) == "unknown"


def test_append_audit_request_is_strict(stores: Stores) -> None:
    request = AuditAppendRequest.model_validate(
        {
            "action": "package.approved",
            "stream": "group#churn",
            "subject": "arn",
            "actor": "me",
            "decision_id": "d",
        }
    )
    assert append_audit(request, audit=stores.audit)["appended"] is True
    assert append_audit(request, audit=stores.audit)["appended"] is False
    for bad in ({"action": "package.approvedd"}, {"stream": "no-prefix"}, {"unexpected": 1}):
        with pytest.raises(ValueError, match="validation error"):
            AuditAppendRequest.model_validate(
                {
                    "action": "package.approved",
                    "stream": "group#c",
                    "subject": "s",
                    "actor": "a",
                    "decision_id": "d",
                    **bad,
                }
            )


def test_configuration_names_the_missing_variable() -> None:
    with pytest.raises(ConfigurationError, match="MLCP_IDEMPOTENCY_TABLE"):
        CoreConfig.from_env({"MLCP_AUDIT_TABLE": "audit", "MLCP_REJECTED_EVENTS_QUEUE_URL": "q"})


def test_parse_errors_are_invalid_events() -> None:
    with pytest.raises(InvalidEvent, match="unknown detail-type"):
        parse_event({**sample("alarm-state-change/ok-to-alarm.json"), "detail-type": "Nope"})
