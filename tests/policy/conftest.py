"""Fixtures of the policy tests: the example document and a moto SSM."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "policy" / "example.yaml"
REGION = "eu-west-1"
PARAMETER = "/mlcp/policy"


def example_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return copy.deepcopy(document)


@pytest.fixture
def document() -> dict[str, Any]:
    return example_document()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("POWERTOOLS_PARAMETERS_MAX_AGE", raising=False)
    monkeypatch.delenv("MLCP_POLICY_PARAMETER", raising=False)


@pytest.fixture
def ssm(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ssm", region_name=REGION)
