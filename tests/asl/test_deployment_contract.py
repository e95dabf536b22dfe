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
#: States that release the lease and/or record the failure, or take a managed shift's traffic back.
COMPENSATION = {
    "ReleaseLeaseAfterError",
    "FinishAfterError",
    "RecordFailure",
    "RecordVerifyFailure",
    "DeploymentFailed",
    "EventRejected",
    "ShiftFailed",
}
#: Tasks that only observe a deployment SageMaker runs: their failure goes back to watching it (the
#: tier's alarms and SageMaker still decide), never ends the workflow while the endpoint updates.
OBSERVERS = {"AnalyzeBake": "CountPoll"}
#: A failed shadow analysis still removes the shadow (EndShadow) before the deployment fails (ADR 25).
SHADOW_COMPENSATION = {"JudgeShadow": "ShadowNotJudged"}
#: The managed traffic shift's tasks (ADR 9).
SHIFT_TASKS = ["ShiftTraffic", "Bake", "CheckAlarms", "PromoteShift"]


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
        if name in OBSERVERS:
            assert target == OBSERVERS[name], f"{name} -> {target}"
            continue
        if name in SHADOW_COMPENSATION:
            assert target == SHADOW_COMPENSATION[name], f"{name} -> {target}"
            continue
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


def test_a_failure_while_holding_the_lease_is_finished_as_a_failed_deployment() -> None:
    """Released, then deployment.failed on the endpoint's stream, package tagged, incident opened."""
    states = _states()
    assert states["ReleaseLeaseAfterError"]["Next"] == "FinishAfterError"
    finish = states["FinishAfterError"]
    assert finish["Parameters"]["FunctionName"] == "${FinishDeploymentFunctionArn}"
    assert finish["Parameters"]["Payload"]["outcome"] == "failed"
    assert finish["Next"] == "DeploymentFailed"


def test_a_verification_failure_is_recorded() -> None:
    states = _states()
    catch_all = [c for c in states["VerifyApproval"]["Catch"] if "States.ALL" in c["ErrorEquals"]]
    assert catch_all[0]["Next"] == "RecordVerifyFailure"
    assert states["RecordVerifyFailure"]["Parameters"]["Payload"]["action"] == "deployment.failed"


def test_a_failed_managed_shift_takes_the_traffic_back_then_releases_the_lease() -> None:
    states = _states()
    for name in SHIFT_TASKS:
        catch_all = [c for c in states[name]["Catch"] if "States.ALL" in c["ErrorEquals"]]
        assert catch_all[0]["Next"] == "ShiftFailed", name
    assert states["ShiftFailed"]["Next"] == "RollBackShift"
    rollback = [c for c in states["RollBackShift"]["Catch"] if "States.ALL" in c["ErrorEquals"]]
    assert rollback[0]["Next"] == "ReleaseLeaseAfterError"


def test_every_managed_shift_path_ends_in_finish_deployment() -> None:
    """From the mode choice, every path of the shift loop reaches FinishDeployment (which releases
    the lease) or the rollback, whatever the tasks answer; no path leaves the loop elsewhere."""
    states = _states()
    modes = {c["StringEquals"]: c["Next"] for c in states["DeploymentMode"]["Choices"]}
    assert modes == {
        "managed": "StartShift",
        "superseded": "ReleaseLeaseSuperseded",
        "refused": "ReleaseLeaseRefused",
    }
    seen: set[str] = set()
    todo = ["StartShift"]
    exits: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states[name]
        targets = [state.get("Next"), state.get("Default")]
        targets += [c["Next"] for c in state.get("Choices", [])]
        targets += [c["Next"] for c in state.get("Catch", [])]
        for target in filter(None, targets):
            if target in {"FinishDeployment", "ReleaseLeaseAfterError"}:
                exits.add(target)
            else:
                todo.append(target)
    assert exits == {"FinishDeployment", "ReleaseLeaseAfterError"}
    assert {"ShiftTraffic", "Bake", "CheckAlarms", "PromoteShift", "RollBackShift"} <= seen
    waits = [n for n in seen if states[n]["Type"] == "Wait"]
    assert all("SecondsPath" in states[n] for n in waits), "bake and poll times come from the plan"


