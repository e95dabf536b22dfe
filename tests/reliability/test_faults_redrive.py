"""Faults and RedriveExecution: a redriven deployment duplicates no side effect (see ``faults.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .faults import FaultBench, Site, budget, delta, redrive, side_effects

pytestmark = pytest.mark.reliability_property("faults")


def test_a_redriven_execution_duplicates_no_side_effect(
    bench: FaultBench, figure: Callable[..., None]
) -> None:
    """RedriveExecution (emulator fill o) resumes the same execution at its unsuccessful state.

    On a bench of its own, before any matrix trial: the stop after DeployModel is a race won by
    polling the execution history, which slows down as a control plane accumulates executions (a
    full-profile run after the matrix, on one shared bench, lost it once).

    1. Faults beyond budget after UpdateEndpoint and deployment.promoted (FinishDeployment's AddTags):
       the Catch compensates and ends in the Fail state ``DeploymentFailed``, which is then the
       unsuccessful state: the redrive re-enters it and fails again, re-running nothing.
    2. An execution stopped (ABORTED) mid-deployment, after DeployModel's CreateModel /
       CreateEndpointConfig / UpdateEndpoint, holding the lease: the redrive resumes the endpoint
       wait and finishes the deployment with exactly the side effects of an uninterrupted one.
    """
    sfn = bench.cp.client("stepfunctions")

    # Baseline: the side effects of one clean deployment.
    start = side_effects(bench)
    clean = bench.approve(bench.register(), [])
    assert clean.states[-1] == "Deployed", clean.states
    baseline = delta(side_effects(bench), start)
    figure("side effects of one clean deployment", sum(baseline.values()))

    # 1. Caught failure -> Fail state: the redrive fails again and duplicates nothing.
    finish = Site("FinishDeploymentFunction", "sagemaker", "AddTags")
    failed = bench.approve(bench.register(), [bench.rule(finish, "throttle", budget(finish) + 1)])
    assert failed.execution["status"] == "FAILED", failed.states
    before = side_effects(bench)
    again = redrive(bench, failed.execution["executionArn"], failed.package_arn)
    refailed = delta(side_effects(bench), before)
    redriven_states = again.states[len(failed.states) :]
    figure("redrive after a caught failure", f"{' > '.join(redriven_states)}: {again.execution['status']}")
    figure("side effects duplicated by that redrive", sum(refailed.values()), target="0", ok=not refailed)
    assert again.execution["status"] == "FAILED"
    assert again.execution["redriveCount"] == 1
    assert redriven_states == ["DeploymentFailed"], redriven_states
    assert not refailed, refailed

    # 2. Stopped mid-deployment (after DeployModel), then redriven.
    start = side_effects(bench)
    arn = bench.register()
    execution = bench.start_and_stop_after(arn, "DeployModel")
    stopped = bench.observe(sfn.describe_execution(executionArn=execution), arn)
    # AWS: ABORTED. moto ends a stop that lands in a .waitForTaskToken wait as FAILED (States.Timeout,
    # no Catch runs); either way the execution is unsuccessful, stopped in that state.
    assert stopped.execution["status"] in {"ABORTED", "FAILED"}, stopped.states
    assert stopped.lease_holder == execution  # an abort runs no compensation
    bench.settle()  # the endpoint finishes its update; its events find no running execution
    resumed = redrive(bench, execution, arn)
    total = delta(side_effects(bench), start)
    extra = {k: total.get(k, 0) - baseline.get(k, 0) for k in total.keys() | baseline.keys()}
    duplicated = {k: v for k, v in extra.items() if v}
    resumed_at = resumed.states[len(stopped.states)]
    figure(
        "stopped in",
        f"{stopped.states[-1]} (after DeployModel): {stopped.execution['status']}",
        target="after side effects",
    )
    figure(
        "redrive after the stop",
        f"resumes at {resumed_at}, {len(resumed.states) - len(stopped.states)} states -> {resumed.states[-1]}",
        target="Deployed",
        ok=resumed.states[-1] == "Deployed",
    )
    for effect in ("CreateModel", "CreateEndpointConfig", "UpdateEndpoint", "audit deployment.started"):
        figure(
            f"{effect}: stopped + redriven vs clean", f"{total.get(effect, 0)} vs {baseline.get(effect, 0)}"
        )
    figure(
        "side effects beyond a clean deployment's", sum(duplicated.values()), target="0", ok=not duplicated
    )
    assert resumed.execution["status"] == "SUCCEEDED", resumed.states
    assert resumed.execution["redriveCount"] == 1
    assert resumed.states[-1] == "Deployed"
    assert "DeployModel" not in resumed.states[len(stopped.states) :]
    assert resumed.serves_candidate
    assert resumed.lease_holder is None
    assert resumed.streams_ok
    assert total.get("UpdateEndpoint") == 1
    assert not duplicated, duplicated
