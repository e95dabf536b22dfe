"""Managed deployments end to end (ADR 9): the serverless bake and the multi-variant weight shift,
played from their scenarios on the real template and state machine. What each strategy did to the
endpoint (SageMaker calls the emulator simulated) and what the audit trail says about it."""

from __future__ import annotations

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.scenario import load_scenario

from .conftest import ROOT, TEMPLATE, play_shipped

OUTCOMES = {
    AuditAction.DEPLOYMENT_PROMOTED,
    AuditAction.DEPLOYMENT_ROLLED_BACK,
    AuditAction.DEPLOYMENT_FAILED,
}


@pytest.mark.parametrize(
    ("scenario", "strategy", "why", "updates"),
    [
        # to v1, to v2, back to v1's config: plain UpdateEndpoint only, no weights
        ("serverless-bake", "bake", "one production variant", ["NONE", "NONE", "NONE"]),
        # v1: shift config, 10 %, 100 %, final config; the team's A/B split;
        # v2: shift config, 10 %, weights back, the A/B config again
        (
            "canary-managed",
            "shift",
            "variant weight",
            ["NONE", "WEIGHTS", "WEIGHTS", "NONE", "NONE", "NONE", "WEIGHTS", "WEIGHTS", "NONE"],
        ),
    ],
)
def test_each_managed_strategy_does_what_its_endpoint_takes_and_says_why(
    scenario: str, strategy: str, why: str, updates: list[str]
) -> None:
    path = ROOT / "scenarios" / f"{scenario}.yaml"
    played = load_scenario(path)
    with LocalControlPlane(TEMPLATE, parameters=played.parameters, start=played.start) as cp:
        play_shipped(cp, path)
        assert [d.strategy for d in cp.endpoint_deployments() if d.endpoint_name == "scoring-prod"] == updates
        audit = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
        outcomes = [r for r in audit.read("endpoint#scoring-prod") if r.action in OUTCOMES]
    assert [r.action for r in outcomes] == [
        AuditAction.DEPLOYMENT_PROMOTED,
        AuditAction.DEPLOYMENT_ROLLED_BACK,
    ]
    for record in outcomes:
        assert (record.evidence["mode"], record.evidence["strategy"]) == ("managed", strategy)
        assert why in record.evidence["strategy_reason"]