def test_a_superseded_deployment_releases_the_lease_and_ends_without_touching_the_endpoint() -> None:
    """DeployModel found a newer champion of the group on the endpoint (it audited the approval as
    ignored): the workflow releases the lease and succeeds; a failing release is recorded, not lost."""
    states = _states()
    release = states["ReleaseLeaseSuperseded"]
    assert release["Parameters"]["Payload"]["action"] == "release"
    assert release["Parameters"]["FunctionName"] == "${EndpointLeaseFunctionArn}"
    assert release["Next"] == "Superseded"
    assert states["Superseded"]["Type"] == "Succeed"
    catch_all = [c for c in release["Catch"] if "States.ALL" in c["ErrorEquals"]]
    assert catch_all[0]["Next"] == "RecordFailure"


def test_a_refused_approval_releases_the_lease_and_deploys_nothing() -> None:
    """DeployModel re-checked the approval and it no longer holds (it audited deployment.refused):
    the lease is released; a failed gate rejects the package, a registry that already says no is
    left alone. deployment.started is DeployModel's to record, once a deployment really starts."""
    states = _states()
    refused = [c for c in states["DeploymentMode"]["Choices"] if c.get("StringEquals") == "refused"]
    assert refused[0]["Next"] == "ReleaseLeaseRefused"
    release = states["ReleaseLeaseRefused"]
    assert release["Parameters"]["Payload"]["action"] == "release"
    assert release["Next"] == "RefusedBy"
    [rejects] = states["RefusedBy"]["Choices"]
    assert (rejects["Variable"], rejects["Next"]) == ("$.deploy.reject_package", "RejectAfterRecheck")
    assert states["RefusedBy"]["Default"] == "NotDeployed"
    assert states["RejectAfterRecheck"]["Parameters"]["Payload"]["reasons.$"] == "$.deploy.reasons"
    assert states["RejectAfterRecheck"]["Next"] == "Rejected"
    assert "StartDeployment" not in states
    payload = states["DeployModel"]["Parameters"]["Payload"]
    assert payload["human.$"] == "$.verdict.human"  # who granted: separation of duties re-checked
    assert states["RequestHumanApproval"]["ResultPath"] == "$.verdict.human"


def test_the_shadow_phase_runs_under_the_lease_before_deploy_model_and_releases_it_on_failure() -> None:
    """ADR 25: lease -> shadow (if the tier has one) -> DeployModel; every shadow task that fails
    releases the lease; a failed analysis still goes through EndShadow (the shadow is removed)."""
    states = _states()
    shadowed, acquired = states["LeaseAcquired?"]["Choices"][:2]
    assert shadowed["Next"] == "StartShadow"
    assert {"Variable": "$.lease.acquired", "BooleanEquals": True} in shadowed["And"]
    assert {"Variable": "$.verdict.deployment.shadow", "IsPresent": True} in shadowed["And"]
    assert acquired == {"Variable": "$.lease.acquired", "BooleanEquals": True, "Next": "DeployModel"}
    for name in ["StartShadow", "ShadowProgress", "EndShadow", "RestoreProgress"]:
        catch_all = [c for c in states[name]["Catch"] if "States.ALL" in c["ErrorEquals"]]
        assert catch_all[0]["Next"] == "ReleaseLeaseAfterError", name
    assert states["ShadowNotJudged"]["Next"] == "EndShadow"
    assert states["ShadowNotJudged"]["Result"]["verdict"] == "error"
    proceed = states["ShadowDecision"]["Choices"]
    assert proceed == [
        {"Variable": "$.shadow_end.decision", "StringEquals": "proceed", "Next": "DeployModel"}
    ]
    assert states["ReleaseLeaseAfterShadow"]["Next"] == "ShadowOutcome"
    assert states["RejectAfterShadow"]["Next"] == "Rejected"
