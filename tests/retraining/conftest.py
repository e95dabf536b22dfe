"""Fixtures of the retraining tests: a moto control-plane table (serialized, as DynamoDB is) and a
moto SageMaker with the pipelines the policies name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlcp.adapters.retraining_state import RetrainingState

TABLE = "mlcp-control-plane-test"
REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/mlcp-pipeline"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws(aws_env: None, serialized_moto: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def ddb(aws: None) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName=TABLE,
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
    return client


@pytest.fixture
def state(ddb: Any) -> RetrainingState:
    return RetrainingState(TABLE, ddb)


def _definition(*parameters: str) -> str:
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Parameters": [{"Name": name, "Type": "String", "DefaultValue": ""} for name in parameters],
            "Steps": [],
        }
    )


@pytest.fixture
def sagemaker(aws: None) -> Any:
    client = boto3.client("sagemaker", region_name=REGION)
    for name in ("churn-train", "fraud-train"):
        client.create_pipeline(
            PipelineName=name,
            PipelineDefinition=_definition(
                "TrainingDataUris", "TriggerReason", "TriggerEventId", "InstanceType"
            ),
            RoleArn=ROLE,
            ClientRequestToken=f"create-{name}-{'0' * 32}",
        )
    return client
