"""The OpsCenter adapter keeps every value within AWS's limits (the emulator's fill enforces them)."""

from __future__ import annotations

import json

import pytest

from mlcp.adapters.opscenter import (
    DATA_VALUE_MAX_BYTES,
    ELLIPSIS,
    OpsCenter,
    data_key,
    shape_operational_data,
    truncate,
    truncate_bytes,
)

from .conftest import Env


def test_truncate_keeps_short_text_and_cuts_long_text_with_an_ellipsis() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("x" * 10, 10) == "x" * 10
    cut = truncate("x" * 11, 10)
    assert len(cut) == 10
    assert cut.endswith(ELLIPSIS)


def test_truncate_bytes_counts_utf8_and_never_splits_a_character() -> None:
    text = "é" * 20_000  # 2 bytes each
    cut = truncate_bytes(text, DATA_VALUE_MAX_BYTES)
    assert len(cut.encode("utf-8")) <= DATA_VALUE_MAX_BYTES
    assert cut.endswith(ELLIPSIS)
    assert set(cut[:-1]) == {"é"}


def test_data_keys_escape_reserved_prefixes_and_keep_opscenter_keys() -> None:
    assert data_key("aws:region") == "mlcp:aws:region"
    assert data_key("/AWS/x") == "mlcp:/AWS/x"
    assert data_key("ssmThing") == "mlcp:ssmThing"
    assert data_key("/aws/dedup") == "/aws/dedup"
    assert data_key("endpoint") == "endpoint"
    assert len(data_key("k" * 300)) == 128


def test_blank_values_are_dropped_and_values_are_searchable() -> None:
    shaped = shape_operational_data({"a": "1", "blank": "  ", "": "x"})
    assert shaped == {"a": {"Value": "1", "Type": "SearchableString"}}


def test_create_cuts_every_field_to_the_limits_aws_accepts(env: Env) -> None:
    ops = OpsCenter(env.ssm)
    ops_item_id = ops.create(
        title="T" * 5000,
        description="D" * 9000,
        severity=3,
        source="S" * 300,
        operational_data={"k" * 200: "v" * 50_000, "awsKey": "x", "endpoint": "churn-prod"},
        category="C" * 100,
        notifications_topic_arn=env.topic_arn,
    )

    item = ops.get(ops_item_id)
    assert len(item["Title"]) == 1024
    assert item["Title"].endswith(ELLIPSIS)
    assert len(item["Description"]) == 2048
    assert len(item["Source"]) == 128
    assert len(item["Category"]) == 64
    assert item["Severity"] == "3"
    assert item["Priority"] == 3
    assert item["Notifications"] == [{"Arn": env.topic_arn}]
    data = {k: v["Value"] for k, v in item["OperationalData"].items()}
    long_key = next(k for k in data if k.startswith("kkk"))
    assert len(long_key) == 128
    assert len(data[long_key].encode("utf-8")) <= DATA_VALUE_MAX_BYTES
    assert data["mlcp:awsKey"] == "x"
    assert data["endpoint"] == "churn-prod"


def test_create_with_a_dedup_string_returns_the_open_ops_item(env: Env) -> None:
    ops = OpsCenter(env.ssm)
    first = ops.create("t", "d", 2, "mlcp", {}, "Availability", dedup_string="inc-1")
    again = ops.create("t", "d", 2, "mlcp", {}, "Availability", dedup_string="inc-1")
    assert again == first
    assert json.loads(ops.get(first)["OperationalData"]["/aws/dedup"]["Value"]) == {"dedupString": "inc-1"}
    ops.update(first, status="Resolved")
    assert ops.create("t", "d", 2, "mlcp", {}, "Availability", dedup_string="inc-1") != first


def test_update_merges_data_and_rejects_a_bad_severity(env: Env) -> None:
    ops = OpsCenter(env.ssm)
    ops_item_id = ops.create("t", "d", 4, "mlcp", {"a": "1"}, "Availability")
    ops.update(ops_item_id, description="E" * 3000, operational_data={"b": "2"}, severity=1)
    ops.update(ops_item_id)  # nothing to change: no call
    item = ops.get(ops_item_id)
    assert len(item["Description"]) == 2048
    assert item["Severity"] == "1"
    assert item["Version"] == "2"
    assert {k: v["Value"] for k, v in item["OperationalData"].items()} == {"a": "1", "b": "2"}
    with pytest.raises(ValueError, match="severity"):
        ops.update(ops_item_id, severity=5)
    with pytest.raises(ValueError, match="severity"):
        ops.create("t", "d", 0, "mlcp", {}, "Availability")
