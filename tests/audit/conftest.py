"""Fixtures of the audit tests: a moto DynamoDB table laid out like the template's AuditTable."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlcp.adapters.audit_trail import AuditTrail

TABLE = "mlcp-audit-test"
REGION = "eu-west-1"


def create_audit_table(client: Any, name: str = TABLE) -> None:
    """The AuditTable shape: string pk (HASH) and sk (RANGE), on-demand."""
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


class StepClock:
    """A deterministic clock: each call is one millisecond after the last."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += timedelta(milliseconds=1)
            return self._now


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def ddb(aws_env: None, serialized_moto: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_audit_table(client)
        yield client


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def trail(ddb: Any, clock: StepClock) -> AuditTrail:
    return AuditTrail(TABLE, client=ddb, clock=clock)
