"""The real stack on the emulator with churn-model v1, v2 and v3 deployed one after the other
(scenarios/retirement.yaml up to v3's promotion), shared by the operator CLI tests of a module."""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def played_until(path: Path, action: str) -> Iterator[LocalControlPlane]:
    """The real stack with the scenario at ``path`` played up to (not including) its first
    ``action`` step; every expectation on the way held."""
    scenario = load_scenario(path)
    first = next(i for i, step in enumerate(scenario.steps) if step.action == action)
    prefix = scenario.model_copy(update={"steps": scenario.steps[:first]})
    with LocalControlPlane(TEMPLATE, parameters=scenario.parameters, start=scenario.start) as control:
        result = ScenarioRunner(control, root=ROOT, timeline=None, progress=None).run(prefix)
        assert result.ok, result.failures
        yield control


@pytest.fixture(scope="module")
def cp() -> Iterator[LocalControlPlane]:
    with played_until(SCENARIO, "tick") as control:
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
