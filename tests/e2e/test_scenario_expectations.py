"""Every expectation of the scenario format can fail: each is played passing and failing on the real
template, and a wrong expectation in a shipped scenario fails it."""

from __future__ import annotations

import io
from typing import Any

import pytest
import yaml

from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.scenario import ScenarioError, ScenarioResult, ScenarioRunner, parse_scenario

from .conftest import ROOT

CHURN_PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-model/2"


def play(cp: LocalControlPlane, steps: list[dict[str, Any]]) -> tuple[ScenarioResult, str]:
    """Play ``steps`` on the shared stack."""
    timeline = io.StringIO()
    runner = ScenarioRunner(cp, root=ROOT, timeline=timeline)
    result = runner.run(parse_scenario({"name": "expectations", "steps": steps}, "test"))
    return result, timeline.getvalue()


def held_and_failed(result: ScenarioResult, failing: list[str]) -> None:
    """Exactly the ``failing`` fragments failed, one failure each: every other expectation held."""
    unmatched = [f for f in result.failures if not any(fragment in f for fragment in failing)]
    assert not unmatched, f"expectations that should hold failed: {unmatched}"
    for fragment in failing:
        assert sum(fragment in f for f in result.failures) == 1, (fragment, result.failures)


def test_a_shipped_scenario_asserting_a_wrong_package_status_fails(cp: LocalControlPlane) -> None:
    raw = yaml.safe_load((ROOT / "scenarios" / "gates-and-approvals.yaml").read_text())
    first = next(i for i, step in enumerate(raw["steps"]) if "model_package" in (step.get("expect") or {}))
    steps = raw["steps"][: first + 1]
    assert steps[-1]["expect"]["model_package"]["status"] == "Rejected"
    steps[-1]["expect"]["model_package"]["status"] = "Approved"  # what the scenario would wrongly claim
    result, _ = play(cp, steps)
    assert result.failures == [f"model package {CHURN_PACKAGE}: status Rejected, expected Approved"]


