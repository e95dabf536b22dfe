"""What a handler imports at init (ADR 13: only what every invocation of it needs; ADR 32): the
modules a handler's paths never or rarely use stay unloaded. The environment is the template's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlcp_cli.bench import functions_by_code_dir, handler_environment
from mlcp_cli.template import load_template

ROOT = Path(__file__).resolve().parents[2]

#: function -> modules its init must not import, and why.
NOT_AT_INIT = {
    # The wait parks a task token and answers it: no approval, gate, policy or CloudTrail model.
    "await_console_decision": ("mlcp.usecases.approval", "mlcp.policy.model", "mlcp.events.cloudtrail"),
    # Eight detail-types: each model loads with the first event of its kind; the incident adapters
    # with the first incident (most events open none).
    "event_intake": (
        "mlcp.events.model_package",
        "mlcp.events.cloudwatch",
        "mlcp.events.monitoring",
        "mlcp.incidents",
        "mlcp.adapters.opscenter",
    ),
    # Data arrival and the retraining schedule start pipelines; they never open an incident.
    "data_arrival": ("mlcp.incidents", "mlcp.adapters.opscenter"),
    "scheduled_retraining": ("mlcp.incidents", "mlcp.adapters.opscenter"),
}


@pytest.mark.parametrize("function", sorted(NOT_AT_INIT))
def test_a_handler_does_not_import_at_init_what_its_paths_do_not_need(function: str) -> None:
    template = load_template(ROOT / "template.yaml")
    logical_id = functions_by_code_dir(template)[f"functions/{function}"]
    code = ROOT / "functions" / function
    program = f"import sys\nsys.path.insert(0, {str(code)!r})\nimport app\nprint(' '.join(sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", program],
        env={**os.environ, **handler_environment(template, logical_id)},
        cwd=code,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(proc.stdout.split())
    assert "app" in loaded
    assert loaded & set(NOT_AT_INIT[function]) == set()
