"""The one reading of DynamoDB's conditional-write and transaction errors (``mlcp.adapters.dynamo``),
against the errors DynamoDB (moto) really returns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlcp.adapters.dynamo import cancellation, condition_failed, error_code

TABLE = "t"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName=TABLE, Item={"pk": {"S": "taken"}, "v": {"S": "first"}})
        yield client


def _put(pk: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": TABLE,
            "Item": {"pk": {"S": pk}},
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def test_a_refused_condition_is_told_from_other_errors(dynamodb: Any) -> None:
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(
            TableName=TABLE, Item={"pk": {"S": "taken"}}, ConditionExpression="attribute_not_exists(pk)"
        )
    assert condition_failed(refused.value)
    assert cancellation(refused.value) is None
    with pytest.raises(ClientError) as missing:
        dynamodb.put_item(TableName="no-such-table", Item={"pk": {"S": "x"}})
    assert error_code(missing.value) == "ResourceNotFoundException"
    assert not condition_failed(missing.value)


def test_a_cancelled_transaction_names_the_write_whose_condition_failed(dynamodb: Any) -> None:
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[_put("new"), _put("taken")])
    reasons = cancellation(cancelled.value)
    assert reasons is not None
    assert not condition_failed(cancelled.value)
    assert not reasons.condition_failed(0)
    assert reasons.condition_failed(1)
    assert not reasons.condition_failed(2)  # no such write
    assert reasons.any_condition_failed()
    assert not reasons.any_condition_failed(below=1)
    assert not reasons.retryable
    assert reasons.items[1] == {"pk": {"S": "taken"}, "v": {"S": "first"}}


def test_a_conflict_is_retryable() -> None:
    error = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
        },
        "TransactWriteItems",
    )
    reasons = cancellation(error)
    assert reasons is not None
    assert reasons.retryable
    assert not reasons.any_condition_failed()
