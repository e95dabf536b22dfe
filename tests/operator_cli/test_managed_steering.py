"""`mlcp promote` and `mlcp abort` of a managed canary (ADR 24) through the CLI, against the real stack
on the emulator (scenarios/managed-steering.yaml up to its first promote: scoring-model v1 bakes on
10 % of a multi-variant endpoint): the bake's parked token, the steer-bake function, the workflow,
the audit trail and `mlcp report`. Virtual time only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp_cli.emulator.runtime import LocalControlPlane

from .conftest import ROOT, played_until

SCENARIO = ROOT / "scenarios" / "managed-steering.yaml"
ENDPOINT = "scoring-prod"


@pytest.fixture(scope="module")
def cp() -> Iterator[LocalControlPlane]:
    with played_until(SCENARIO, "promote") as control:
        yield control


def _status(cli: Any) -> dict[str, Any]:
    code, out, err = cli("status", ENDPOINT, "--local", "--json")
    assert code == 0, err
    return dict(json.loads(out))


def _records(cp: LocalControlPlane, action: str) -> list[Any]:
    trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    return [r for r in trail.read(f"endpoint#{ENDPOINT}") if r.action == action]


def _change_failure_rate(cli: Any) -> Any:
    code, out, err = cli("report", "--local", "--json")
    assert code == 0, err
    return json.loads(out)["overall"]["change_failure_rate"]


def test_promote_ends_the_bake_now_and_the_timeout_path_is_unchanged(cp: LocalControlPlane, cli: Any) -> None:
    before = _status(cli)
    assert (before["workflow_state"], before["candidate_traffic"]) == ("Bake", 10.0)
    assert before["bake_seconds_left"] > 300
    rate = _change_failure_rate(cli)

    code, out, err = cli("promote", ENDPOINT, "--reason", "flat error rate", "--local")
    assert code == 0, err
    assert out.startswith(f"{ENDPOINT}: the bake of scoring-model v1 at 10% (step 1) ended early by ")
    (requested,) = _records(cp, "deployment.promote_requested")
    assert requested.actor.endswith(":user/moto")
    assert requested.evidence["reason"] == "flat error rate"
    assert (requested.evidence["bake_index"], requested.evidence["percent"]) == (0, 10)
    assert requested.evidence["execution"] == before["execution"]

    # The same bake cannot be ended twice: the workflow left it (CheckAlarms, then the next step).
    code, out, err = cli("promote", ENDPOINT, "--reason", "again", "--local")
    assert (code, out) == (1, "")
    assert err.startswith(f"refused: {ENDPOINT}: nothing is baking")
    refused = _records(cp, "deployment.promote_refused")
    assert [r.evidence["reason"] for r in refused] == ["again"]
    assert "nothing is baking" in refused[0].evidence["refused"]
    assert _change_failure_rate(cli) == rate  # a refusal is no deployment outcome

    # Nobody promotes the final bake: its timeout (300 s on the virtual clock) ends it as before.
    cp.advance_time(120)
    final = _status(cli)
    assert (final["candidate_traffic"], final["workflow_state"]) == (100.0, "Bake")
    # 300 s of final bake, started once the weights took (a 30 s poll) after the promotion: the time
    # left counts from when the bake parked its token, on the virtual clock.
    assert 180 <= final["bake_seconds_left"] <= 270
    cp.advance_time(600)
    after = _status(cli)
    assert (after["candidate"], after["lease_holder"], after["champion"]["version"]) == (None, None, 1)
    assert len(_records(cp, "deployment.promoted")) == 1
    execution = cp.client("stepfunctions").describe_execution(executionArn=before["execution"])
    assert execution["status"] == "SUCCEEDED"
