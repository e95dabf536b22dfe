"""Every shipped scenario passes its own expectations and ends with a verified audit chain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlcp_cli.commands.local import run_local
from mlcp_cli.scenario import load_scenario

from .conftest import ROOT, TEMPLATE

SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if p.name != "policy.yaml")

#: Shipped scenarios another test plays in full anyway, for their end state: that test plays each one
#: once with this module's checks (``play_shipped``) instead of a second run here. The default scenario
#: is ``make demo``'s, run by test_demo.py through ``mlcp local run`` itself (text and --json).
PLAYED_IN_FULL_BY = {
    "approval-recheck": "tests/e2e/test_approval_recheck.py",
    "canary-managed": "tests/e2e/test_managed_strategies.py",
    "console-approvals": "tests/e2e/test_console_approvals.py",
    "default": "tests/e2e/test_demo.py",
    "full-loop": "tests/operator_cli/test_widths.py",
    "serverless-bake": "tests/e2e/test_managed_strategies.py",
}


def test_the_shipped_scenarios_are_found() -> None:
    assert {p.stem for p in SCENARIOS} >= {"default", "gates-and-approvals"}


def test_each_scenario_played_elsewhere_is_played_there_with_these_checks() -> None:
    """The registry above stays true: each scenario it names is shipped, and its test plays it
    through ``play_shipped`` (test_demo.py: through ``run_local``, as this module does)."""
    assert set(PLAYED_IN_FULL_BY) <= {p.stem for p in SCENARIOS}
    for name, module in PLAYED_IN_FULL_BY.items():
        text = (ROOT / module).read_text()
        player = "run_local" if name == "default" else "play_shipped"
        assert re.search(rf"\b{player}\(", text), f"{module} does not call {player}()"
        assert f"{name}.yaml" in text or f'"{name}"' in text, f"{module} does not name {name}"


@pytest.mark.parametrize(
    "path", [p for p in SCENARIOS if p.stem not in PLAYED_IN_FULL_BY], ids=lambda p: p.stem
)
def test_scenario_meets_its_expectations(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = load_scenario(path)
    assert any(step.action == "expect" for step in scenario.steps), f"{path.name} checks nothing"
    assert run_local(path, template=TEMPLATE, root=ROOT, as_json=False) == 0, capsys.readouterr().err
    assert "OK:" in capsys.readouterr().out
