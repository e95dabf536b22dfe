"""Fixtures of the incident tests: the control-plane and audit tables, OpsCenter (the emulator's
fill), an SNS topic whose messages land on an SQS queue, and a clock the test moves."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlcp.adapters import clients
from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.notify import ApproverNotifier
from mlcp.adapters.opscenter import OpsCenter
from mlcp.models.incidents import IncidentRequest
from mlcp.usecases.incidents import IncidentDeps
from mlcp_cli.emulator.gaps import FunctionRegistry, install_gap_fills

REGION = "us-east-1"
STATE_TABLE = "mlcp-control-plane"
AUDIT_TABLE = "mlcp-audit"


class Clock:
    """A clock the test moves; each read is one millisecond after the last."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(milliseconds=1)
            return self.now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.now += timedelta(**delta)


@dataclass
class Env:
    deps: IncidentDeps
    clock: Clock
    ssm: Any
    dynamodb: Any
    audit: AuditTrail
    sqs: Any
    queue_url: str
    topic_arn: str

    def notifications(self) -> list[dict[str, Any]]:
        """Every SNS message published so far (drained from the subscribed queue)."""
        found: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(json.loads(message["Body"])["Message"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def ops_items(self) -> list[dict[str, Any]]:
        summaries: list[dict[str, Any]] = self.ssm.describe_ops_items()["OpsItemSummaries"]
        return summaries


def create_table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_METRICS_NAMESPACE": "mlcp-test",
        "POWERTOOLS_SERVICE_NAME": "tests",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def env(aws_env: None, serialized_moto: None) -> Iterator[Env]:
    with mock_aws(), install_gap_fills(FunctionRegistry()):
        clients.reset()
        dynamodb = boto3.client("dynamodb")
        create_table(dynamodb, STATE_TABLE)
        create_table(dynamodb, AUDIT_TABLE)
        sns = boto3.client("sns")
        sqs = boto3.client("sqs")
        topic_arn = sns.create_topic(Name="incidents")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="incident-messages")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        clock = Clock()
        audit = AuditTrail(AUDIT_TABLE, client=dynamodb, clock=clock)
        ssm = boto3.client("ssm")
        deps = IncidentDeps(
            ops=OpsCenter(ssm),
            table_name=STATE_TABLE,
            dynamodb=dynamodb,
            audit=audit,
            notifier=ApproverNotifier(topic_arn, sns),
            clock=clock,
        )
        yield Env(deps, clock, ssm, dynamodb, audit, sqs, queue_url, topic_arn)
        clients.reset()


def request(**overrides: Any) -> IncidentRequest:
    """A 5xx alarm on churn-prod, as the alarm handler would report it."""
    fields: dict[str, Any] = {
        "resource": "endpoint/churn-prod",
        "cause": "alarm:churn-prod-5xx",
        "severity": 2,
        "title": "churn-prod: 5xx errors above threshold",
        "description": "The alarm churn-prod-5xx is in ALARM.",
        "operational_data": {"alarm": "churn-prod-5xx", "endpoint": "churn-prod"},
        "runbook_url": "https://runbooks.example/endpoint-5xx",
        "stream": "endpoint#churn-prod",
        "event_id": "evt-1",
    }
    fields.update(overrides)
    return IncidentRequest(**fields)
