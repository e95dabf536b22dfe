"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlcp_cli.emulator.gaps import serialized_dynamodb


@pytest.fixture
def serialized_moto() -> Iterator[None]:
    """moto's DynamoDB one request at a time (see ``serialized_dynamodb``)."""
    with serialized_dynamodb():
        yield
