"""The real stack on the emulator with churn-model v1, v2 and v3 deployed one after the other
(scenarios/retirement.yaml up to v3's promotion), shared by the operator CLI tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.main import main
from mlcp_cli.scenario import ScenarioRunner, load_scenario

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SCENARIO = ROOT / "scenarios" / "retirement.yaml"


@pytest.fixture(scope="module")
def cp() -> Iterator[LocalControlPlane]:
    scenario = load_scenario(SCENARIO)
    first_tick = next(i for i, step in enumerate(scenario.steps) if step.action == "tick")
    deployed = scenario.model_copy(update={"steps": scenario.steps[:first_tick]})
    with LocalControlPlane(TEMPLATE, parameters=scenario.parameters, start=scenario.start) as control:
        result = ScenarioRunner(control, root=ROOT, timeline=None, progress=None).run(deployed)
        assert result.ok, result.failures
        yield control


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """``cli(*args) -> (exit code, stdout, stderr)`` of ``mlcp`` run in this process."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
