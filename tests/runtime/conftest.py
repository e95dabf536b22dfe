"""Fixtures of the runtime (use case) tests: the stores of template.yaml, created on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlcp.adapters import clients
from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.parking import SqsParking

EVENTS = Path(__file__).resolve().parents[2] / "events"
REGION = "us-east-1"


def sample(relative: str) -> dict[str, Any]:
    """One sample event of the contract corpus."""
    loaded: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    return loaded


@dataclass
class Stores:
    audit: AuditTrail
    parking: SqsParking
    queue_url: str
    s3: Any
    sqs: Any
    sagemaker: Any


def offline_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Region and fake credentials for moto (nothing can reach AWS), Powertools' names."""
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_NAMESPACE": "mlcp-test",
        "POWERTOOLS_SERVICE_NAME": "tests",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stores]:
    offline_aws_environment(monkeypatch)
    with mock_aws():
        clients.reset()
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName="audit",
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
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="rejected")["QueueUrl"]
        yield Stores(
            audit=AuditTrail("audit", client=ddb),
            parking=SqsParking(queue_url, client=sqs),
            queue_url=queue_url,
            s3=boto3.client("s3", region_name=REGION),
            sqs=sqs,
            sagemaker=boto3.client("sagemaker", region_name=REGION),
        )
        clients.reset()
