"""`mlcp status`, `abort`, `promote` and `rollback` against the real stack on the emulator, mid-bake
of a canary (scenarios/canary-abort.yaml up to its status check): the real code, the real tables and
APIs, no stubs. Virtual time only: ``--watch`` redraws on an injected sleep that moves the clock."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from mlcp.adapters.audit_trail import AuditTrail
from mlcp_cli.commands.stack import reset_target
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.rollout import WIDTH, watch

from .conftest import ROOT, played_until

SCENARIO = ROOT / "scenarios" / "canary-abort.yaml"


@pytest.fixture(scope="module")
def cp() -> Iterator[LocalControlPlane]:
    """The canary of churn-model v2 baking on churn-prod (v1 serves), two minutes into its bake."""
    with played_until(SCENARIO, "promote") as control:
        yield control


def _status(cli: Any) -> dict[str, Any]:
    code, out, err = cli("status", "churn-prod", "--local", "--json")
    assert code == 0, err
    (line,) = out.splitlines()
    return dict(json.loads(line))


def test_status_shows_the_canary_mid_bake(cp: LocalControlPlane, cli: Any) -> None:
    code, out, err = cli("status", "churn-prod", "--local")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    assert "champion     churn-model v1" in out
    assert "candidate    churn-model v2" in out
    assert "canary 10%, bake 300 s" in out
    assert "bake left    4m 00s" in out
    assert "churn-prod-5xx OK" in out

    status = _status(cli)
    assert status["status"] == "Updating"
    assert (status["champion"]["version"], status["candidate"]["version"]) == (1, 2)
    assert status["bake_seconds_left"] == 240
    assert status["workflow_state"] == "AwaitEndpoint"
    assert status["lease_holder"] == status["execution"]  # the running deployment holds the lease
    assert (status["queue"], status["incidents"], status["approvals"]) == ([], [], [])
    assert sum(status["traffic"].values()) == pytest.approx(100)


def test_status_of_every_endpoint_and_of_an_unknown_one(cp: LocalControlPlane, cli: Any) -> None:
    code, out, _ = cli("status", "--local")
    assert code == 0
    assert out.startswith("churn-prod  Updating")
    code, out, err = cli("status", "churn-nope", "--local")
    assert (code, out) == (1, "")
    assert err == "mlcp status: endpoint 'churn-nope': no such endpoint and no deployment of it in flight\n"


def test_watch_redraws_when_the_view_changes_on_an_injected_clock(cp: LocalControlPlane, cli: Any) -> None:
    reads: list[str] = []

    def fetch() -> str:
        reset_target()
        code, out, _ = cli("status", "churn-prod", "--local")
        assert code == 0
        reads.append(out)
        return out

    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the injected clock: 30 simulated seconds per read
        slept.append(seconds)
        cp.advance_time(30)

    out = io.StringIO()
    assert watch(fetch, out, sleep=sleep, interval=2.0, redraws=3) == 3
    drawn = out.getvalue().split("-" * 40 + "\n")
    assert [block.split("bake left    ")[1][:6] for block in drawn] == ["4m 00s", "3m 30s", "3m 00s"]
    assert (len(reads), slept) == (3, [2.0, 2.0])
    cp.advance_time(0)
    assert cli("status", "churn-prod", "--local", "--watch", "--redraws", "1")[0] == 0


def test_promote_is_refused_where_the_tier_does_not_allow_it(cp: LocalControlPlane, cli: Any) -> None:
    code, out, err = cli("promote", "churn-prod", "--reason", "looks fine", "--local")
    assert (code, out) == (1, "")
    assert err.startswith("refused: churn-prod: tier medium does not allow ending a bake early")
    assert "Traceback" not in err


def test_abort_rolls_back_through_sagemaker_and_a_no_op_rollback_changes_nothing(
    cp: LocalControlPlane, cli: Any
) -> None:
    before = _status(cli)
    code, out, err = cli("abort", "churn-prod", "--reason", "scores look wrong", "--local")
    assert code == 0, err
    assert "churn-model v2 aborted by" in out
    # SageMaker is rolling back (its own path, through the rollback alarm), the alarm is back to OK.
    assert (
        cp.client("sagemaker").describe_endpoint(EndpointName="churn-prod")["EndpointStatus"] == "RollingBack"
    )
    alarm = cp.client("cloudwatch").describe_alarms(AlarmNames=["churn-prod-5xx"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"

    cp.advance_time(600)  # the rollback ends; the workflow records it and releases the lease
    after = _status(cli)
    assert (after["candidate"], after["lease_holder"]) == (None, None)
    assert after["champion"]["version"] == 1
    assert [i["cause"] for i in after["incidents"]] == ["deployment.rolled_back"]
    execution = cp.client("stepfunctions").describe_execution(executionArn=before["execution"])
    assert execution["status"] == "SUCCEEDED"
    trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    records = trail.read("endpoint#churn-prod")
    (abort,) = [r for r in records if r.action == "deployment.abort_requested"]
    assert abort.actor.endswith(":user/moto")  # who: STS's answer for the caller
    assert abort.evidence["reason"] == "scores look wrong"
    assert abort.evidence["execution"] == before["execution"]
    assert records[-2].action == "deployment.rolled_back"  # then incident.opened

    code, out, err = cli("abort", "churn-prod", "--reason", "again", "--local")
    assert (code, out) == (1, "")
    assert "no deployment in flight to abort (it serves churn-model v1)" in err

    def change_failure_rate() -> float:
        code, out, _ = cli("report", "--local", "--json")
        assert code == 0
        return float(json.loads(out)["overall"]["change_failure_rate"])

    rate = change_failure_rate()
    count = len(trail.read("endpoint#churn-prod"))
    code, out, err = cli("rollback", "churn-prod", "--to", "1", "--reason", "a no-op", "--local")
    assert (code, out) == (1, "")
    assert err == (
        "refused: churn-prod already serves version 1 (config churn-prod-churn-model-v1): nothing to roll back\n"
    )
    code, _, err = cli("rollback", "churn-prod", "--reason", "to the previous champion", "--local")
    assert code == 1
    assert "no previous champion to roll back to" in err
    assert len(trail.read("endpoint#churn-prod")) == count  # nothing audited
    assert change_failure_rate() == rate == 0.5
