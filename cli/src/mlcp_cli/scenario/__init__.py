"""Scenarios: what `mlcp local run` plays against the control plane running on the emulator.

A scenario is a YAML file (``docs/scenarios.md`` documents the format, one example per step kind)::

    name: default
    description: ...
    steps:
      - title: A new churn model is registered
        as: ml-engineer                       # optional on any step: who signs its calls
        register_model_package: {group: churn-model}
      - expect: {model_package: {group: churn-model, version: 1, status: PendingManualApproval}}

Modules: :mod:`.format` (the registry of step kinds, :class:`Step`, :class:`Scenario`, strict
parsing), :mod:`.steps` (the step kinds that act), :mod:`.expect` (the ``expect`` step kind and
its checks), :mod:`.runner` (:class:`ScenarioRunner`, which plays a scenario).
"""

from mlcp_cli.scenario import expect, steps
from mlcp_cli.scenario.format import (
    STEP_KINDS,
    Scenario,
    ScenarioError,
    Step,
    StepKind,
    load_scenario,
    parse_scenario,
    step_kind,
)
from mlcp_cli.scenario.runner import ScenarioResult, ScenarioRunner

__all__ = [
    "STEP_KINDS",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "ScenarioRunner",
    "Step",
    "StepKind",
    "expect",
    "load_scenario",
    "parse_scenario",
    "step_kind",
    "steps",
]
