"""`make demo` is `mlcp local run` on the default scenario: it must pass its own expectations."""

from __future__ import annotations

import json
import re

import pytest

from mlcp_cli.commands.local import run_local
from mlcp_cli.main import main

from .conftest import ROOT, TEMPLATE

#: Every decision the demo's story records, each one announced by a step's title: a new action (a
#: ``retraining.failed`` for a pipeline nobody created, say) is something the demo leaves unexplained.
DEMO_ACTIONS = {
    "data.arrived", "gates.evaluated", "approval.requested", "package.approved", "deployment.started",
    "deployment.promoted", "event.received", "incident.opened", "retraining.started", "retraining.succeeded",
    "event.rejected",
}  # fmt: skip


def test_default_scenario_meets_its_expectations_and_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_local(ROOT / "scenarios/default.yaml", template=TEMPLATE, root=ROOT, as_json=True) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["action"] for r in records} == DEMO_ACTIONS


def test_make_demo_fits_120_columns_and_tells_the_whole_story(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_local(ROOT / "scenarios/default.yaml", template=TEMPLATE, root=ROOT, as_json=False) == 0
    out = capsys.readouterr().out
    too_wide = [line for line in out.splitlines() if len(line) > 120]
    assert too_wide == []
    audit = out[out.index("== audit trail ==") : out.index("== mlcp audit verify ==")]
    rows = re.findall(r"^\d+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +(\S+) ", audit, flags=re.MULTILINE)
    assert set(rows) == DEMO_ACTIONS
    assert "OK: " in out[out.index("== mlcp audit verify ==") :]
    assert out.rstrip().endswith("0 failed expectations")


def test_a_failed_expectation_fails_the_run(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "wrong.yaml"  # type: ignore[operator]
    scenario.write_text(
        "name: wrong\nsteps:\n  - expect:\n      audit: {stream: 'group#nope', actions: [package.approved]}\n"
    )
    assert main(["local", "run", str(scenario), "--template", str(TEMPLATE), "--root", str(ROOT)]) == 1
    assert "expected ['package.approved'], found []" in capsys.readouterr().err


def test_a_malformed_scenario_is_refused_with_the_step(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "bad.yaml"  # type: ignore[operator]
    scenario.write_text(
        "name: bad\nsteps:\n  - put_object: {bucket: b, key: k}\n    set_alarm_state: {name: a, state: ALARM}\n"
    )
    assert main(["local", "run", str(scenario), "--template", str(TEMPLATE)]) == 2
    assert "exactly one of" in capsys.readouterr().err
