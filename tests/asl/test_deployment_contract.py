"""The deployment workflow's own contract, checked statically on the real ASL file: every task
retries transient errors and has a Catch that leads to compensation (the lease is released and the
failure recorded) rather than leaving a deployment half done."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ASL = Path(__file__).resolve().parents[2] / "statemachines" / "deployment.asl.json"
TRANSIENT_LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
#: States that release the lease and/or record the failure.
COMPENSATION = {"ReleaseLeaseAfterError", "RecordFailure", "DeploymentFailed", "EventRejected"}


def _states() -> dict[str, Any]:
    states: dict[str, Any] = json.loads(ASL.read_text())["States"]
    return states


def test_every_task_retries_transient_errors() -> None:
    for name, state in _states().items():
        if state["Type"] != "Task":
            continue
        retried = {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}
        if state["Resource"].startswith("arn:aws:states:::lambda:invoke"):
            assert retried >= TRANSIENT_LAMBDA_ERRORS, name
        else:
            assert retried, f"{name} retries nothing"
        for retrier in state.get("Retry", []):
            assert retrier.get("MaxAttempts", 3) <= 5, f"{name}: retries must stay within budget"


def test_every_task_catches_everything_into_compensation() -> None:
    states = _states()
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        catch_all = [c for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
        assert catch_all, f"{name} has no catch-all"
        target = catch_all[0]["Next"]
        assert target in COMPENSATION or target == name or states[target]["Type"] == "Fail", (
            f"{name} -> {target}"
        )


def test_after_the_lease_every_failure_releases_it() -> None:
    states = _states()
    holding = ["DeployModel", "AwaitEndpoint", "CheckDeployment", "FinishDeployment"]
    for name in holding:
        catch_all = [c for c in states[name]["Catch"] if "States.ALL" in c["ErrorEquals"]]
        assert catch_all[0]["Next"] == "ReleaseLeaseAfterError", name
    assert states["FinishDeployment"]["Next"] == "ReleaseLease"
