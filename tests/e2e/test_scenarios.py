"""Every shipped scenario passes its own expectations and ends with a verified audit chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcp_cli.commands.local import run_local
from mlcp_cli.scenario import load_scenario

from .conftest import ROOT, TEMPLATE

SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if p.name != "policy.yaml")


def test_the_shipped_scenarios_are_found() -> None:
    assert {p.stem for p in SCENARIOS} >= {"default", "gates-and-approvals"}


@pytest.mark.parametrize("path", [p for p in SCENARIOS if p.stem != "default"], ids=lambda p: p.stem)
def test_scenario_meets_its_expectations(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = load_scenario(path)
    assert any(step.action == "expect" for step in scenario.steps), f"{path.name} checks nothing"
    assert run_local(path, template=TEMPLATE, root=ROOT, as_json=False) == 0, capsys.readouterr().err
    assert "OK:" in capsys.readouterr().out
