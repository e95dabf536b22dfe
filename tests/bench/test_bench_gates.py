"""The gate-evaluation section of `python -m mlcp_cli.bench`: its workload and report, no timing assertions."""

from __future__ import annotations

import json

import pytest

from mlcp.gates.evaluate import GATES, evaluate_gates
from mlcp_cli import bench


def test_the_workload_runs_every_gate_and_passes_them_all() -> None:
    report = evaluate_gates(*bench.gate_workload())
    assert [r.gate for r in report.results] == [name for name, _ in GATES]
    assert all(r.outcome == "pass" for r in report.results), report.reasons()
    assert report.decision == "approve"


def test_gate_evaluation_cost_reports_per_evaluation_cpu() -> None:
    cost = bench.gate_evaluation_cost(7)
    assert cost["evaluations"] == 7
    assert cost["gates"] == len(GATES)
    assert cost["outcomes"] == ["pass"] * len(GATES)
    assert cost["cpu_seconds"] >= 0
    assert cost["us_per_evaluation"] == pytest.approx(cost["cpu_seconds"] / 7 * 1e6)
    json.dumps(cost)


def test_gate_evaluations_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--gate-evaluations", "0"])
    assert "--gate-evaluations must be at least 1" in capsys.readouterr().err
