"""The real template.yaml, deployed on the local control plane once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcp.audit import AuditTrail
from mlcp_cli.emulator.runtime import LocalControlPlane

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def cp() -> Iterator[LocalControlPlane]:
    with LocalControlPlane(TEMPLATE) as control_plane:
        yield control_plane


@pytest.fixture
def audit(cp: LocalControlPlane) -> AuditTrail:
    return AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
