"""`mlcp abort` of a serverless endpoint's managed bake (ADR 24), through the CLI on the real stack
(scenarios/serverless-bake.yaml up to its alarm: scoring-model v2 bakes with all the traffic): the
workflow puts v1's config back, records the rollback with who and why, releases the lease."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp_cli.emulator.runtime import LocalControlPlane

from .conftest import ROOT, played_until

ENDPOINT = "scoring-prod"


@pytest.fixture(scope="module")
def cp() -> Iterator[LocalControlPlane]:
    with played_until(ROOT / "scenarios" / "serverless-bake.yaml", "set_alarm_state") as control:
        yield control


def test_abort_rolls_a_serverless_bake_back_through_the_workflow(cp: LocalControlPlane, cli: Any) -> None:
    code, out, err = cli("status", ENDPOINT, "--local", "--json")
    assert code == 0, err
    before = json.loads(out)
    assert (before["workflow_state"], before["candidate"]["version"]) == ("Bake", 2)

    code, out, err = cli("abort", ENDPOINT, "--reason", "scores drift", "--local")
    assert code == 0, err
    assert "the workflow rolled the traffic back" in out

    described = cp.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    assert described["EndpointStatus"] == "InService"
    execution = cp.client("stepfunctions").describe_execution(executionArn=before["execution"])
    assert execution["status"] == "SUCCEEDED"
    code, out, _ = cli("status", ENDPOINT, "--local", "--json")
    after = json.loads(out)
    assert (after["candidate"], after["lease_holder"], after["champion"]["version"]) == (None, None, 1)
    trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    actions = [r.action for r in trail.read(f"endpoint#{ENDPOINT}") if r.action != "event.received"]
    assert actions[-3:] == ["deployment.abort_requested", "deployment.rolled_back", "incident.opened"]
    rolled = [r for r in trail.read(f"endpoint#{ENDPOINT}") if r.action == "deployment.rolled_back"][-1]
    assert "scores drift" in json.dumps(rolled.evidence)
