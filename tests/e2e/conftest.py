"""The real template.yaml, deployed on the local control plane once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp_cli.emulator.runtime import LocalControlPlane

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


POLICY = ROOT / "scenarios" / "policy.yaml"


@pytest.fixture(scope="module")
def cp() -> Iterator[LocalControlPlane]:
    """The stack with the scenarios' policy published (churn-* medium, fraud-* high, sandbox-* low)."""
    from mlcp_cli.commands.policy import DeliveryTarget, publish_to_appconfig

    with LocalControlPlane(TEMPLATE) as control_plane:
        target = DeliveryTarget.from_outputs(control_plane.stack.outputs)
        publish_to_appconfig(control_plane.client("appconfig"), target, POLICY)
        yield control_plane


@pytest.fixture
def audit(cp: LocalControlPlane) -> AuditTrail:
    return AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
