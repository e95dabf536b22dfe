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

#: What a deployment task that does not start the deployment never uses (deploy-model's use case).
NOT_STARTING = ("mlcp.usecases.deployment_start", "mlcp.usecases.traffic_shift")

#: function -> modules its init must not import, and why.
NOT_AT_INIT = {
    # The wait parks a task token and answers it: no approval, gate, policy or CloudTrail model.
    "await_console_decision": ("mlcp.usecases.approval", "mlcp.policy.model", "mlcp.events.cloudtrail"),
    # Asking approvers, a person's answer and a rejection evaluate no gate and read no policy
    # (mlcp.usecases.approval_records): no gates, no policy model, no evidence or report adapters.
    **dict.fromkeys(
        ("request_human_approval", "reject_package", "console_decision"),
        (
            "mlcp.usecases.approval",
            "mlcp.usecases.gating",
            "mlcp.gates.evaluate",
            "mlcp.gates.evidence",
            "mlcp.policy.model",
            "mlcp.adapters.evidence",
            "mlcp.adapters.reports",
        ),
    ),
    # The lease and the waits of a deployment never open an incident (only finishing one does) nor
    # start one: no incident use case, store or OpsCenter adapter, no deployment planning.
    **dict.fromkeys(
        ("endpoint_lease", "check_deployment", "await_endpoint", "endpoint_events"),
        ("mlcp.usecases.incidents", "mlcp.adapters.incident_store", "mlcp.adapters.opscenter", *NOT_STARTING),
    ),
    "finish_deployment": NOT_STARTING,
    # A registered or rejected package is decided on the spot: never a promotion (its verification
    # is mlcp.usecases.verification, with the stage rules).
    "model_package_status": ("mlcp.usecases.verification", "mlcp.usecases.stage_promotion", "mlcp.promotion"),
    # A promotion's prerequisite counts open incidents from the store; the start of a deployment and
    # an approval's verification never open one: no incident use case, no OpsCenter adapter.
    **dict.fromkeys(
        ("deploy_model", "verify_approval"), ("mlcp.usecases.incidents", "mlcp.adapters.opscenter")
    ),
    # The canary analysis and the shadow test validate the settings the workflow hands them
    # (mlcp.models.analysis) and never read the policy: no policy model, no policy source.
    "analyze_canary": ("mlcp.policy", "mlcp.policy.model"),
    "shadow_test": ("mlcp.policy", "mlcp.policy.model", *NOT_STARTING),
    # Eight detail-types: each model loads with the first event of its kind; the incident adapters
    # with the first incident (most events open none).
    "event_intake": (
        "mlcp.events.model_package",
        "mlcp.events.cloudwatch",
        "mlcp.events.monitoring",
        "mlcp.usecases.incidents",
        "mlcp.adapters.opscenter",
    ),
    # Data arrival, its debounced re-check and the retraining schedule start pipelines
    # (mlcp.usecases.retraining_reactions): they never open an incident nor read a monitoring report.
    **dict.fromkeys(
        ("data_arrival", "recheck_training_data", "scheduled_retraining"),
        ("mlcp.usecases.incidents", "mlcp.adapters.opscenter", "mlcp.usecases.reactions", "mlcp.monitoring"),
    ),
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


def test_the_analysis_settings_are_configured_as_the_policy_models() -> None:
    """``mlcp.models.analysis`` holds part of the policy's contract in a module of its own: its models
    are as strict as the policy's (unknown keys refused, frozen, built on first use)."""
    from mlcp.models import analysis
    from mlcp.policy import model

    assert analysis._STRICT == model._STRICT
    assert model.DeploymentSettings.model_fields["analysis"].annotation == analysis.CanaryAnalysis | None
    assert model.DeploymentSettings.model_fields["shadow"].annotation == analysis.ShadowTest | None