def test_each_expectation_holds_and_fails(cp: LocalControlPlane) -> None:
    incident = {"resource": "endpoint/churn-prod", "cause": "alarm:churn-prod-model-drift"}
    steps: list[dict[str, Any]] = [
        {
            "call": {
                "service": "sagemaker",
                "operation": "create_pipeline",
                "params": {
                    "PipelineName": "churn-training",
                    "PipelineDefinition": '{"Version": "2020-12-01", "Parameters": [], "Steps": []}',
                    "RoleArn": "arn:aws:iam::123456789012:role/mlcp-pipeline",
                },
            }
        },
        {"create_alarm": {"name": "churn-prod-model-drift", "endpoint": "churn-prod"}},
        {"set_alarm_state": {"name": "churn-prod-model-drift", "state": "ALARM", "reason": "drift"}},
        {
            "expect": {
                "incidents": {**incident, "open": 1, "severity": 2, "occurrences": 1},
                "pipeline": {"name": "churn-training", "executions": 1, "statuses": {"Succeeded": 1}},
                "calls": {
                    "count": {"sagemaker.StartPipelineExecution": 1},
                    "absent": ["sagemaker.CreateModel"],
                },
            }
        },
        {"expect": {"incidents": {**incident, "severity": 1}}},
        {"expect": {"pipeline": {"name": "churn-training", "executions": 2}}},
        {"expect": {"calls": {"absent": ["sagemaker.StartPipelineExecution"]}}},
        {"expect": {"calls": {"count": {"sagemaker.StartPipelineExecution": 1}, "since_step": 4}}},
        # The alarm's state change is delivered again (same event id): counted once, no second run.
        {"redeliver": {}},
        {
            "expect": {
                "incidents": {**incident, "open": 1, "occurrences": 1},
                "pipeline": {"name": "churn-training", "executions": 1},
            }
        },
        {"expect": {"incidents": {**incident, "occurrences": 2}}},
        {"set_alarm_state": {"name": "churn-prod-model-drift", "state": "OK", "reason": "back"}},
        {"expect": {"incidents": {**incident, "open": 0, "resolved": 1}}},
        {"expect": {"incidents": {**incident, "resolved": 0}}},
        # Rejections and their reasons.
        {"put_event": {"file": "events/negative/missing-model-package-arn.json"}},
        {"expect": {"rejected_events": {"count": 1, "reasons": ["ModelPackageArn"]}}},
        {"expect": {"rejected_events": {"reasons": ["no reason says this"]}}},
        {
            "as": "ml-engineer",
            "register_model_package": {"group": "churn-low", "metrics": {"auc": 0.71, "recall": 0.7}},
        },
        {
            "expect": {
                "model_package": {"group": "churn-low", "version": 1, "status": "Rejected", "reason": "auc"},
                "calls": {"absent": ["sagemaker.CreateModel", "sagemaker.UpdateEndpoint"], "since_step": 18},
            }
        },
        {"expect": {"model_package": {"group": "churn-low", "version": 1, "status": "Approved"}}},
        {"expect": {"model_package": {"group": "churn-low", "version": 1, "reason": "no reason says this"}}},
        # A named approver's approval.
        {
            "as": "ml-engineer",
            "register_model_package": {
                "group": "fraud-expect",
                "bias": {"DPL": 0.04},
                "explainability": True,
            },
        },
        {"as": "reviewer", "approve_model_package": {"group": "fraud-expect", "version": 1}},
        {"expect": {"approval": {"group": "fraud-expect", "version": 1, "status": "pending"}}},
        {"expect": {"approval": {"group": "fraud-expect", "version": 1, "status": "granted"}}},
        # Steps that must fail.
        {
            "title": "An outsider's PutEvents with an aws.* source is refused",
            "as": "outsider",
            "put_event": {"file": "events/alarm-state-change/ok-to-alarm.json"},
            "expect_failure": {"error": "NotAuthorizedForSourceException"},
        },
        {
            "title": "AWS Health puts its own events (the step succeeds)",
            "put_event": {"event": {"source": "aws.health", "detail-type": "AWS Health Event", "detail": {}}},
            "expect_failure": {"error": "NotAuthorizedForSourceException"},
        },
        {
            "rollback": {"endpoint": "churn-prod", "to": 9},
            "expect_failure": {
                "error": "DeploymentNotSupported",
                "message": "no promoted deployment of version 9",
            },
        },
        {"rollback": {"endpoint": "churn-prod", "to": 9}, "expect_failure": {"error": "ValidationException"}},
    ]
    result, timeline = play(cp, steps)
    held_and_failed(
        result,
        [
            "has severity 2, expected 1",
            "pipeline churn-training: 1 executions, expected 2",
            "calls: sagemaker.StartPipelineExecution was made 1 time(s), by EventIntakeFunction",
            "calls since step 4: counted {'sagemaker.StartPipelineExecution': 0}",
            "has occurrences 1, expected 2",
            "expected 0 resolved, found 1",
            "rejected events: no reason mentions 'no reason says this'",
            "churn-low/1: status Rejected, expected Approved",
            "churn-low/1: reason",
            "fraud-expect/1: pending, expected granted",
            "step 27: expected NotAuthorizedForSourceException, but the step succeeded",
            "step 29: expected ValidationException, got DeploymentNotSupported",
        ],
    )
    assert "failed as expected: PutEventsRejected: NotAuthorizedForSourceException" in timeline
    assert "redelivered 1 event(s) x1" in timeline


def test_redelivery_delivers_the_same_event_id_again(cp: LocalControlPlane) -> None:
    before = len(cp.delivery_log)
    result, _ = play(
        cp,
        [
            {"create_alarm": {"name": "churn-prod-redelivered", "endpoint": "churn-prod"}},
            {"set_alarm_state": {"name": "churn-prod-redelivered", "state": "ALARM"}},
            {"redeliver": {"step": 2, "times": 2}},
            {
                "expect": {
                    "incidents": {
                        "resource": "endpoint/churn-prod",
                        "cause": "alarm:churn-prod-redelivered",
                        "open": 1,
                        "occurrences": 1,
                    }
                }
            },
        ],
    )
    assert result.ok, result.failures
    delivered = [(d.rule, d.target) for d in cp.delivery_log[before:]]
    assert delivered
    assert all(delivered.count(d) == 3 for d in delivered), delivered  # once, then twice again
    with pytest.raises(ScenarioError, match=r"step 1 \(redeliver\): redeliver: no earlier step put an event"):
        play(cp, [{"redeliver": {}}])
