"""The real template.yaml, deployed on the local control plane once per test module."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp_cli.emulator.runtime import LocalControlPlane

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


POLICY = ROOT / "scenarios" / "policy.yaml"


def play_shipped(cp: LocalControlPlane, path: Path) -> str:
    """Play the shipped scenario at ``path`` in full on ``cp`` with the checks of
    ``test_scenarios.py``: every expectation holds, IAM denies nothing and the audit chain verifies
    (``mlcp local run``'s own verdict, exit status 0, on the control plane deployed as it deploys one).

    For a test that needs the scenario's end state: the scenario is played once, for both (see
    ``PLAYED_IN_FULL_BY`` in ``test_scenarios.py``). Returns the run's output."""
    from mlcp_cli.commands.local import play
    from mlcp_cli.scenario import load_scenario

    scenario = load_scenario(path)
    assert any(step.action == "expect" for step in scenario.steps), f"{path.name} checks nothing"
    # Deployed as ``mlcp local run`` deploys it: the scenario's parameters and start, IAM enforced.
    assert (cp.template_path, cp.parameters, cp.start) == (TEMPLATE, scenario.parameters, scenario.start)
    assert cp.iam is not None, "mlcp local run enforces IAM"
    out, err = io.StringIO(), io.StringIO()
    assert play(cp, scenario, path, root=ROOT, out=out, as_json=False, err=err) == 0, err.getvalue()
    assert "OK:" in out.getvalue()
    return out.getvalue()


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
