"""Scenarios: what `mlcp local run` plays against the control plane running on the emulator."""

from mlcp_cli.scenario.runner import Scenario, ScenarioError, ScenarioResult, ScenarioRunner, Step, load_scenario

__all__ = ["Scenario", "ScenarioError", "ScenarioResult", "ScenarioRunner", "Step", "load_scenario"]
