"""DynamoDB fill ae: a cancelled TransactWriteItems rolls back exactly as moto's whole-table copy
did, from a backup that copies only the items the transaction names."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mlcp_cli.emulator.gaps import GapFills


def _table(client: Any, name: str, *, with_range: bool) -> None:
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if with_range:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "S"})
    client.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )


def _key(pk: str, with_range: bool) -> dict[str, Any]:
    return {"pk": {"S": pk}, **({"sk": {"S": "r"}} if with_range else {})}


def _contents(client: Any, name: str) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=name, ConsistentRead=True)["Items"], key=repr)


def _transaction(name: str, with_range: bool, *, fail: bool) -> list[dict[str, Any]]:
    return [
        {"Put": {"TableName": name, "Item": {**_key("new", with_range), "v": {"N": "1"}}}},
        {
            "Update": {
                "TableName": name,
                "Key": _key("changed", with_range),
                "UpdateExpression": "SET v = v + :one, added = :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {"Delete": {"TableName": name, "Key": _key("deleted", with_range)}},
        {
            "ConditionCheck": {
                "TableName": name,
                "Key": _key("guard", with_range),
                "ConditionExpression": "attribute_not_exists(pk)" if fail else "attribute_exists(pk)",
            }
        },
    ]


def _seed(client: Any, name: str, with_range: bool) -> None:
    for pk in ("changed", "deleted", "guard", "untouched"):
        client.put_item(TableName=name, Item={**_key(pk, with_range), "v": {"N": "10"}})


def _play(name: str, with_range: bool, fail: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    client = boto3.client("dynamodb")
    _table(client, name, with_range=with_range)
    _seed(client, name, with_range)
    before = _contents(client, name)
    outcome = "ok"
    try:
        client.transact_write_items(TransactItems=_transaction(name, with_range, fail=fail))
    except client.exceptions.TransactionCanceledException as exc:
        outcome = str([r["Code"] for r in exc.response["CancellationReasons"]])
    return before, _contents(client, name), outcome


@pytest.mark.parametrize("with_range", [False, True])
@pytest.mark.parametrize("fail", [False, True])
def test_transactions_commit_and_roll_back_as_with_moto_alone(
    with_range: bool, fail: bool, raw_moto: None
) -> None:
    from mlcp_cli.emulator.gaps import FunctionRegistry, install_gap_fills

    before_raw, after_raw, outcome_raw = _play("moto-alone", with_range, fail)
    with install_gap_fills(FunctionRegistry()):
        before, after, outcome = _play("with-fills", with_range, fail)
    assert (before, after, outcome) == (before_raw, after_raw, outcome_raw)
    assert (after == before) is fail  # a cancelled transaction changed nothing, a committed one did
    if fail:
        assert outcome == "['None', 'None', 'None', 'ConditionalCheckFailed']"


def test_the_backup_shares_the_items_the_transaction_does_not_name(fills: GapFills) -> None:
    from moto.dynamodb.models import dynamodb_backends

    client = boto3.client("dynamodb")
    _table(client, "shared", with_range=True)
    _seed(client, "shared", with_range=True)
    table = dynamodb_backends["123456789012"]["us-east-1"].tables["shared"]
    untouched = {id(sub[k]) for sub in table.items.values() for k in sub}
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=_transaction("shared", True, fail=True))
    table = dynamodb_backends["123456789012"]["us-east-1"].tables["shared"]  # the restored backup
    kept = {pk.value: id(sub[k]) in untouched for pk, sub in table.items.items() for k in sub}
    assert kept == {"untouched": True, "guard": False, "deleted": False, "changed": False}
