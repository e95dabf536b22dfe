"""Fixtures for the emulator tests: raw moto, moto with the gap fills, and the whole local stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from mlcp_cli.emulator.gaps import FunctionRegistry, GapFills, install_gap_fills
from mlcp_cli.emulator.runtime import MOTO_CONFIG, LocalControlPlane

from .helpers import FIXTURE_TEMPLATE, REGION


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def raw_moto(aws_env: None) -> Iterator[None]:
    """moto as configured for local mode, without any gap fill."""
    with mock_aws(config=MOTO_CONFIG):
        yield


@pytest.fixture
def fills(raw_moto: None) -> Iterator[GapFills]:
    """moto with the gap fills installed (an empty function registry to register into)."""
    with install_gap_fills(FunctionRegistry()) as installed:
        yield installed


@pytest.fixture(scope="module")
def control_plane() -> Iterator[LocalControlPlane]:
    """The fixture template deployed on the local control plane (one per test module)."""
    with LocalControlPlane(FIXTURE_TEMPLATE, parameters={"Stage": "unit"}) as cp:
        yield cp
